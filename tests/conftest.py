"""What the tests share: a working folder, and the ``slow`` tier.

``pytest -m "not slow"`` is the inner loop (under a minute on 2 cores); CI runs everything.
The slow tests are the long end-to-end ones: SIGKILL and Ctrl-C of real processes, the
whole lecture, the playground under load, the Ray cluster and the browser.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Runs the test in its own empty folder (runs/, sweeps/ and reports land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
