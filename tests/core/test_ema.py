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
