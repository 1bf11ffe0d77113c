"""L1 and L2 against their TF1 formulas.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.core import regularizers
from tests.support.calls import as_f64

# ------------------------------------------------------------------ regularizers


def _random_params(rng, layers=(2, 3, 4, 1)):
    p = {}
    for k, (a, b) in enumerate(zip(layers[:-1], layers[1:], strict=True), start=1):
        p[f"w{k}"] = rng.normal(size=(a, b)).astype(np.float32)
        p[f"b{k}"] = rng.normal(size=(b,)).astype(np.float32) * 10  # large: must not count
    return p


@pytest.mark.parametrize("scale", [0.0, 0.01, 0.5])
def test_l2_is_half_sum_of_squared_weights(scale):
    p = _random_params(np.random.default_rng(3))
    want = scale * sum(np.sum(p[k].astype(np.float64) ** 2) for k in ("w1", "w2", "w3")) / 2
    got = as_f64(regularizers.l2({k: jnp.asarray(v) for k, v in p.items()}, scale))
    assert got == pytest.approx(want, rel=1e-5, abs=1e-12)


@pytest.mark.parametrize("scale", [0.0, 0.01, 0.5])
def test_l1_is_sum_of_abs_weights(scale):
    p = _random_params(np.random.default_rng(4))
    want = scale * sum(np.sum(np.abs(p[k].astype(np.float64))) for k in ("w1", "w2", "w3"))
    got = as_f64(regularizers.l1({k: jnp.asarray(v) for k, v in p.items()}, scale))
    assert got == pytest.approx(want, rel=1e-5, abs=1e-12)


def test_regularizers_ignore_biases_and_hand_values():
    p = {
        "w1": jnp.array([[1.0, -2.0]]),
        "b1": jnp.array([100.0, -100.0]),
        "w2": jnp.array([[3.0], [0.0]]),
    }
    assert as_f64(regularizers.l2(p, 0.1)) == pytest.approx(0.1 * (1 + 4 + 9) / 2)
    assert as_f64(regularizers.l1(p, 0.1)) == pytest.approx(0.1 * (1 + 2 + 3))
    assert as_f64(regularizers.no_penalty(p, 0.1)) == 0.0
    # Gradients: l2 -> scale*w on weights, 0 on biases; l1 -> scale*sign(w).
    g2 = jax.jit(jax.grad(lambda q: regularizers.l2(q, 0.1)))(p)
    np.testing.assert_allclose(g2["w1"], [[0.1, -0.2]], rtol=1e-6)
    np.testing.assert_array_equal(g2["b1"], [0.0, 0.0])
    g1 = jax.jit(jax.grad(lambda q: regularizers.l1(q, 0.1)))(p)
    np.testing.assert_allclose(g1["w1"], [[0.1, -0.1]], rtol=1e-6)
    np.testing.assert_array_equal(g1["b1"], [0.0, 0.0])
