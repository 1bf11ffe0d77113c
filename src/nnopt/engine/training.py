"""Training (the lecture's ``backward``): the whole loop compiled, chunk by chunk.

One update is :func:`train_step`: pick the batch, take the gradient of the total
loss (data loss + regularization), set the learning rate of step k from the
schedule, let the optimizer move the parameters, then move the EMA shadow toward
them. :func:`run_chunk` runs ``length`` updates as one ``jax.lax.scan`` and
evaluates the full train/test data at its end: a log point. Shapes and names
(the :class:`~nnopt.evaluate.Structure`) are compiled in; every number is an
array argument, so changing a number never recompiles and many configurations
can share one program.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnopt.config.schema import Config, optimizer_numbers, resolve
from nnopt.core.data import Dataset, make_dataset, standardized, targets_for
from nnopt.core.ema import ema_update, training_decay
from nnopt.errors import ConfigError, DivergenceError, ParamsError
from nnopt.engine.evaluate import Structure, flatten, metrics_of, unflatten
from nnopt.engine.evaluate import forward as model_forward
from nnopt.core.losses import LOSS_NUMBERS, LOSSES
from nnopt.core.model import init_mlp, init_scalar, layer_count, parameter_count
from nnopt.core.optimizers import make_optimizer
from nnopt.core.regularizers import penalty_scales, weight_penalty
from nnopt.core.schedules import exponential_decay, schedule_numbers


class TrainState(NamedTuple):
    """Everything that changes during training (all arrays, so it can be checkpointed)."""

    step: jax.Array  # int32: updates done so far (TF1's global_step)
    params: jax.Array  # flat float32 parameters
    opt_state: Any  # the Optax state, with the optimizer's numbers injected
    ema_params: jax.Array  # flat float32 shadow (equal to the initial params when EMA is off)


class DeviceData(NamedTuple):
    """The data, on the device, laid out for batch selection inside the compiled program."""

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    x_batches: (
        jax.Array
    )  # cyclic, rows % batch == 0: [rows/batch, batch, features]; else padded rows
    y_batches: jax.Array


# ------------------------------------------------------------------ set-up


def build_dataset(config: Config, dataset: Dataset | None = None) -> Dataset:
    """The config's dataset (or the given one, e.g. uploaded points), checked against the model
    and the batch size."""
    d = config.data
    if dataset is None and d.path:
        # Reading the user's file here (not in a face) lets resume, evaluate and sweeps
        # rebuild a run's data from its config alone; the module is loaded only for files.
        from nnopt.inputs.datafiles import load_dataset

        dataset = load_dataset(d.path, d.features, d.label, d.task, d.test_fraction, d.seed)
    elif dataset is None:
        dataset = make_dataset(d.name, d.n_samples, d.noise, d.seed, d.test_fraction)
    if d.standardize:
        dataset = standardized(dataset)
    check_fits(config, dataset)
    return dataset


def check_fits(config: Config, dataset: Dataset) -> None:
    """Checks a built dataset against the config's model (inputs, outputs) and batch size.

    Raises:
      ConfigError: naming the size that does not fit.
    """
    d, m = config.data, config.model
    shown = repr(d.name) if not d.path else f"file {d.path}"
    if m.name == "mlp":
        if m.layers[0] != dataset.n_features:
            raise ConfigError(
                f"model.layers = {list(m.layers)}: the first size must be the {dataset.n_features} "
                f"input features of data {shown}"
            )
        want = dataset.n_classes if dataset.task == "multiclass" else 1
        outs = m.layers[-1]
        if dataset.task == "binary" and outs not in (1, 2):
            raise ConfigError(
                f"model.layers = {list(m.layers)}: binary data {shown} needs 1 or 2 outputs"
            )
        if dataset.task != "binary" and outs != want:
            raise ConfigError(
                f"model.layers = {list(m.layers)}: data {shown} needs {want} output(s), not {outs}"
            )
    n_train = len(dataset.x_train)
    if config.train.batch_size > n_train:
        raise ConfigError(
            f"train.batch_size = {config.train.batch_size} is larger than the {n_train} training rows"
        )


def initial_params(config: Config) -> dict[str, np.ndarray]:
    """The model's starting parameters from its initializer and ``train.seed``."""
    m = config.model
    if m.name == "scalar":
        return init_scalar(m.init_value)
    return init_mlp(
        m.layers,
        init=m.init,
        stddev=m.init_stddev,
        bias_init=m.bias_init,
        bias=m.bias,
        seed=config.train.seed,
    )


def make_structure(config: Config, dataset: Dataset, params: dict) -> Structure:
    """The compiled-in part of an experiment."""
    c = config
    return Structure(
        model=c.model.name,
        layers=c.model.layers if c.model.name == "mlp" else (1, 1),
        activation=c.model.activation,
        output_activation=c.model.output_activation,
        param_shapes=tuple((k, tuple(np.shape(params[k]))) for k in sorted(params)),
        loss=c.loss.name,
        optimizer=c.optimizer.name,
        batch_size=c.train.batch_size,
        batching=c.data.batching,
        n_train=len(dataset.x_train),
        n_test=len(dataset.x_test),
        task=dataset.task,
    )


def make_numbers(config: Config) -> dict[str, jax.Array]:
    """The config's numbers (float32 scalars) that the compiled step reads."""
    return {k: jnp.asarray(v) for k, v in number_values(config).items()}


def number_values(config: Config) -> dict[str, np.float32]:
    """The values of :func:`make_numbers`, on the host."""
    c, s = config, config.schedule
    values = {
        "learning_rate": c.optimizer.learning_rate,
        **schedule_numbers(s.name, s.decay_rate, s.decay_steps, s.staircase),
        **penalty_scales(c.regularizer.name, c.regularizer.scale),
        "ema_decay": c.ema.decay if c.ema.enabled else 0.0,
        "ema_warmup": float(c.ema.num_updates),
        **{k: getattr(c.loss, k) for k in LOSS_NUMBERS},
        "shuffle_seed": float(c.train.seed),
    }
    return {k: np.float32(v) for k, v in values.items()}


def check_params(params: dict, template: dict, source: str) -> dict[str, np.ndarray]:
    """Given parameters (``--init``) as float32 arrays, checked name by name against the model's."""
    missing = sorted(set(template) - set(params))
    extra = sorted(set(params) - set(template))
    if missing or extra:
        raise ParamsError(
            f"{source}: parameters {sorted(params)} do not match the model's {sorted(template)}"
            + (f" (missing {', '.join(missing)})" if missing else "")
            + (f" (unknown {', '.join(extra)})" if extra else "")
        )
    out = {}
    for name, ref in template.items():
        try:
            value = np.asarray(params[name], dtype=np.float32)
        except (TypeError, ValueError):
            raise ParamsError(f"{source}: {name} is not an array of numbers") from None
        if value.shape != np.shape(ref):
            raise ParamsError(
                f"{source}: {name} has shape {list(value.shape)}, the model needs {list(np.shape(ref))}"
            )
        if not np.all(np.isfinite(value)):
            raise ParamsError(f"{source}: {name} holds NaN or infinity")
        out[name] = value
    return out


def device_data(structure: Structure, dataset: Dataset) -> DeviceData:
    """Puts the data on the device in the layout the batch selection expects."""
    outs = structure.layers[-1]
    y_tr = targets_for(dataset.y_train, dataset.task, outs)
    y_te = targets_for(dataset.y_test, dataset.task, outs)
    x_tr, b = dataset.x_train, structure.batch_size
    if structure.batching == "cyclic" and len(x_tr) % b == 0:
        xb = x_tr.reshape(-1, b, x_tr.shape[1])
        yb = y_tr.reshape(-1, b, y_tr.shape[1])
    else:  # padded by one batch of zero rows, so a slice never runs off the end
        xb = np.concatenate([x_tr, np.zeros((b,) + x_tr.shape[1:], np.float32)])
        yb = np.concatenate([y_tr, np.zeros((b,) + y_tr.shape[1:], np.float32)])
    arrays = (x_tr, y_tr, dataset.x_test, y_te, xb, yb)
    return DeviceData(*(jnp.asarray(a, jnp.float32) for a in arrays))


def initial_state(config: Config, structure: Structure, params: dict) -> TrainState:
    """Step 0: the parameters, a fresh optimizer state with the config's numbers, the shadow = params."""
    flat = flatten(params, structure)
    numbers = {k: np.float32(v) for k, v in optimizer_numbers(config).items()}
    opt_state = _init_optimizer(structure.optimizer, len(flat))(flat, numbers)
    return TrainState(jnp.asarray(0, jnp.int32), jnp.asarray(flat), opt_state, jnp.asarray(flat))


def initial_states(structure: Structure, flat: np.ndarray, numbers: dict) -> TrainState:
    """Step 0 of many configurations at once: flat parameters ``[C, n]`` and optimizer numbers
    ``{name: [C]}`` give the batched state (one optimizer ``init`` for all of them)."""
    init = _init_optimizer(structure.optimizer, flat.shape[1], batched=True)
    opt_state = init(flat, {k: np.asarray(v, np.float32) for k, v in numbers.items()})
    flat = jnp.asarray(flat, jnp.float32)
    return TrainState(jnp.asarray(0, jnp.int32), flat, opt_state, flat)


def log_interval(config: Config) -> int:
    """Updates between log points: ``train.log_every``, or 1/100 of the run when it is 0."""
    return config.train.log_every or max(1, config.train.steps // 100)


@functools.cache
def _init_optimizer(name: str, size: int, batched: bool = False) -> Callable:
    """The optimizer's ``init`` as one compiled call (not a dispatch per operation)."""
    init = lambda flat, numbers: make_optimizer(name, numbers).init(flat)  # noqa: E731
    return jax.jit(jax.vmap(init) if batched else init)


# ------------------------------------------------------------------ the compiled step


def select_batch(structure: Structure, data: DeviceData, step, numbers, order=None):
    """Rows of update ``step``: (x, y_, weights), weights 0 for padding past the end of the data.

    cyclic: the lecture's ``X[(step·B) % N : (step·B) % N + B]`` (a slice, so the last one of
    an epoch may be short). shuffle: epoch ``e = step // ceil(N/B)`` reads
    :func:`epoch_order` of ``e``; a training loop passes it in as ``order`` (drawn once per
    epoch, see :func:`next_order`), else it is drawn here.
    """
    b, n = structure.batch_size, structure.n_train
    if structure.batching == "cyclic" and n % b == 0:
        j = step % (n // b)
        return data.x_batches[j], data.y_batches[j], jnp.ones((b,), jnp.float32)
    if structure.batching == "cyclic":
        # (step·B) % N, with the step first reduced by the slices' period so step·B cannot overflow.
        start = ((step % (n // math.gcd(n, b))) * b) % n
        x = jax.lax.dynamic_slice_in_dim(data.x_batches, start, b)
        y = jax.lax.dynamic_slice_in_dim(data.y_batches, start, b)
        return x, y, ((start + jnp.arange(b)) < n).astype(jnp.float32)
    per_epoch = batches_per_epoch(structure)
    if order is None:
        order = epoch_order(structure, numbers, step // per_epoch)
    rows = jax.lax.dynamic_slice_in_dim(order, (step % per_epoch) * b, b)
    return data.x_batches[rows], data.y_batches[rows], (rows < n).astype(jnp.float32)


def batches_per_epoch(structure: Structure) -> int:
    """ceil(N / B): an epoch's batches, the last one short when B does not divide N."""
    return -(-structure.n_train // structure.batch_size)


def epoch_order(structure: Structure, numbers: dict, epoch) -> jax.Array:
    """The rows of shuffled epoch ``epoch``: a permutation of 0..N-1 drawn from
    (``train.seed``, epoch), then B entries N (rows past the end, weight 0)."""
    n, b = structure.n_train, structure.batch_size
    key = jax.random.fold_in(jax.random.PRNGKey(numbers["shuffle_seed"].astype(jnp.uint32)), epoch)
    return jnp.concatenate([jax.random.permutation(key, n), jnp.full((b,), n)])


def first_order(structure: Structure, numbers: dict, step) -> jax.Array:
    """The order a training loop starting at ``step`` carries: the epoch's rows when
    shuffling (any step, so a resumed run continues its epoch), else a placeholder."""
    if structure.batching != "shuffle":
        return jnp.zeros((), jnp.int32)
    per_epoch = batches_per_epoch(structure)
    return epoch_order(structure, numbers, step // per_epoch)


def next_order(structure: Structure, numbers: dict, step, order) -> jax.Array:
    """The order for update ``step``: drawn anew when the step opens an epoch, else kept.
    (Drawing a permutation costs far more than an update of the lecture's networks.)"""
    if structure.batching != "shuffle":
        return order
    per_epoch = batches_per_epoch(structure)
    return jax.lax.cond(
        step % per_epoch == 0,
        lambda: epoch_order(structure, numbers, step // per_epoch),
        lambda: order,
    )


@functools.cache
def structure_optimizer(structure: Structure):
    """The Optax transformation; its numbers come from the state, so any placeholder builds it."""
    from nnopt.core.optimizers import OPTIMIZERS

    spec = OPTIMIZERS[structure.optimizer]
    return make_optimizer(structure.optimizer, {"learning_rate": 1.0, **spec.numbers})


def train_step(
    structure: Structure, data: DeviceData, numbers: dict, state: TrainState, order=None
):
    """One update. Returns the new state and (data loss, regularization, learning rate) of the
    batch. ``order``: the shuffled epoch's rows (see :func:`select_batch`)."""
    k = state.step
    x, y_, weights = select_batch(structure, data, k, numbers, order)

    def objective(flat):
        params = unflatten(flat, structure)
        y = model_forward(structure, params, x)
        data_loss = LOSSES[structure.loss].fn(y, y_, weights, numbers)
        penalty = weight_penalty(params, numbers)
        return data_loss + penalty, (data_loss, penalty)

    (_, (data_loss, penalty)), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
    lr = exponential_decay(k, numbers, numbers["staircase"])
    opt_state = state.opt_state._replace(
        hyperparams={**state.opt_state.hyperparams, "learning_rate": lr}
    )
    updates, opt_state = structure_optimizer(structure).update(grads, opt_state, state.params)
    params = state.params + updates
    shadow = ema_update(state.ema_params, params, training_decay(numbers, k))
    return TrainState(k + 1, params, opt_state, shadow), (data_loss, penalty, lr)


def evaluate_state(structure: Structure, data: DeviceData, numbers: dict, state: TrainState):
    """Full-data metrics of a state: train and test, raw and EMA weights (the host drops the
    EMA ones of a run without EMA)."""
    out = {}
    for prefix, flat in (("", state.params), ("ema_", state.ema_params)):
        for split, x, y_ in (
            ("train", data.x_train, data.y_train),
            ("test", data.x_test, data.y_test),
        ):
            if split == "test" and structure.n_test == 0:
                continue
            for name, value in metrics_of(structure, numbers, flat, x, y_).items():
                out[f"{prefix}{split}_{name}"] = value
    return out


def run_chunk(
    structure: Structure,
    capacity: int,
    data: DeviceData,
    numbers: dict,
    state: TrainState,
    length: jax.Array,
):
    """``length`` (<= ``capacity``) updates in one compiled loop, then the full-data metrics.

    The number of updates is an argument, not a constant: one program serves every chunk
    length up to ``capacity`` (and length 0 evaluates the start of a run), and XLA compiles
    the loop body the same way whatever the length (a loop it knew to run once would be
    fused differently and round differently). Each update's batch loss, penalty and rate
    land in buffers of ``capacity`` entries.
    """

    def body(i, carry):
        state, buffers, order = carry
        order = next_order(structure, numbers, state.step, order)
        state, values = train_step(structure, data, numbers, state, order)
        return state, tuple(b.at[i].set(v) for b, v in zip(buffers, values)), order

    empty = tuple(jnp.zeros((capacity,), jnp.float32) for _ in range(3))
    start = (state, empty, first_order(structure, numbers, state.step))
    state, per_step, _ = jax.lax.fori_loop(0, length, body, start)
    return state, per_step, evaluate_state(structure, data, numbers, state)


@functools.cache
def compiled_chunk(structure: Structure, capacity: int) -> Callable:
    """The jitted :func:`run_chunk` for one structure and chunk capacity (compiled once)."""
    return jax.jit(functools.partial(run_chunk, structure, capacity))


# ------------------------------------------------------------------ the host loop


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
        source: str = "--init",
        dataset: Dataset | None = None,
    ):
        self.config = resolve(config)
        self.dataset = build_dataset(self.config, dataset)
        template = initial_params(self.config)
        params = template if init_params is None else check_params(init_params, template, source)
        self.structure = make_structure(self.config, self.dataset, params)
        self.numbers = make_numbers(self.config)
        self.data = device_data(self.structure, self.dataset)
        self.state = initial_state(self.config, self.structure, params)
        self.history = History()
        self.log_every = log_interval(self.config)

    # -- stepping

    @property
    def step(self) -> int:
        return int(self.state.step)

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
        new = {k: jnp.asarray(v, jnp.float32) for k, v in optimizer_numbers(config).items()}
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
        remaining = self.config.train.steps - self.step
        to_log = self.log_every - self.step % self.log_every
        length = min(remaining, to_log, max_steps or remaining)
        if length <= 0:
            return 0
        chunk = compiled_chunk(self.structure, min(self.log_every, self.config.train.steps))
        if not self.history.rows:  # the start of the run: the same program, zero updates
            self._record_row(chunk(self.data, self.numbers, self.state, jnp.int32(0))[2], None)
        new_state, per_step, evals = chunk(self.data, self.numbers, self.state, jnp.int32(length))
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
        self._record_row(evals, per_step=(losses[-1], penalties[-1], rates[-1]))
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
        """Named parameters of the current state: ``raw`` or ``ema`` (the shadow)."""
        flat = self.state.ema_params if which == "ema" else self.state.params
        return {k: v.copy() for k, v in unflatten(np.asarray(flat), self.structure).items()}

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
        self.history.step_loss.append(losses)
        self.history.step_reg.append(penalties)
        self.history.step_lr.append(rates)

    def _record_row(self, evals, per_step):
        ema = self.params("ema") if self.config.ema.enabled else None
        if ema is None:
            evals = {k: v for k, v in evals.items() if not k.startswith("ema_")}
        base_lr = float(self.numbers["learning_rate"])
        row = log_row(self.structure, self.step, evals, per_step, self.params("raw"), ema, base_lr)
        self.history.rows.append(row)


def log_row(
    structure: Structure,
    step: int,
    evals: dict,
    per_step,
    raw: dict,
    ema: dict | None,
    base_lr: float,
) -> dict[str, float]:
    """One history row: the step, the last update's batch loss and rate (the base rate before
    any update: every schedule starts there), the full-data metrics, and (small models) every
    parameter value, raw and EMA."""
    row = {"step": float(step)}
    if per_step is None:
        row["lr"] = base_lr
    else:
        row["batch_loss"], row["batch_reg"], row["lr"] = (float(v) for v in per_step)
    row.update({k: float(v) for k, v in evals.items()})
    if structure.n_params <= TRACE_LIMIT:
        row.update(param_columns(raw))
        if ema is not None:
            row.update({f"ema_{k}": v for k, v in param_columns(ema).items()})
    return row


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
