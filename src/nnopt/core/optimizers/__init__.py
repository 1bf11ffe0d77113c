"""Optimizers: each name means TensorFlow 1's optimizer, or on request Optax's.

:data:`OPTIMIZERS` is the registry. Each name has two meanings (:class:`Meaning`), chosen by
``optimizer.convention``:

- ``"tf1"`` (the default): TF1's ``tf.train`` optimizer, written as an Optax transformation
  in :mod:`nnopt.core.optimizers.tf1` (TF1's slot start values, ε placement and order of
  operations), with every TF1 argument under its TF1 name;
- ``"optax"``: Optax's optimizer of that name (:mod:`nnopt.core.optimizers.optax_convention`),
  with Optax's defaults, for users who expect Optax's (or PyTorch's) numbers.

Each meaning declares its numbers (:class:`~nnopt.core.numbers.Number`, a default and a
range) and its on/off options (:class:`~nnopt.core.numbers.Switch`); the config's
validation, the command line and the page read them here. The numbers live in the
optimizer state as arrays (``optax.inject_hyperparams``): the learning rate is set from the
schedule before every update, and a batch of configurations with different numbers shares
one compiled program. The switches and the convention are compiled in
(:class:`OptimizerChoice`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nnopt.core._jax import optax
from nnopt.core.numbers import NON_NEGATIVE, POSITIVE, UNIT, Number, Switch
from nnopt.core.optimizers import optax_convention, tf1

CONVENTIONS = ("tf1", "optax")

# Other names a config may use for a number: Optax's short names, and nnopt 0.1's fields.
ALIASES = {"b1": "beta1", "b2": "beta2", "eps": "epsilon"}


@dataclass(frozen=True)
class Meaning:
    """One convention's optimizer: its factory, numbers, switches and where it comes from.

    ``factory(learning_rate, **numbers, **switches)`` returns the Optax transformation;
    ``fixed`` are switches the name sets for good (``nesterov`` is momentum with
    ``use_nesterov = true``).
    """

    factory: Callable
    source: str  # e.g. "tf.train.RMSPropOptimizer"
    numbers: tuple[Number, ...] = ()
    switches: tuple[Switch, ...] = ()
    fixed: dict = field(default_factory=dict)

    @property
    def settings(self) -> tuple[Number | Switch, ...]:
        """The numbers and switches a config may set."""
        return self.numbers + self.switches

    def defaults(self) -> dict:
        """Setting name -> default."""
        return {s.name: s.default for s in self.settings}


@dataclass(frozen=True)
class OptimizerSpec:
    """A registered optimizer: a summary and its meaning in each convention."""

    summary: str
    tf1: Meaning
    optax: Meaning

    def meaning(self, convention: str = "tf1") -> Meaning:
        return self.tf1 if convention == "tf1" else self.optax


@dataclass(frozen=True)
class OptimizerChoice:
    """The compiled-in part of an optimizer: its name, convention and switches."""

    name: str
    convention: str = "tf1"
    switches: tuple[tuple[str, bool], ...] = ()  # sorted (name, value) pairs

    @property
    def meaning(self) -> Meaning:
        return OPTIMIZERS[self.name].meaning(self.convention)


LEARNING_RATE = Number("learning_rate", 0.001, **POSITIVE, summary="the base rate")
_MOMENTUM = Number("momentum", 0.9, **UNIT, summary="μ: weight of the accumulated gradient")
_NESTEROV = Switch("use_nesterov", False, summary="Nesterov's look-ahead step")
_BETA1 = Number("beta1", 0.9, **UNIT, summary="decay of the gradient's mean m")
_BETA2 = Number("beta2", 0.999, **UNIT, summary="decay of the squared gradient's mean v")
_ADAM_EPSILON = Number("epsilon", 1e-8, **POSITIVE, summary="added to √v")
_WEIGHT_DECAY = Number(
    "weight_decay", 1e-4, **UNIT, summary="decoupled decay w ← w − wd·w (not scaled by the rate)"
)
_OPTAX_WEIGHT_DECAY = Number(
    "weight_decay", 1e-4, **NON_NEGATIVE, summary="decoupled decay w ← w − lr·wd·w"
)
_DECAY = Number("decay", 0.9, **UNIT, summary="ρ: decay of the squared gradient's mean")
_RMS_MOMENTUM = Number("momentum", 0.0, **UNIT, summary="μ: weight of the previous update")
_CENTERED = Switch(
    "centered", False, summary="divide by the gradient's variance, not its mean square"
)

_ADAM = (_BETA1, _BETA2, _ADAM_EPSILON)

OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(
        "gradient descent w ← w - lr·∇ (the lecture's)",
        Meaning(tf1.gradient_descent, "tf.train.GradientDescentOptimizer"),
        Meaning(optax_convention.sgd, "optax.sgd"),
    ),
    "momentum": OptimizerSpec(
        "heavy-ball momentum",
        Meaning(tf1.momentum, "tf.train.MomentumOptimizer", (_MOMENTUM,), (_NESTEROV,)),
        Meaning(optax_convention.momentum, "optax.sgd", (_MOMENTUM,), (_NESTEROV,)),
    ),
    "nesterov": OptimizerSpec(
        "Nesterov momentum (momentum with use_nesterov = true)",
        Meaning(
            tf1.momentum,
            "tf.train.MomentumOptimizer(use_nesterov=True)",
            (_MOMENTUM,),
            fixed={"use_nesterov": True},
        ),
        Meaning(
            optax_convention.momentum,
            "optax.sgd(nesterov=True)",
            (_MOMENTUM,),
            fixed={"use_nesterov": True},
        ),
    ),
    "adam": OptimizerSpec(
        "Adam",
        Meaning(tf1.adam, "tf.train.AdamOptimizer", _ADAM),
        Meaning(optax_convention.adam, "optax.adam", _ADAM),
    ),
    "adamw": OptimizerSpec(
        "Adam with decoupled weight decay",
        Meaning(tf1.adamw, "tf.contrib.opt.AdamWOptimizer", (*_ADAM, _WEIGHT_DECAY)),
        Meaning(optax_convention.adamw, "optax.adamw", (*_ADAM, _OPTAX_WEIGHT_DECAY)),
    ),
    "rmsprop": OptimizerSpec(
        "RMSProp",
        Meaning(
            tf1.rmsprop,
            "tf.train.RMSPropOptimizer",
            (
                _DECAY,
                _RMS_MOMENTUM,
                Number("epsilon", 1e-10, **POSITIVE, summary="inside the root: √(ms + ε)"),
            ),
            (_CENTERED,),
        ),
        Meaning(
            optax_convention.rmsprop,
            "optax.rmsprop",
            (
                _DECAY,
                _RMS_MOMENTUM,
                Number("epsilon", 1e-8, **POSITIVE, summary="inside the root: √(ν + ε)"),
            ),
            (_CENTERED,),
        ),
    ),
    "adagrad": OptimizerSpec(
        "Adagrad",
        Meaning(
            tf1.adagrad,
            "tf.train.AdagradOptimizer",
            (Number("initial_accumulator_value", 0.1, **POSITIVE, summary="start of Σg²"),),
        ),
        Meaning(
            optax_convention.adagrad,
            "optax.adagrad",
            (
                Number("initial_accumulator_value", 0.1, **NON_NEGATIVE, summary="start of Σg²"),
                Number("epsilon", 1e-7, **POSITIVE, summary="inside the root: √(Σg² + ε)"),
            ),
        ),
    ),
}

# Every optimizer setting (number or switch) that a config can set, in any convention.
OPTIMIZER_SETTINGS = tuple(
    sorted(
        {
            s.name
            for spec in OPTIMIZERS.values()
            for meaning in (spec.tf1, spec.optax)
            for s in meaning.settings
        }
    )
)


def default_numbers(choice: OptimizerChoice) -> dict[str, float]:
    """learning_rate and the meaning's numbers at their defaults (placeholders for building a
    transformation whose numbers come from its state)."""
    numbers = {n.name: n.default for n in choice.meaning.numbers}
    return {"learning_rate": LEARNING_RATE.default, **numbers}


def make_optimizer(choice: OptimizerChoice, numbers: dict):
    """The Optax transformation of ``choice`` with its numbers injected as state.

    ``numbers`` holds ``learning_rate`` and the meaning's own numbers (arrays or floats); the
    learning rate in the state is replaced before each update by the schedule's value. The
    switches are compiled in.

    Example (TF1's RMSProp: its mean square starts at 1):
      >>> choice = OptimizerChoice("rmsprop")
      >>> state = make_optimizer(choice, default_numbers(choice)).init(np.zeros(3, np.float32))
      >>> sorted(state.hyperparams), state.inner_state.ms.tolist()
      (['decay', 'epsilon', 'learning_rate', 'momentum'], [1.0, 1.0, 1.0])
    """
    meaning = choice.meaning
    values = {"learning_rate": numbers["learning_rate"]}
    values.update({n.name: numbers[n.name] for n in meaning.numbers})
    # inject_hyperparams injects Python numbers and arrays; NumPy scalars become floats.
    values = {k: float(v) if isinstance(v, np.generic) else v for k, v in values.items()}
    switches = {**dict(choice.switches), **meaning.fixed}
    build = optax.inject_hyperparams(meaning.factory, static_args=tuple(switches))
    return build(**values, **switches)
