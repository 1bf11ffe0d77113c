"""Calling a core function the way the compiled step does, for tests."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def as_f64(v):
    return float(np.asarray(v, np.float64))


def call(fn, y, t, w=None, **numbers):
    """A loss ``fn(y, y_, weights, numbers)`` jitted on float32 inputs, as a Python float."""
    w = np.ones(len(y), np.float32) if w is None else np.asarray(w, np.float32)
    args = (jnp.asarray(y, jnp.float32), jnp.asarray(t, jnp.float32), jnp.asarray(w))
    return as_f64(jax.jit(fn)(*args, {k: jnp.float32(v) for k, v in numbers.items()}))
