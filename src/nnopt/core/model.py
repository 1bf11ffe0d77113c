"""The network (the lecture's ``forward``): an MLP or a single scalar parameter.

Parameters are a dict named as in the lecture: ``w1, b1, w2, b2, ...`` where layer
k has the weight matrix ``wk`` of shape ``[fan_in, fan_out]`` and the bias ``bk``
(absent for layers without bias, like the yogurt fit ``y = x @ w1``). The 1-D
demos have a single parameter ``w`` and their "output" is ``w`` itself.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from nnopt.core.tf1_random import tf1_random_normal

Params = dict[str, jax.Array]

# Activations: name -> f(z). Hidden layers use any of them; outputs use linear,
# sigmoid or softmax.
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,  # max(0, z)
    "sigmoid": jax.nn.sigmoid,  # 1 / (1 + e^-z)
    "tanh": jnp.tanh,  # (e^z - e^-z) / (e^z + e^-z)
    "linear": lambda z: z,
    "leaky_relu": lambda z: jax.nn.leaky_relu(z, 0.01),  # max(0.01 z, z)
    "elu": jax.nn.elu,  # z if z > 0 else e^z - 1
    "softplus": jax.nn.softplus,  # log(1 + e^z)
}
OUTPUT_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "linear": lambda z: z,
    "sigmoid": jax.nn.sigmoid,
    "softmax": lambda z: jax.nn.softmax(z, axis=-1),  # e^zi / Σj e^zj
}


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


def _dense(x: jax.Array, w: jax.Array, products: str = "auto") -> jax.Array:
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


def mlp_forward(
    params: Params, x: jax.Array, activation: str, output_activation: str, products: str = "auto"
) -> jax.Array:
    """y = f_out(... f(f(x W1 + b1) W2 + b2) ... WL + bL), with ``f = ACTIVATIONS[activation]``."""
    n_layers = sum(1 for name in params if name.startswith("w"))
    hidden = ACTIVATIONS[activation]
    h = x
    for k in range(1, n_layers + 1):
        h = _dense(h, params[f"w{k}"], products)
        if f"b{k}" in params:
            h = h + params[f"b{k}"]
        if k < n_layers:
            h = hidden(h)
    return OUTPUT_ACTIVATIONS[output_activation](h)


def scalar_forward(params: Params, x: jax.Array) -> jax.Array:
    """The 1-D demos: the prediction is the parameter ``w`` itself, one per input row."""
    return jnp.broadcast_to(params["w"], (x.shape[0], 1))


def layer_count(layers: tuple[int, ...]) -> int:
    """The lecture's count: hidden layers + the output layer (the input layer is not counted)."""
    return len(layers) - 1


def parameter_count(layers: tuple[int, ...], bias: bool = True) -> int:
    """Σ_k fan_in·fan_out (+ fan_out biases): the 3-4-2 network has 3·4+4 + 4·2+2 = 26."""
    return sum(a * b + (b if bias else 0) for a, b in zip(layers[:-1], layers[1:]))


UNROLL = 48  # sums over at most this many terms are written out (see lanes_dense)


def _sum_over(terms: int, term: Callable[[int], jax.Array], stacked: Callable[[], jax.Array]):
    """Σ_t term(t), written out term by term for short sums, else ``stacked()`` summed."""
    if terms <= UNROLL:
        total = term(0)
        for t in range(1, terms):
            total = total + term(t)
        return total
    return stacked()


def _rows_in(h: jax.Array) -> jax.Array:
    """``h`` as [rows, fan_in, C or 1]: shared inputs broadcast over the configurations."""
    return h[:, :, None] if h.ndim == 2 else h


@jax.custom_vjp
def lanes_dense(h: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    """z[r,j,c] = Σ_i h[r,i,c]·w[i,j,c] + b[j,c] (``h`` may be shared: [rows, fan_in]).

    XLA:CPU vectorizes elementwise work along the contiguous configuration axis, but emits a
    reduction over the leading (row) axis one output at a time, several times slower. So the
    gradient's sums over rows are written out as sums of whole slices (by hand, below), and so
    is the product of the shared input. A deeper layer's product stays a reduction: XLA then
    stores its result once, where a written-out sum would be recomputed inside each consumer
    of the gradient.
    """
    hb = _rows_in(h)
    if h.ndim == 3:
        return b + jnp.sum(hb[:, :, None, :] * w[None], axis=1)
    return b + _sum_over(
        w.shape[0],
        lambda i: hb[:, i, None, :] * w[i][None],
        lambda: jnp.sum(hb[:, :, None, :] * w[None], axis=1),
    )


def _lanes_dense_fwd(h, w, b):
    return lanes_dense(h, w, b), (h, w)


def _lanes_dense_bwd(saved, dz):
    """dh = Σ_j dz[:,j]·w[:,j], dw = Σ_r h[r]ᵀ·dz[r], db = Σ_r dz[r]."""
    h, w = saved
    hb = _rows_in(h)
    rows = dz.shape[0]
    dw = _sum_over(
        rows,
        lambda r: hb[r, :, None, :] * dz[r][None],
        lambda: jnp.sum(hb[:, :, None, :] * dz[:, None], axis=0),
    )
    db = _sum_over(rows, lambda r: dz[r], lambda: jnp.sum(dz, axis=0))
    if h.ndim == 2:  # shared data: no gradient flows into it
        return None, dw, db
    dh = _sum_over(
        w.shape[1],
        lambda j: dz[:, None, j, :] * w[None, :, j, :],
        lambda: jnp.sum(dz[:, None] * w[None], axis=2),
    )
    return dh, dw, db


lanes_dense.defvjp(_lanes_dense_fwd, _lanes_dense_bwd)


def lanes_logits(params: Params, x: jax.Array, activation: str) -> jax.Array:
    """The MLP before its output activation for C configurations at once, ``[rows, outputs, C]``.

    Parameters carry the configurations last (``wk: [fan_in, fan_out, C]``, ``bk: [fan_out, C]``)
    and ``x`` ([rows, features]) is shared: z = f(...f(x W1 + b1)...) Wk + bk per configuration.
    """
    n_layers = sum(1 for name in params if name.startswith("w"))
    hidden = ACTIVATIONS[activation]
    z = x
    for k in range(1, n_layers + 1):
        w = params[f"w{k}"]
        b = params.get(f"b{k}", jnp.zeros(w.shape[1:], w.dtype))
        z = lanes_dense(z if k == 1 else hidden(z), w, b)
    return z
