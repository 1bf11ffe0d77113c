"""Regularization (lecture 4.4): a penalty on the weights ``w*`` (biases are not regularized).

TensorFlow 1's ``l2_regularizer(scale)(w)`` is ``scale * tf.nn.l2_loss(w)``, which
is ``scale * Σw² / 2``; nnopt keeps that half. The total loss is the data loss plus
the penalty.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def _weights(params: dict[str, jax.Array]) -> list[jax.Array]:
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


REGULARIZERS: dict[str, Callable] = {"none": no_penalty, "l1": l1, "l2": l2}


def weight_penalty(params, numbers):
    """l1_scale · Σ|w| + l2_scale · Σw²/2: every regularizer with its own scale.

    A config names one regularizer; the others get scale 0 (see :func:`penalty_scales`).
    Computing them all lets runs with different regularizers share one compiled program.
    """
    return l1(params, numbers["l1_scale"]) + l2(params, numbers["l2_scale"])


def penalty_scales(name: str, scale: float) -> dict[str, float]:
    """The scales of :func:`weight_penalty` for a config's ``regularizer.name`` and ``scale``."""
    return {"l1_scale": scale if name == "l1" else 0.0, "l2_scale": scale if name == "l2" else 0.0}
