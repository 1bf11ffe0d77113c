"""Config checks: names against the core's registries, numbers against their declared ranges.

Checks that need the data (layer sizes against features, batch size against rows) run when
training is set up (:func:`nnopt.engine.setup.check_fits`).
"""

from __future__ import annotations

import dataclasses
import math

from nnopt.config.schema import SECTIONS, Config, DataConfig, OptimizerConfig
from nnopt.core.data import DATASETS
from nnopt.core.ema import EMA_ORDERS
from nnopt.core.features import FEATURES
from nnopt.core.losses import LOSSES
from nnopt.core.model import ACTIVATIONS, INITIALIZERS, OUTPUT_ACTIVATIONS
from nnopt.core.numbers import FLOAT32_MAX, Number, as_float32
from nnopt.core.optimizers import (
    ALIASES,
    CONVENTIONS,
    LEARNING_RATE,
    OPTIMIZER_SETTINGS,
    OPTIMIZERS,
)
from nnopt.core.regularizers import REGULARIZERS
from nnopt.core.schedules import SCHEDULES
from nnopt.errors import ConfigError


def show_value(value) -> str:
    """A value as an error line shows it: TOML's true/false, quoted strings, lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(list(value)) if isinstance(value, tuple) else str(value)


def _choice(where: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{where} = {value!r} is unknown; choose one of {', '.join(allowed)}")


def _check(where: str, value, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{where} = {show_value(value)} is out of range: must be {rule}")


def _as_float32_note(value: float) -> str:
    """Why a value that looks in range is not: the float32 it becomes, when that differs."""
    rounded = as_float32(value)
    return f" (as the float32 training uses it is {rounded:g})" if rounded != value else ""


def _float(where: str, value: float, ok, rule: str) -> None:
    """A float field: ``ok(v)`` must hold for the float32 ``v`` it becomes in training."""
    if not ok(as_float32(value)):
        note = _as_float32_note(value) if ok(value) else ""
        raise ConfigError(f"{where} = {show_value(value)} is out of range: must be {rule}{note}")


def _number(where: str, value: float, number: Number) -> None:
    """A number against its registry entry's range (checked as float32, see Number.allows)."""
    if not number.allows(value):
        note = _as_float32_note(value) if number.contains(value) else ""
        raise ConfigError(
            f"{where} = {show_value(value)} is out of range: must be {number.rule}{note}"
        )


def _finite_floats(config: Config) -> None:
    """Every float field, as the float32 it becomes, is a finite number: NaN, infinity and
    values beyond float32's ±3.4e38 are refused whatever the field's own range."""
    for section in SECTIONS:
        table = getattr(config, section)
        for f in dataclasses.fields(table):
            value = getattr(table, f.name)
            if isinstance(value, float) and not math.isfinite(as_float32(value)):
                raise ConfigError(
                    f"{section}.{f.name} = {show_value(value)} is not a float32 number: must be "
                    f"finite, from -{FLOAT32_MAX:.3g} to {FLOAT32_MAX:.3g}"
                )


RUN_NAME_RULE = (
    "no / or \\, not . or .., no control characters "
    "(the run folder is runs/NAME; --out picks another folder)"
)


def run_name_ok(name) -> bool:
    """Whether ``name`` can only name a folder inside ``runs/`` (or ``sweeps/``): a non-empty
    string without a separator (``/``, ``\\``), not ``.`` or ``..``, no control character."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in name)
    )


def validate(config: Config) -> None:
    """Checks names against the registries and numbers against their ranges.

    Checks that need the data (layer sizes against features, batch size against
    rows) run when training is set up.
    """
    d, m, lo, r, o, s, e, t = (
        config.data,
        config.model,
        config.loss,
        config.regularizer,
        config.optimizer,
        config.schedule,
        config.ema,
        config.train,
    )
    if not run_name_ok(config.name):
        raise ConfigError(
            f"name = {show_value(config.name)} is a path, not a name: {RUN_NAME_RULE}"
        )
    _choice("data.name", d.name, (*DATASETS, "file"))
    _choice("data.batching", d.batching, ("cyclic", "shuffle"))
    _choice("data.task", d.task, DATA_TASKS)
    _check("data.n_samples", d.n_samples, 0 <= d.n_samples <= 1_000_000, "0 (default) to 1000000")
    _finite_floats(config)
    _float("data.noise", d.noise, lambda v: 0.0 <= v <= 1.0, "between 0 and 1")
    _float("data.test_fraction", d.test_fraction, lambda v: 0.0 <= v < 1.0, "in [0, 1)")
    _validate_inputs(d)
    _choice("model.name", m.name, ("mlp", "scalar"))
    _choice("model.activation", m.activation, ACTIVATIONS)
    _choice("model.output_activation", m.output_activation, OUTPUT_ACTIVATIONS)
    _choice("model.init", m.init, INITIALIZERS)
    _check("model.layers", m.layers, len(m.layers) >= 2, "at least [inputs, outputs]")
    _check("model.layers", m.layers, all(1 <= n <= 4096 for n in m.layers), "sizes from 1 to 4096")
    _float("model.init_stddev", m.init_stddev, lambda v: v > 0, "> 0")
    _choice("loss.name", lo.name, LOSSES)
    _choice("regularizer.name", r.name, REGULARIZERS)
    _float("regularizer.scale", r.scale, lambda v: v >= 0, ">= 0")
    _choice("optimizer.name", o.name, OPTIMIZERS)
    _number("optimizer.learning_rate", o.learning_rate, LEARNING_RATE)
    _validate_optimizer_settings(o)
    for number in LOSSES[lo.name].numbers:
        _number(f"loss.{number.name}", getattr(lo, number.name), number)
    _choice("schedule.name", s.name, SCHEDULES)
    _float("schedule.decay_rate", s.decay_rate, lambda v: v > 0, "> 0")
    _check("schedule.decay_steps", s.decay_steps, 1 <= s.decay_steps <= MAX_INT32, INT32_RULE)
    _float("ema.decay", e.decay, lambda v: 0 <= v < 1, "in [0, 1)")
    _choice("ema.order", e.order, EMA_ORDERS)
    _check("train.steps", t.steps, 1 <= t.steps <= MAX_STEPS, f"from 1 to {MAX_STEPS}")
    _check("train.batch_size", t.batch_size, 1 <= t.batch_size <= MAX_INT32, INT32_RULE)
    _check("train.seed", t.seed, 0 <= t.seed < 2**31, "from 0 to 2147483647")
    _check("data.seed", d.seed, 0 <= d.seed < 2**32, "from 0 to 4294967295")
    _check(
        "train.log_every",
        t.log_every,
        0 <= t.log_every <= MAX_STEPS,
        f"from 0 (automatic) to {MAX_STEPS}",
    )
    _check(
        "train.checkpoint_every",
        t.checkpoint_every,
        0 <= t.checkpoint_every <= MAX_STEPS,
        f"from 0 to {MAX_STEPS}",
    )
    _validate_combination(config)


MAX_STEPS = 100_000_000
MAX_INT32 = 2**31 - 1  # counts the compiled step holds as int32
INT32_RULE = f"from 1 to {MAX_INT32}"


def _validate_optimizer_settings(o: OptimizerConfig) -> None:
    """The optimizer's own settings against its meaning in the chosen convention: a setting
    it does not have, one given under two names, or a value out of its declared range."""
    _choice("optimizer.convention", o.convention, CONVENTIONS)
    spec = OPTIMIZERS[o.name]
    meaning = spec.meaning(o.convention)
    own = {s.name: s for s in meaning.settings}
    for alias, name in ALIASES.items():
        if getattr(o, alias) is not None and getattr(o, name) is not None:
            raise ConfigError(
                f"optimizer.{alias} and optimizer.{name} are one setting ({alias} is another "
                f"name of {name}); give only one"
            )
    for field in (*OPTIMIZER_SETTINGS, *ALIASES):
        value = getattr(o, field)
        if value is None:
            continue
        name = ALIASES.get(field, field)
        if name not in own:
            takes = ", ".join(own) if own else "only learning_rate"
            other = CONVENTIONS[1 - CONVENTIONS.index(o.convention)]
            elsewhere = any(s.name == name for s in spec.meaning(other).settings)
            hint = f" (with optimizer.convention = {other!r} it has {name})" if elsewhere else ""
            raise ConfigError(
                f"optimizer.{field} is not a setting of {o.name} ({meaning.source}); "
                f"it takes {takes}{hint}"
            )
        _number(f"optimizer.{field}", value, own[name])


def _validate_inputs(d: DataConfig) -> None:
    """data.inputs: registered feature inputs, each once."""
    for name in d.inputs:
        if name not in FEATURES:
            raise ConfigError(
                f"data.inputs = {show_value(d.inputs)}: {name!r} is unknown; "
                f"choose from {', '.join(FEATURES)}"
            )
    if len(set(d.inputs)) != len(d.inputs):
        raise ConfigError(f"data.inputs = {show_value(d.inputs)} names an input twice")


DATA_TASKS = ("auto", "classification", "regression")
DATA_FILE_TYPES = (".csv", ".npz")


def _validate_data_file(d: DataConfig) -> None:
    """data.path and the fields that only mean something with it."""
    if not d.path:
        if d.name == "file":
            raise ConfigError("data.name = 'file' needs data.path: a CSV or NPZ file")
        for where, value, unset in (
            ("data.features", d.features, ()),
            ("data.label", d.label, ""),
            ("data.task", d.task, "auto"),
        ):
            if value != unset:
                raise ConfigError(
                    f"{where} = {show_value(value)} chooses columns of a data file: set data.path too"
                )
        return
    if not d.path.lower().endswith(DATA_FILE_TYPES):
        raise ConfigError(
            f"data.path = {d.path!r} must be a .csv file (a header row of column names) or .npz"
        )
    if len(set(d.features)) != len(d.features):
        raise ConfigError(f"data.features = {show_value(d.features)} names a column twice")
    if d.label and d.label in d.features:
        raise ConfigError(
            f"data.features = {show_value(d.features)} includes the label column {d.label!r}"
        )


def _validate_combination(config: Config) -> None:
    m, lo, d = config.model, config.loss, config.data
    _validate_data_file(d)
    if m.name == "scalar" and d.path:
        raise ConfigError(
            f"data.path = {d.path!r}: the scalar model takes no data; leave data.path empty"
        )
    spec = LOSSES[lo.name]
    if m.name != spec.model:
        goes = [n for n, s in LOSSES.items() if s.model == m.name]
        raise ConfigError(
            f"loss.name = {lo.name!r} goes with model.name = {spec.model!r}, not {m.name!r}; "
            f"the {m.name} model takes {', '.join(goes)}"
        )
    if m.name == "scalar" and d.name != "none" and not d.path:
        raise ConfigError(
            f"data.name = {d.name!r}: the scalar model takes no data; use data.name = 'none'"
        )
    if m.name == "mlp" and d.name == "none" and not d.path:
        raise ConfigError(
            "data.name = 'none': an mlp needs data; choose one of "
            + ", ".join(n for n in DATASETS if n != "none")
        )
    if spec.output_activations and m.output_activation not in spec.output_activations:
        raise ConfigError(
            f"loss.name = {lo.name!r} with model.output_activation = {m.output_activation!r}: "
            f"it {spec.output_rule}"
        )
    if m.layers[-1] < spec.min_outputs:
        raise ConfigError(
            f"model.layers = {list(m.layers)}: {lo.name} needs >= {spec.min_outputs} outputs "
            "(one per class)"
        )
    if m.output_activation == "softmax" and m.layers[-1] < 2:
        raise ConfigError(f"model.layers = {list(m.layers)}: a softmax output needs >= 2 outputs")
