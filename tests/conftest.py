"""What the tests share: a working folder, and the ``slow`` tier.

``pytest -m "not slow"`` is the inner loop (on every core; under a minute on 2 quiet cores
once its programs are in the cache, about 80 s the first time), the whole suite about
13 min; CI runs everything.
The slow tests are the long end-to-end ones: SIGKILL and Ctrl-C of real processes, the
whole lecture, the playground under load, the Ray cluster and the browser. Compiled
programs are kept from one session to the next (see ``compilation_cache``).
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """The fast tier (``-m "not slow"``) runs on every core (pytest-xdist's ``-n auto``)
    unless ``-n`` is given: about 45 s on 2 cores once its programs are in the cache, 75 s
    in one process. The whole suite stays on one process: its load tests measure shares of the
    machine."""
    wanted = (
        not hasattr(config, "workerinput")  # a worker itself runs its share in-process
        and config.getoption("markexpr", "") == "not slow"
        and config.pluginmanager.hasplugin("xdist")
        and config.getoption("numprocesses", None) is None
        and not config.getoption("usepdb", False)
        and not config.getoption("collectonly", False)
    )
    if wanted:
        config.option.numprocesses = "auto"


@pytest.fixture(autouse=True, scope="session")
def compilation_cache(request, tmp_path_factory):
    """The persistent compilation cache of the tests' programs (in this process and in the
    commands they start), never the user's own: in pytest's cache folder
    (``.pytest_cache/d/nnopt-compilation``), kept from one session to the next, so that the
    inner loop reads back what it compiled the time before (about half of the fast tier is
    compiling); without pytest's cache (``-p no:cacheprovider``) a folder of the session.
    The tests of the cache itself use folders of their own."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        folder = cache.mkdir("nnopt-compilation")
    else:
        folder = tmp_path_factory.mktemp("nnopt-cache")
    os.environ["NNOPT_CACHE_DIR"] = str(folder)
    from nnopt.engine.compilation import use_persistent_cache

    use_persistent_cache(True)
    return folder


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Runs the test in its own empty folder (runs/, sweeps/ and reports land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
