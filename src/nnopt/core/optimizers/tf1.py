"""TensorFlow 1's optimizers (``tf.train.*Optimizer``) as Optax transformations.

Each function returns an ``optax.GradientTransformation``: ``init(params)`` makes the
optimizer's slots with the start values TF1's ``_create_slots`` gives them (a NamedTuple
state), and ``update(grads, state, params)`` returns the change to add to the parameters,
computed term by term in the order of TF1's CPU kernel (``ApplyAdam``, ``ApplyRMSProp`` ...
in ``tensorflow/core/kernels/training_ops.cc``), so that float32 rounds as TensorFlow does.

Everything is elementwise, leaf by leaf, and every number may be an array that broadcasts
against the leaves: one flat parameter vector, a dict of ``[..., C]`` lanes with ``[C]``
numbers (:mod:`nnopt.engine.lanes`), or one configuration under ``jax.vmap``. The numbers are
injected as state by ``optax.inject_hyperparams`` (see :func:`nnopt.core.optimizers.make_optimizer`);
the on/off options (``use_nesterov``, ``centered``) are Python booleans, compiled in.

Where Optax's optimizer of the same name computes something else, the docstring says how.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from nnopt.core._jax import jax, jnp, optax


def _map(fn, *trees):
    return jax.tree_util.tree_map(fn, *trees)


def _full_like(tree, value):
    return _map(lambda p: jnp.full_like(p, value), tree)


def gradient_descent(learning_rate):
    """``tf.train.GradientDescentOptimizer(lr)`` (ApplyGradientDescent): w ← w − g·lr.

    The lecture's optimizer. Optax's ``sgd`` and PyTorch's ``SGD`` are the same.
    """

    def init(params):
        return optax.EmptyState()

    def update(grads, state, params=None):
        return _map(lambda g: -(g * learning_rate), grads), state

    return optax.GradientTransformation(init, update)


class MomentumState(NamedTuple):
    accum: Any  # TF1's "momentum" slot, starts at 0


def momentum(learning_rate, momentum, use_nesterov=False):
    """``tf.train.MomentumOptimizer(lr, momentum, use_nesterov)`` (ApplyMomentum).

    accum ← accum·μ + g, starting at 0; then w ← w − accum·lr, or with ``use_nesterov``
    w ← w − (g·lr + accum·μ·lr). The rate multiplies the accumulated sum when it is applied,
    so a decaying rate scales the whole velocity. Optax's ``sgd(lr, momentum, nesterov)`` and
    PyTorch's ``SGD(momentum, nesterov)`` (dampening 0) compute the same.
    """

    def init(params):
        return MomentumState(_full_like(params, 0.0))

    def update(grads, state, params=None):
        accum = _map(lambda a, g: a * momentum + g, state.accum, grads)
        if use_nesterov:
            change = _map(
                lambda g, a: -(g * learning_rate + a * momentum * learning_rate), grads, accum
            )
        else:
            change = _map(lambda a: -(a * learning_rate), accum)
        return change, MomentumState(accum)

    return optax.GradientTransformation(init, update)


class AdamState(NamedTuple):
    m: Any  # "m": the gradient's mean, starts at 0
    v: Any  # "v": the squared gradient's mean, starts at 0
    beta1_power: Any  # "beta1_power": β1^t, starts at β1 and is multiplied by β1 after each update
    beta2_power: Any  # "beta2_power": β2^t


def adam(learning_rate, beta1, beta2, epsilon):
    """``tf.train.AdamOptimizer(lr, beta1, beta2, epsilon)`` (ApplyAdam).

    At update t (1-based): lr_t = lr·√(1 − β2^t)/(1 − β1^t); m ← m + (g − m)·(1 − β1);
    v ← v + (g² − v)·(1 − β2); w ← w − m·lr_t/(√v + ε). The powers β^t are variables
    multiplied by β after every update, as TF1 keeps them.

    ε is added to the root of the *uncorrected* v (Kingma and Ba's "epsilon hat"). Optax's
    ``adam`` and PyTorch's ``Adam`` add it to the corrected root, w ← w − lr·m̂/(√v̂ + ε) with
    m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t): the same as TF1 with ε_TF1 = ε·√(1 − β2^t), which
    differs most in the first updates and with a large ε.
    """

    def init(params):
        zeros = _full_like(params, 0.0)
        powers = jnp.asarray(beta1, jnp.float32), jnp.asarray(beta2, jnp.float32)
        return AdamState(zeros, zeros, *powers)

    def update(grads, state, params=None):
        alpha = learning_rate * jnp.sqrt(1.0 - state.beta2_power) / (1.0 - state.beta1_power)
        m = _map(lambda m, g: m + (g - m) * (1.0 - beta1), state.m, grads)
        v = _map(lambda v, g: v + (g * g - v) * (1.0 - beta2), state.v, grads)
        change = _map(lambda m, v: -((m * alpha) / (jnp.sqrt(v) + epsilon)), m, v)
        powers = state.beta1_power * beta1, state.beta2_power * beta2
        return change, AdamState(m, v, *powers)

    return optax.GradientTransformation(init, update)


def adamw(learning_rate, beta1, beta2, epsilon, weight_decay):
    """``tf.contrib.opt.AdamWOptimizer(weight_decay, lr, beta1, beta2, epsilon)``.

    TF1's decoupled weight decay (``DecoupledWeightDecayExtension`` over ``AdamOptimizer``):
    w ← w − wd·w, then :func:`adam`'s update (its gradient taken before the decay). The decay
    is *not* multiplied by the learning rate (contrib's documentation asks to decay
    ``weight_decay`` by hand alongside the rate). Optax's ``adamw`` computes
    w ← w − lr·(m̂/(√v̂ + ε) + wd·w) and PyTorch's ``AdamW`` w ← w − lr·wd·w, then Adam:
    both scale the decay by the rate, and both place ε as Optax's Adam does.
    """
    inner = adam(learning_rate, beta1, beta2, epsilon)

    def update(grads, state, params=None):
        step, state = inner.update(grads, state)
        # TF1 assigns twice, w' = w − wd·w and then w'' = w' − u: the change w'' − w is
        # returned, and w + (w'' − w) gives back w'' exactly whenever w'' is within a
        # factor 2 of w (Sterbenz), i.e. TF1's rounding rather than a rounding of its own.
        return _map(lambda s, w: ((w - weight_decay * w) + s) - w, step, params), state

    return optax.GradientTransformation(inner.init, update)


class RMSPropState(NamedTuple):
    ms: Any  # "rms": the squared gradient's mean, starts at 1
    mg: Any  # "mg": the gradient's mean, starts at 0 (centered only; None otherwise)
    mom: Any  # "momentum": the update's accumulator, starts at 0


def rmsprop(learning_rate, decay, momentum, epsilon, centered=False):
    """``tf.train.RMSPropOptimizer(lr, decay, momentum, epsilon, centered)`` (ApplyRMSProp).

    ms ← ms + (g² − ms)·(1 − ρ), starting at **1**; mom ← mom·μ + g·lr/√(ms + ε), starting
    at 0; w ← w − mom. ``centered`` (ApplyCenteredRMSProp) also keeps mg ← mg + (g − mg)·(1 − ρ)
    and divides by √(ms − mg² + ε). ε is inside the root, and the rate is inside the
    accumulator.

    Optax's ``rmsprop`` starts ms at 0 (``initial_scale``), so its first updates are about
    1/√(1 − ρ) ≈ 3 times larger (ρ = 0.9); its ε is also inside the root. PyTorch's
    ``RMSprop`` starts at 0, adds ε outside the root and multiplies by the rate after the
    momentum buffer (w ← w − lr·buf, buf ← μ·buf + g/(√ms + ε)).
    """

    def init(params):
        zeros = _full_like(params, 0.0)
        return RMSPropState(_full_like(params, 1.0), zeros if centered else None, zeros)

    def update(grads, state, params=None):
        ms = _map(lambda s, g: s + (g * g - s) * (1.0 - decay), state.ms, grads)
        if centered:
            mg = _map(lambda a, g: a + (g - a) * (1.0 - decay), state.mg, grads)
            denom = _map(lambda s, a: (s - a * a) + epsilon, ms, mg)
        else:
            mg, denom = None, _map(lambda s: s + epsilon, ms)
        mom = _map(
            lambda u, g, q: u * momentum + (g * learning_rate) / jnp.sqrt(q),
            state.mom,
            grads,
            denom,
        )
        return _map(lambda u: -u, mom), RMSPropState(ms, mg, mom)

    return optax.GradientTransformation(init, update)


class AdagradState(NamedTuple):
    accum: Any  # "accumulator": Σg², starts at initial_accumulator_value


def adagrad(learning_rate, initial_accumulator_value):
    """``tf.train.AdagradOptimizer(lr, initial_accumulator_value)`` (ApplyAdagrad).

    accum ← accum + g², starting at ``initial_accumulator_value`` (TF1 requires it > 0);
    w ← w − g·lr/√accum (``rsqrt``), with no ε. Optax's ``adagrad`` divides by √(accum + ε)
    (ε = 1e-7), and PyTorch's ``Adagrad`` starts at 0 and divides by √accum + ε (1e-10).
    """

    def init(params):
        return AdagradState(_full_like(params, initial_accumulator_value))

    def update(grads, state, params=None):
        accum = _map(lambda a, g: a + g * g, state.accum, grads)
        change = _map(lambda g, a: -(g * learning_rate * jax.lax.rsqrt(a)), grads, accum)
        return change, AdagradState(accum)

    return optax.GradientTransformation(init, update)
