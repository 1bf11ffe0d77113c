"""Experiment configs: frozen dataclasses, one per TOML section, with clear errors.

A config file has the sections ``[data] [model] [loss] [regularizer] [optimizer]
[schedule] [ema] [train]`` and the top-level keys ``name`` and ``description``.
``--set section.field=value`` overrides one field. Every problem is reported as
one line naming the field, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from typing import Any

from nnopt.core.data import DATASETS
from nnopt.errors import ConfigError
from nnopt.core.losses import LOSSES
from nnopt.core.model import ACTIVATIONS, INITIALIZERS, OUTPUT_ACTIVATIONS
from nnopt.core.optimizers import OPTIMIZER_NUMBERS, OPTIMIZERS
from nnopt.core.regularizers import REGULARIZERS
from nnopt.core.schedules import SCHEDULES


@dataclass(frozen=True)
class DataConfig:
    name: str = "circle"  # a dataset of nnopt.data.DATASETS; "file" when data.path is set
    seed: int = 2  # seed of the generator's RandomState (lecture: 2 for circle, 23455 for yogurt)
    n_samples: int = 0  # rows to generate; 0 = the dataset's own size (yogurt 32, circle 300)
    noise: float = 0.0  # Playground generators' noise, 0..1 (Playground's percent / 100)
    test_fraction: float = 0.0  # share of rows held out for testing (the lecture trains on all)
    batching: str = (
        "cyclic"  # "cyclic": the lecture's slices (i*B) % N; "shuffle": new order each epoch
    )
    # Your own data: a CSV (a header row of column names) or NPZ file. It wins over name,
    # which the resolved config then records as "file"; n_samples and noise do not apply.
    path: str = ""  # relative to the current folder; resolved to an absolute path
    features: tuple[str, ...] = ()  # input columns; empty = every column but the label
    label: str = ""  # the target column; "" = the last column
    # "auto": classes when the labels are words, or whole numbers with at most 20 distinct
    # values; otherwise regression
    task: str = "auto"  # "auto", "classification" or "regression"
    standardize: bool = False  # inputs (x - mean) / std, mean and std of the training rows


@dataclass(frozen=True)
class ModelConfig:
    name: str = "mlp"  # "mlp", or "scalar": the 1-D demos' single parameter w
    layers: tuple[int, ...] = (2, 11, 1)  # sizes from input to output (the lecture's 2-11-1)
    activation: str = "relu"  # hidden layers
    output_activation: str = "linear"  # the lecture's output is not activated
    bias: bool = True  # the yogurt fit y = x @ w1 has none
    init: str = "normal"  # weight initializer; "tf1_normal" is TensorFlow 1's random_normal
    init_stddev: float = 1.0  # the lecture's tf.random_normal default
    bias_init: float = 0.01  # the lecture's tf.constant(0.01)
    init_value: float = 5.0  # the scalar model's starting w (the lecture's 5)


@dataclass(frozen=True)
class LossConfig:
    name: str = "mse"
    cost: float = 1.0  # cost_profit: cost of each unit predicted too many
    profit: float = 9.0  # cost_profit: profit lost on each unit predicted too few
    target: float = -1.0  # quadratic: the minimum of (w - target)², -1 in the lecture


@dataclass(frozen=True)
class RegularizerConfig:
    name: str = "none"  # none, l1 or l2
    scale: float = 0.0  # the lecture's REGULARIZER


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "sgd"
    learning_rate: float = 0.001  # the base rate when a schedule decays it
    # The optimizer's own numbers; unset means the optimizer's default.
    momentum: float | None = None
    b1: float | None = None
    b2: float | None = None
    eps: float | None = None
    weight_decay: float | None = None
    decay: float | None = None
    initial_accumulator_value: float | None = None


@dataclass(frozen=True)
class ScheduleConfig:
    name: str = "constant"  # constant or exponential_decay
    decay_rate: float = 0.99  # LEARNING_RATE_DECAY
    decay_steps: int = 1  # LEARNING_RATE_STEP, usually rows / batch size
    staircase: bool = True  # floor(step / decay_steps)


@dataclass(frozen=True)
class EmaConfig:
    enabled: bool = False
    decay: float = 0.99  # MOVING_AVERAGE_DECAY
    num_updates: bool = True  # warm-up d = min(decay, (1 + step)/(10 + step))


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000  # number of updates
    batch_size: int = 8
    seed: int = 0  # weight init and shuffling
    log_every: int = 0  # evaluate on the full data every this many steps; 0 = about 100 times
    checkpoint_every: int = 0  # also checkpoint every this many steps; 0 = only at the end


@dataclass(frozen=True)
class Config:
    name: str = "experiment"
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    regularizer: RegularizerConfig = field(default_factory=RegularizerConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    ema: EmaConfig = field(default_factory=EmaConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def replace(self, **sections) -> Config:
        """A copy with whole sections or top-level keys replaced."""
        return dataclasses.replace(self, **sections)


TOP_LEVEL = ("name", "description")
# Tables that other faces read from the same file and training ignores ([sweep]: the grid).
OTHER_TABLES = ("sweep",)
SECTIONS: dict[str, type] = {
    name: tp for name, tp in typing.get_type_hints(Config).items() if name not in TOP_LEVEL
}


def section_fields(section: str) -> dict[str, Any]:
    """Field name -> type of one section."""
    return typing.get_type_hints(SECTIONS[section])


def field_names() -> list[str]:
    """Every ``section.field`` a config or ``--set`` can name."""
    return [f"{s}.{f}" for s in SECTIONS for f in section_fields(s)]


# ---------------------------------------------------------------- types


def _type_name(tp) -> str:
    if tp is int:
        return "an integer"
    if tp is float or tp == (float | None):
        return "a number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if tp == tuple[str, ...]:
        return "a list of column names"
    return "a list of integers"


def _coerce(where: str, value: Any, tp) -> Any:
    """The value as the field's type, or a ConfigError naming what was expected."""
    ok = False
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float or tp == (float | None):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif tp is str:
        ok = isinstance(value, str)
    elif tp == tuple[str, ...]:
        if isinstance(value, str):  # --set data.features=x0,x1 needs no TOML quoting
            value = [v.strip() for v in value.split(",")] if value.strip() else []
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value)
        if ok:
            value = tuple(value)
    else:  # tuple[int, ...]
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        if ok:
            value = tuple(value)
    if not ok:
        raise ConfigError(f"{where} = {_show(value)} must be {_type_name(tp)}")
    return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    return str(list(value)) if isinstance(value, tuple) else str(value)


# ---------------------------------------------------------------- parsing


def config_from_dict(raw: dict[str, Any], source: str = "config") -> Config:
    """Builds and validates a Config from a TOML-shaped dict.

    Raises:
      ConfigError: an unknown section or field, a wrong type, or a value out of range.
    """
    sections = {}
    top = {}
    for key, value in raw.items():
        if key in OTHER_TABLES:
            continue
        if key in TOP_LEVEL:
            top[key] = _coerce(key, value, str)
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{key}] must be a table of fields")
            sections[key] = _section_from_dict(key, value, source)
        else:
            allowed = ", ".join(list(TOP_LEVEL) + [f"[{s}]" for s in (*SECTIONS, *OTHER_TABLES)])
            raise ConfigError(f"{source}: unknown section or key {key!r}; allowed: {allowed}")
    config = Config(**top, **sections)
    validate(config)
    return config


def _section_from_dict(section: str, values: dict[str, Any], source: str):
    types = section_fields(section)
    kwargs = {}
    for name, value in values.items():
        if name not in types:
            raise ConfigError(
                f"{source}: unknown field {section}.{name}; [{section}] has {', '.join(types)}"
            )
        kwargs[name] = _coerce(f"{section}.{name}", value, types[name])
    return SECTIONS[section](**kwargs)


def parse_override(text: str, flag: str = "--set") -> tuple[str, str, Any]:
    """``section.field=value`` -> (section, field, value); the value is read as TOML.

    A value that is not valid TOML is taken as a string, so ``optimizer.name=adam``
    needs no quotes. ``flag`` names the option in error messages.
    """
    if "=" not in text:
        raise ConfigError(
            f"{flag} {text!r}: expected section.field=value, e.g. optimizer.name=adam"
        )
    path, _, value_text = text.partition("=")
    path = path.strip()
    if path in TOP_LEVEL:
        return "", path, value_text.strip()
    section, dot, name = path.partition(".")
    if not dot or section not in SECTIONS:
        raise ConfigError(
            f"{flag} {text!r}: unknown section {section!r}; sections are {', '.join(SECTIONS)}"
        )
    types = section_fields(section)
    if name not in types:
        raise ConfigError(
            f"{flag} {text!r}: unknown field {path}; [{section}] has {', '.join(types)}"
        )
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()
    if types[name] is str and not isinstance(value, str):
        value = value_text.strip()
    return section, name, value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of the TOML-shaped dict with every ``--set`` override applied."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for text in overrides:
        section, name, value = parse_override(text)
        if not section:
            out[name] = value
        else:
            if not isinstance(out.get(section, {}), dict):
                raise ConfigError(f"--set {text!r}: [{section}] is not a table in the config")
            out.setdefault(section, {})[name] = value
    return out


def config_to_dict(config: Config) -> dict[str, Any]:
    """The TOML-shaped dict of a config (unset optimizer numbers are left out)."""
    out: dict[str, Any] = {"name": config.name}
    if config.description:
        out["description"] = config.description
    for section in SECTIONS:
        values = dataclasses.asdict(getattr(config, section))
        out[section] = {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items() if v is not None
        }
    return out


# ---------------------------------------------------------------- checks


def _choice(where: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{where} = {value!r} is unknown; choose one of {', '.join(allowed)}")


def _check(where: str, value, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{where} = {_show(value)} is out of range: must be {rule}")


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
    _choice("data.name", d.name, (*DATASETS, "file"))
    _choice("data.batching", d.batching, ("cyclic", "shuffle"))
    _choice("data.task", d.task, DATA_TASKS)
    _check("data.n_samples", d.n_samples, 0 <= d.n_samples <= 1_000_000, "0 (default) to 1000000")
    _check("data.noise", d.noise, 0.0 <= d.noise <= 1.0, "between 0 and 1")
    _check("data.test_fraction", d.test_fraction, 0.0 <= d.test_fraction < 1.0, "in [0, 1)")
    _choice("model.name", m.name, ("mlp", "scalar"))
    _choice("model.activation", m.activation, ACTIVATIONS)
    _choice("model.output_activation", m.output_activation, OUTPUT_ACTIVATIONS)
    _choice("model.init", m.init, INITIALIZERS)
    _check("model.layers", m.layers, len(m.layers) >= 2, "at least [inputs, outputs]")
    _check("model.layers", m.layers, all(1 <= n <= 4096 for n in m.layers), "sizes from 1 to 4096")
    _check("model.init_stddev", m.init_stddev, m.init_stddev > 0, "> 0")
    _choice("loss.name", lo.name, LOSSES)
    _choice("regularizer.name", r.name, REGULARIZERS)
    _check("regularizer.scale", r.scale, r.scale >= 0, ">= 0")
    _choice("optimizer.name", o.name, OPTIMIZERS)
    _check("optimizer.learning_rate", o.learning_rate, o.learning_rate > 0, "> 0")
    own = OPTIMIZERS[o.name].numbers
    for name in OPTIMIZER_NUMBERS:
        value = getattr(o, name)
        if value is None:
            continue
        if name not in own:
            takes = ", ".join(own) if own else "only learning_rate"
            raise ConfigError(
                f"optimizer.{name} is not a setting of {o.name}; {o.name} takes {takes}"
            )
        if name in ("momentum", "b1", "b2", "decay"):
            _check(f"optimizer.{name}", value, 0 <= value < 1, "in [0, 1)")
        elif name == "eps":
            _check(f"optimizer.{name}", value, value > 0, "> 0")
        else:
            _check(f"optimizer.{name}", value, value >= 0, ">= 0")
    _choice("schedule.name", s.name, SCHEDULES)
    _check("schedule.decay_rate", s.decay_rate, s.decay_rate > 0, "> 0")
    _check("schedule.decay_steps", s.decay_steps, s.decay_steps >= 1, ">= 1")
    _check("ema.decay", e.decay, 0 <= e.decay < 1, "in [0, 1)")
    _check("train.steps", t.steps, 1 <= t.steps <= 100_000_000, "from 1 to 100000000")
    _check("train.batch_size", t.batch_size, t.batch_size >= 1, ">= 1")
    _check("train.seed", t.seed, 0 <= t.seed < 2**31, "from 0 to 2147483647")
    _check("data.seed", d.seed, 0 <= d.seed < 2**32, "from 0 to 4294967295")
    _check("train.log_every", t.log_every, t.log_every >= 0, ">= 0 (0 = automatic)")
    _check("train.checkpoint_every", t.checkpoint_every, t.checkpoint_every >= 0, ">= 0")
    _validate_combination(config)


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
                    f"{where} = {_show(value)} chooses columns of a data file: set data.path too"
                )
        return
    if not d.path.lower().endswith(DATA_FILE_TYPES):
        raise ConfigError(
            f"data.path = {d.path!r} must be a .csv file (a header row of column names) or .npz"
        )
    if len(set(d.features)) != len(d.features):
        raise ConfigError(f"data.features = {_show(d.features)} names a column twice")
    if d.label and d.label in d.features:
        raise ConfigError(
            f"data.features = {_show(d.features)} includes the label column {d.label!r}"
        )


def _validate_combination(config: Config) -> None:
    m, lo, d = config.model, config.loss, config.data
    _validate_data_file(d)
    if m.name == "scalar" and d.path:
        raise ConfigError(
            f"data.path = {d.path!r}: the scalar model takes no data; leave data.path empty"
        )
    if (m.name == "scalar") != (lo.name == "quadratic"):
        raise ConfigError(
            f"loss.name = {lo.name!r} with model.name = {m.name!r}: the quadratic loss (w - target)² "
            "goes with the scalar model, and only with it"
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
    if lo.name == "cross_entropy" and m.output_activation == "linear":
        raise ConfigError(
            "loss.name = 'cross_entropy' needs probabilities: set model.output_activation to "
            "sigmoid or softmax (or use softmax_cross_entropy on linear outputs)"
        )
    if lo.name == "softmax_cross_entropy":
        if m.output_activation != "linear":
            raise ConfigError(
                "loss.name = 'softmax_cross_entropy' takes logits: set model.output_activation = 'linear'"
            )
        if m.layers[-1] < 2:
            raise ConfigError(
                f"model.layers = {list(m.layers)}: softmax_cross_entropy needs >= 2 outputs (one per class)"
            )
    if m.output_activation == "softmax" and m.layers[-1] < 2:
        raise ConfigError(f"model.layers = {list(m.layers)}: a softmax output needs >= 2 outputs")


def resolve(config: Config) -> Config:
    """The config with every default made explicit: dataset size and optimizer numbers."""
    data = config.data
    if data.path:  # the file wins; n_samples and noise do not apply to it
        path = os.path.abspath(data.path)  # so resume and evaluate work from any folder
        data = dataclasses.replace(data, name="file", path=path, n_samples=0, noise=0.0)
    elif data.n_samples == 0:
        data = dataclasses.replace(data, n_samples=DATASETS[data.name].default_size)
    opt = config.optimizer
    filled = {
        k: (getattr(opt, k) if getattr(opt, k) is not None else v)
        for k, v in OPTIMIZERS[opt.name].numbers.items()
    }
    opt = dataclasses.replace(opt, **filled)
    return config.replace(data=data, optimizer=opt)


def optimizer_numbers(config: Config) -> dict[str, float]:
    """learning_rate and the optimizer's own numbers, defaults filled in."""
    opt = resolve(config).optimizer
    out = {"learning_rate": opt.learning_rate}
    out.update({k: getattr(opt, k) for k in OPTIMIZERS[opt.name].numbers})
    return out
