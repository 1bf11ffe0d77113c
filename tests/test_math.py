"""The math core against independent references: NumPy formulas, closed forms,
finite differences and the lecture's printed numbers.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nnopt.core import ema, losses, model, regularizers, schedules
from nnopt.core.tf1_random import philox4x32, tf1_random_normal
from nnopt.engine import lanes
from numpy_reference import (  # noqa: F401
    NP_ACT,
    NP_OUT,
    np_cost_profit,
    np_cross_entropy,
    np_expand,
    np_forward,
    np_mse,
    np_sigmoid,
    np_softmax,
)

# ------------------------------------------------------------------ NumPy references


def np_softmax_ce(y, t, w):
    m = y.max(axis=1)
    lse = m + np.log(np.exp(y - m[:, None]).sum(axis=1))
    per = lse - y[np.arange(len(y)), t.argmax(axis=1)]
    return (per * w).sum() / w.sum()


def as_f64(v):
    return float(np.asarray(v, np.float64))


def call(fn, y, t, w=None, **numbers):
    w = np.ones(len(y), np.float32) if w is None else np.asarray(w, np.float32)
    args = (jnp.asarray(y, jnp.float32), jnp.asarray(t, jnp.float32), jnp.asarray(w))
    return as_f64(jax.jit(fn)(*args, {k: jnp.float32(v) for k, v in numbers.items()}))


# ------------------------------------------------------------------ losses


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cols", [1, 3])
def test_mse_matches_numpy(seed, cols):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(9, cols)).astype(np.float32)
    t = rng.normal(size=(9, cols)).astype(np.float32)
    want = np.mean((t.astype(np.float64) - y) ** 2)
    assert call(losses.mse, y, t) == pytest.approx(want, rel=1e-6)


def test_mse_hand_value():
    # ((1-0)^2 + (2-4)^2 + (3-3)^2) / 3 = 5/3
    y = np.array([[0.0], [4.0], [3.0]])
    t = np.array([[1.0], [2.0], [3.0]])
    assert call(losses.mse, y, t) == pytest.approx(5.0 / 3.0, rel=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cost,profit", [(1.0, 9.0), (9.0, 1.0), (2.5, 0.5)])
def test_cost_profit_matches_numpy(seed, cost, profit):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    t = rng.normal(size=(16, 1)).astype(np.float32)
    want = np_cost_profit(y.astype(np.float64), t.astype(np.float64), np.ones(16), cost, profit)
    got = call(losses.cost_profit, y, t, cost=cost, profit=profit)
    assert got == pytest.approx(want, rel=1e-5)


def test_cost_profit_is_a_sum_with_cost_where_over_predicted():
    # Row 1: y > y_ by 2 -> COST*2 = 2; row 2: y < y_ by 3 -> PROFIT*3 = 27; row 3: equal -> 0.
    y = np.array([[3.0], [1.0], [5.0]])
    t = np.array([[1.0], [4.0], [5.0]])
    assert call(losses.cost_profit, y, t, cost=1.0, profit=9.0) == pytest.approx(29.0)
    assert call(losses.cost_profit, y, t, cost=9.0, profit=1.0) == pytest.approx(18.0 + 3.0)
    # A sum, not a mean: doubling the batch doubles the loss.
    y2, t2 = np.concatenate([y, y]), np.concatenate([t, t])
    assert call(losses.cost_profit, y2, t2, cost=1.0, profit=9.0) == pytest.approx(58.0)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("cols", [1, 2, 4])
def test_cross_entropy_matches_numpy(seed, cols):
    rng = np.random.default_rng(seed)
    if cols == 1:
        y = rng.uniform(0.01, 0.99, size=(10, 1))
        t = rng.integers(0, 2, size=(10, 1)).astype(np.float64)
    else:
        y = np_softmax(rng.normal(size=(10, cols)))
        t = np.eye(cols)[rng.integers(0, cols, size=10)]
    want = np_cross_entropy(y, t, np.ones(10))
    assert call(losses.cross_entropy, y, t) == pytest.approx(want, rel=1e-5)


def test_cross_entropy_is_minus_mean_over_all_elements():
    # -mean(y_ * ln y) over the 2 elements of one row: -(ln 0.6 + 0) / 2.
    got = call(losses.cross_entropy, np.array([[0.6, 0.4]]), np.array([[1.0, 0.0]]))
    assert got == pytest.approx(-math.log(0.6) / 2, rel=1e-6)
    # One column p is read as (1-p, p): target 0 with p = 0.4 is the same row as above.
    got1 = call(losses.cross_entropy, np.array([[0.4]]), np.array([[0.0]]))
    assert got1 == pytest.approx(-math.log(0.6) / 2, rel=1e-6)


def test_cross_entropy_clips_zero_probabilities():
    # log(clip(0, 1e-12, 1)) = log(1e-12): finite, not inf.
    got = call(losses.cross_entropy, np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))
    assert np.isfinite(got)
    assert got == pytest.approx(-math.log(np.float32(1e-12)) / 2, rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cols", [2, 3, 5])
def test_softmax_cross_entropy_matches_numpy(seed, cols):
    rng = np.random.default_rng(seed)
    y = (3 * rng.normal(size=(12, cols))).astype(np.float32)
    t = np.eye(cols)[rng.integers(0, cols, size=12)].astype(np.float32)
    want = np_softmax_ce(y.astype(np.float64), t, np.ones(12))
    assert call(losses.softmax_cross_entropy, y, t) == pytest.approx(want, rel=1e-5)
    # ... which is -mean(log softmax(y)[label]).
    alt = -np.mean(np.log(np_softmax(y.astype(np.float64)))[np.arange(12), t.argmax(1)])
    assert want == pytest.approx(alt, rel=1e-9)


def test_softmax_cross_entropy_hand_value():
    # logits (0, 0): -log(1/2) = ln 2 for either label.
    got = call(losses.softmax_cross_entropy, np.zeros((2, 2)), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert got == pytest.approx(math.log(2.0), rel=1e-6)


@pytest.mark.parametrize("w0,target", [(5.0, -1.0), (2.6, -1.0), (0.0, 3.0), (-7.0, -1.0)])
def test_quadratic(w0, target):
    y = np.full((4, 1), w0)
    got = call(losses.quadratic, y, np.zeros((4, 1)), target=target)
    assert got == pytest.approx((w0 - target) ** 2, rel=1e-6)


LOSS_CASES = {
    "mse": (losses.mse, lambda y, t, w: np_mse(y, t, w), {}),
    "cost_profit": (
        losses.cost_profit,
        lambda y, t, w: np_cost_profit(y, t, w, 2.0, 7.0),
        {"cost": 2.0, "profit": 7.0},
    ),
    "cross_entropy": (losses.cross_entropy, np_cross_entropy, {}),
    "softmax_cross_entropy": (losses.softmax_cross_entropy, np_softmax_ce, {}),
}


def _loss_inputs(name, rng, n, cols=3):
    if name == "cross_entropy":
        return np_softmax(rng.normal(size=(n, cols))), np.eye(cols)[rng.integers(0, cols, n)]
    if name == "softmax_cross_entropy":
        return rng.normal(size=(n, cols)), np.eye(cols)[rng.integers(0, cols, n)]
    return rng.normal(size=(n, 1)), rng.normal(size=(n, 1))


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_masked_rows_do_not_count(name):
    fn, ref, numbers = LOSS_CASES[name]
    rng = np.random.default_rng(7)
    y, t = _loss_inputs(name, rng, 10)
    mask = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1], np.float32)
    keep = mask > 0
    want = ref(y[keep], t[keep], np.ones(int(keep.sum())))
    got = as_f64(
        fn(jnp.asarray(y, jnp.float32), jnp.asarray(t, jnp.float32), jnp.asarray(mask), numbers)
    )
    assert got == pytest.approx(want, rel=1e-5)
    # The masked rows' contents are irrelevant: garbage there changes nothing.
    y2, t2 = y.copy(), t.copy()
    y2[~keep] = 1e3 if name in ("mse", "cost_profit", "softmax_cross_entropy") else 0.5
    t2[~keep] = -1e3 if name in ("mse", "cost_profit") else t2[~keep]
    got2 = as_f64(
        fn(jnp.asarray(y2, jnp.float32), jnp.asarray(t2, jnp.float32), jnp.asarray(mask), numbers)
    )
    assert got2 == pytest.approx(got, rel=1e-6)


def test_lecture_cross_entropy_worked_example():
    # Lecture 4.1: H((1,0),(0.6,0.4)) = 0.222 and H((1,0),(0.8,0.2)) = 0.097, log base 10.
    assert round(losses.cross_entropy_of([1, 0], [0.6, 0.4], base=10), 3) == 0.222
    assert round(losses.cross_entropy_of([1, 0], [0.8, 0.2], base=10), 3) == 0.097
    # Natural log (the loss nnopt trains with).
    assert round(losses.cross_entropy_of([1, 0], [0.6, 0.4]), 3) == 0.511
    assert round(losses.cross_entropy_of([1, 0], [0.8, 0.2]), 3) == 0.223
    assert losses.cross_entropy_of([0.25, 0.75], [0.5, 0.5], base=2) == pytest.approx(1.0)


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


# ------------------------------------------------------------------ schedules


def _decay(step, lr, rate, steps, staircase):
    numbers = {
        "learning_rate": jnp.float32(lr),
        "decay_rate": jnp.float32(rate),
        "decay_steps": jnp.float32(steps),
    }
    return as_f64(schedules.exponential_decay(jnp.asarray(step, jnp.int32), numbers, staircase))


@pytest.mark.parametrize("step", [0, 1, 5, 9, 10, 11, 25, 1000])
@pytest.mark.parametrize("staircase", [True, False])
def test_exponential_decay_closed_form(step, staircase):
    lr, rate, steps = 0.1, 0.96, 10
    p = step // steps if staircase else step / steps
    # The numbers are float32 arrays: the reference uses the float32 rate (0.96 is not exact).
    want = float(np.float32(lr)) * float(np.float32(rate)) ** p
    assert _decay(step, lr, rate, steps, staircase) == pytest.approx(want, rel=2e-6)
    ref = optax.exponential_decay(lr, transition_steps=steps, decay_rate=rate, staircase=staircase)
    assert _decay(step, lr, rate, steps, staircase) == pytest.approx(float(ref(step)), rel=1e-5)


def test_exponential_decay_concrete_numbers():
    # The lecture's 0.1 * 0.99^step with decay step 1.
    assert _decay(0, 0.1, 0.99, 1, True) == pytest.approx(0.1, rel=1e-7)
    assert _decay(1, 0.1, 0.99, 1, True) == pytest.approx(0.099, rel=1e-6)
    assert _decay(2, 0.1, 0.99, 1, True) == pytest.approx(0.09801, rel=1e-6)
    # Staircase holds the rate within a stair; smooth does not.
    assert _decay(19, 1.0, 0.5, 10, True) == pytest.approx(0.5, rel=1e-7)
    assert _decay(15, 1.0, 0.5, 10, False) == pytest.approx(2**-1.5, rel=1e-6)
    assert _decay(20, 1.0, 0.5, 10, True) == pytest.approx(0.25, rel=1e-7)


def test_constant_schedule_is_the_decay_with_rate_one():
    given = schedules.schedule_numbers("constant", 0.5, 7, False)  # the decay fields are ignored
    numbers = {"learning_rate": jnp.float32(0.2), **{k: jnp.float32(v) for k, v in given.items()}}
    for step in (0, 1, 1000, 2**31 - 1):
        rate = schedules.exponential_decay(
            jnp.asarray(step, jnp.int32), numbers, numbers["staircase"]
        )
        assert as_f64(rate) == np.float32(0.2)  # exactly: 1^p = 1
    out = schedules.exponential_decay(jnp.arange(4), numbers, numbers["staircase"])
    np.testing.assert_array_equal(np.asarray(out), np.float32([0.2] * 4))


# ------------------------------------------------------------------ EMA


def test_ema_decay_warmup():
    assert np.float32(ema.ema_decay(0.99, 0)) == np.float32(0.1)
    assert float(ema.ema_decay(0.99, 100)) == pytest.approx(101 / 110, rel=1e-7)
    # The warm-up reaches the cap where (1+n)/(10+n) >= 0.99, i.e. n >= 890.
    assert float(ema.ema_decay(0.99, 889)) == pytest.approx(890 / 899, rel=1e-7)
    assert float(ema.ema_decay(0.99, 891)) == pytest.approx(0.99, rel=1e-7)
    assert float(ema.ema_decay(0.99, 10**6)) == pytest.approx(0.99, rel=1e-7)
    assert float(ema.ema_decay(0.99)) == pytest.approx(0.99, rel=1e-7)


def test_ema_lecture_demo():
    """Lecture 4.3: shadow 0; w1 := 1 at step 0; then step 100 and w1 := 10, ema_op run 3 times."""
    shadow = {"w1": jnp.float32(0.0)}
    shadow = ema.ema_update(shadow, {"w1": jnp.float32(1.0)}, ema.ema_decay(0.99, 0))
    assert float(shadow["w1"]) == pytest.approx(0.9, rel=1e-6)
    printed = [1.644, 2.328, 2.956]
    d = 101 / 110
    exact = 0.9
    for value in printed:
        shadow = ema.ema_update(shadow, {"w1": jnp.float32(10.0)}, ema.ema_decay(0.99, 100))
        exact = d * exact + (1 - d) * 10.0
        got = float(shadow["w1"])
        assert got == pytest.approx(exact, rel=1e-6)
        assert abs(got - value) < 1e-3  # the lecture prints three decimals
    # The lecture's "0.826 + 0.818 = 1.644" split of the first of them.
    assert round(d * 0.9, 3) == 0.826 and round((1 - d) * 10, 3) == 0.818


def test_ema_decay_0_1_follows_fast():
    # With MOVING_AVERAGE_DECAY 0.1, d = min(0.1, (1+n)/(10+n)) = 0.1 at every n.
    assert float(ema.ema_decay(0.1, 0)) == pytest.approx(0.1, rel=1e-7)
    assert float(ema.ema_decay(0.1, 100)) == pytest.approx(0.1, rel=1e-7)
    shadow = {"w1": jnp.float32(0.0)}
    shadow = ema.ema_update(shadow, {"w1": jnp.float32(1.0)}, ema.ema_decay(0.1, 0))
    assert float(shadow["w1"]) == pytest.approx(0.9, rel=1e-6)
    exact = 0.9
    for _ in range(3):
        shadow = ema.ema_update(shadow, {"w1": jnp.float32(10.0)}, ema.ema_decay(0.1, 100))
        exact = 0.1 * exact + 0.9 * 10.0
        assert float(shadow["w1"]) == pytest.approx(exact, rel=1e-6)
    assert exact == pytest.approx(9.9909)


def test_ema_update_is_leafwise():
    shadow = {"a": jnp.array([1.0, 2.0]), "b": jnp.array([[0.0]])}
    params = {"a": jnp.array([3.0, -2.0]), "b": jnp.array([[4.0]])}
    out = ema.ema_update(shadow, params, jnp.float32(0.75))
    np.testing.assert_allclose(out["a"], [0.75 * 1 + 0.25 * 3, 0.75 * 2 - 0.25 * 2], rtol=1e-7)
    np.testing.assert_allclose(out["b"], [[1.0]], rtol=1e-7)


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


# ------------------------------------------------------------------ TensorFlow 1's random_normal


def test_tf1_random_normal_lecture_values():
    # TensorFlow 1: tf.random_normal([2,1], stddev=1, seed=1) and [2,3].
    np.testing.assert_allclose(
        tf1_random_normal((2, 1), seed=1).ravel(), [-0.8113182, 1.4845988], atol=2e-6, rtol=0
    )
    np.testing.assert_allclose(
        tf1_random_normal((2, 3), seed=1),
        [[-0.8113182, 1.4845988, 0.06532937], [-2.4427042, 0.0992484, 0.5912243]],
        atol=2e-6,
        rtol=0,
    )
    a = tf1_random_normal((2, 1), stddev=2.0, seed=1)
    assert a.dtype == np.float32 and a.shape == (2, 1)
    np.testing.assert_allclose(a.ravel(), [2 * -0.8113182, 2 * 1.4845988], atol=4e-6, rtol=0)


def test_tf1_init_gives_yogurt_start():
    p = model.init_mlp((2, 1), init="tf1_normal", bias=False, seed=1)
    np.testing.assert_allclose(p["w1"].ravel(), [-0.8113182, 1.4845988], atol=2e-6, rtol=0)


@pytest.mark.parametrize(
    "counter,key,want",
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(counter, key, want):
    # Random123's published known-answer vectors for Philox-4x32-10.
    assert tuple(philox4x32(list(counter), key)) == want
