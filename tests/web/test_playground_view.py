"""The playground's drawing, links and network view in a real browser (headless chromium).

Each test clicks or types as a person would and checks what the page then shows; the
screenshots of each view go to pytest's temporary folder (artifacts, never committed).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # a real browser

TRAINING_SECONDS = 90_000  # ms a wait on training may take on a busy 2-core machine
NEXT_DRAW = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def canvas_image(page, selector: str) -> str:
    return page.eval_on_selector(selector, "c => c.toDataURL()")


def wait_changed(page, expression: str, before) -> None:
    """Waits until the page's ``expression`` differs from ``before`` (a JSON value)."""
    page.wait_for_function(
        f"JSON.stringify({expression}) !== {_js(before)}", timeout=TRAINING_SECONDS
    )


def _js(value) -> str:
    import json

    return json.dumps(json.dumps(value))


# ---------------------------------------------------------------- the draw loop


def test_adding_neurons_while_training_never_stops_the_drawing(open_page, shot):
    page = open_page()
    page.click("#play")
    page.wait_for_function("nnopt.snapshot.step > 0", timeout=TRAINING_SECONDS)
    for _ in range(10):  # quickly, while snapshots of the older nets keep arriving
        page.click("#network button[data-neurons='1']")
    page.wait_for_function(
        "nnopt.accepted.lanes[0].hidden[0] === 16 && nnopt.snapshot.network.neurons[0].length === 16",
        timeout=TRAINING_SECONDS,
    )
    step = page.evaluate("nnopt.snapshot.step")
    heat = canvas_image(page, "#heatmap")
    curve = canvas_image(page, "#loss-chart")
    page.wait_for_function(
        f"nnopt.snapshot.step > {step} + 200 && "
        "document.getElementById('step-count').textContent.replace(/,/g, '') > "
        f"{step}",
        timeout=TRAINING_SECONDS,
    )
    wait_changed(page, "document.getElementById('heatmap').toDataURL()", heat)
    wait_changed(page, "document.getElementById('loss-chart').toDataURL()", curve)
    assert "16 neurons" in page.inner_text("#network")
    shot(page, "sixteen-neurons")


def test_a_snapshot_that_fails_to_draw_does_not_stop_the_loop(open_page):
    page = open_page()
    page.click("#play")
    page.wait_for_function("nnopt.snapshot.step > 0", timeout=TRAINING_SECONDS)
    # A snapshot whose heatmap is not bytes: drawing it throws.
    page.evaluate(
        "() => { const s = structuredClone(nnopt.snapshot); s.lanes[0].heatmap = {};"
        " nnopt.snapshot = s; nnopt.dirty = true; }"
    )
    frames = page.evaluate("window.nnoptFrames")
    heat = canvas_image(page, "#heatmap")
    page.wait_for_function(f"window.nnoptFrames > {frames} + 5", timeout=TRAINING_SECONDS)
    wait_changed(page, "document.getElementById('heatmap').toDataURL()", heat)


# ---------------------------------------------------------------- data


def test_yogurt_trains_with_the_default_settings(open_page):
    page = open_page()
    page.click(".dataset[data-name=yogurt]")
    page.wait_for_function("nnopt.accepted.data.name === 'yogurt'", timeout=30_000)
    batch = page.evaluate("nnopt.accepted.lanes[0].batch_size")
    rows = page.evaluate("nnopt.data.train.length")
    assert rows == 22 and batch == 22  # 32 rows, 30% held out: the batch is all 22
    assert page.input_value("#batch_size") == "22"
    assert "batch size 30" in page.inner_text("#error-text")  # the page says what it changed
    page.click("#play")
    page.wait_for_function("nnopt.snapshot.step >= 100", timeout=TRAINING_SECONDS)


def test_noise_moves_the_circle_points(open_page):
    page = open_page()
    clean = page.evaluate("nnopt.data.train")
    page.eval_on_selector(
        "#noise", "el => { el.value = 30; el.dispatchEvent(new Event('change')); }"
    )
    page.wait_for_function("nnopt.accepted.data.noise === 0.3", timeout=30_000)
    page.wait_for_function(f"JSON.stringify(nnopt.data.train) !== {_js(clean)}")
    noisy = page.evaluate("nnopt.data.train")
    moved = sum(a[:2] != b[:2] for a, b in zip(clean, noisy))
    assert len(noisy) == len(clean) == 210 and moved > 200
    assert [a[2] for a in clean] == [b[2] for b in noisy]  # the lecture's labels stay


# ---------------------------------------------------------------- links


def test_editing_the_hash_in_an_open_tab_applies_it(open_page):
    page = open_page()
    page.evaluate("location.hash = '#data=xor&lane=optimizer:sgd,hidden:3-2'")
    page.wait_for_function(
        "nnopt.accepted.data.name === 'xor' && nnopt.accepted.lanes[0].optimizer === 'sgd'",
        timeout=30_000,
    )
    assert page.input_value("#optimizer") == "sgd"
    assert page.evaluate("nnopt.accepted.lanes[0].hidden") == [3, 2]
    page.wait_for_function("nnopt.lanesInfo[0].layers.join() === '2,3,2,1'")
    assert "2-3-2-1" in page.inner_text("#network-summary")


def test_a_bad_hash_in_an_open_tab_is_named_and_the_training_setup_stays(open_page):
    page = open_page("#lane=optimizer:sgd")
    page.evaluate("location.hash = '#lane=optimizer:adam,activation:wavy,learning_rate:-1'")
    page.wait_for_selector("#error:not([hidden])")
    page.wait_for_function(
        "document.getElementById('error-text').textContent.includes('keeping the setup')"
    )
    text = page.inner_text("#error-text")
    assert "activation 'wavy' is unknown" in text
    assert "optimizer.learning_rate = -1.0 is out of range" in text
    assert text.count("learning_rate = -1.0") == 1  # named once
    assert page.evaluate("nnopt.accepted.lanes[0].optimizer") == "sgd"
    page.wait_for_function("document.getElementById('optimizer').value === 'sgd'")
    assert "optimizer:sgd" in page.url


def test_a_bad_link_names_every_problem_and_starts_from_the_defaults(open_page, shot):
    page = open_page("#data=circle&lane=optimizer:nope,colour:red,learning_rate:-3&bogus=1")
    page.wait_for_function("nnopt.accepted && nnopt.snapshot", timeout=30_000)
    text = page.inner_text("#error-text")
    assert "colour" in text and "nope" in text
    assert "starting from the defaults" in text
    assert "nothing to" not in text and "view:" not in text
    assert page.evaluate("nnopt.accepted.lanes[0].optimizer") == "adam"
    assert page.input_value("#optimizer") == "adam"
    assert "optimizer" not in page.url  # the address bar shows what trains
    shot(page, "bad-link")


# ---------------------------------------------------------------- layout and numbers


def test_the_page_fits_1024_by_768(open_page, shot):
    page = open_page(width=1024, height=768)
    right = page.evaluate("document.querySelector('.output-column').getBoundingClientRect().right")
    assert right <= 1024
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.click("#play")
    page.wait_for_function("nnopt.snapshot.step > 0", timeout=TRAINING_SECONDS)
    titles = page.evaluate(
        "[...document.querySelectorAll('#network [title]')].map(e => e.title).join(' ')"
    )
    assert "= " in titles
    for number in titles.replace(",", " ").split():
        digits = number.split(".")[-1] if "." in number else ""
        assert len(digits) <= 4, number  # no float noise like 0.3926999866962433
    shot(page, "1024x768")
    page.click("#add-lane")  # a race: its lanes come first on a short screen
    page.wait_for_function("document.querySelectorAll('#lanes .lane').length === 2")
    page.evaluate("window.scrollTo(0, 0)")  # the click scrolled down to the race's buttons
    lanes = page.evaluate("document.getElementById('lanes').getBoundingClientRect().toJSON()")
    assert 0 < lanes["top"] and lanes["bottom"] <= 768 and lanes["right"] <= 1024
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "1024x768-race")


# ---------------------------------------------------------------- the network view


def node_box(page, title: str) -> dict:
    """The page coordinates of the network node with this title."""
    return page.eval_on_selector(
        f"#network .node[title^='{title}']",
        "el => { const r = el.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; }",
    )


def test_the_hover_card_edits_a_weight_and_a_bias(open_page, shot):
    page = open_page()
    page.click("#step")
    page.wait_for_function("nnopt.snapshot.step === 50", timeout=TRAINING_SECONDS)
    hidden, out = node_box(page, "layer 1, neuron 4:"), node_box(page, "layer 2, neuron 1:")
    # The middle of the link w2[3, 0]: halfway between the two nodes' facing edges.
    x = (hidden["x"] + hidden["w"] + out["x"]) / 2
    y = (hidden["y"] + out["y"] + (hidden["h"] + out["h"]) / 2) / 2
    page.mouse.move(x, y)
    weight = page.evaluate("nnopt.snapshot.network.weights.w2[3][0]")
    page.wait_for_selector(".weight-card:not([hidden])")
    assert page.inner_text(".weight-card") == f"w2[3,0] = {round(weight, 4):g}"
    page.mouse.click(x, y)
    page.fill(".weight-card input", "1.5")
    page.press(".weight-card input", "Enter")
    page.wait_for_function("nnopt.snapshot.network.weights.w2[3][0] === 1.5")
    # A bias square sits left of a neuron's lower corner.
    page.mouse.move(hidden["x"] - 5, hidden["y"] + hidden["h"] - 4)
    page.wait_for_function("document.querySelector('.weight-card').textContent.startsWith('b1[3]')")
    page.mouse.click(hidden["x"] - 5, hidden["y"] + hidden["h"] - 4)
    page.fill(".weight-card input", "9999")  # beyond the cap: refused, the session lives on
    page.press(".weight-card input", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert "edit.value = 9999 must be a number from -1000 to 1000" in page.inner_text("#error-text")
    hidden = node_box(page, "layer 1, neuron 4:")  # the error bar moved the page down
    page.mouse.click(hidden["x"] - 5, hidden["y"] + hidden["h"] - 4)
    page.fill(".weight-card input", "-0.75")
    page.press(".weight-card input", "Enter")
    page.wait_for_function("nnopt.snapshot.network.weights.b1[3] === -0.75")
    page.click("#export")
    page.wait_for_selector("#export-dialog[open]")
    exported = page.evaluate("JSON.parse(document.getElementById('export-weights').value)")
    assert exported["w2"][3][0] == 1.5 and exported["b1"][3] == -0.75
    shown = page.evaluate("nnopt.snapshot.network.weights")
    for name, values in exported.items():  # the page's weights are the server's, rounded
        flat_page = [v for row in shown[name] for v in (row if isinstance(row, list) else [row])]
        flat_server = [v for row in values for v in (row if isinstance(row, list) else [row])]
        assert len(flat_page) == len(flat_server)
        assert all(abs(a - b) <= 0.5e-4 + 1e-9 for a, b in zip(flat_page, flat_server))
    page.click("#export-dialog form button")
    page.click("#step")
    page.wait_for_function("nnopt.snapshot.step === 100", timeout=TRAINING_SECONDS)
    assert page.evaluate("nnopt.snapshot.network.weights.w2[3][0]") != 1.5  # trains on
    shot(page, "edited-weights")


def test_hovering_a_neuron_shows_its_output_in_the_big_heatmap(open_page, shot):
    page = open_page()
    page.click("#step")
    page.wait_for_function("nnopt.snapshot.step === 50", timeout=TRAINING_SECONDS)
    page.evaluate(NEXT_DRAW)  # the snapshot arrived; it is drawn on the next frame
    model = page.evaluate("window.modelImage = document.getElementById('heatmap').toDataURL()")
    box = node_box(page, "layer 1, neuron 2:")
    page.mouse.move(box["x"] + box["w"] / 2, box["y"] + box["h"] / 2)
    page.wait_for_function(
        "document.getElementById('weights-note').textContent.startsWith('Showing neuron 2 of layer 1')"
    )
    wait_changed(page, "document.getElementById('heatmap').toDataURL()", model)
    shot(page, "hovered-neuron")
    page.mouse.move(5, 5)
    page.wait_for_function("document.getElementById('heatmap').toDataURL() === window.modelImage")


# The page's palette (colors.js): byte 0 orange, 127.5 grey, 255 blue.
ORANGE, GREY, BLUE = (245, 147, 34), (232, 234, 235), (8, 119, 189)


def palette(byte: float) -> tuple[float, ...]:
    """colors.js's LUT: grey blended toward orange (below 127.5) or blue (above)."""
    t = byte / 127.5 - 1
    end = ORANGE if t < 0 else BLUE
    return tuple(g * (1 - abs(t)) + e * abs(t) for g, e in zip(GREY, end))


def pixel(page, x: float, y: float) -> tuple[int, int, int]:
    """The screen's colour at page point (x, y), from a screenshot of that one pixel."""
    import io

    from PIL import Image

    png = page.screenshot(clip={"x": int(x), "y": int(y), "width": 1, "height": 1})
    return Image.open(io.BytesIO(png)).convert("RGB").getpixel((0, 0))


def wait_pixel(page, x: float, y: float, ok, what: str) -> tuple[int, int, int]:
    """Waits (polling screenshots, up to ~60 s) until the pixel at (x, y) satisfies ``ok``:
    the links are drawn by a worker, a frame or two after the snapshot."""
    seen = None
    for _ in range(300):
        seen = pixel(page, x, y)
        if ok(seen):
            return seen
        page.wait_for_timeout(200)
    raise AssertionError(f"{what}: the pixel at ({x:.0f}, {y:.0f}) stayed {seen}")


@pytest.mark.parametrize("worker", [True, False], ids=["worker", "on-the-page"])
def test_links_and_thumbnails_show_the_snapshot(open_page, worker):
    """Each link takes its weight's sign colour at its middle and each neuron's box shows its
    thumbnail's colour at its centre, with the links drawn by a worker (OffscreenCanvas) and,
    where the browser has none, on the page."""
    page = open_page(init=None if worker else "delete window.OffscreenCanvas")
    page.click("#step")
    page.wait_for_function("nnopt.snapshot.step === 50", timeout=TRAINING_SECONDS)
    used = page.evaluate(
        "performance.getEntriesByType('resource').some(e => e.name.endsWith('/linkworker.js'))"
    )
    assert used == worker
    weights = page.evaluate("nnopt.snapshot.network.weights.w2")
    # the widest link into the output: w2[i, 0], from hidden neuron i + 1 to the output
    i = max(range(len(weights)), key=lambda r: abs(weights[r][0]))
    hidden, out = node_box(page, f"layer 1, neuron {i + 1}:"), node_box(page, "layer 2, neuron 1:")
    x = (hidden["x"] + hidden["w"] + out["x"]) / 2  # the curve's middle: B(1/2)
    y = (hidden["y"] + out["y"] + (hidden["h"] + out["h"]) / 2) / 2
    positive = weights[i][0] >= 0
    wait_pixel(
        page,
        x,
        y,
        lambda c: (c[2] > c[0] + 20) if positive else (c[0] > c[2] + 20),
        f"link w2[{i},0] = {weights[i][0]:.3f}",
    )
    # a hidden neuron's thumbnail (32 x 32 bytes) at its box's centre: about its middle bytes
    tile = page.evaluate("Array.from(nnopt.snapshot.network.neurons[0][0])")
    middle = [tile[r * 32 + c] for r in (15, 16) for c in (15, 16)]
    want = palette(sum(middle) / 4)
    box = node_box(page, "layer 1, neuron 1:")
    wait_pixel(
        page,
        box["x"] + box["w"] / 2,
        box["y"] + box["h"] / 2,
        lambda c: max(abs(a - b) for a, b in zip(c, want)) <= 24,
        f"thumbnail of neuron 1 (want about {tuple(round(v) for v in want)})",
    )
