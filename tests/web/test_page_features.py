"""The playground's feature inputs, "Discretize output" and the epoch counter, in a real
browser (headless Debian chromium driven by Playwright). Screenshots of each view go to
pytest's temporary folder."""

from __future__ import annotations

import json
import tomllib
import urllib.request

import numpy as np
import pytest

from nnopt.config import config_from_dict
from nnopt.engine.training import Training
from nnopt.web.protocol import CHUNK
from tests.support.browser import accepted

CONSOLE_ERRORS_FAIL = True  # see tests/web/conftest.py open_page
pytestmark = pytest.mark.slow  # a real browser

SQUARES = ["x0_squared", "x1_squared", "x0_x1"]


def step_once(page) -> None:
    before = page.evaluate("nnopt.snapshot.step")
    page.click("#step")
    page.wait_for_function(f"nnopt.snapshot.step === {before + CHUNK}", timeout=90_000)


def test_feature_tiles_set_the_inputs_the_url_and_the_export(open_page, server, shot):
    page = open_page()
    with urllib.request.urlopen(server.url + "api/choices", timeout=30) as reply:
        registry = [f["name"] for f in json.load(reply)["choices"]["inputs"]]
    tiles = page.eval_on_selector_all("#features .feature", "ts => ts.map(t => t.dataset.input)")
    assert tiles == registry
    on = page.eval_on_selector_all("#features .feature.on", "ts => ts.map(t => t.dataset.input)")
    assert on == ["x0", "x1"]
    for name in ["x0_squared", "x1_squared", "x0_x1", "x0", "x1"]:
        page.click(f".feature[data-input={name}]")
    accepted(
        page, f"JSON.stringify(s.data.inputs) === '{json.dumps(SQUARES, separators=(',', ':'))}'"
    )
    page.wait_for_function("nnopt.lanesInfo[0].layers.join() === '3,11,1'")
    labels = page.eval_on_selector_all("#network .node-label", "ls => ls.map(l => l.textContent)")
    assert labels == ["x₀²", "x₁²", "x₀x₁"]
    assert "inputs=x0_squared-x1_squared-x0_x1" in page.url
    page.click(".feature[data-input=x0_squared]")
    page.click(".feature[data-input=x1_squared]")
    page.click(".feature[data-input=x0_x1]")  # the last one stays: the page says why
    page.wait_for_selector("#error:not([hidden])")
    assert "at least one input" in page.inner_text("#error-text")
    page.click(".feature[data-input=x0_squared]")
    page.click(".feature[data-input=x1_squared]")
    accepted(page, "s.data.inputs.length === 3")
    copy = open_page(url=page.url)  # the link reproduces the inputs
    assert copy.evaluate("nnopt.state.data.inputs") == SQUARES
    step_once(page)
    shot(page, "feature-inputs")
    page.click("#export")
    page.wait_for_selector("#export-dialog[open]")
    raw = tomllib.loads(page.input_value("#export-toml"))
    assert raw["data"]["inputs"] == SQUARES and raw["model"]["layers"] == [3, 11, 1]
    training = Training(config_from_dict(raw, "export"))  # what nnopt run trains
    while training.step < raw["train"]["steps"]:
        training.advance()
    shown = page.evaluate("nnopt.snapshot.network.weights")  # rounded to 4 decimals
    for name, value in training.params().items():
        np.testing.assert_allclose(np.asarray(shown[name]), value, atol=1e-4)


def test_discretize_output_and_the_epoch_counter(open_page, shot):
    page = open_page("#discrete=1")
    assert page.is_checked("#discrete")
    assert page.inner_text("#epoch-count") == "0.0"
    step_once(page)
    # epochs = steps · batch / training rows: 50 · 30 / 210 of the default circle data
    assert page.inner_text("#epoch-count") == f"{CHUNK * 30 / 210:.1f}"
    shown = page.evaluate(
        "import('/static/js/discretize.js').then(m => Array.from(m.shownBytes("
        "new Uint8Array([0, 127, 128, 255, 64 + 5]), 'binary')))"
    )
    assert shown == [0, 0, 255, 255, 0]
    many = page.evaluate(
        "import('/static/js/discretize.js').then(m => Array.from(m.shownBytes("
        "new Uint8Array([5, 64 + 40, 128 + 63]), 'multiclass')))"
    )
    assert many == [63, 127, 191]  # each class at full confidence
    shot(page, "discretized")
    page.uncheck("#discrete")
    page.wait_for_function("!location.hash.includes('discrete')")
    assert (
        page.evaluate(
            "import('/static/js/discretize.js').then(m => m.shownBytes(new Uint8Array([100]), 'binary')[0])"
        )
        == 100
    )


def test_lecture_mode_loads_an_experiment_with_its_text(open_page, shot):
    page = open_page("#lecture=yogurt-mse")
    page.wait_for_selector("#lecture:not([hidden])")
    assert page.eval_on_selector_all("#lecture-list [data-preset]", "bs => bs.length") >= 10
    zh = page.eval_on_selector_all("#lecture-text p[lang=zh]", "ps => ps.map(p => p.textContent)")
    en = page.eval_on_selector_all("#lecture-text p[lang=en]", "ps => ps.map(p => p.textContent)")
    assert len(zh) == len(en) >= 2 and en[-1].startswith("Watch for: ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh[0])  # the lecture's Chinese
    shot(page, "lecture-mode")
    page.click("#lecture-load")
    accepted(page, "s.data.name === 'yogurt' && s.lanes[0].bias === false")
    page.wait_for_function("nnopt.lanesInfo[0].layers.join() === '2,1'")
    assert page.evaluate("nnopt.accepted.lanes[0].init") == "tf1_normal"
    assert not page.is_checked("#bias") and "bias:0" in page.url
    copy = open_page(url=page.url)  # the link reproduces the loaded experiment
    assert copy.evaluate("JSON.stringify(nnopt.state.lanes)") == page.evaluate(
        "JSON.stringify(nnopt.state.lanes)"
    )
    step_once(page)
    page.click("#export")
    page.wait_for_selector("#export-dialog[open]")
    raw = tomllib.loads(page.input_value("#export-toml"))
    assert raw["model"]["bias"] is False and raw["data"]["name"] == "yogurt"
    page.click("#export-dialog form button")
    page.click("#lecture-list [data-preset=gd-rate-1]")
    page.wait_for_function("location.hash.includes('lecture=gd-rate-1')")
    assert page.is_disabled("#lecture-load")
    assert "nnopt run gd-rate-1" in page.inner_text("#lecture-why")
    page.click("#lecture-toggle")
    page.wait_for_selector("#lecture", state="hidden")
    assert "lecture=" not in page.url


def test_chinese_and_english_ui_text(open_page, server, shot):
    page = open_page("#lang=zh")
    assert page.evaluate("document.documentElement.lang") == "zh"
    assert page.text_content("label[for=optimizer]") == "优化器"
    assert page.inner_text("[data-i18n=discretize]") == "离散化输出"
    assert page.input_value("#lang") == "zh"
    # Chinese text in an English page carries its own lang, so Chromium picks a CJK font
    assert (
        page.evaluate(
            "[...document.querySelectorAll('header span[lang=zh], footer span[lang=zh]')].length"
        )
        == 2
    )
    shot(page, "chinese")
    page.select_option("#lang", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.text_content("label[for=optimizer]") == "Optimizer"  # shown in capitals
    assert "lang=" not in page.url
    query = open_page(url=server.url + "?lang=zh")  # ?lang= in the query works too
    assert query.text_content("label[for=learning_rate]") == "学习率"
    assert "lang=zh" in query.url.split("#", 1)[1]


def test_classroom_mode_hides_the_controls_the_link_names(open_page, shot):
    page = open_page("#hide=optimizer,learning_rate,features,race")
    for selector in ("#optimizer", "#learning_rate", "#features", "section.race"):
        assert page.is_hidden(selector), selector
    for selector in ("#loss", "#batch_size", "#datasets", "#play"):
        assert page.is_visible(selector), selector
    shot(page, "classroom")
    page.select_option("#activation", "tanh")  # an edit keeps the classroom in the link
    accepted(page, "s.lanes[0].activation === 'tanh'")
    assert "hide=optimizer,learning_rate,features,race" in page.url
    bad = open_page("#hide=optimizer,nothing")
    bad.wait_for_selector("#error:not([hidden])")
    assert "hides unknown controls nothing" in bad.inner_text("#error-text")
    assert bad.is_hidden("#optimizer")


def test_raw_and_ema_side_by_side(open_page, shot):
    page = open_page("#lane=ema:1,ema_decay:0.9&view=both")
    assert "on" in page.get_attribute("#weights-both", "class")
    for _ in range(3):
        step_once(page)
    page.wait_for_selector("#both-view:not([hidden])")
    lane = page.evaluate("nnopt.snapshot.lanes[0]")
    assert lane["heatmap_ema"] and lane["heatmap_ema"] != lane["heatmap"]
    m = lane["metrics"]
    text = page.inner_text("#both-numbers")
    assert f"raw {m['train_loss']:.4f} · EMA {m['ema_train_loss']:.4f}" in text
    painted = page.evaluate(
        "(() => { const c = document.getElementById('loss-chart-both');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; })()"
    )
    assert painted > 100  # both curves are drawn
    shot(page, "raw-and-ema")
    page.click("#weights-raw")
    page.wait_for_selector("#both-view", state="hidden")
    assert "view=both" not in page.url


def test_the_landscape_path_ends_at_the_weights_the_page_reports(open_page, shot):
    page = open_page("#lecture=yogurt-mse")
    page.click("#lecture-load")
    accepted(page, "s.data.name === 'yogurt' && s.lanes[0].bias === false")
    page.wait_for_selector("#landscape-view:not([hidden])")
    page.select_option("#vary-field", "optimizer")
    page.fill("#vary-values", "sgd, adam")
    page.click("#build-race")
    accepted(page, "s.lanes.length === 2")
    for _ in range(3):
        step_once(page)
    page.wait_for_function("nnopt.paths.length === 2 && nnopt.paths.every(p => p.length >= 2)")
    last = page.evaluate("nnopt.paths[0][nnopt.paths[0].length - 1]")
    w1 = page.evaluate("nnopt.snapshot.network.weights.w1")  # the page's weights (4 decimals)
    assert last == pytest.approx([w1[0][0], w1[1][0]], abs=5e-5)
    page.click("#export")
    page.wait_for_selector("#export-dialog[open]")
    exported = json.loads(page.input_value("#export-weights"))["w1"]
    assert last == [exported[0][0], exported[1][0]]  # the same numbers, unrounded
    page.click("#export-dialog form button")
    shot(page, "landscape")
    page.click("#add-layer")  # 2-4-1 without biases: 12 numbers, no landscape
    accepted(page, "s.lanes[0].hidden.length === 1")
    page.wait_for_selector("#landscape-view", state="hidden")
