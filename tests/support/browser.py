"""What the browser tests share: Debian's chromium flags, where screenshots go, and the
condition for a page that has loaded and trained its first setup."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots, load figures
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_CHROMIUM = (
    "the browser tests need Debian's chromium, which is not installed: "
    "run `apt-get update && apt-get install -y chromium` (as root)"
)
READY = "window.nnopt && nnopt.snapshot && nnopt.data && nnopt.accepted"


def accepted(page, expression: str) -> None:
    """Waits until the server has accepted a setup for which ``expression`` holds (``s`` is
    the accepted setup)."""
    page.wait_for_function(
        f"(() => {{ const s = nnopt.accepted; return {expression}; }})()", timeout=30_000
    )
