"""The moving average against its recurrence and the lecture's demo.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.core import ema

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


def test_ema_update_rounds_as_tf1s_assign_moving_average():
    # TF1: shadow -= (shadow - value) * (1 - decay), in float32. The same expression in
    # NumPy float32 gives the same bits (d·s + (1-d)·p would round differently).
    rng = np.random.default_rng(0)
    s = rng.normal(size=1000).astype(np.float32)
    p = (s + rng.normal(scale=1e-3, size=1000)).astype(np.float32)
    d = np.float32(0.99)
    want = s - (s - p) * (np.float32(1) - d)
    got = np.asarray(ema.ema_update(jnp.asarray(s), jnp.asarray(p), jnp.float32(d)))
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ the two orders in training

# w on (w+1)² by gradient descent at rate 0.2: 5, 2.6, 1.16, 0.296 (lecture 4.2).
W = [5.0, 2.6, 1.16, 0.296]


def _shadows(order, decay=0.99, warmup=True):
    numbers = {"ema_decay": jnp.float32(decay), "ema_warmup": jnp.float32(warmup),
               "ema_after_update": jnp.float32(order == "after_update")}  # fmt: skip
    shadow, out = jnp.float32(W[0]), []
    for k in range(3):
        shadow = ema.training_shadow(numbers, k, shadow, jnp.float32(W[k]), jnp.float32(W[k + 1]))
        out.append(float(shadow))
    return out


def test_before_update_reads_the_weights_before_the_step_with_the_count_before():
    # The lecture's grouping as TF1 runs it: update k reads w_k with num_updates = k.
    # k=0: d = min(0.99, 1/10) = 0.1, shadow = 5 - (5 - 5)·0.9 = 5 (it reads the start);
    # k=1: d = 2/11: 5 - (5 - 2.6)·9/11 = 3.0363636;
    # k=2: d = 3/12: 3.0363636 - (3.0363636 - 1.16)·0.75 = 1.6290909.
    np.testing.assert_allclose(_shadows("before_update"), [5.0, 3.0363636, 1.6290909], rtol=1e-6)


def test_after_update_reads_the_updated_weights_with_the_count_after():
    # TF1's documented pattern: update k reads w_{k+1} with num_updates = k + 1.
    # k=0: d = 2/11: 5 - (5 - 2.6)·9/11 = 3.0363636; k=1: d = 3/12: 1.6290909;
    # k=2: d = 4/13: 1.6290909 - (1.6290909 - 0.296)·9/13 = 0.7061818.
    np.testing.assert_allclose(
        _shadows("after_update"), [3.0363636, 1.6290909, 0.7061818], rtol=1e-6
    )
    # Both differ from moving toward w_{k+1} with the count before (0.1·5 + 0.9·2.6 = 2.84).
    assert abs(_shadows("after_update")[0] - 2.84) > 0.1


def test_before_update_is_after_update_one_update_late():
    # Since the shadow starts at the start, before_update's first update changes nothing and
    # every later one repeats after_update's previous one: the same shadow, one update late.
    before, after = _shadows("before_update"), _shadows("after_update")
    assert before[0] == W[0]
    np.testing.assert_allclose(before[1:], after[:-1], rtol=1e-6)
    # Without the warm-up the same holds for a plain decay.
    before, after = _shadows("before_update", 0.5, False), _shadows("after_update", 0.5, False)
    np.testing.assert_allclose(before[1:], after[:-1], rtol=1e-6)
    assert after[0] == pytest.approx(5 - (5 - 2.6) * 0.5)


def test_numpy_twins_are_ema_decay_and_update_bit_for_bit():
    for decay in (0.99, 0.1, 0.5):
        assert ema.numpy_ema_decay(decay) == np.float32(ema.ema_decay(decay))
        shadow = jnp.float32(0.0)
        twin = np.float32(0.0)
        for n in range(0, 300, 7):
            d = ema.ema_decay(decay, n)
            assert ema.numpy_ema_decay(decay, n) == np.float32(d), (decay, n)
            w = np.float32(10.0 if n else 1.0)
            shadow = ema.ema_update(shadow, jnp.float32(w), d)
            twin = ema.numpy_ema_update(twin, w, ema.numpy_ema_decay(decay, n))
            assert twin.dtype == np.float32 and twin == np.float32(shadow), (decay, n)
    # The lecture's demo: after step 0 (w1 := 1) the shadow is 0.9, then 0.9·101/110 + 10·9/110.
    first = ema.numpy_ema_update(0.0, 1.0, ema.numpy_ema_decay(0.99, 0))
    assert first == np.float32(0.9)
    second = ema.numpy_ema_update(first, 10.0, ema.numpy_ema_decay(0.99, 100))
    assert float(second) == pytest.approx(0.9 * 101 / 110 + 10 * 9 / 110, rel=1e-6)
