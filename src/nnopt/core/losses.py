"""Losses (lecture 4.1): ``loss(y, y_, weights, numbers) -> scalar``.

``y`` is the prediction, ``y_`` the target (the lecture's names), ``weights`` a 0/1
per-row mask (rows beyond the end of the data in a short last batch count 0),
and ``numbers`` the loss's own hyperparameters (``cost``, ``profit``, ``target``).
Reductions are the lecture's: means over the batch, except the cost/profit loss,
which is a sum.

:data:`LOSSES` is the registry: each loss with its numbers (defaults and ranges), the kinds
of data it fits, the output activation it is wired to on each, and what it asks of the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nnopt.core._jax import jax, jnp
from nnopt.core.numbers import NON_NEGATIVE, Number


def _row_mean(per_element, weights):
    """Mean over all elements of the counted rows: Σ w_i Σ_j e_ij / (Σ w_i · columns)."""
    return jnp.sum(per_element * weights[:, None]) / (jnp.sum(weights) * per_element.shape[1])


def mse(y, y_, weights, numbers):
    """mean((y_ - y)²): ``tf.reduce_mean(tf.square(y_ - y))``."""
    return _row_mean(jnp.square(y_ - y), weights)


def cost_profit(y, y_, weights, numbers):
    """Σ where(y > y_, COST·(y - y_), PROFIT·(y_ - y)): a sum over the batch, as in the lecture."""
    per = jnp.where(y > y_, numbers["cost"] * (y - y_), numbers["profit"] * (y_ - y))
    return jnp.sum(per * weights[:, None])


def _log_clipped(p):
    """log(clip(p, 1e-12, 1)): the lecture's ``tf.log(tf.clip_by_value(y, 1e-12, 1.0))``."""
    return jnp.log(jnp.clip(p, 1e-12, 1.0))


def cross_entropy(y, y_, weights, numbers):
    """-mean(y_ · log(clip(y, 1e-12, 1))): the lecture's ``tf.reduce_mean`` over all elements.

    The formula as written, on the output as it is. On softmax outputs with one-hot targets
    it is the cross entropy divided by the number of classes. On one sigmoid output only the
    rows with y_ = 1 contribute (y_ = 0 rows add 0), so it pushes every output toward 1: a
    real pitfall of the lecture's formula; :func:`binary_cross_entropy` is the two-sided loss.
    """
    return -_row_mean(y_ * _log_clipped(y), weights)


def binary_cross_entropy(y, y_, weights, numbers):
    """-mean(y_·log(clip(y)) + (1 - y_)·log(clip(1 - y))), clip to [1e-12, 1] as the lecture's.

    Each output is the probability of its label being 1 (a sigmoid output): both labels
    contribute, unlike :func:`cross_entropy` on one output. The mean is over all elements,
    as Keras's ``binary_crossentropy`` (which clips to [1e-7, 1 - 1e-7] instead).
    """
    per = y_ * _log_clipped(y) + (1.0 - y_) * _log_clipped(1.0 - y)
    return -_row_mean(per, weights)


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


LINEAR = {"regression": "linear", "binary": "linear", "multiclass": "linear"}


@dataclass(frozen=True)
class LossSpec:
    """A registered loss.

    ``tasks`` maps each kind of data the loss fits (regression, binary, multiclass) to the
    output activation it is wired to there (the playground builds its lanes with it);
    ``output_activations`` are the ones a config may choose with it (empty: any), with
    ``output_rule`` saying why when another is chosen; ``min_outputs`` the least output
    units; ``model`` the model it goes with.
    """

    fn: Callable
    summary: str
    numbers: tuple[Number, ...] = ()
    tasks: dict[str, str] = field(default_factory=dict)
    output_activations: tuple[str, ...] = ()
    output_rule: str = ""
    min_outputs: int = 1
    model: str = "mlp"
    label: str = ""  # for menus; "" = the name with spaces

    def shown(self, name: str) -> str:
        return self.label or name.replace("_", " ")


LOSSES: dict[str, LossSpec] = {
    "mse": LossSpec(mse, "mean squared error mean((y_ - y)²)", tasks=LINEAR),
    "cost_profit": LossSpec(
        cost_profit,
        "Σ COST·(y - y_) where over-predicted, PROFIT·(y_ - y) where under",
        numbers=(
            Number("cost", 1.0, **NON_NEGATIVE, summary="cost of each unit predicted too many"),
            Number("profit", 9.0, **NON_NEGATIVE, summary="profit lost on each unit too few"),
        ),
        tasks={"regression": "linear", "binary": "linear"},
        label="cost / profit",
    ),
    "cross_entropy": LossSpec(
        cross_entropy,
        "-mean(y_·log(clip(y, 1e-12, 1))), the lecture's formula on the outputs as they are",
        tasks={"multiclass": "softmax"},
        output_activations=("sigmoid", "softmax"),
        output_rule="needs probabilities: set model.output_activation to sigmoid or softmax "
        "(or use softmax_cross_entropy on linear outputs)",
    ),
    "binary_cross_entropy": LossSpec(
        binary_cross_entropy,
        "-mean(y_·log(y) + (1-y_)·log(1-y)), y and 1-y clipped to [1e-12, 1]",
        tasks={"binary": "sigmoid"},
        output_activations=("sigmoid",),
        output_rule="needs a probability per output: set model.output_activation = 'sigmoid'",
    ),
    "softmax_cross_entropy": LossSpec(
        softmax_cross_entropy,
        "mean softmax cross entropy of logits y against argmax(y_)",
        tasks={"multiclass": "linear"},
        output_activations=("linear",),
        output_rule="takes logits: set model.output_activation = 'linear'",
        min_outputs=2,
    ),
    "quadratic": LossSpec(
        quadratic,
        "(w - target)²: the gradient-descent demo",
        numbers=(Number("target", -1.0, summary="the minimum of (w - target)²"),),
        model="scalar",
    ),
}


# The lecture's analyses on the host (a loss landscape's grid, the worked cross entropy) in
# NumPy float32: the same formulas as above, for predictions ``y`` of shape [..., rows,
# outputs] (any leading axes, e.g. one per point of a grid), reduced over the last two. They
# compile no program; tests/core/test_losses.py holds them to the functions above.
def _numpy_row_mean(per_element, weights):
    w = np.asarray(weights, np.float32)[:, None]
    return np.sum(per_element * w, axis=(-2, -1)) / (np.sum(w) * np.float32(per_element.shape[-1]))


NUMPY_LOSSES: dict[str, Callable] = {
    "mse": lambda y, y_, weights, numbers: _numpy_row_mean(np.square(y_ - y), weights),
    "cost_profit": lambda y, y_, weights, numbers: np.sum(
        np.where(y > y_, numbers["cost"] * (y - y_), numbers["profit"] * (y_ - y))
        * np.asarray(weights, np.float32)[:, None],
        axis=(-2, -1),
    ),
    "cross_entropy": lambda y, y_, weights, numbers: (
        -_numpy_row_mean(y_ * np.log(np.clip(y, np.float32(1e-12), np.float32(1.0))), weights)
    ),
}

# Every loss number, so that a batch of configurations can stack them all.
LOSS_NUMBERS: tuple[str, ...] = tuple(n.name for spec in LOSSES.values() for n in spec.numbers)


def cross_entropy_of(y_: list[float], y: list[float], base: float = math.e) -> float:
    """H(y_, y) = -Σ y_·log(y) of one example, in the given logarithm base.

    Example (the lecture's worked numbers use base 10):
      >>> round(cross_entropy_of([1, 0], [0.6, 0.4], base=10), 3)
      0.222
    """
    return -sum(t * math.log(p, base) for t, p in zip(y_, y) if t)
