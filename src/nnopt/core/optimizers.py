"""Optimizers: name -> Optax transformation, with their tunable numbers and ranges.

Each optimizer is built with ``optax.inject_hyperparams`` so that its numbers
(learning rate, momentum, b1, ...) live in the optimizer state as arrays: the
learning rate is set from the schedule before every update, and a batch of
configurations with different numbers shares one compiled program.

:data:`OPTIMIZERS` is the registry: the Optax factory (by name, so the registry can be read
without importing Optax), the optimizer's own numbers with defaults and ranges, and fixed
options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nnopt.core._jax import optax
from nnopt.core.numbers import NON_NEGATIVE, POSITIVE, UNIT, Number


@dataclass(frozen=True)
class OptimizerSpec:
    """A registered optimizer: the Optax factory's name, its numbers, a summary, fixed options."""

    factory: str  # an attribute of optax, e.g. "sgd"
    numbers: tuple[Number, ...]
    summary: str
    fixed: dict = field(default_factory=dict)

    def defaults(self) -> dict[str, float]:
        """Number name -> default."""
        return {n.name: n.default for n in self.numbers}


LEARNING_RATE = Number("learning_rate", 0.001, **POSITIVE, summary="the base rate")
_MOMENTUM = Number("momentum", 0.9, **UNIT, summary="weight of the previous update")
_B1 = Number("b1", 0.9, **UNIT, summary="decay of the gradient's mean")
_B2 = Number("b2", 0.999, **UNIT, summary="decay of the squared gradient's mean")
_EPS = Number("eps", 1e-8, **POSITIVE, summary="added to the denominator")

OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec("sgd", (), "gradient descent w ← w - lr·∇ (the lecture's)"),
    "momentum": OptimizerSpec("sgd", (_MOMENTUM,), "heavy-ball momentum"),
    "nesterov": OptimizerSpec("sgd", (_MOMENTUM,), "Nesterov momentum", {"nesterov": True}),
    "adam": OptimizerSpec("adam", (_B1, _B2, _EPS), "Adam"),
    "adamw": OptimizerSpec(
        "adamw",
        (_B1, _B2, _EPS, Number("weight_decay", 1e-4, **NON_NEGATIVE, summary="decoupled decay")),
        "Adam with decoupled weight decay",
    ),
    "rmsprop": OptimizerSpec(
        "rmsprop",
        (Number("decay", 0.9, **UNIT, summary="decay of the squared gradient's mean"), _EPS),
        "RMSProp",
    ),
    "adagrad": OptimizerSpec(
        "adagrad",
        (
            Number("initial_accumulator_value", 0.1, **NON_NEGATIVE, summary="start of Σg²"),
            Number("eps", 1e-7, **POSITIVE, summary="added to the denominator"),
        ),
        "Adagrad",
    ),
}

# Every optimizer number that a config can set.
OPTIMIZER_NUMBERS = tuple(sorted({n.name for s in OPTIMIZERS.values() for n in s.numbers}))


def make_optimizer(name: str, numbers: dict[str, float]):
    """The Optax transformation ``name`` with its numbers injected as state.

    ``numbers`` holds ``learning_rate`` and the optimizer's own numbers; the learning
    rate in the state is replaced before each update by the schedule's value.
    """
    spec = OPTIMIZERS[name]
    build = optax.inject_hyperparams(getattr(optax, spec.factory), static_args=tuple(spec.fixed))
    values = {"learning_rate": numbers["learning_rate"]}
    values.update({n.name: numbers[n.name] for n in spec.numbers})
    return build(**values, **spec.fixed)
