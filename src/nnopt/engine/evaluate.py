"""Evaluation (the course's ``test``): predictions, loss and accuracy with given weights.

Pure, jittable functions over a :class:`~nnopt.engine.structure.Structure` and flat or named
parameters. Training calls them at every log point. :func:`predict` (decision boundaries,
``nnopt predict``) and :func:`neuron_outputs` (the playground's thumbnails) run on the host
in NumPy.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from nnopt.core.losses import LOSSES
from nnopt.core.model import mlp_layers, numpy_mlp_layers, scalar_forward
from nnopt.core.regularizers import weight_penalty
from nnopt.engine.structure import Structure, unflatten


def layer_outputs(structure: Structure, params: dict, x) -> list:
    """Every layer's output for inputs ``x`` ([n, features]) with named parameters (the last is
    the model's output); the scalar model's one entry is ``w`` per row."""
    if structure.model == "scalar":
        return [scalar_forward(params, x)]
    return mlp_layers(
        params, x, structure.activation, structure.output_activation, structure.products
    )


def forward(structure: Structure, params: dict, x):
    """The model's output for inputs ``x`` ([n, features]) with named parameters."""
    return layer_outputs(structure, params, x)[-1]


def accuracy(y, y_):
    """Share of rows classified right: y >= 0.5 for one output (the lecture's 0.5 line), else argmax."""
    if y.shape[-1] == 1:
        hits = (y[:, 0] >= 0.5) == (y_[:, 0] >= 0.5)
    else:
        hits = jnp.argmax(y, -1) == jnp.argmax(y_, -1)
    return jnp.mean(hits.astype(jnp.float32))


def losses_of(structure: Structure, numbers: dict, params: dict, x, y_):
    """(data loss, regularization, output) of named parameters on rows ``x`` with targets ``y_``."""
    y = forward(structure, params, x)
    weights = jnp.ones((x.shape[0],), jnp.float32)
    data_loss = LOSSES[structure.loss].fn(y, y_, weights, numbers)
    penalty = weight_penalty(params, numbers)
    return data_loss, penalty, y


def metrics_of(structure: Structure, numbers: dict, flat, x, y_) -> dict:
    """loss (data), reg, total and, for classifiers, accuracy of flat parameters on ``x``."""
    data_loss, penalty, y = losses_of(structure, numbers, unflatten(flat, structure), x, y_)
    out = {"loss": data_loss, "reg": penalty, "total": data_loss + penalty}
    if structure.classifies:
        out["accuracy"] = accuracy(y, y_)
    return out


def predict(structure: Structure, params: dict, x) -> np.ndarray:
    """The model's output for rows ``x``, on the host in NumPy (e.g. a 600×600 grid)."""
    return neuron_outputs(structure, params, x)[-1]


def neuron_outputs(structure: Structure, params: dict, x) -> list:
    """Every layer's outputs for rows ``x`` (see :func:`layer_outputs`) on the host, ``[n, units_k]``
    each, computed in NumPy: a forward pass compiles no program.

    Example:
      >>> from nnopt.core.model import init_mlp
      >>> p = init_mlp((2, 3, 1), seed=0)
      >>> s = Structure("mlp", (2, 3, 1), "relu", "linear", (("b1", (3,)), ("b2", (1,)),
      ...     ("w1", (2, 3)), ("w2", (3, 1))), "mse", "sgd", 1, "cyclic", 1, 0, "binary")
      >>> [a.shape for a in neuron_outputs(s, p, np.zeros((5, 2)))]
      [(5, 3), (5, 1)]
    """
    x = np.asarray(x, np.float32)
    if structure.model == "scalar":
        w = np.asarray(params["w"], np.float32)
        return [np.broadcast_to(w, (x.shape[0], 1)).copy()]
    return numpy_mlp_layers(params, x, structure.activation, structure.output_activation)


# ------------------------------------------------------------------ classes (the course's test)


def predicted_classes(y: np.ndarray) -> np.ndarray:
    """The class each output row stands for: ``y >= 0.5`` for one output (the lecture's 0.5
    line), else ``argmax(y)``; the rule :func:`accuracy` counts with."""
    y = np.asarray(y)
    if y.shape[-1] == 1:
        return (y[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(y, axis=-1).astype(np.int64)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = rows of true class ``i`` predicted as class ``j``; the diagonal is right.

    Example:
      >>> confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3).tolist()
      [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    counts = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(counts, (np.asarray(true, np.int64), np.asarray(predicted, np.int64)), 1)
    return counts


def class_probabilities(structure: Structure, y: np.ndarray) -> np.ndarray | None:
    """Each row's probability of every class, when the outputs are (or imply) probabilities.

    Softmax outputs are already ``p``; the logits of a softmax cross entropy give
    ``p_i = e^{y_i} / Σ_j e^{y_j}``; a sigmoid output ``p`` is ``(1 - p, p)``. Other outputs
    (e.g. the lecture's linear output fitted with MSE) are scores, not probabilities: None.
    """
    y = np.asarray(y, np.float64)
    if structure.output_activation == "softmax":
        return y
    if structure.loss == "softmax_cross_entropy":
        z = np.exp(y - y.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)
    if structure.output_activation == "sigmoid" and y.shape[-1] == 1:
        return np.concatenate([1.0 - y, y], axis=-1)
    return None
