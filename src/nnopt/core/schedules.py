"""Learning-rate schedules (lecture 4.2): ``schedule(step, numbers) -> rate``.

The update with index k (0-based, TF1's ``global_step`` before it is incremented)
uses the rate at step k. The numbers (base rate, decay rate, decay steps) are
arrays, so one compiled program serves every value and a batch of configurations
can be trained together. ``optax.exponential_decay`` computes the same values
(see the tests) but checks its arguments in Python, which arrays being traced
cannot pass; hence the one-line formula here.
"""

from __future__ import annotations

import jax.numpy as jnp


def constant(step, numbers, staircase=False):
    """lr = learning_rate."""
    return numbers["learning_rate"] * jnp.ones_like(step, jnp.float32)


def exponential_decay(step, numbers, staircase=True):
    """lr = learning_rate · decay_rate^(step / decay_steps), the exponent floored when staircase.

    ``tf.train.exponential_decay(LEARNING_RATE_BASE, global_step, LEARNING_RATE_STEP,
    LEARNING_RATE_DECAY, staircase)``. ``staircase`` may be a bool or a 0/1 array, so that
    one compiled program serves both.
    """
    step = jnp.asarray(step)
    # Integer division, exact at any step (a float32 step is not, past 2^24).
    floored = (step // numbers["decay_steps"].astype(step.dtype)).astype(jnp.float32)
    smooth = step.astype(jnp.float32) / numbers["decay_steps"]
    p = jnp.where(jnp.asarray(staircase) > 0, floored, smooth)
    return numbers["learning_rate"] * jnp.power(numbers["decay_rate"], p)


def schedule_numbers(name: str, decay_rate: float, decay_steps: int, staircase: bool) -> dict:
    """The numbers :func:`exponential_decay` reads for a config's schedule; a constant rate is
    the decay with rate 1 (1^p = 1 exactly), so both share one compiled program."""
    if name == "constant":
        return {"decay_rate": 1.0, "decay_steps": 1.0, "staircase": 1.0}
    return {
        "decay_rate": decay_rate,
        "decay_steps": float(decay_steps),
        "staircase": float(staircase),
    }


SCHEDULES = {"constant": constant, "exponential_decay": exponential_decay}
