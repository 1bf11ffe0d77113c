"""The playground in a real browser: headless Debian chromium driven by Playwright.

The tests start the server on a free loopback port in a background thread, load the page,
click through it as a person would, and save screenshots of the main states into
``test-artifacts/``. Without chromium they fail (never skip) and say how to install it.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from nnopt.config import config_from_dict
from nnopt.engine.training import Training
from nnopt.web.protocol import CHUNK
from tests.support.browser import ARTIFACTS, READY, accepted

pytestmark = pytest.mark.slow  # a real browser

TRAINING_SECONDS = 90_000  # ms a wait on training may take on a busy 2-core machine


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def train_until(page, step: int) -> None:
    page.wait_for_function(
        f"nnopt.snapshot.lanes.every(l => l.step >= {step})", timeout=TRAINING_SECONDS
    )


def set_text(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Tab")  # a text field reports its change when it loses focus


# ---------------------------------------------------------------- training


def test_play_trains_the_network_and_the_loss_falls(open_page):
    page = open_page()
    assert page.inner_text("#step-count") == "000,000"
    assert "45 parameters" in page.inner_text("#network-summary")
    page.click("#play")
    train_until(page, 30 * CHUNK)
    assert page.inner_text("#step-count") != "000,000"
    losses = page.evaluate("nnopt.series[0].map(p => p.m.train_loss)")
    assert len(losses) > 3 and losses[-1] < 0.7 * losses[0]
    assert "steps/s" in page.inner_text("#rate")
    shot(page, "playing")
    page.click("#play")
    page.wait_for_function("nnopt.snapshot.playing === false")  # the pause's own snapshot
    before = page.evaluate("nnopt.snapshot.step")
    page.click("#step")
    page.wait_for_function(f"nnopt.snapshot.step === {before + CHUNK}")
    page.click("#reset")
    page.wait_for_function("nnopt.snapshot.step === 0")


def test_changing_the_optimizer_and_the_learning_rate(open_page):
    page = open_page()
    page.select_option("#optimizer", "momentum")
    accepted(page, "s.lanes[0].optimizer === 'momentum'")
    set_text(page, "#learning_rate", "0.05")
    accepted(page, "s.lanes[0].learning_rate === 0.05")
    assert "optimizer:momentum" in page.url and "learning_rate:0.05" in page.url
    page.click("#play")
    train_until(page, 4 * CHUNK)
    page.wait_for_function("document.getElementById('lr-value').textContent === '0.0500'")
    set_text(page, "#learning_rate", "-1")  # the server refuses it; the page says why
    page.wait_for_selector("#error:not([hidden])")
    assert "optimizer.learning_rate = -1.0 is out of range" in page.inner_text("#error-text")
    page.wait_for_function("document.getElementById('learning_rate').value === '0.05'")
    step = page.evaluate("nnopt.snapshot.step")
    page.wait_for_function(f"nnopt.snapshot.step > {step}")  # still training
    shot(page, "bad-learning-rate")


def test_switching_between_raw_and_ema_weights(open_page):
    page = open_page("#lane=ema:1")
    assert page.is_checked("#ema")
    page.click("#play")
    train_until(page, 6 * CHUNK)
    page.click("#weights-ema")
    page.wait_for_function("nnopt.snapshot.lanes[0].weights === 'ema'")
    # the note is drawn on the frame after the snapshot arrives
    page.wait_for_function(
        "document.getElementById('weights-note').textContent.includes('moving-average')"
    )
    assert "view=ema" in page.url
    page.wait_for_function("nnopt.snapshot.lanes[0].metrics.ema_train_loss > 0")
    shot(page, "ema-weights")
    page.click("#weights-raw")
    page.wait_for_function("nnopt.snapshot.lanes[0].weights === 'raw'")
    page.uncheck("#ema")
    page.click("#weights-ema")
    page.wait_for_function(
        "document.getElementById('weights-note').textContent.includes('EMA is off')"
    )


def test_a_race_of_three_optimizers(open_page):
    page = open_page()
    page.select_option("#vary-field", "optimizer")
    page.fill("#vary-values", "sgd, momentum, adam")
    page.click("#build-race")
    accepted(page, "s.lanes.map(l => l.optimizer).join() === 'sgd,momentum,adam'")
    page.wait_for_function("document.querySelectorAll('#lanes .lane').length === 3")
    page.click("#play")
    train_until(page, 10 * CHUNK)
    assert page.is_visible("#race-chart")
    for card in page.query_selector_all("#lanes .lane"):
        assert "loss" in card.inner_text()
    page.click("#lanes .lane:nth-child(2)")  # the network shows the selected lane
    page.wait_for_function("nnopt.snapshot.network.lane === 1")
    assert page.input_value("#optimizer") == "momentum"
    shot(page, "race")


# ---------------------------------------------------------------- links, export, import


def test_the_url_reproduces_the_setup(open_page):
    page = open_page()
    page.click(".dataset[data-name=xor]")
    accepted(page, "s.data.name === 'xor'")
    page.click("#add-layer")
    accepted(page, "s.lanes[0].hidden.length === 2")
    page.select_option("#activation", "tanh")
    set_text(page, "#learning_rate", "0.03")
    accepted(page, "s.lanes[0].learning_rate === 0.03 && s.lanes[0].activation === 'tanh'")
    page.eval_on_selector(
        "#noise", "el => { el.value = 20; el.dispatchEvent(new Event('change')); }"
    )
    accepted(page, "s.data.noise === 0.2")
    state = page.evaluate("JSON.stringify([nnopt.state.data, nnopt.state.lanes])")
    copy = open_page(url=page.url)
    assert copy.evaluate("JSON.stringify([nnopt.state.data, nnopt.state.lanes])") == state
    assert (
        copy.input_value("#learning_rate") == "0.03" and copy.input_value("#activation") == "tanh"
    )
    assert "selected" in copy.get_attribute(".dataset[data-name=xor]", "class")
    assert "2 hidden layers" in copy.inner_text("#layers-title").lower()


def test_export_and_import_a_config(open_page):
    page = open_page()
    page.click("#step")
    page.wait_for_function(f"nnopt.snapshot.step === {CHUNK}")
    page.click("#export")
    page.wait_for_selector("#export-dialog[open]")
    toml = page.input_value("#export-toml")
    weights = json.loads(page.input_value("#export-weights"))
    config = config_from_dict(tomllib.loads(toml), "export")  # what nnopt run reads
    assert config.train.steps == CHUNK and config.optimizer.name == "adam"
    Training(config, init_params=weights)  # the --init format fits the model
    shot(page, "export")
    page.click("#export-dialog form button")
    page.select_option("#optimizer", "sgd")
    accepted(page, "s.lanes[0].optimizer === 'sgd'")
    page.click("#open-import")
    page.fill("#import-text", "[model]\ninit_stddev = 0.5\n")
    page.click("#do-import")
    page.wait_for_function(
        "document.getElementById('import-error').textContent.includes('no playground control')"
    )
    page.fill("#import-text", toml)
    page.click("#do-import")
    accepted(page, "s.lanes[0].optimizer === 'adam'")
    assert page.input_value("#optimizer") == "adam"


# ---------------------------------------------------------------- uploads


def test_uploading_a_good_and_a_bad_csv(open_page, tmp_path):
    page = open_page()
    good = tmp_path / "points.csv"
    rows = [
        f"{(i % 9) - 4},{(i // 9) - 3},{int(((i % 9) - 4) ** 2 + ((i // 9) - 3) ** 2 < 8)}"
        for i in range(63)
    ]
    good.write_text("x0,x1,label\n" + "\n".join(rows) + "\n")
    page.set_input_files("#upload-file", str(good))
    page.wait_for_selector("#upload-status.good")
    assert "63 points" in page.inner_text("#upload-status")
    accepted(page, "s.data.name === 'upload'")
    page.wait_for_function("nnopt.data.train.length + nnopt.data.test.length === 63")
    page.click("#play")
    train_until(page, 4 * CHUNK)
    shot(page, "upload")
    bad = tmp_path / "bad.csv"
    bad.write_text("x0,x1,label\n1,2,0\n3,4,maybe\n")
    page.set_input_files("#upload-file", str(bad))
    page.wait_for_selector("#upload-status.bad")
    message = page.inner_text("#upload-status")
    assert "line 3: label = 'maybe' is not a number" in message
    assert page.is_visible("#error") and "line 3" in page.inner_text("#error-text")
    step = page.evaluate("nnopt.snapshot.step")
    page.wait_for_function(f"nnopt.snapshot.step > {step}")  # the session lives on
    shot(page, "upload-error")


def test_off_loopback_the_page_opens_with_its_token_and_trains(browser):
    """Served to a class (``--host 0.0.0.0``): the printed address's token becomes a cookie
    that the page's websocket carries; without the token the page is refused."""
    from nnopt.web.server import ServerThread

    with ServerThread(host="0.0.0.0") as lab:
        port = lab.sock.getsockname()[1]
        context = browser.new_context()
        page = context.new_page()
        try:
            assert page.goto(f"http://127.0.0.1:{port}/").status == 403
            assert page.goto(f"http://127.0.0.1:{port}/?token={lab.access.token}").status == 200
            page.wait_for_function(READY, timeout=30_000)
            page.click("#step")
            train_until(page, CHUNK)
        finally:
            context.close()
