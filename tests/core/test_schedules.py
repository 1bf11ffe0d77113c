"""The learning-rate schedules against their closed forms.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nnopt.core import schedules
from tests.support.calls import as_f64

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


@pytest.mark.parametrize(("staircase", "every"), [(1.0, 1.0), (1.0, 10.0), (0.0, 3.0)])
def test_numpy_twin_is_exponential_decay_within_two_bits(staircase, every):
    """The lecture's ranges: 0.1·0.99^k (every update) and 0.001·0.999^⌊k/10⌋, k <= 120."""
    numbers = {k: np.float32(v) for k, v in
               {"learning_rate": 0.1, "decay_rate": 0.99, "decay_steps": every}.items()}  # fmt: skip
    steps = np.arange(0, 121, dtype=np.int32)
    twin = schedules.numpy_exponential_decay(steps, numbers, np.float32(staircase))
    jax_rates = np.asarray(
        schedules.exponential_decay(jnp.asarray(steps), numbers, np.float32(staircase))
    )
    assert twin.dtype == np.float32
    # NumPy's float32 power and XLA's each round within about an ulp of the exact value, not
    # always the same way: they differ by at most two ulps (bits of the float32 pattern).
    assert np.abs(twin.view(np.int32) - jax_rates.view(np.int32)).max() <= 2
    exponent = steps // every if staircase else steps / every
    exact = np.float64(np.float32(0.1)) * np.float64(np.float32(0.99)) ** exponent
    np.testing.assert_allclose(twin, exact, rtol=2.5e-7)
