"""The network (the lecture's ``forward``): an MLP or a single scalar parameter.

Parameters are a dict named as in the lecture: ``w1, b1, w2, b2, ...`` where layer
k has the weight matrix ``wk`` of shape ``[fan_in, fan_out]`` and the bias ``bk``
(absent for layers without bias, like the yogurt fit ``y = x @ w1``). The 1-D
demos have a single parameter ``w`` and their "output" is ``w`` itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnopt.core._jax import jax, jnp
from nnopt.core.tf1_random import tf1_random_normal

Params = dict  # name -> array (jax.Array in compiled code, np.ndarray on the host)


def relu(z):
    """max(0, z)."""
    return jax.nn.relu(z)


def sigmoid(z):
    """1 / (1 + e^-z)."""
    return jax.nn.sigmoid(z)


def tanh(z):
    """(e^z - e^-z) / (e^z + e^-z)."""
    return jnp.tanh(z)


def linear(z):
    """z."""
    return z


def leaky_relu(z):
    """max(0.01 z, z)."""
    return jax.nn.leaky_relu(z, 0.01)


def elu(z):
    """z if z > 0 else e^z - 1."""
    return jax.nn.elu(z)


def softplus(z):
    """log(1 + e^z)."""
    return jax.nn.softplus(z)


def softmax(z):
    """e^zi / Σj e^zj over the last axis."""
    return jax.nn.softmax(z, axis=-1)


# Activations: name -> f(z). Hidden layers use any of them; outputs use linear,
# sigmoid or softmax.
ACTIVATIONS: dict[str, Callable] = {
    f.__name__: f for f in (relu, sigmoid, tanh, linear, leaky_relu, elu, softplus)
}
OUTPUT_ACTIVATIONS: dict[str, Callable] = {f.__name__: f for f in (linear, sigmoid, softmax)}


def _rng(seed: int, index: int) -> np.random.Generator:
    """A NumPy generator per (seed, layer): initialization needs no compiled code."""
    return np.random.default_rng([seed, index])


def _truncated(rng: np.random.Generator, shape, stddev: float) -> np.ndarray:
    """N(0, stddev²) with draws beyond ±2 stddev drawn again, like tf.truncated_normal."""
    out = rng.standard_normal(shape)
    while np.any(far := np.abs(out) > 2.0):
        out[far] = rng.standard_normal(int(far.sum()))
    return (out * stddev).astype(np.float32)


def _normal(shape, stddev, seed, index):
    """N(0, stddev²)."""
    return (_rng(seed, index).standard_normal(shape) * stddev).astype(np.float32)


def _truncated_normal(shape, stddev, seed, index):
    """N(0, stddev²) redrawn outside ±2 stddev, like tf.truncated_normal."""
    return _truncated(_rng(seed, index), shape, stddev)


def _glorot_uniform(shape, stddev, seed, index):
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); stddev is not used."""
    a = np.sqrt(6.0 / (shape[0] + shape[1]))
    return _rng(seed, index).uniform(-a, a, shape).astype(np.float32)


def _glorot_normal(shape, stddev, seed, index):
    """Truncated normal with variance 2 / (fan_in + fan_out) (Keras' glorot_normal); stddev unused.

    0.87962566 is the standard deviation of N(0, 1) truncated to ±2, divided out so the
    variance is the one asked for.
    """
    std = np.sqrt(2.0 / (shape[0] + shape[1])) / 0.87962566
    return _truncated(_rng(seed, index), shape, std)


def _tf1_normal(shape, stddev, seed, index):
    """TensorFlow 1's tf.random_normal(shape, stddev, seed=seed + index): the lecture's own start."""
    return tf1_random_normal(shape, stddev, seed=seed + index)


# Weight initializers: name -> f(shape, stddev, seed, layer_index) -> float32 array.
INITIALIZERS = {
    "normal": _normal,
    "truncated_normal": _truncated_normal,
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "tf1_normal": _tf1_normal,
}


def init_mlp(
    layers: tuple[int, ...],
    *,
    init: str = "normal",
    stddev: float = 1.0,
    bias_init: float = 0.01,
    bias: bool = True,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Initial MLP parameters: weights from ``INITIALIZERS[init]``, biases constant ``bias_init``.

    Example:
      >>> p = init_mlp((2, 11, 1), seed=0)
      >>> sorted(p), p["w1"].shape, float(p["b1"][0])
      (['b1', 'b2', 'w1', 'w2'], (2, 11), 0.009999999776482582)
    """
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(layers[:-1], layers[1:]), start=1):
        params[f"w{k}"] = INITIALIZERS[init]((fan_in, fan_out), stddev, seed, k - 1)
        if bias:
            params[f"b{k}"] = np.full((fan_out,), bias_init, np.float32)
    return params


def init_scalar(value: float) -> dict[str, np.ndarray]:
    """The 1-D demos' single parameter ``w`` (a float32 scalar)."""
    return {"w": np.asarray(value, np.float32)}


def _dense(x, w, products: str = "auto"):
    """x @ w, as a broadcast multiply-sum for small products unless ``products == "dot"``.

    XLA:CPU hands every dot to a GEMM library call whose fixed cost dominates at the
    lecture's sizes (30x2 @ 2x11); the elementwise form fuses with its neighbours and
    runs a training step several times faster. Large products keep the real dot, and so
    do programs batched over many configurations (``"dot"``), where XLA:CPU turns the
    batched elementwise form into slow strided loops but batches dots well.
    """
    if products == "auto" and x.shape[-2] * w.shape[0] * w.shape[1] <= 16384:
        return jnp.sum(x[..., :, :, None] * w, axis=-2)
    return x @ w


def mlp_layers(
    params: Params, x, activation: str, output_activation: str, products: str = "auto"
) -> list:
    """Every layer's output: h_k = f(h_{k-1} W_k + b_k) for k = 1..L, with h_0 = x, f the hidden
    ``ACTIVATIONS[activation]`` and, for the last layer, ``OUTPUT_ACTIVATIONS[output_activation]``.

    Each entry is ``[rows, units_k]``: what each neuron computes, layer by layer.
    """
    n_layers = sum(1 for name in params if name.startswith("w"))
    hidden, last = ACTIVATIONS[activation], OUTPUT_ACTIVATIONS[output_activation]
    h, out = x, []
    for k in range(1, n_layers + 1):
        h = _dense(h, params[f"w{k}"], products)
        if f"b{k}" in params:
            h = h + params[f"b{k}"]
        h = hidden(h) if k < n_layers else last(h)
        out.append(h)
    return out


# The activations again in NumPy (float32), for forward passes on the host: a prediction
# of the lecture's sizes (a figure's grid, nnopt predict, the playground's heatmap) costs
# milliseconds in NumPy and would otherwise compile a program per shape.
NUMPY_ACTIVATIONS: dict[str, Callable] = {
    "relu": lambda z: np.maximum(z, np.float32(0), out=z),
    "sigmoid": lambda z: _numpy_sigmoid(z),
    "tanh": lambda z: np.tanh(z, out=z),
    "linear": lambda z: z,
    "leaky_relu": lambda z: np.where(z >= 0, z, np.float32(0.01) * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, np.float32(0)))),
    "softplus": lambda z: np.logaddexp(z, np.float32(0), out=z),
    "softmax": lambda z: _numpy_softmax(z),
}  # each may overwrite its argument (a fresh layer's output): a grid's arrays are large


def _numpy_sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z) as (1 + tanh(z/2)) / 2, which cannot overflow."""
    z *= np.float32(0.5)
    np.tanh(z, out=z)
    z += np.float32(1)
    z *= np.float32(0.5)
    return z


def _numpy_softmax(z: np.ndarray) -> np.ndarray:
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def numpy_mlp_layers(
    params: Params, x: np.ndarray, activation: str, output_activation: str
) -> list[np.ndarray]:
    """:func:`mlp_layers` in NumPy float32: h_k = f(h_{k-1} W_k + b_k), every layer's output
    (computed in place: a 600×600 grid's layers are megabytes each)."""
    n_layers = sum(1 for name in params if name.startswith("w"))
    hidden, last = NUMPY_ACTIVATIONS[activation], NUMPY_ACTIVATIONS[output_activation]
    h, out = np.asarray(x, np.float32), []
    for k in range(1, n_layers + 1):
        h = h @ np.asarray(params[f"w{k}"], np.float32)
        if f"b{k}" in params:
            h += np.asarray(params[f"b{k}"], np.float32)
        h = (hidden(h) if k < n_layers else last(h)).astype(np.float32, copy=False)
        out.append(h)
    return out


def mlp_forward(params: Params, x, activation: str, output_activation: str, products: str = "auto"):
    """y = f_out(... f(f(x W1 + b1) W2 + b2) ... WL + bL): the last of :func:`mlp_layers`."""
    return mlp_layers(params, x, activation, output_activation, products)[-1]


def scalar_forward(params: Params, x):
    """The 1-D demos: the prediction is the parameter ``w`` itself, one per input row."""
    return jnp.broadcast_to(params["w"], (x.shape[0], 1))


def layer_count(layers: tuple[int, ...]) -> int:
    """The lecture's count: hidden layers + the output layer (the input layer is not counted)."""
    return len(layers) - 1


def parameter_count(layers: tuple[int, ...], bias: bool = True) -> int:
    """Σ_k fan_in·fan_out (+ fan_out biases): the 3-4-2 network has 3·4+4 + 4·2+2 = 26."""
    return sum(a * b + (b if bias else 0) for a, b in zip(layers[:-1], layers[1:]))
