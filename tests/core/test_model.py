"""The network: sizes, forward pass against NumPy, initializers.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.core import model
from tests.support.numpy_reference import (
    np_forward,
)

# ------------------------------------------------------------------ model


def test_lecture_3_4_2_network_size():
    assert model.parameter_count((3, 4, 2)) == 3 * 4 + 4 + 4 * 2 + 2 == 26
    assert model.layer_count((3, 4, 2)) == 2
    assert model.parameter_count((3, 4, 2), bias=False) == 20
    assert model.parameter_count((2, 11, 1)) == 2 * 11 + 11 + 11 + 1
    assert model.layer_count((2, 1)) == 1


@pytest.mark.parametrize(
    "act,out_act",
    [(a, "linear") for a in sorted(model.ACTIVATIONS)] + [("tanh", "sigmoid"), ("relu", "softmax")],
)
def test_mlp_forward_matches_numpy(act, out_act):
    rng = np.random.default_rng(5)
    layers = (3, 5, 4, 3)
    p = {}
    for k, (a, b) in enumerate(zip(layers[:-1], layers[1:], strict=True), start=1):
        p[f"w{k}"] = rng.normal(size=(a, b)).astype(np.float32)
        p[f"b{k}"] = rng.normal(size=(b,)).astype(np.float32)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    got = np.asarray(
        model.mlp_forward({k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(x), act, out_act)
    )
    np.testing.assert_allclose(got, np_forward(p, x, act, out_act), rtol=1e-5, atol=1e-5)


def test_mlp_forward_large_product_and_no_bias():
    # Large enough that the real matmul path is used (rows*fan_in*fan_out > 16384).
    rng = np.random.default_rng(6)
    p = {
        "w1": rng.normal(size=(10, 40)).astype(np.float32),
        "w2": rng.normal(size=(40, 2)).astype(np.float32),
    }
    x = rng.normal(size=(200, 10)).astype(np.float32)
    got = np.asarray(
        model.mlp_forward(
            {k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(x), "tanh", "linear"
        )
    )
    np.testing.assert_allclose(got, np_forward(p, x, "tanh", "linear"), rtol=1e-4, atol=1e-4)
    # The yogurt fit y = x @ w1, no bias.
    w = np.array([[0.5], [2.0]], np.float32)
    y = model.mlp_forward(
        {"w1": jnp.asarray(w)}, jnp.array([[1.0, 1.0], [2.0, -1.0]]), "relu", "linear"
    )
    np.testing.assert_allclose(np.asarray(y), [[2.5], [-1.0]], rtol=1e-7)


@pytest.mark.parametrize("init", ["normal", "tf1_normal"])
def test_init_mlp_shapes_and_biases(init):
    p = model.init_mlp((2, 11, 3), init=init, stddev=1.0, seed=3)
    assert sorted(p) == ["b1", "b2", "w1", "w2"]
    assert p["w1"].shape == (2, 11) and p["w2"].shape == (11, 3)
    assert p["w1"].dtype == np.float32
    np.testing.assert_array_equal(p["b1"], np.full(11, np.float32(0.01)))
    np.testing.assert_array_equal(p["b2"], np.full(3, np.float32(0.01)))
    # Deterministic in the seed.
    q = model.init_mlp((2, 11, 3), init=init, stddev=1.0, seed=3)
    np.testing.assert_array_equal(p["w1"], q["w1"])
    assert "b1" not in model.init_mlp((2, 1), init=init, bias=False)


def test_init_normal_statistics_and_stddev():
    w = model.init_mlp((200, 300), init="normal", stddev=1.0, seed=0)["w1"]
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02
    w2 = model.init_mlp((200, 300), init="normal", stddev=0.5, seed=0)["w1"]
    np.testing.assert_allclose(w2, 0.5 * w, rtol=1e-6)


def test_scalar_model():
    p = model.init_scalar(5.0)
    assert p["w"].shape == () and p["w"].dtype == np.float32 and float(p["w"]) == 5.0
    y = model.scalar_forward({"w": jnp.float32(2.5)}, jnp.zeros((3, 1)))
    np.testing.assert_array_equal(np.asarray(y), [[2.5]] * 3)


# ------------------------------------------------------------------ on the host, in NumPy


@pytest.mark.parametrize("name", sorted(model.NUMPY_ACTIVATIONS))
def test_numpy_activations_are_the_compiled_ones(name):
    z = np.linspace(-30, 30, 603, dtype=np.float32).reshape(-1, 3)
    jax_fn = {**model.ACTIVATIONS, **model.OUTPUT_ACTIVATIONS}[name]
    want = np.asarray(jax_fn(jnp.asarray(z)))
    got = model.NUMPY_ACTIVATIONS[name](z.copy())
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize(
    "act,out_act", [("relu", "linear"), ("tanh", "sigmoid"), ("elu", "softmax")]
)
def test_numpy_forward_pass_is_the_compiled_one(act, out_act):
    params = model.init_mlp((3, 5, 4, 2), seed=3)
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    want = model.mlp_layers(params, jnp.asarray(x), act, out_act)
    got = model.numpy_mlp_layers(params, x, act, out_act)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
