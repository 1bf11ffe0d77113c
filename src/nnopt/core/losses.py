"""Losses (lecture 4.1): ``loss(y, y_, weights, numbers) -> scalar``.

``y`` is the prediction, ``y_`` the target (the lecture's names), ``weights`` a 0/1
per-row mask (rows beyond the end of the data in a short last batch count 0),
and ``numbers`` the loss's own hyperparameters (``cost``, ``profit``, ``target``).
Reductions are the lecture's: means over the batch, except the cost/profit loss,
which is a sum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp


def _row_mean(per_element: jax.Array, weights: jax.Array) -> jax.Array:
    """Mean over all elements of the counted rows: Σ w_i Σ_j e_ij / (Σ w_i · columns)."""
    return jnp.sum(per_element * weights[:, None]) / (jnp.sum(weights) * per_element.shape[1])


def mse(y, y_, weights, numbers):
    """mean((y_ - y)²): ``tf.reduce_mean(tf.square(y_ - y))``."""
    return _row_mean(jnp.square(y_ - y), weights)


def cost_profit(y, y_, weights, numbers):
    """Σ where(y > y_, COST·(y - y_), PROFIT·(y_ - y)): a sum over the batch, as in the lecture."""
    per = jnp.where(y > y_, numbers["cost"] * (y - y_), numbers["profit"] * (y_ - y))
    return jnp.sum(per * weights[:, None])


def _two_class(p: jax.Array) -> jax.Array:
    """A single probability column p becomes the distribution (1 - p, p)."""
    return jnp.concatenate([1.0 - p, p], axis=-1) if p.shape[-1] == 1 else p


def cross_entropy(y, y_, weights, numbers):
    """-mean(y_ · log(clip(y, 1e-12, 1))): the lecture's ``tf.reduce_mean`` over all elements.

    A one-column output is read as the probability of class 1, so both it and the
    target are expanded to two-class distributions first.
    """
    p, t = _two_class(y), _two_class(y_)
    return -_row_mean(t * jnp.log(jnp.clip(p, 1e-12, 1.0)), weights)


def softmax_cross_entropy(y, y_, weights, numbers):
    """mean(sparse_softmax_cross_entropy_with_logits(logits=y, labels=argmax(y_))).

    Per row: -log softmax(y)[argmax y_] = logsumexp(y) - y[argmax y_].
    """
    labels = jnp.argmax(y_, axis=-1)
    per_row = jax.nn.logsumexp(y, axis=-1) - jnp.take_along_axis(y, labels[:, None], axis=-1)[:, 0]
    return jnp.sum(per_row * weights) / jnp.sum(weights)


def quadratic(y, y_, weights, numbers):
    """(w - target)²: the 1-D demos' loss, (w + 1)² with target -1. The data is not used."""
    return jnp.square(y[0, 0] - numbers["target"])


@dataclass(frozen=True)
class LossSpec:
    """A registered loss: its function, its numbers (with defaults) and a one-line summary."""

    fn: Callable
    numbers: dict[str, float]
    summary: str


LOSSES: dict[str, LossSpec] = {
    "mse": LossSpec(mse, {}, "mean squared error mean((y_ - y)²)"),
    "cost_profit": LossSpec(
        cost_profit,
        {"cost": 1.0, "profit": 9.0},
        "Σ COST·(y - y_) where over-predicted, PROFIT·(y_ - y) where under",
    ),
    "cross_entropy": LossSpec(cross_entropy, {}, "-mean(y_·log(clip(y, 1e-12, 1)))"),
    "softmax_cross_entropy": LossSpec(
        softmax_cross_entropy, {}, "mean softmax cross entropy of logits y against argmax(y_)"
    ),
    "quadratic": LossSpec(quadratic, {"target": -1.0}, "(w - target)²: the gradient-descent demo"),
}

# Every loss number, so that a batch of configurations can stack them all.
LOSS_NUMBERS = ("cost", "profit", "target")
LOSS_NUMBER_DEFAULTS = {"cost": 1.0, "profit": 9.0, "target": -1.0}


def cross_entropy_of(y_: list[float], y: list[float], base: float = math.e) -> float:
    """H(y_, y) = -Σ y_·log(y) of one example, in the given logarithm base.

    Example (the lecture's worked numbers use base 10):
      >>> round(cross_entropy_of([1, 0], [0.6, 0.4], base=10), 3)
      0.222
    """
    return -sum(t * math.log(p, base) for t, p in zip(y_, y) if t)
