"""A batch: configurations that share one compiled program, trained together.

Configurations whose compiled program is the same (same
:class:`~nnopt.engine.structure.Structure`: they differ only in numbers such as rates,
decays, scales, seeds) train in one program: in lanes (:mod:`nnopt.engine.lanes`) for small
networks on one dataset, else as ``jax.vmap`` of the single-run chunk. A configuration whose
loss turns NaN or infinite is marked diverged at that step; its neighbours are untouched.

A configuration's numbers do not depend on its companions: every batch of an engine has
one width (:func:`program_width`, padded with copies of its last configuration), because
XLA compiles a program of another width differently (a width of 1 drops the configuration
axis; the batched products of ``vmap`` change kernels with the batch size), and so rounds
differently.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import numpy as np

from nnopt.config import Config, resolve
from nnopt.core.data import Dataset
from nnopt.engine import lanes
from nnopt.engine.compilation import kept_program
from nnopt.engine.setup import (
    DeviceData,
    build_dataset,
    check_fits,
    device_data,
    initial_params,
    initial_states,
)
from nnopt.engine.step import TrainState, run_chunk, weights_of
from nnopt.engine.structure import (
    Structure,
    flatten,
    log_interval,
    make_structure,
    number_values,
    unflatten,
)
from nnopt.engine.sweep.grid import Point
from nnopt.engine.training import log_row

# Configurations per program (see the module's note): lanes of the lecture's networks run
# fastest 32 at a time (bench_sweep: 64 outgrow the caches), vmap's wider networks gain
# little past 4 and a padded batch costs its full width.
LANES_WIDTH = 32
VMAP_WIDTH = 4


def _stack(trees: list):
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


@kept_program
def compiled_batch_chunk(structure: Structure, capacity: int, shared_data: bool) -> Callable:
    """:func:`nnopt.train.run_chunk` vmapped over configurations, jitted (compiled once per key)."""
    fn = functools.partial(run_chunk, structure, capacity)
    # The step counter is shared: kept unbatched, the batch selection stays a plain slice.
    state_axes = TrainState(step=None, params=0, opt_state=0, ema_params=0)
    in_axes = (None if shared_data else 0, 0, state_axes, None, None)
    return jax.jit(jax.vmap(fn, in_axes=in_axes, out_axes=(state_axes, 0, 0)))


def takes_lanes(starts: list[Start]) -> bool:
    """Whether these configurations train in lanes (see :func:`nnopt.engine.lanes.supports`)."""
    structure = dataclasses.replace(starts[0].structure, products="dot")
    shared = len({s.data_key for s in starts}) == 1
    seeds = np.array([s.numbers["shuffle_seed"] for s in starts])
    return lanes.supports(structure, shared, seeds)


def program_width(starts: list[Start]) -> int:
    """Configurations per program for these: :data:`LANES_WIDTH` or :data:`VMAP_WIDTH`."""
    return LANES_WIDTH if takes_lanes(starts) else VMAP_WIDTH


def data_key(config: Config) -> tuple:
    """What decides a configuration's data: equal keys, equal arrays."""
    d = resolve(config).data
    return (d.name, d.seed, d.n_samples, d.noise, d.test_fraction, d.path, d.features, d.label,
            d.task, d.standardize, d.inputs)  # fmt: skip


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
    first update whose loss was not finite (None while it is fine). The batch is padded to
    ``width`` (by default :func:`program_width`) with copies of the last configuration
    (trained, never reported), so that every batch of a structure runs one program.
    """

    points: list[Point]
    width: int = 0
    structure: Structure = field(init=False)

    def __post_init__(self):
        starts, datasets = starts_of(self.points)
        self.width = max(self.width or program_width(starts), len(starts))
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
        self.numbers = _stack([s.numbers for s in starts])
        self.state = initial_states(self.structure, np.stack([s.params for s in starts]))
        # Small networks on one dataset train with the configurations as the last axis
        # (nnopt.engine.lanes); the others as jax.vmap of the single-run chunk.
        self.lanes = takes_lanes(starts)
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
        if self.step == 0:  # the start: the optimizers' init in the same program, no updates
            self.state, _, start = chunk(self.data, self.numbers, self.state, np.int32(0), np.True_)
            self._record(0, jax.device_get(start), None)
        self.state, per_step, after = chunk(
            self.data, self.numbers, self.state, np.int32(length), np.False_
        )
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
            update = None if last is None else tuple(a[i] for a in last)
            base_lr = self.numbers["learning_rate"][i]
            mine = {k: v[i] for k, v in evals.items()}
            rows.append(log_row(step, mine, update, base_lr, self.ema_on[i]))

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
                flat = np.asarray(weights_of(self.state, which))
            self._host = {k: v for k, v in self._host.items() if k[0] == step}
            self._host[key] = flat
        return self._host[key]


def point_model(point: Point) -> tuple[Structure, Dataset]:
    """The structure and dataset of one configuration, without setting up its training (what a
    figure of its decision boundary needs)."""
    config = resolve(point.config)
    dataset = build_dataset(config)
    return make_structure(config, dataset, initial_params(config)), dataset
