"""The playground page as ES modules, its controls built from the server's registries.

Headless Debian chromium driven by Playwright, like ``test_web_browser.py``: the page is a
module script, and a loss's own number inputs come from ``/api/choices`` (not from the
page), reach the server when edited, and the page raises no error on the way.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support.browser import READY

pytestmark = pytest.mark.slow  # a real browser

LOSS = "cost_profit"  # a registered loss with numbers of its own


@pytest.fixture
def page(browser, server):
    """The playground in a fresh tab, loaded; page errors and console errors fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.goto(server.url)
    tab.wait_for_function(READY, timeout=30_000)
    yield tab
    context.close()
    assert not errors, f"the page raised: {errors}"


def registry_numbers(server, loss: str) -> list[dict]:
    """The loss's numbers as the server's registry describes them."""
    with urllib.request.urlopen(server.url + "api/choices", timeout=30) as reply:
        choices = json.load(reply)["choices"]
    (spec,) = [entry for entry in choices["losses"] if entry["name"] == loss]
    return spec["numbers"]


def test_loss_numbers_come_from_the_registry_and_reach_the_server(page, server):
    script = page.evaluate(
        "(() => { const s = document.querySelector('script[type=module]'); "
        "return s && s.getAttribute('src'); })()"
    )
    assert script == "/static/js/main.js"
    numbers = registry_numbers(server, LOSS)
    assert numbers, f"{LOSS} has no numbers in the registry"
    group = f"[data-loss-numbers={LOSS}]"
    assert page.is_hidden(group)  # the default loss has no numbers to show

    page.select_option("#loss", LOSS)
    page.wait_for_function(f"nnopt.accepted.lanes[0].loss === '{LOSS}'", timeout=30_000)
    page.wait_for_selector(group, state="visible")
    inputs = page.query_selector_all(f"{group} input[data-key]")
    assert [el.get_attribute("data-key") for el in inputs] == [n["name"] for n in numbers]
    assert [float(el.input_value()) for el in inputs] == [n["default"] for n in numbers]

    first = numbers[0]
    edited = first["default"] + 2.5  # inside every ">= 0" rule
    selector = f"{group} input[data-key={first['name']}]"
    page.fill(selector, str(edited))
    page.press(selector, "Tab")  # a text field reports its change when it loses focus
    page.wait_for_function(
        f"nnopt.accepted.lanes[0]['{first['name']}'] === {edited}", timeout=30_000
    )
    assert f"{first['name']}:{edited:g}" in page.url
    assert page.is_hidden("#error")
