"""The gradient of the total loss (network, loss, penalty) against finite differences.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.core import losses, model, regularizers
from tests.support.calls import as_f64
from tests.support.numpy_reference import (
    np_binary_cross_entropy,
    np_cost_profit,
    np_cross_entropy,
    np_forward,
    np_mse,
    np_softmax_ce,
)

# ------------------------------------------------------------------ gradients vs finite differences


def _np_total(flat, names, shapes, x, t, w, act, out_act, loss, reg, scale):
    params, i = {}, 0
    for n, s in zip(names, shapes, strict=True):
        size = int(np.prod(s))
        params[n] = flat[i : i + size].reshape(s)
        i += size
    y = np_forward(params, x, act, out_act)
    data = {
        "mse": lambda: np_mse(y, t, w),
        "cost_profit": lambda: np_cost_profit(y, t, w, 1.0, 9.0),
        "cross_entropy": lambda: np_cross_entropy(y, t, w),
        "binary_cross_entropy": lambda: np_binary_cross_entropy(y, t, w),
        "softmax_cross_entropy": lambda: np_softmax_ce(y, t, w),
    }[loss]()
    wts = [params[n] for n in names if n.startswith("w")]
    if reg == "l2":
        data += scale * sum(np.sum(v**2) for v in wts) / 2
    elif reg == "l1":
        data += scale * sum(np.sum(np.abs(v)) for v in wts)
    return data


GRAD_CASES = [
    # (loss, activation, output activation, layers, regularizer)
    ("mse", "relu", "linear", (2, 3, 1), "l2"),
    ("mse", "tanh", "linear", (2, 3, 1), "none"),
    ("cost_profit", "sigmoid", "linear", (2, 3, 1), "l1"),
    ("cross_entropy", "tanh", "sigmoid", (2, 3, 1), "l2"),
    ("binary_cross_entropy", "tanh", "sigmoid", (2, 3, 1), "l2"),
    ("binary_cross_entropy", "relu", "sigmoid", (2, 4, 2), "l1"),
    ("cross_entropy", "sigmoid", "softmax", (2, 3, 3), "none"),
    ("softmax_cross_entropy", "relu", "linear", (2, 3, 3), "l2"),
    ("softmax_cross_entropy", "elu", "linear", (2, 4, 3, 2), "l1"),
]


@pytest.mark.parametrize("loss,act,out_act,layers,reg", GRAD_CASES)
def test_gradient_of_total_loss_matches_finite_differences(loss, act, out_act, layers, reg):
    rng = np.random.default_rng(11)
    n, outs = 7, layers[-1]
    x = rng.normal(size=(n, layers[0])).astype(np.float32)
    if loss in ("mse", "cost_profit"):
        t = rng.normal(size=(n, outs)).astype(np.float32)
    elif outs == 1:
        t = rng.integers(0, 2, size=(n, 1)).astype(np.float32)
    else:
        t = np.eye(outs, dtype=np.float32)[rng.integers(0, outs, n)]
    mask = np.array([1, 1, 1, 0, 1, 1, 1], np.float32)
    scale = 0.05
    params = {}
    for k, (a, b) in enumerate(zip(layers[:-1], layers[1:], strict=True), start=1):
        params[f"w{k}"] = rng.normal(size=(a, b)).astype(np.float32)
        params[f"b{k}"] = rng.normal(scale=0.3, size=(b,)).astype(np.float32)
    names = sorted(params)
    shapes = [params[k].shape for k in names]

    spec = losses.LOSSES[loss]
    numbers = {n.name: jnp.float32(n.default) for n in spec.numbers}

    def total(p):
        y = model.mlp_forward(p, jnp.asarray(x), act, out_act)
        return spec.fn(y, jnp.asarray(t), jnp.asarray(mask), numbers) + regularizers.REGULARIZERS[
            reg
        ].fn(p, scale)

    total = jax.jit(total)
    grads = jax.jit(jax.grad(total))({k: jnp.asarray(v) for k, v in params.items()})
    g = np.concatenate([np.ravel(grads[k]) for k in names]).astype(np.float64)

    flat = np.concatenate([params[k].ravel() for k in names]).astype(np.float64)
    args = (names, shapes, x.astype(np.float64), t.astype(np.float64), mask.astype(np.float64))
    rest = (act, out_act, loss, reg, scale)
    # The NumPy float64 total agrees with the float32 JAX value ...
    p32 = {k: jnp.asarray(v) for k, v in params.items()}
    assert as_f64(total(p32)) == pytest.approx(_np_total(flat, *args, *rest), rel=1e-5)
    # ... and its central differences agree with the JAX gradient.
    eps = 1e-6
    fd = np.empty_like(flat)
    for i in range(len(flat)):
        e = np.zeros_like(flat)
        e[i] = eps
        fd[i] = (_np_total(flat + e, *args, *rest) - _np_total(flat - e, *args, *rest)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=2e-4, atol=2e-5)
