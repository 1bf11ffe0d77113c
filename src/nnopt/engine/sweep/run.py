"""Running a sweep: groups that compile to one program each, cut into shards trained side by
side on every core, two groups at a time when memory allows."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from nnopt.engine.sweep.batch import Batch, data_key, program_width, starts_of
from nnopt.engine.sweep.grid import Point
from nnopt.engine.sweep.results import PointResult
from nnopt.engine.training import Training
from nnopt.errors import ConfigError


def group_points(points: list[Point]) -> list[list[Point]]:
    """Points grouped so that each group compiles to one program, in first-seen order.

    The key is the compiled :class:`Structure` (built from each config and its data) with the
    number of steps and the log interval, which decide the chunks, and what decides the
    engine a batch takes (see :func:`nnopt.engine.sweep.batch.takes_lanes`): the data, and
    the shuffling seed of shuffled batches. So a configuration trains in the same program
    whichever others are in the sweep (or are left to do when it resumes).
    """
    groups: dict[tuple, list[Point]] = {}
    starts, _ = starts_of(points)
    for p, start in zip(points, starts):
        rows = start.numbers["shuffle_seed"] if start.structure.batching == "shuffle" else None
        key = (start.structure, start.config.train.steps, start.log_every, start.data_key, rows)
        groups.setdefault(key, []).append(p)
    return list(groups.values())


def estimate_bytes(points: list[Point]) -> int:
    """A generous estimate of the memory these points need while training (all of their
    batches at once, each padded to its program's width)."""
    t = Training(points[0].config)
    s = t.structure
    widest = max(s.layers)
    n_rows = s.n_train + s.n_test
    per_config = (
        4 * s.n_params * 8  # params, EMA, optimizer moments, gradients, updates
        + 4 * 3 * t.log_every  # per-step losses and rates of a chunk
        + 4 * 6 * n_rows * widest  # activations of the full-data evaluation, raw and EMA
        + 4 * 6 * s.batch_size * widest * max(s.layers)  # a step's broadcast products
    )
    data = 4 * n_rows * (s.layers[0] + s.layers[-1])
    shared = len({data_key(p.config) for p in points}) == 1
    width = program_width(starts_of(points)[0])
    padded = -(-len(points) // width) * width
    return padded * per_config + (data if shared else data * len(points))


def available_bytes() -> int:
    """Memory the system can still give (MemAvailable), or total physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(groups: list[list[Point]], limit: int | None = None) -> None:
    """Refuses, before anything trains, a sweep whose largest batch would not fit in memory."""
    limit = limit if limit is not None else int(0.7 * available_bytes())
    for group in groups:
        need = estimate_bytes(group)
        if need > limit:
            raise ConfigError(
                f"the sweep needs about {need / 2**30:.1f} GiB for {len(group)} configurations "
                f"trained together, more than the {limit / 2**30:.1f} GiB available; "
                "use fewer grid values or seeds, or fewer train.steps per log point"
            )


def workers_available() -> int:
    """CPU cores this process may use (its affinity), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def shards_of(group: list[Point], workers: int = 1, width: int | None = None) -> list[list[Point]]:
    """A group cut into contiguous shards of ``width`` configurations (by default its
    program's, :func:`nnopt.engine.sweep.batch.program_width`), the last one shorter; each
    trains padded to that width, so every configuration runs in the same program whatever
    the group's size. ``workers`` threads train them (not more than there are shards)."""
    width = width or program_width(starts_of(group)[0])
    return [group[a : a + width] for a in range(0, len(group), width)]


def run_batch(
    points: list[Point],
    on_chunk: Callable[[int], None] | None = None,
    workers: int | None = None,
    stop: threading.Event | None = None,
) -> list[PointResult]:
    """Trains one group to the end and returns its results, in the points' order.

    The group is cut into shards (see :func:`shards_of`) that train side by side on
    ``workers`` threads (default: the cores available); XLA runs each shard's program on its
    own thread, so they use all cores. ``on_chunk(updates)`` reports progress; setting
    ``stop`` makes every shard leave off at its next log point.
    """
    stop = stop or threading.Event()
    workers = workers or workers_available()
    width = program_width(starts_of(points)[0])
    shards = shards_of(points, workers, width)
    report = _one_at_a_time(on_chunk)
    if len(shards) == 1:
        return _train_shard(points, width, report, stop)
    # On Ctrl-C (or any error) the other shards stop at their next log point, not at the end.
    pool = ThreadPoolExecutor(min(workers, len(shards)))
    try:
        futures = [pool.submit(_train_shard, s, width, report, stop) for s in shards]
        parts = [f.result() for f in futures]
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [r for part in parts for r in part]


def run_groups(
    groups: list[list[Point]],
    on_done: Callable[[list[PointResult]], None],
    on_chunk: Callable[[int], None] | None = None,
    at_once: int = 2,
) -> None:
    """Trains every group, ``at_once`` of them at a time, and calls ``on_done`` (in this thread)
    with each group's results as it ends: one group's compiling overlaps another's training.

    On Ctrl-C (or an error) the groups under way stop at their next log point.
    """
    report = _one_at_a_time(on_chunk)
    stop = threading.Event()
    pool = ThreadPoolExecutor(max(1, at_once))
    try:
        futures = [pool.submit(run_batch, g, report, None, stop) for g in groups]
        for future in as_completed(futures):
            on_done(future.result())
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def groups_at_once(groups: list[list[Point]], limit: int | None = None) -> int:
    """2 when the two largest groups fit in memory together (see :func:`check_memory`), else 1."""
    limit = limit if limit is not None else int(0.7 * available_bytes())
    needs = sorted((estimate_bytes(g) for g in groups), reverse=True)
    return 2 if len(needs) > 1 and needs[0] + needs[1] <= limit else 1


def _one_at_a_time(on_chunk: Callable[[int], None] | None) -> Callable[[int], None]:
    """``on_chunk`` behind a lock (threads report progress), or a no-op without one."""
    lock = threading.Lock()

    def report(updates: int) -> None:
        if on_chunk is not None:
            with lock:
                on_chunk(updates)

    return report


class _Stopped(Exception):
    """A shard left off because another one failed or the sweep was interrupted."""


def _train_shard(
    points: list[Point], width: int, report: Callable[[int], None], stop: threading.Event
) -> list[PointResult]:
    batch = Batch(points, width)
    while not batch.done:
        if stop.is_set():
            raise _Stopped
        report(batch.advance() * len(points))
    return [
        PointResult(
            p.index,
            p.settings,
            batch.rows[i],
            batch.diverged_at[i],
            batch.params(i),
            batch.params(i, "ema") if batch.ema_on[i] else None,
        )  # fmt: skip
        for i, p in enumerate(points)
    ]
