"""Learning-rate schedules (lecture 4.2): ``rate(step, numbers)``.

The update with index k (0-based, TF1's ``global_step`` before it is incremented)
uses the rate at step k. The numbers (base rate, decay rate, decay steps) are
arrays, so one compiled program serves every value and a batch of configurations
can be trained together. ``optax.exponential_decay`` computes the same values
(see the tests) but checks its arguments in Python, which arrays being traced
cannot pass; hence the one-line formula here.

:data:`SCHEDULES` is the registry: each schedule gives the numbers of
:func:`exponential_decay` it stands for (a constant rate is the decay with rate 1), so every
schedule runs in one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnopt.core._jax import jnp


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


def numpy_exponential_decay(step, numbers, staircase=True) -> np.ndarray:
    """:func:`exponential_decay` in NumPy float32, for the host (a figure's staircase, the rate
    a program prints): it compiles no program. NumPy's float32 power may differ from XLA's in
    the last bit (tests/core/test_schedules.py bounds it)."""
    step = np.asarray(step)
    decay_steps = np.asarray(numbers["decay_steps"], np.float32)
    floored = (step // decay_steps.astype(step.dtype)).astype(np.float32)
    smooth = step.astype(np.float32) / decay_steps
    p = np.where(np.asarray(staircase) > 0, floored, smooth)
    rate = np.asarray(numbers["decay_rate"], np.float32)
    return np.float32(numbers["learning_rate"]) * np.power(rate, p)


def _constant(decay_rate: float, decay_steps: int, staircase: bool) -> dict[str, float]:
    return {"decay_rate": 1.0, "decay_steps": 1.0, "staircase": 1.0}  # 1^p = 1 exactly


def _exponential(decay_rate: float, decay_steps: int, staircase: bool) -> dict[str, float]:
    return {
        "decay_rate": decay_rate,
        "decay_steps": float(decay_steps),
        "staircase": float(staircase),
    }


@dataclass(frozen=True)
class ScheduleSpec:
    """A registered schedule: the :func:`exponential_decay` numbers of a config's
    ``(decay_rate, decay_steps, staircase)``, a menu label and a summary."""

    numbers: Callable[[float, int, bool], dict[str, float]]
    label: str
    summary: str


SCHEDULES: dict[str, ScheduleSpec] = {
    "constant": ScheduleSpec(_constant, "constant", "lr = learning_rate"),
    "exponential_decay": ScheduleSpec(
        _exponential,
        "exponential decay",
        "lr = learning_rate · decay_rate^(step / decay_steps), floored when staircase",
    ),
}


def schedule_numbers(name: str, decay_rate: float, decay_steps: int, staircase: bool) -> dict:
    """The numbers :func:`exponential_decay` reads for a config's schedule."""
    return SCHEDULES[name].numbers(decay_rate, decay_steps, staircase)
