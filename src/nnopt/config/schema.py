"""Experiment configs: frozen dataclasses, one per TOML section.

A config file has the sections ``[data] [model] [loss] [regularizer] [optimizer]
[schedule] [ema] [train]`` and the top-level keys ``name`` and ``description``; a
``[sweep]`` table (:class:`SweepConfig`) is read by ``nnopt sweep`` and ignored by training.
Parsing is :mod:`nnopt.config.parse`, the checks :mod:`nnopt.config.validate`.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from typing import Any

from nnopt.core.data import DATASETS
from nnopt.core.optimizers import ALIASES, OPTIMIZERS, OptimizerChoice


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
    # Feature inputs computed from 2-D data's columns x0, x1 (nnopt.core.features.FEATURES:
    # x0, x1, x0_squared, x1_squared, x0_x1, sin_x0, sin_x1), in order, before any
    # standardization; model.layers[0] is their count. Empty = the columns as they are.
    inputs: tuple[str, ...] = ()


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
    # "tf1": each name is TensorFlow 1's optimizer (tf.train.AdamOptimizer ...); "optax":
    # Optax's optimizer of that name, with Optax's defaults (see the README's table)
    convention: str = "tf1"
    # The optimizer's own settings, under TF1's argument names; unset means the default of
    # the optimizer in its convention (nnopt.core.optimizers.OPTIMIZERS).
    momentum: float | None = None  # momentum, nesterov, rmsprop
    use_nesterov: bool | None = None  # momentum
    beta1: float | None = None  # adam, adamw
    beta2: float | None = None  # adam, adamw
    epsilon: float | None = None  # adam, adamw, rmsprop (and adagrad in convention optax)
    weight_decay: float | None = None  # adamw
    decay: float | None = None  # rmsprop
    centered: bool | None = None  # rmsprop
    initial_accumulator_value: float | None = None  # adagrad
    # Other names of beta1, beta2 and epsilon (Optax's and nnopt 0.1's); a resolved config
    # writes the TF1 name
    b1: float | None = None
    b2: float | None = None
    eps: float | None = None


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
    # Which parameters update k's shadow reads, and with which step (TF1 leaves it open when
    # the EMA is grouped with the step): "after_update": the updated ones, step k + 1
    # (TF1's documented control_dependencies([train_step]) pattern); "before_update": the
    # ones before the update, step k (what the lecture's control_dependencies([train_step,
    # ema_op]) does in TF1 in practice)
    order: str = "after_update"


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


@dataclass(frozen=True)
class SweepConfig:
    """A config file's ``[sweep]`` table: the values to try and the seeds (``nnopt sweep``)."""

    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # "section.field" -> values
    seeds: int = 1  # each setting with train.seed, train.seed + 1, ...


SECTIONS: dict[str, type] = {
    name: tp for name, tp in typing.get_type_hints(Config).items() if name not in TOP_LEVEL
}


def section_fields(section: str) -> dict[str, Any]:
    """Field name -> type of one section."""
    return typing.get_type_hints(SECTIONS[section])


def field_names() -> list[str]:
    """Every ``section.field`` a config or ``--set`` can name."""
    return [f"{s}.{f}" for s in SECTIONS for f in section_fields(s)]


def resolve(config: Config) -> Config:
    """The config with every default made explicit: dataset size and optimizer numbers."""
    data = config.data
    if data.path:  # the file wins; n_samples and noise do not apply to it
        path = os.path.abspath(data.path)  # so resume and evaluate work from any folder
        data = dataclasses.replace(data, name="file", path=path, n_samples=0, noise=0.0)
    elif data.n_samples == 0:
        data = dataclasses.replace(data, n_samples=DATASETS[data.name].default_size)
    return config.replace(data=data, optimizer=resolve_optimizer(config.optimizer))


def resolve_optimizer(opt: OptimizerConfig) -> OptimizerConfig:
    """The optimizer section with its other names (b1, b2, eps) moved to the TF1 names and
    every setting of its meaning filled in with its default."""
    named = {alias: getattr(opt, alias) for alias in ALIASES if getattr(opt, alias) is not None}
    moved = {ALIASES[alias]: value for alias, value in named.items()}
    opt = dataclasses.replace(opt, **moved, **dict.fromkeys(named))
    defaults = OPTIMIZERS[opt.name].meaning(opt.convention).defaults()
    filled = {k: (v if getattr(opt, k) is None else getattr(opt, k)) for k, v in defaults.items()}
    return dataclasses.replace(opt, **filled)


def optimizer_numbers(config: Config) -> dict[str, float]:
    """learning_rate and the optimizer's own numbers, defaults filled in (what its state holds)."""
    opt = resolve_optimizer(config.optimizer)
    out = {"learning_rate": opt.learning_rate}
    out.update(
        {n.name: getattr(opt, n.name) for n in OPTIMIZERS[opt.name].meaning(opt.convention).numbers}
    )
    return out


def optimizer_choice(config: Config) -> OptimizerChoice:
    """The compiled-in part of the config's optimizer: name, convention and switches."""
    opt = resolve_optimizer(config.optimizer)
    switches = OPTIMIZERS[opt.name].meaning(opt.convention).switches
    return OptimizerChoice(
        opt.name, opt.convention, tuple(sorted((s.name, getattr(opt, s.name)) for s in switches))
    )
