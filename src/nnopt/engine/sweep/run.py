"""Sweeps: many configurations trained together (engine layer).

A sweep is a base config, a grid of ``section.field`` values and a number of seeds.
Configurations whose compiled program is the same (same :class:`Structure`: they
differ only in numbers such as rates, decays, scales, seeds) form a :class:`Batch`
and train in one program, ``jax.vmap`` of the single-run chunk over the
configurations. Configurations that differ in structure (optimizer, activation,
layer sizes, loss) form separate batches, each compiled once.

A configuration whose loss turns NaN or infinite is marked diverged at that step;
its neighbours in the batch are untouched (vmap keeps them independent).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nnopt.engine import lanes
from nnopt.config.schema import (
    Config,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    optimizer_numbers,
    parse_override,
    resolve,
)
from nnopt.core.data import Dataset
from nnopt.errors import ConfigError
from nnopt.engine.evaluate import Structure, flatten, unflatten
from nnopt.engine.training import (
    DeviceData,
    Training,
    TrainState,
    build_dataset,
    check_fits,
    device_data,
    initial_params,
    initial_states,
    log_interval,
    make_structure,
    number_values,
    run_chunk,
)

SEED_FIELD = "train.seed"


# ------------------------------------------------------------------ the grid


def split_values(text: str) -> list[str]:
    """``a,b,[1,2],c`` -> ``["a", "b", "[1,2]", "c"]``: commas inside brackets or quotes stay."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    parts.append(current.strip())
    return parts


def parse_grid(texts: list[str]) -> dict[str, list[Any]]:
    """``["optimizer.name=sgd,adam", ...]`` -> ``{"optimizer.name": ["sgd", "adam"], ...}``.

    Raises:
      ConfigError: no ``=``, an unknown field, an empty value list, or a field given twice.
    """
    grid: dict[str, list[Any]] = {}
    for text in texts:
        if "=" not in text:
            raise ConfigError(f"--grid {text!r}: expected section.field=v1,v2,...")
        path, _, values_text = text.partition("=")
        path = path.strip()
        if path in grid:
            raise ConfigError(f"--grid {path} is given twice; put all its values in one --grid")
        values = [v for v in split_values(values_text) if v != ""]
        if not values:
            raise ConfigError(f"--grid {path}: no values; expected {path}=v1,v2,...")
        grid[path] = [parse_override(f"{path}={v}", "--grid")[2] for v in values]
    return grid


@dataclass(frozen=True)
class Point:
    """One configuration of a sweep: its grid settings (field -> value) and its config."""

    index: int
    settings: dict[str, Any]
    config: Config


def grid_points(base_raw: dict, grid: dict[str, list[Any]], seeds: int, source: str) -> list[Point]:
    """Every combination of the grid's values, times ``seeds`` seeds, as validated configs.

    Seed i sets ``train.seed`` to the base seed + i (the initial weights and the shuffling;
    the data stay the same).

    Raises:
      ConfigError: an empty sweep, or a combination that is not a valid config.
    """
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds}: must be >= 1")
    if not grid and seeds == 1:
        raise ConfigError(
            "empty sweep: give at least one --grid section.field=v1,v2 or --seeds N > 1"
        )
    if SEED_FIELD in grid and seeds > 1:
        raise ConfigError("--grid train.seed and --seeds both set the seed; use one of them")
    fields = list(grid)
    base_seed = config_from_dict(base_raw, source).train.seed
    points = []
    for combo in itertools.product(*(grid[f] for f in fields)):
        overrides = [f"{f}={_toml_value(v)}" for f, v in zip(fields, combo)]
        for s in range(seeds):
            settings = dict(zip(fields, combo))
            extra = []
            if seeds > 1:
                settings[SEED_FIELD] = base_seed + s
                extra = [f"{SEED_FIELD}={base_seed + s}"]
            raw = apply_overrides(base_raw, overrides + extra)
            label = f"{source} with " + ", ".join(f"{k}={v}" for k, v in settings.items())
            points.append(Point(len(points), settings, config_from_dict(raw, label)))
    return points


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


# ------------------------------------------------------------------ batches


def _stack(trees: list):
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


@functools.cache
def compiled_batch_chunk(structure: Structure, capacity: int, shared_data: bool) -> Callable:
    """:func:`nnopt.train.run_chunk` vmapped over configurations, jitted (compiled once per key)."""
    fn = functools.partial(run_chunk, structure, capacity)
    # The step counter is shared: kept unbatched, the batch selection stays a plain slice.
    state_axes = TrainState(step=None, params=0, opt_state=0, ema_params=0)
    in_axes = (None if shared_data else 0, 0, state_axes, None)
    return jax.jit(jax.vmap(fn, in_axes=in_axes, out_axes=(state_axes, 0, 0)))


def data_key(config: Config) -> tuple:
    """What decides a configuration's data: equal keys, equal arrays."""
    d = resolve(config).data
    return (d.name, d.seed, d.n_samples, d.noise, d.test_fraction, d.path, d.features, d.label,
            d.task, d.standardize)  # fmt: skip


@dataclass(frozen=True)
class Start:
    """What a batch needs of one configuration: its structure, numbers and first parameters."""

    config: Config  # resolved
    data_key: tuple  # see data_key
    structure: Structure
    numbers: dict[str, np.float32]
    params: np.ndarray  # flat float32
    log_every: int


def starts_of(points: list[Point]) -> tuple[list[Start], dict[tuple, Dataset]]:
    """Every point's :class:`Start`, and the datasets by :func:`data_key` (each built once).

    Raises:
      ConfigError: a configuration whose model does not fit its data.
    """
    datasets: dict[tuple, Dataset] = {}
    starts = []
    for p in points:
        config = resolve(p.config)
        key = data_key(config)
        if key not in datasets:
            datasets[key] = build_dataset(config)
        check_fits(config, datasets[key])
        params = initial_params(config)
        structure = make_structure(config, datasets[key], params)
        starts.append(
            Start(
                config,
                key,
                structure,
                number_values(config),
                flatten(params, structure),
                log_interval(config),
            )
        )
    return starts, datasets


@dataclass
class Batch:
    """Configurations that share one compiled program, trained together.

    ``rows[i]`` is configuration i's history (one dict per log point); ``diverged_at[i]`` the
    first update whose loss was not finite (None while it is fine). A ``width`` larger than
    the points pads the batch with copies of the last one (trained, never reported), so
    that shards of one group all run one compiled program.
    """

    points: list[Point]
    width: int = 0
    structure: Structure = field(init=False)

    def __post_init__(self):
        starts, datasets = starts_of(self.points)
        starts += starts[-1:] * (self.width - len(starts))
        if len({s.structure for s in starts}) != 1:
            raise ValueError("a Batch needs configurations with one structure")
        first = starts[0]
        # The batched program uses real dots (see nnopt.model._dense).
        self.structure = dataclasses.replace(first.structure, products="dot")
        self.steps = first.config.train.steps
        self.log_every = first.log_every
        keys = [s.data_key for s in starts]
        on_device: dict[tuple, DeviceData] = {
            k: device_data(first.structure, d) for k, d in datasets.items()
        }
        self.shared_data = len(on_device) == 1
        self.data = on_device[keys[0]] if self.shared_data else _stack([on_device[k] for k in keys])
        self.numbers = {k: np.stack([s.numbers[k] for s in starts]) for k in first.numbers}
        opt_numbers = [optimizer_numbers(s.config) for s in starts]
        self.state = initial_states(
            self.structure,
            np.stack([s.params for s in starts]),
            {k: np.array([n[k] for n in opt_numbers], np.float32) for k in opt_numbers[0]},
        )
        # Small networks on one dataset train with the configurations as the last axis
        # (nnopt.engine.lanes); the others as jax.vmap of the single-run chunk.
        self.lanes = lanes.supports(self.structure, self.shared_data, self.numbers["shuffle_seed"])
        if self.lanes:
            self.state = lanes.state_to_lanes(self.state, self.structure)
        # EMA on or off is a number (decay 0 = off), so one batch may hold both kinds.
        self.ema_on = [s.config.ema.enabled for s in starts[: len(self.points)]]
        self.rows: list[list[dict]] = [[] for _ in self.points]
        self.diverged_at: list[int | None] = [None] * len(self.points)
        self.step = 0
        self._host: dict[tuple[int, str], np.ndarray] = {}

    @property
    def done(self) -> bool:
        return self.step >= self.steps

    def advance(self) -> int:
        """Trains every configuration up to the next log point; returns the updates run."""
        length = min(self.steps - self.step, self.log_every - self.step % self.log_every)
        if length <= 0:
            return 0
        capacity = min(self.log_every, self.steps)
        if self.lanes:
            chunk = lanes.compiled_lanes_chunk(self.structure, capacity)
        else:
            chunk = compiled_batch_chunk(self.structure, capacity, self.shared_data)
        if self.step == 0:  # the start: the same program, zero updates
            start = chunk(self.data, self.numbers, self.state, jnp.int32(0))[2]
            self._record(0, jax.device_get(start), None)
        self.state, per_step, after = chunk(self.data, self.numbers, self.state, jnp.int32(length))
        losses, penalties, rates = (np.asarray(a)[:, :length] for a in per_step)
        bad = ~(np.isfinite(losses) & np.isfinite(penalties))
        for i in np.flatnonzero(bad[: len(self.points)].any(axis=1)):
            if self.diverged_at[i] is None:
                self.diverged_at[i] = self.step + int(np.argmax(bad[i])) + 1
        self.step += length
        self._record(
            self.step, jax.device_get(after), (losses[:, -1], penalties[:, -1], rates[:, -1])
        )
        return length

    def _record(self, step: int, evals: dict, last):
        for i, rows in enumerate(self.rows):
            row = {"step": float(step)}
            if last is None:
                row["lr"] = float(self.numbers["learning_rate"][i])
            else:
                row["batch_loss"], row["batch_reg"], row["lr"] = (float(a[i]) for a in last)
            row.update(
                {
                    k: float(v[i])
                    for k, v in evals.items()
                    if self.ema_on[i] or not k.startswith("ema_")
                }
            )
            rows.append(row)

    def params(self, i: int, which: str = "raw") -> dict[str, np.ndarray]:
        """Configuration i's parameters (``which="ema"``: its moving average), named."""
        return unflatten(self._flat(self.step, which)[i], self.structure)

    def _flat(self, step: int, which: str) -> np.ndarray:
        """Every configuration's parameters at ``step`` as ``[C, n]`` on the host (kept, as
        results read them configuration by configuration)."""
        key = (step, which)
        if key not in self._host:
            if self.lanes:
                flat = lanes.flat_params(self.state, self.structure, which)
            else:
                flat = np.asarray(self.state.ema_params if which == "ema" else self.state.params)
            self._host = {k: v for k, v in self._host.items() if k[0] == step}
            self._host[key] = flat
        return self._host[key]


# ------------------------------------------------------------------ grouping and running


def group_points(points: list[Point]) -> list[list[Point]]:
    """Points grouped so that each group compiles to one program, in first-seen order.

    The key is the compiled :class:`Structure` (built from each config and its data) with the
    number of steps and the log interval, which decide the chunks.
    """
    groups: dict[tuple, list[Point]] = {}
    starts, _ = starts_of(points)
    for p, start in zip(points, starts):
        key = (start.structure, start.config.train.steps, start.log_every)
        groups.setdefault(key, []).append(p)
    return list(groups.values())


def estimate_bytes(points: list[Point]) -> int:
    """A generous estimate of the memory one batch of these points needs while training."""
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
    return len(points) * per_config + (data if shared else data * len(points))


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


@dataclass
class PointResult:
    """What a sweep keeps of one configuration."""

    index: int
    settings: dict[str, Any]
    rows: list[dict]
    diverged_at: int | None
    params: dict[str, np.ndarray]
    ema_params: dict[str, np.ndarray] | None


SHARD_MOST = 64  # configurations per shard: wider batches outgrow the caches (bench_sweep)
SHARD_LEAST = 4  # narrower shards than this are not worth a thread of their own


def workers_available() -> int:
    """CPU cores this process may use (its affinity), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def shards_of(group: list[Point], workers: int) -> list[list[Point]]:
    """A group cut into nearly equal, contiguous shards: a multiple of ``workers`` of them (so
    that the workers finish together) of at most :data:`SHARD_MOST` configurations, unless
    that would make them narrower than :data:`SHARD_LEAST`."""
    count = max(workers, -(-len(group) // SHARD_MOST))
    count = -(-count // workers) * workers
    count = max(1, min(count, len(group) // SHARD_LEAST))
    size, extra = divmod(len(group), count)
    bounds = np.cumsum([0] + [size + (k < extra) for k in range(count)])
    return [group[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


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
    shards = shards_of(points, workers)
    width = max(len(s) for s in shards)
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


def point_key(point: Point) -> str:
    """A stable name for a configuration: the hash of its full config (for resuming)."""
    text = json.dumps(config_to_dict(point.config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ------------------------------------------------------------------ results


def steps_to_reach(rows: list[dict], threshold: float, metric: str = "train_loss") -> float | None:
    """The first logged step whose full-data ``metric`` is below ``threshold`` (None: never)."""
    for row in rows:
        if row.get(metric, float("inf")) < threshold:
            return row["step"]
    return None


FINAL_METRICS = (
    "train_loss", "train_total", "train_accuracy", "test_loss", "test_accuracy",
    "ema_train_loss", "ema_train_accuracy", "ema_test_loss", "ema_test_accuracy",
)  # fmt: skip


def result_table(
    results: list[PointResult], threshold: float | None = None
) -> tuple[list[dict], float]:
    """One row per configuration: its settings, final metrics, first step under the threshold,
    and whether it diverged. The default threshold is the median final train loss of the
    configurations that did not diverge (so about half of them reach it)."""
    finals = [r.rows[-1].get("train_loss", np.nan) for r in results if r.diverged_at is None]
    finite = [v for v in finals if np.isfinite(v)]
    if threshold is None:
        threshold = float(np.median(finite)) if finite else float("nan")
    table = []
    for r in sorted(results, key=lambda r: r.index):
        last = r.rows[-1]
        row: dict[str, Any] = {"config": r.index, **r.settings}
        row.update({m: last[m] for m in FINAL_METRICS if m in last})
        row["steps_to_threshold"] = steps_to_reach(r.rows, threshold)
        row["diverged"] = r.diverged_at is not None
        row["diverged_at"] = r.diverged_at
        table.append(row)
    return table, threshold
