"""Optimizers: name -> Optax transformation, with their tunable numbers.

Each optimizer is built with ``optax.inject_hyperparams`` so that its numbers
(learning rate, momentum, b1, ...) live in the optimizer state as arrays: the
learning rate is set from the schedule before every update, and a batch of
configurations with different numbers shares one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import optax


@dataclass(frozen=True)
class OptimizerSpec:
    """A registered optimizer: the Optax factory, its numbers with defaults, fixed options."""

    factory: Callable[..., optax.GradientTransformation]
    numbers: dict[str, float]
    summary: str
    fixed: dict = field(default_factory=dict)


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(optax.sgd, {}, "gradient descent w ← w - lr·∇ (the lecture's)"),
    "momentum": OptimizerSpec(optax.sgd, {"momentum": 0.9}, "heavy-ball momentum"),
    "nesterov": OptimizerSpec(
        optax.sgd, {"momentum": 0.9}, "Nesterov momentum", fixed={"nesterov": True}
    ),
    "adam": OptimizerSpec(optax.adam, {"b1": 0.9, "b2": 0.999, "eps": 1e-8}, "Adam"),
    "adamw": OptimizerSpec(
        optax.adamw,
        {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 1e-4},
        "Adam with decoupled weight decay",
    ),
    "rmsprop": OptimizerSpec(optax.rmsprop, {"decay": 0.9, "eps": 1e-8}, "RMSProp"),
    "adagrad": OptimizerSpec(
        optax.adagrad, {"initial_accumulator_value": 0.1, "eps": 1e-7}, "Adagrad"
    ),
}

# Every optimizer number that a config can set.
OPTIMIZER_NUMBERS = tuple(sorted({k for s in OPTIMIZERS.values() for k in s.numbers}))


def make_optimizer(name: str, numbers: dict[str, float]) -> optax.GradientTransformation:
    """The Optax transformation ``name`` with its numbers injected as state.

    ``numbers`` holds ``learning_rate`` and the optimizer's own numbers; the learning
    rate in the state is replaced before each update by the schedule's value.
    """
    spec = OPTIMIZERS[name]
    static = tuple(spec.fixed)
    build = optax.inject_hyperparams(spec.factory, static_args=static)
    values = {"learning_rate": numbers["learning_rate"]}
    values.update({k: numbers[k] for k in spec.numbers})
    return build(**values, **spec.fixed)
