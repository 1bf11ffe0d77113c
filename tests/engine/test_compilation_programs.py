"""The compiled programs kept in memory: least recently used first out, past a cap."""

from __future__ import annotations

import threading

from nnopt.config.presets import load_config
from nnopt.engine import compilation
from nnopt.engine.compilation import PROGRAMS_KEPT, ProgramCache
from nnopt.engine.step import compiled_chunk
from nnopt.engine.training import Training


def test_the_least_recently_used_program_goes_first():
    cache, built = ProgramCache(limit=3), []

    def build(key):
        built.append(key)
        return lambda: key

    for key in "abc":
        cache.get(key, lambda k=key: build(k))
    assert cache.get("a", lambda: build("a"))() == "a"  # a hit: now the most recent
    cache.get("d", lambda: build("d"))
    assert cache.keys() == ["c", "a", "d"]  # b, the least recently used, went
    cache.get("b", lambda: build("b"))
    assert built == ["a", "b", "c", "d", "b"] and cache.keys() == ["a", "d", "b"]


def test_threads_building_at_once_keep_the_cap():
    cache = ProgramCache(limit=8)

    def fill(offset):
        for i in range(200):
            cache.get((offset, i), lambda: object())

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(cache.keys()) == 8


def test_a_runs_chunks_share_the_bounded_cache():
    assert compilation.programs.limit == PROGRAMS_KEPT
    run = Training(load_config("gd-rate-0.2", ["train.log_every=3"]))
    key = ("nnopt.engine.step.compiled_chunk", *run.program_key())
    assert compiled_chunk(*run.program_key()) is compiled_chunk(*run.program_key())
    assert compilation.programs.keys()[-1] == key
    assert 1 <= compiled_chunk.cache_info().currsize <= PROGRAMS_KEPT
