"""The playground's tests share one headless Debian chromium (driven by Playwright) and one
server on a free loopback port, both started here and stopped after the tests.

Without chromium the browser tests fail (never skip) and say how to install it.
"""

from __future__ import annotations

import shutil

import pytest

from nnopt.web.server import ServerThread
from tests.support.browser import CHROMIUM_ARGS, INSTALL_CHROMIUM, READY


# Per module: Playwright's sync API runs an event loop on this thread while it is open, and
# the load test needs asyncio.run() of its own.
@pytest.fixture(scope="module")
def browser():
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(INSTALL_CHROMIUM, pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        pytest.fail("the browser tests need playwright: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server():
    with ServerThread() as running:
        yield running


@pytest.fixture
def open_page(browser, server, request):
    """Opens the playground in a fresh tab (a URL fragment or a whole URL, a viewport size,
    a script to run first, waiting for its first setup unless ``ready=False``); errors the page raises fail the test,
    and so do console errors in a module that sets ``CONSOLE_ERRORS_FAIL = True``."""
    contexts, errors = [], []
    console = getattr(request.module, "CONSOLE_ERRORS_FAIL", False)

    def opener(fragment: str = "", url: str | None = None, width: int = 1400,
               height: int = 1100, ready: bool = True, init: str | None = None):  # fmt: skip
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        if init is not None:  # a script run before the page's own (e.g. to remove an API)
            context.add_init_script(init)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if console:
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(url or server.url + fragment)
        if ready:
            page.wait_for_function(READY, timeout=30_000)
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def shot(tmp_path_factory):
    """Saves a screenshot of a page into a folder of the test session (never committed)."""
    folder = tmp_path_factory.mktemp("screenshots")

    def take(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return take
