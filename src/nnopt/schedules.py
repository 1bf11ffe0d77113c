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
    LEARNING_RATE_DECAY, staircase)``.
    """
    if staircase:  # integer division, exact at any step (a float32 step is not, past 2^24)
        p = (step // numbers["decay_steps"].astype(step.dtype)).astype(jnp.float32)
    else:
        p = step.astype(jnp.float32) / numbers["decay_steps"]
    return numbers["learning_rate"] * jnp.power(numbers["decay_rate"], p)


SCHEDULES = {"constant": constant, "exponential_decay": exponential_decay}
