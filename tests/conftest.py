"""What the tests share: a working folder, and the ``slow`` tier.

``pytest -m "not slow"`` is the inner loop (about 100 s on 2 quiet cores, the whole suite
about 12.5 min); CI runs everything.
The slow tests are the long end-to-end ones: SIGKILL and Ctrl-C of real processes, the
whole lecture, the playground under load, the Ray cluster and the browser. The commands'
compilation cache lives in a folder of the session.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def compilation_cache(tmp_path_factory):
    """The commands' compilation cache in a folder of the test session (its processes
    share it), never the user's own."""
    folder = tmp_path_factory.mktemp("nnopt-cache")
    os.environ["NNOPT_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Runs the test in its own empty folder (runs/, sweeps/ and reports land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
