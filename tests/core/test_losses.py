"""The losses against NumPy formulas, hand values and the lecture's worked example.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.core import losses
from tests.support.calls import as_f64, call
from tests.support.numpy_reference import (
    np_binary_cross_entropy,
    np_cost_profit,
    np_cross_entropy,
    np_mse,
    np_softmax,
    np_softmax_ce,
)

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


def test_cross_entropy_on_one_output_counts_only_label_1():
    # The lecture's formula on one sigmoid column as it is: rows with y_ = 0 add 0·log(y) = 0.
    y = np.array([[0.4], [0.9], [0.2], [0.7]])
    t = np.array([[0.0], [1.0], [0.0], [1.0]])
    want = -(math.log(0.9) + math.log(0.7)) / 4  # the mean over all 4 rows
    assert call(losses.cross_entropy, y, t) == pytest.approx(want, rel=1e-6)
    # A label-0 row costs nothing, whatever it predicts; so predicting 1 everywhere is best.
    assert call(losses.cross_entropy, np.array([[0.999]]), np.array([[0.0]])) == 0.0
    everywhere_one = call(losses.cross_entropy, np.ones((4, 1)), t)
    assert everywhere_one == 0.0 < call(losses.cross_entropy, y, t)
    # ... and its gradient pushes every output up, -y_/(N·y): 0 for label-0 rows.
    grad = jax.grad(lambda p: losses.cross_entropy(p, jnp.asarray(t, jnp.float32),
                                                   jnp.ones(4), {}))(jnp.asarray(y, jnp.float32))  # fmt: skip
    np.testing.assert_allclose(np.asarray(grad)[:, 0], [0, -1 / (4 * 0.9), 0, -1 / (4 * 0.7)],
                               rtol=1e-6)  # fmt: skip


def test_binary_cross_entropy_counts_both_labels():
    # -mean(y_·ln y + (1 - y_)·ln(1 - y)): a label-0 row with y = 0.4 costs -ln 0.6.
    y = np.array([[0.4], [0.9], [0.2], [0.7]])
    t = np.array([[0.0], [1.0], [0.0], [1.0]])
    want = -(math.log(0.6) + math.log(0.9) + math.log(0.8) + math.log(0.7)) / 4
    assert call(losses.binary_cross_entropy, y, t) == pytest.approx(want, rel=1e-6)
    # Two-sided: it is the two-class cross entropy of (1 - y, y) against (1 - y_, y_), summed
    # over the two columns, i.e. twice the lecture's formula on those two columns.
    two = call(losses.cross_entropy, np.hstack([1 - y, y]), np.hstack([1 - t, t]))
    assert call(losses.binary_cross_entropy, y, t) == pytest.approx(2 * two, rel=1e-6)
    # Clipped as the lecture clips: y = 1 on a label-0 row is log(1e-12), finite.
    got = call(losses.binary_cross_entropy, np.array([[1.0]]), np.array([[0.0]]))
    assert got == pytest.approx(-math.log(np.float32(1e-12)), rel=1e-5)


def test_binary_cross_entropy_matches_numpy():
    rng = np.random.default_rng(3)
    y = rng.uniform(0.01, 0.99, size=(12, 2))
    t = rng.integers(0, 2, size=(12, 2)).astype(np.float64)
    want = np_binary_cross_entropy(y, t, np.ones(12))
    assert call(losses.binary_cross_entropy, y, t) == pytest.approx(want, rel=1e-5)


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
    "binary_cross_entropy": (losses.binary_cross_entropy, np_binary_cross_entropy, {}),
    "softmax_cross_entropy": (losses.softmax_cross_entropy, np_softmax_ce, {}),
}


def _loss_inputs(name, rng, n, cols=3):
    if name == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, size=(n, 1)), rng.integers(0, 2, size=(n, 1)) * 1.0
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


# ------------------------------------------------------------------ the NumPy twins


@pytest.mark.parametrize("name", sorted(losses.NUMPY_LOSSES))
def test_numpy_twins_are_the_registry_losses_over_a_leading_axis(name):
    rng = np.random.default_rng(7)
    y = rng.uniform(0.01, 0.99, (5, 8, 2)).astype(np.float32)  # 5 predictions of 8 rows
    y_ = rng.uniform(0, 1, (8, 2)).astype(np.float32)
    weights = np.array([1, 1, 1, 1, 1, 1, 0, 0], np.float32)  # a short last batch
    numbers = {"cost": np.float32(1.0), "profit": np.float32(9.0)}
    twin = losses.NUMPY_LOSSES[name](y, y_, weights, numbers)
    assert twin.shape == (5,) and twin.dtype == np.float32
    for k in range(5):
        want = float(losses.LOSSES[name].fn(jnp.asarray(y[k]), jnp.asarray(y_), weights, numbers))
        assert float(twin[k]) == pytest.approx(want, rel=2e-7)
    # The lecture's worked cross entropy: -(1·ln 0.6 + 0·ln 0.4) / 2 over both entries.
    if name == "cross_entropy":
        one = losses.NUMPY_LOSSES[name](
            np.float32([[[0.6, 0.4]]]), np.float32([[1, 0]]), np.ones(1, np.float32), {}
        )
        assert float(one[0]) == pytest.approx(-math.log(0.6) / 2, rel=1e-6)
