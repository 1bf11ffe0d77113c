"""Moving average of the parameters (lecture 4.3), TF1's ``ExponentialMovingAverage``.

shadow ← shadow − (shadow − param)·(1 − d), i.e. d·shadow + (1 − d)·param, with
``d = min(decay, (1 + n)/(10 + n))`` when ``num_updates`` n is used, else ``d = decay``. The
shadow starts at the parameter's initial value. ``optax.ema`` starts from zero and debiases
instead, which is a different average; this module is the lecture's.

In training, update k (0-based) moves the parameters with the optimizer and the shadow
toward them; which parameters the shadow reads is the ``order`` (:data:`EMA_ORDERS`).
TensorFlow 1 itself leaves it undefined in the lecture's code:
``with tf.control_dependencies([train_step, ema_op]): train_op = tf.no_op()`` only asks that
both ran, in either order or at once. In practice TF1 almost always runs the EMA first
there (it waits for nothing, the step waits for the gradient; ``bench/verify_tf1.py`` counts
how often): the shadow reads the parameters *before* update k, with n = k, the global step
before its increment (``before_update``). TF1's documented pattern,
``with tf.control_dependencies([train_step]): train_op = ema.apply(...)``, reads the
*updated* parameters with n = k + 1 (``after_update``). As the shadow starts at the
parameters' start, before_update's first update leaves it there and each later one repeats
after_update's previous one: the same shadow, one update late.
"""

from __future__ import annotations

import numpy as np

from nnopt.core._jax import jax, jnp

# order -> what update k's shadow reads
EMA_ORDERS = {
    "after_update": "the parameters after update k, num_updates = k + 1 "
    "(TF1's control_dependencies([train_step]): ema.apply(...))",
    "before_update": "the parameters before update k, num_updates = k "
    "(the lecture's control_dependencies([train_step, ema_op]) as TF1 runs it)",
}


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
    """shadow ← shadow − (shadow − params)·(1 − d), leaf by leaf: TF1's
    ``assign_moving_average`` (the same average as d·shadow + (1 − d)·params, rounded as
    TensorFlow rounds it)."""
    return jax.tree_util.tree_map(lambda s, p: s - (s - p) * (1.0 - d), shadow, params)


def numpy_ema_decay(decay, num_updates=None) -> np.float32:
    """:func:`ema_decay` in NumPy float32 (the same operations, so the same bits), for the
    host's worked examples: they compile no program."""
    d = np.float32(decay)
    if num_updates is None:
        return d
    n = np.float32(num_updates)
    return np.minimum(d, (np.float32(1.0) + n) / (np.float32(10.0) + n))


def numpy_ema_update(shadow, params, d):
    """:func:`ema_update` of one array in NumPy float32: shadow − (shadow − params)·(1 − d)."""
    shadow, params = np.float32(shadow), np.float32(params)
    return shadow - (shadow - params) * (np.float32(1.0) - np.float32(d))


def training_decay(numbers, step):
    """The d of an update in training whose ``num_updates`` is ``step``: min(decay,
    (1+step)/(10+step)) with the warm-up switch on, else decay. EMA off is decay 0: the shadow
    then follows the parameters. (Numbers, not structure, so runs with and without EMA share
    one compiled program.)"""
    warm = ema_decay(numbers["ema_decay"], step)
    return jnp.where(numbers["ema_warmup"] > 0, warm, numbers["ema_decay"])


def training_shadow(numbers, step, shadow, before, after):
    """The shadow after update ``step`` (k, 0-based) of training, in the order the number
    ``ema_after_update`` chooses (1: ``after_update``, 0: ``before_update``).

    ``before`` are the parameters update k started from, ``after`` the ones it produced:
    after_update moves the shadow toward ``after`` with num_updates = k + 1, before_update
    toward ``before`` with num_updates = k. (A number, so both orders share one program.)
    """
    reads_after = jnp.asarray(numbers["ema_after_update"]) > 0
    n = jnp.asarray(step, jnp.float32) + reads_after.astype(jnp.float32)
    params = jax.tree_util.tree_map(lambda b, a: jnp.where(reads_after, a, b), before, after)
    return ema_update(shadow, params, training_decay(numbers, n))
