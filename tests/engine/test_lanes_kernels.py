"""The lanes layer kernels (configurations last) against the plain forward pass and autodiff.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.engine import lanes
from tests.support.numpy_reference import (
    np_forward,
)

# ------------------------------------------------------------------ lanes kernels


def _lanes_params(rng, layers, size, bias=True):
    """C = ``size`` configurations of one MLP, configuration axis last."""
    p = {}
    for k, (a, b) in enumerate(zip(layers[:-1], layers[1:], strict=True), start=1):
        p[f"w{k}"] = rng.normal(size=(a, b, size)).astype(np.float32)
        if bias:
            p[f"b{k}"] = rng.normal(size=(b, size)).astype(np.float32)
    return p


@pytest.mark.parametrize("unroll", [lanes.UNROLL, 0])  # sums written out, and stacked
@pytest.mark.parametrize("bias", [True, False])
def test_lanes_logits_are_each_configurations_forward(monkeypatch, unroll, bias):
    monkeypatch.setattr(lanes, "UNROLL", unroll)
    rng = np.random.default_rng(7)
    p = _lanes_params(rng, (3, 5, 4, 2), 6, bias)
    x = rng.normal(size=(9, 3)).astype(np.float32)
    got = np.asarray(lanes.lanes_logits({k: jnp.asarray(v) for k, v in p.items()}, x, "tanh"))
    assert got.shape == (9, 2, 6)
    for c in range(6):
        one = {k: v[..., c] for k, v in p.items()}
        np.testing.assert_allclose(
            got[..., c], np_forward(one, x, "tanh", "linear"), rtol=1e-5, atol=1e-5
        )


@pytest.mark.slow
@pytest.mark.parametrize("unroll", [lanes.UNROLL, 0])
def test_lanes_dense_gradient_is_the_products_gradient(monkeypatch, unroll):
    """The hand-written gradient of lanes_dense equals autodiff of the plain product."""
    monkeypatch.setattr(lanes, "UNROLL", unroll)
    rng = np.random.default_rng(8)
    h = jnp.asarray(rng.normal(size=(7, 4, 5)), jnp.float32)  # rows, fan_in, C
    shared = jnp.asarray(rng.normal(size=(7, 4)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(4, 3, 5)), jnp.float32)
    b = jnp.asarray(rng.normal(size=(3, 5)), jnp.float32)
    t = jnp.asarray(rng.normal(size=(7, 3, 5)), jnp.float32)

    def plain(h, w, b):
        return jnp.einsum("ric,ijc->rjc", h, w) + b

    def loss(f, h, w, b):
        return jnp.sum(jnp.sin(f(h, w, b)) * t)

    for args, argnums in (((h, w, b), (0, 1, 2)), ((shared, w, b), (1, 2))):
        widened = (
            (jnp.broadcast_to(args[0][..., None], h.shape),) + args[1:]
            if args[0].ndim == 2
            else args
        )
        got = jax.grad(lambda *a: loss(lanes.lanes_dense, *a), argnums)(*args)
        want = jax.grad(lambda *a: loss(plain, *a), argnums)(*widened)
        for g, r in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-5, atol=1e-5)
