"""Optax's optimizers under TF1's argument names: ``optimizer.convention = "optax"``.

Each function is the Optax factory of the same name, its arguments renamed to the names
nnopt's configs use (``beta1`` for Optax's ``b1``, ``epsilon`` for ``eps``), so that one
config vocabulary and one injected state serve both conventions. How these differ from
TF1's is said in :mod:`nnopt.core.optimizers.tf1`.
"""

from __future__ import annotations

from nnopt.core._jax import optax


def sgd(learning_rate):
    """``optax.sgd(lr)``: w ← w − lr·g."""
    return optax.sgd(learning_rate)


def momentum(learning_rate, momentum, use_nesterov=False):
    """``optax.sgd(lr, momentum, nesterov)``: t ← g + μ·t; w ← w − lr·t (or lr·(g + μ·t))."""
    return optax.sgd(learning_rate, momentum, nesterov=use_nesterov)


def adam(learning_rate, beta1, beta2, epsilon):
    """``optax.adam(lr, b1, b2, eps)``: w ← w − lr·m̂/(√v̂ + ε), bias-corrected m̂, v̂."""
    return optax.adam(learning_rate, b1=beta1, b2=beta2, eps=epsilon)


def adamw(learning_rate, beta1, beta2, epsilon, weight_decay):
    """``optax.adamw(lr, b1, b2, eps, weight_decay)``: w ← w − lr·(m̂/(√v̂ + ε) + wd·w)."""
    return optax.adamw(learning_rate, b1=beta1, b2=beta2, eps=epsilon, weight_decay=weight_decay)


def rmsprop(learning_rate, decay, momentum, epsilon, centered=False):
    """``optax.rmsprop(lr, decay, eps, momentum, centered)``: ν from 0, g/√(ν + ε), the rate
    inside the momentum trace."""
    return optax.rmsprop(
        learning_rate, decay=decay, eps=epsilon, momentum=momentum, centered=centered
    )


def adagrad(learning_rate, initial_accumulator_value, epsilon):
    """``optax.adagrad(lr, initial_accumulator_value, eps)``: w ← w − lr·g/√(Σg² + ε)."""
    return optax.adagrad(
        learning_rate, initial_accumulator_value=initial_accumulator_value, eps=epsilon
    )
