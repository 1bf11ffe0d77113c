"""Evaluation (the course's ``test``): predictions, loss and accuracy with given weights.

Engine layer: pure, jittable functions over a :class:`Structure` and flat or named
parameters. Training calls them at every log point; plots call :func:`predict` for
decision boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from nnopt.core.losses import LOSSES
from nnopt.core.model import mlp_forward, scalar_forward
from nnopt.core.regularizers import weight_penalty


@dataclass(frozen=True)
class Structure:
    """Everything that shapes the compiled program; numbers are passed separately as arrays.

    The regularizer, the learning-rate schedule and the moving average are numbers, not
    structure (an L1 and an L2 scale, a decay rate with a staircase switch, an EMA decay
    with a warm-up switch), so runs that differ only there share one compiled program.
    """

    model: str
    layers: tuple[int, ...]
    activation: str
    output_activation: str
    param_shapes: tuple[tuple[str, tuple[int, ...]], ...]  # (name, shape), sorted by name
    loss: str
    optimizer: str
    batch_size: int
    batching: str
    n_train: int
    n_test: int
    task: str
    products: str = "auto"  # "dot" in programs batched over configurations (see model._dense)

    @property
    def classifies(self) -> bool:
        return self.task in ("binary", "multiclass")

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(shape, dtype=np.int64)) for _, shape in self.param_shapes)


def flatten(params: dict, structure: Structure) -> np.ndarray:
    """The parameters as one float32 vector, in the structure's (sorted) order."""
    return np.concatenate(
        [np.ravel(np.asarray(params[n], np.float32)) for n, _ in structure.param_shapes]
    )


def unflatten(flat, structure: Structure) -> dict:
    """Inverse of :func:`flatten`: static slices of the vector, reshaped and named.

    Works on JAX arrays (inside compiled code) and NumPy arrays (on the host, where slicing
    a NumPy copy costs microseconds instead of a device dispatch per parameter).
    """
    out, start = {}, 0
    for name, shape in structure.param_shapes:
        size = int(np.prod(shape, dtype=np.int64))
        out[name] = flat[..., start : start + size].reshape(flat.shape[:-1] + shape)
        start += size
    return out


def forward(structure: Structure, params: dict, x: jax.Array) -> jax.Array:
    """The model's output for inputs ``x`` ([n, features]) with named parameters."""
    if structure.model == "scalar":
        return scalar_forward(params, x)
    return mlp_forward(
        params, x, structure.activation, structure.output_activation, structure.products
    )


def accuracy(y: jax.Array, y_: jax.Array) -> jax.Array:
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


def metrics_of(structure: Structure, numbers: dict, flat: jax.Array, x, y_) -> dict[str, jax.Array]:
    """loss (data), reg, total and, for classifiers, accuracy of flat parameters on ``x``."""
    data_loss, penalty, y = losses_of(structure, numbers, unflatten(flat, structure), x, y_)
    out = {"loss": data_loss, "reg": penalty, "total": data_loss + penalty}
    if structure.classifies:
        out["accuracy"] = accuracy(y, y_)
    return out


def predict(structure: Structure, params: dict, x) -> np.ndarray:
    """The model's output for ``x``, evaluated in chunks to bound memory (e.g. a 600×600 grid)."""
    fn = _predict_fn(structure)
    x = np.asarray(x, np.float32)
    named = {k: jnp.asarray(v) for k, v in params.items()}
    parts = [np.asarray(fn(named, x[i : i + 65536])) for i in range(0, len(x), 65536)]
    return np.concatenate(parts) if parts else np.zeros((0, structure.layers[-1]), np.float32)


_PREDICT_CACHE: dict = {}


def _predict_fn(structure: Structure):
    # Keyed by the model alone: runs that differ in loss, optimizer or schedule share it.
    key = (
        structure.model,
        structure.layers,
        structure.activation,
        structure.output_activation,
        structure.products,
    )
    if key not in _PREDICT_CACHE:
        _PREDICT_CACHE[key] = jax.jit(lambda p, x: forward(structure, p, x))
    return _PREDICT_CACHE[key]


def neuron_outputs(structure: Structure, params: dict, x) -> list[np.ndarray]:
    """Every layer's outputs for rows ``x``: what each neuron computes, layer by layer.

    For an MLP with ``L`` weight layers, entry ``k`` (1-based layer k) is
    ``h_k = f(h_{k-1} W_k + b_k)`` with ``h_0 = x``, ``f = ACTIVATIONS[activation]`` for the
    hidden layers and ``f_out = OUTPUT_ACTIVATIONS[output_activation]`` for the last one, so
    the last entry equals :func:`predict`. Each entry has shape ``[n, units_k]``. The
    scalar model has no neurons: its one entry is the prediction ``w`` per row.

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
        return [predict(structure, params, x)]
    fn = _layer_outputs_fn(structure.activation, structure.output_activation)
    named = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
    return [np.asarray(h) for h in fn(named, x)]


_LAYER_OUTPUTS_CACHE: dict = {}


def _layer_outputs_fn(activation: str, output_activation: str):
    """The jitted layer-by-layer forward pass; it depends on shapes and the two activations only,
    so configurations that differ in loss or optimizer share it."""
    key = (activation, output_activation)
    if key not in _LAYER_OUTPUTS_CACHE:
        from nnopt.core.model import ACTIVATIONS, OUTPUT_ACTIVATIONS

        hidden, last = ACTIVATIONS[activation], OUTPUT_ACTIVATIONS[output_activation]

        def outputs(params, x):
            n_layers = sum(1 for name in params if name.startswith("w"))
            h, out = x, []
            for k in range(1, n_layers + 1):
                z = h @ params[f"w{k}"] + (params[f"b{k}"] if f"b{k}" in params else 0.0)
                h = hidden(z) if k < n_layers else last(z)
                out.append(h)
            return out

        _LAYER_OUTPUTS_CACHE[key] = jax.jit(outputs)
    return _LAYER_OUTPUTS_CACHE[key]


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
