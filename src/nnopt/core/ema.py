"""Moving average of the parameters (lecture 4.3), TF1's ``ExponentialMovingAverage``.

shadow ← d·shadow + (1 - d)·param, with ``d = min(decay, (1 + n)/(10 + n))`` when
``num_updates`` n is used, else ``d = decay``. The shadow starts at the parameter's
initial value. ``optax.ema`` starts from zero and debiases instead, which is a
different average; this module is the lecture's.

In training, update k (0-based) first moves the parameters with the optimizer and
then moves the shadow toward the new parameters with ``n = k``: the global step the
update was computed at, as in the lecture's demo (global_step 0 gives d = 0.1).
"""

from __future__ import annotations

from nnopt.core._jax import jax, jnp


def ema_decay(decay, num_updates=None):
    """d = min(decay, (1 + n)/(10 + n)), or ``decay`` without ``num_updates``.

    Example:
      >>> round(float(ema_decay(0.99, 0)), 6), round(float(ema_decay(0.99, 100)), 6)
      (0.1, 0.918182)
    """
    if num_updates is None:
        return jnp.asarray(decay, jnp.float32)
    n = jnp.asarray(num_updates, jnp.float32)
    return jnp.minimum(jnp.asarray(decay, jnp.float32), (1.0 + n) / (10.0 + n))


def ema_update(shadow, params, d):
    """shadow ← d·shadow + (1 - d)·params, leaf by leaf."""
    return jax.tree_util.tree_map(lambda s, p: d * s + (1.0 - d) * p, shadow, params)


def training_decay(numbers, step):
    """The d of update ``step`` in training: min(decay, (1+step)/(10+step)) with the warm-up
    switch on, else decay. EMA off is decay 0: the shadow then equals the parameters.
    (Numbers, not structure, so runs with and without EMA share one compiled program.)"""
    warm = ema_decay(numbers["ema_decay"], step)
    return jnp.where(numbers["ema_warmup"] > 0, warm, numbers["ema_decay"])
