"""Training (the lecture's ``backward`` loop on the host): a run advanced chunk by chunk.

:class:`Training` sets a run up from a config (:mod:`nnopt.engine.setup`), advances it one
compiled chunk at a time (:mod:`nnopt.engine.step`) and records a :class:`History`: a row
per log point (:func:`log_row`) and every update's batch loss, penalty and rate. It returns
values and writes no file; :func:`nnopt.outputs.run_dir.train_in_folder` trains into a run
folder.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import numpy as np

from nnopt.config import Config, optimizer_numbers, resolve
from nnopt.core.data import Dataset
from nnopt.core.model import layer_count, parameter_count
from nnopt.engine.setup import (
    build_dataset,
    check_params,
    device_data,
    initial_params,
    initial_state,
)
from nnopt.engine.step import TrainState, compiled_bundle, compiled_chunk, weights_of
from nnopt.engine.structure import Structure, log_interval, make_numbers, make_structure, unflatten
from nnopt.errors import ConfigError, DivergenceError

PER_STEP = ("loss", "reg", "lr")  # what every update records: batch data loss, penalty, rate


@dataclass
class History:
    """What training recorded: a row per log point, and every step's batch loss and rate."""

    rows: list[dict[str, float]] = field(default_factory=list)
    step_loss: list[np.ndarray] = field(default_factory=list)  # data loss of each update's batch
    step_reg: list[np.ndarray] = field(default_factory=list)
    step_lr: list[np.ndarray] = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        """One metric over the log points (NaN where a row lacks it)."""
        return np.array([row.get(name, np.nan) for row in self.rows], dtype=np.float64)

    def per_step(self, name: str) -> np.ndarray:
        """``loss``, ``reg`` or ``lr`` of every update, in order."""
        parts = {"loss": self.step_loss, "reg": self.step_reg, "lr": self.step_lr}[name]
        return np.concatenate(parts) if parts else np.zeros((0,), np.float32)

    def add_steps(self, losses: np.ndarray, penalties: np.ndarray, rates: np.ndarray) -> None:
        self.step_loss.append(losses)
        self.step_reg.append(penalties)
        self.step_lr.append(rates)


class ChunkCall(NamedTuple):
    """One call of a run's compiled chunk (:func:`nnopt.engine.step.run_chunk`): from
    ``state``, ``length`` updates; ``start`` first runs the optimizer's init."""

    state: TrainState
    length: int
    start: bool

    def args(self, data, numbers) -> tuple:
        """The chunk's arguments (NumPy scalars: one trace for every length)."""
        return data, numbers, self.state, np.int32(self.length), np.bool_(self.start)

    def run(self, chunk, data, numbers):
        return chunk(*self.args(data, numbers))


def drive(calls: Generator[ChunkCall, tuple, int], chunk, data, numbers) -> int:
    """Runs the calls of :meth:`Training.advancing` with one run's compiled ``chunk``."""
    try:
        call = next(calls)
        while True:
            call = calls.send(call.run(chunk, data, numbers))
    except StopIteration as stop:
        return stop.value


TRACE_LIMIT = 64  # models this small also log every parameter value at each log point


def param_columns(params: dict[str, np.ndarray]) -> dict[str, float]:
    """Named scalars of a small model's parameters: ``w``, ``w1[0,1]``, ``b1[3]`` ..."""
    out = {}
    for name in sorted(params):
        value = np.asarray(params[name])
        if value.ndim == 0:
            out[name] = float(value)
        for index in np.ndindex(value.shape) if value.ndim else ():
            out[f"{name}[{','.join(map(str, index))}]"] = float(value[index])
    return out


def log_row(
    step: int,
    evals: dict,
    last_update,
    base_lr: float,
    ema: bool,
    params: dict | None = None,
    ema_params: dict | None = None,
) -> dict[str, float]:
    """One history row: the step; the last update's batch loss, penalty and rate (before any
    update: the base rate, where every schedule starts); the full-data metrics (without the
    ``ema_`` ones of a run without EMA); and, when given, every parameter value, raw and EMA.

    ``last_update`` is (batch loss, batch penalty, rate) or None at the start of a run.
    """
    row = {"step": float(step)}
    if last_update is None:
        row["lr"] = float(base_lr)
    else:
        row["batch_loss"], row["batch_reg"], row["lr"] = (float(v) for v in last_update)
    row.update({k: float(v) for k, v in evals.items() if ema or not k.startswith("ema_")})
    if params is not None:
        row.update(param_columns(params))
        if ema and ema_params is not None:
            row.update({f"ema_{k}": v for k, v in param_columns(ema_params).items()})
    return row


@dataclass
class TrainResult:
    """The outcome of a training run, as values."""

    config: Config
    structure: Structure
    dataset: Dataset
    state: TrainState
    history: History
    params: dict[str, np.ndarray]
    ema_params: dict[str, np.ndarray] | None
    final: dict[str, float]

    @property
    def steps(self) -> int:
        return int(self.state.step)


class Training:
    """A training run in progress: set up from a config, advanced chunk by chunk.

    Args:
      config: the experiment.
      init_params: starting parameters (named as the model's) instead of the initializer's.
      source: where ``init_params`` come from, for its errors.
      dataset: the data to train on instead of the config's (e.g. points a page uploaded).
      keep_history: False keeps only the last log row and no per-update values (an endless
        playground run must not grow a history forever).

    Example:
      >>> from nnopt.config.presets import load_config
      >>> run = Training(load_config("gd-rate-0.2", ["train.log_every=3"]))
      >>> run.advance()
      3
      >>> round(float(run.params()["w"]), 3)
      0.296
    """

    def __init__(
        self,
        config: Config,
        init_params: dict | None = None,
        source: str = "init_params",
        dataset: Dataset | None = None,
        keep_history: bool = True,
    ):
        self.config = resolve(config)
        self.dataset = build_dataset(self.config, dataset)
        template = initial_params(self.config)
        params = template if init_params is None else check_params(init_params, template, source)
        self.structure = make_structure(self.config, self.dataset, params)
        self.numbers = make_numbers(self.config)
        self.data = device_data(self.structure, self.dataset)
        # The optimizer's init runs in the chunk program, at the first use of the state
        # (see state): setting a run up compiles nothing.
        self._state = initial_state(self.config, self.structure, params)
        self._unstarted = True
        self._start_metrics = None
        self.history = History()
        self.keep_history = keep_history
        self.log_every = log_interval(self.config)

    # -- stepping

    @property
    def state(self) -> TrainState:
        """The training state; the first look runs the optimizer's init (the run's compiled
        chunk with no updates, which also evaluates the start for the history)."""
        if self._unstarted:
            call = ChunkCall(self._state, 0, True)
            self._state, _, self._start_metrics = call.run(self._chunk(), self.data, self.numbers)
            self._unstarted = False
        return self._state

    @state.setter
    def state(self, state: TrainState) -> None:
        self._state, self._unstarted, self._start_metrics = state, False, None

    @property
    def step(self) -> int:
        return int(self._state.step)

    def program_key(self) -> tuple[Structure, int]:
        """What decides this run's compiled program: trainings with equal keys share one."""
        return self.structure, min(self.log_every, self.config.train.steps)

    def _chunk(self):
        return compiled_chunk(*self.program_key())

    @property
    def done(self) -> bool:
        return self.step >= self.config.train.steps

    def retune(self, config: Config) -> None:
        """Goes on from the current state with the numbers of ``config`` (rates, decays,
        scales, EMA decay, cost/profit, the optimizer's numbers): no new start, no new compile.

        Raises:
          ConfigError: ``config`` changes what is compiled (model, loss, optimizer, data,
            batches); that needs a new run.
        """
        config = resolve(config)
        structure = make_structure(config, self.dataset, initial_params(config))
        if structure != self.structure:
            raise ConfigError(
                "the new config changes the model, loss, optimizer or data: start a new run"
            )
        self.config = config
        self.numbers = make_numbers(config)
        hyper = self.state.opt_state.hyperparams
        new = jax.device_put({k: np.float32(v) for k, v in optimizer_numbers(config).items()})
        self.state = self.state._replace(
            opt_state=self.state.opt_state._replace(hyperparams={**hyper, **new})
        )
        self.log_every = log_interval(config)

    def advance(self, max_steps: int | None = None) -> int:
        """Runs up to the next log point (at most ``max_steps`` updates); returns the updates run.

        Raises:
          DivergenceError: an update's loss was NaN or infinite. The state stays at the
            last log point before it; the steps before it are in the history.
        """
        return drive(self.advancing(max_steps), self._chunk(), self.data, self.numbers)

    def advancing(self, max_steps: int | None = None) -> Generator[ChunkCall, tuple, int]:
        """:meth:`advance` as a generator of the compiled chunk's calls: it yields each call's
        (state, length, start), is sent the chunk's output, and returns the updates run. One
        driver (:func:`drive`) calls the run's own program; :func:`train_together` calls one
        program for several runs at once."""
        remaining = self.config.train.steps - self.step
        to_log = self.log_every - self.step % self.log_every
        length = min(remaining, to_log, max_steps or remaining)
        if length <= 0:
            return 0
        if self._unstarted:  # the optimizer's init and the start's metrics (see state)
            self._state, _, self._start_metrics = yield ChunkCall(self._state, 0, True)
            self._unstarted = False
        state = self._state
        if not self.history.rows:  # the start of the run: the same program, zero updates
            evals = self._start_metrics
            if evals is None:
                evals = (yield ChunkCall(state, 0, False))[2]
            self._record_row(evals, None)
        new_state, per_step, evals = yield ChunkCall(state, length, False)
        losses, penalties, rates = (np.asarray(a)[:length] for a in per_step)
        bad = ~(np.isfinite(losses) & np.isfinite(penalties))
        if bad.any():
            first = int(np.argmax(bad))
            self._record_steps(losses[:first], penalties[:first], rates[:first])
            step = self.step + first + 1
            raise DivergenceError(
                f"the loss became {losses[first] + penalties[first]} at step {step} "
                f"(learning rate {rates[first]:.3g}); try a lower optimizer.learning_rate",
                step=step,
            )
        self.state = new_state
        self._record_steps(losses, penalties, rates)
        self._record_row(evals, last_update=(losses[-1], penalties[-1], rates[-1]))
        return length

    def run(self, on_chunk: Callable[[Training], None] | None = None) -> TrainResult:
        """Trains to ``train.steps``, calling ``on_chunk`` after every log point."""
        while not self.done:
            self.advance()
            if on_chunk is not None:
                on_chunk(self)
        return self.result()

    # -- values

    def params(self, which: str = "raw") -> dict[str, np.ndarray]:
        """Named parameters of the current state on the host: ``raw`` or ``ema`` (the shadow)."""
        flat = np.asarray(weights_of(self._state, which))
        return {k: v.copy() for k, v in unflatten(flat, self.structure).items()}

    def result(self) -> TrainResult:
        """The run so far as values (call after at least one :meth:`advance`)."""
        last = self.history.rows[-1]
        return TrainResult(
            config=self.config,
            structure=self.structure,
            dataset=self.dataset,
            state=self.state,
            history=self.history,
            params=self.params("raw"),
            ema_params=self.params("ema") if self.config.ema.enabled else None,
            final={k: v for k, v in last.items() if k != "step"},
        )

    def restore(self, state: TrainState, history: History) -> None:
        """Continues from a saved state and history (resume)."""
        self.state, self.history = state, history

    # -- helpers

    def _record_steps(self, losses, penalties, rates):
        if self.keep_history:
            self.history.add_steps(losses, penalties, rates)

    def _record_row(self, evals, last_update):
        ema = self.config.ema.enabled
        small = self.structure.n_params <= TRACE_LIMIT
        row = log_row(
            self.step,
            evals,
            last_update,
            float(self.numbers["learning_rate"]),
            ema,
            self.params("raw") if small else None,
            self.params("ema") if small and ema else None,
        )
        if not self.keep_history:
            self.history.rows.clear()
        self.history.rows.append(row)


def _to_the_end(training: Training) -> Generator[ChunkCall, tuple, TrainResult]:
    """:meth:`Training.run` as a generator of chunk calls (see :meth:`Training.advancing`)."""
    while not training.done:
        yield from training.advancing()
    return training.result()


class _Slot:
    """One slot of :func:`train_together`'s program: runs of one key, one after another."""

    def __init__(self, runs: list[tuple[int, Training]], results: list):
        self.waiting, self.results = list(runs), results
        self.index, self.training, self.calls, self.call = -1, runs[0][1], None, None
        self.take(None)

    def take(self, output) -> None:
        """Hands the chunk's output to the current run and moves to the next call: the run's,
        else the next run's first. A run that ends leaves its result (or DivergenceError)."""
        while True:
            try:
                if self.calls is None:
                    if not self.waiting:
                        self.call = None
                        return
                    self.index, self.training = self.waiting.pop(0)
                    self.calls = _to_the_end(self.training)
                    self.call = next(self.calls)
                else:
                    self.call = self.calls.send(output)
                return
            except StopIteration as stop:
                self.results[self.index] = stop.value
            except DivergenceError as exc:
                self.results[self.index] = exc
            self.calls = None

    def args(self) -> tuple:
        """The current call's arguments; once every run is done, a call of no updates."""
        t = self.training
        call = self.call or ChunkCall(t._state, 0, False)
        return call.args(t.data, t.numbers)


def slot_counts(runs: list[int]) -> list[int]:
    """How many slots of :func:`train_together`'s program each key gets, given its number of
    runs: every call of the program costs about the same for each slot, busy or done, so the
    keys' queues are made about equally long. With R = ⌈Σ runs / keys⌉ runs per slot, a key of
    n runs gets ⌈n / R⌉ slots (e.g. 18, 6, 6, 6, 2, 2 runs: R = 7, slots 3, 1, 1, 1, 1, 1)."""
    per_slot = -(-sum(runs) // len(runs))
    return [-(-n // per_slot) for n in runs]


def train_together(trainings: list[Training]) -> list[TrainResult | DivergenceError]:
    """Trains every run to the end with one compiled program for all their program keys
    (:func:`nnopt.engine.step.compiled_bundle`): each call advances one run in every slot of
    the program, the runs of a slot one after another; a key with many runs has several
    slots (:func:`slot_counts`). Returns each run's result in order, or the
    :class:`DivergenceError` it raised (its state stays at its last log point, as with
    :meth:`Training.advance`). The numbers are those of ``Training.run()``, bit for bit.
    """
    results: list = [None] * len(trainings)
    by_key: dict[tuple, list[tuple[int, Training]]] = {}
    for i, t in enumerate(trainings):
        by_key.setdefault(t.program_key(), []).append((i, t))
    lanes = [
        (key, runs[j::n])
        for (key, runs), n in zip(by_key.items(), slot_counts([len(r) for r in by_key.values()]))
        for j in range(n)
    ]
    keys = tuple(key for key, _ in lanes)
    if len(keys) == 1:  # the key's own program, the one Training.run() compiles
        chunk = compiled_chunk(*keys[0])
        program = lambda args: (chunk(*args[0]),)  # noqa: E731
    else:
        program = compiled_bundle(keys)
    slots = [_Slot(runs, results) for _, runs in lanes]
    while any(s.call is not None for s in slots):
        outputs = program(tuple(s.args() for s in slots))
        for slot, output in zip(slots, outputs):
            if slot.call is not None:
                slot.take(output)
    return results


def train(config: Config, init_params: dict | None = None, on_chunk=None) -> TrainResult:
    """Trains a config to the end and returns the result; touches no file.

    Example:
      >>> from nnopt.config.presets import load_config
      >>> r = train(load_config("gd-rate-1"))
      >>> [round(float(w), 3) for w in r.history.column("w")[:4]]
      [5.0, -7.0, 5.0, -7.0]
    """
    return Training(config, init_params).run(on_chunk)


def summary_line(config: Config) -> str:
    """The lecture's size of the network: layers and parameters."""
    m = config.model
    if m.name == "scalar":
        return "scalar parameter w (1 parameter)"
    layers = "-".join(str(n) for n in m.layers)
    return (
        f"{layers} {m.activation} network: {layer_count(m.layers)} layers, "
        f"{parameter_count(m.layers, m.bias)} parameters"
    )
