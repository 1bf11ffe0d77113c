"""Regularization (lecture 4.4): a penalty on the weights ``w*`` (biases are not regularized).

TensorFlow 1's ``l2_regularizer(scale)(w)`` is ``scale * tf.nn.l2_loss(w)``, which
is ``scale * Σw² / 2``; nnopt keeps that half (the lecture's text writes Σw²). The total
loss is the data loss plus the penalty.

:data:`REGULARIZERS` is the registry. Every penalty has its own scale among the numbers the
compiled step reads (``l1_scale``, ``l2_scale``); a config names one regularizer and the
others get scale 0, so runs with different regularizers share one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nnopt.core._jax import jnp


def _weights(params: dict) -> list:
    return [v for k, v in sorted(params.items()) if k.startswith("w")]


def no_penalty(params, scale):
    """0."""
    return jnp.zeros((), jnp.float32)


def l1(params, scale):
    """scale · Σ|w|: ``tf.contrib.layers.l1_regularizer(scale)``."""
    return scale * sum(jnp.sum(jnp.abs(w)) for w in _weights(params))


def l2(params, scale):
    """scale · Σw² / 2: ``tf.contrib.layers.l2_regularizer(scale)``."""
    return scale * sum(jnp.sum(jnp.square(w)) for w in _weights(params)) / 2


@dataclass(frozen=True)
class RegularizerSpec:
    """A registered regularizer: its penalty ``fn(params, scale)``, the number its scale is read
    from (None: it has none), a menu label and a summary."""

    fn: Callable
    scale_number: str | None
    label: str
    summary: str


REGULARIZERS: dict[str, RegularizerSpec] = {
    "none": RegularizerSpec(no_penalty, None, "none", "no penalty"),
    "l1": RegularizerSpec(l1, "l1_scale", "L1", "scale · Σ|w| over the weights"),
    "l2": RegularizerSpec(l2, "l2_scale", "L2", "scale · Σw²/2 over the weights (TF1's l2_loss)"),
}
SCALE_NUMBERS = tuple(s.scale_number for s in REGULARIZERS.values() if s.scale_number)


def weight_penalty(params, numbers):
    """Σ over the registered penalties of penalty(params, its scale): l1_scale·Σ|w| + l2_scale·Σw²/2."""
    total = jnp.zeros((), jnp.float32)
    for spec in REGULARIZERS.values():
        if spec.scale_number is not None:
            total = total + spec.fn(params, numbers[spec.scale_number])
    return total


def penalty_scales(name: str, scale: float) -> dict[str, float]:
    """The scales :func:`weight_penalty` reads for a config's ``regularizer.name`` and ``scale``:
    ``scale`` for the named one, 0 for every other."""
    chosen = REGULARIZERS[name].scale_number
    return {key: (scale if key == chosen else 0.0) for key in SCALE_NUMBERS}
