"""The playground's tests share one headless Debian chromium (driven by Playwright) and one
server on a free loopback port, both started here and stopped after the tests.

Without chromium the browser tests fail (never skip) and say how to install it.
"""

from __future__ import annotations

import shutil

import pytest

from nnopt.web.server import ServerThread
from tests.support.browser import CHROMIUM_ARGS, INSTALL_CHROMIUM


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
