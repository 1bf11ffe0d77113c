"""The optimizers against TF1's formulas, computed by hand in NumPy (float64).

Each TF1 optimizer gets three updates with given gradients and is compared with the
recurrence of its ``tf.train`` op (the slot start values, ε's place, the rate's place), the
numbers chosen so that a wrong start value or a misplaced ε would show. The Optax
convention is checked against Optax's formula where it differs. bench/verify_tf1.py
compares whole trainings with TensorFlow itself.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.core.optimizers import (
    ALIASES,
    CONVENTIONS,
    OPTIMIZER_SETTINGS,
    OPTIMIZERS,
    OptimizerChoice,
    default_numbers,
    make_optimizer,
)

W0 = np.array([0.5, -1.0, 2.0])
GRADS = [np.array([0.5, -0.2, 1.5]), np.array([0.3, 0.4, -1.0]), np.array([-0.1, 0.6, 0.2])]


def nnopt_steps(name, numbers, convention="tf1", switches=(), grads=GRADS, w0=W0):
    """The parameters after each update (float32), and the final state."""
    choice = OptimizerChoice(name, convention, tuple(sorted(switches)))
    tx = make_optimizer(choice, {**default_numbers(choice), **numbers})
    w = jnp.asarray(w0, jnp.float32)
    state = tx.init(w)
    out = []
    for g in grads:
        change, state = tx.update(jnp.asarray(g, jnp.float32), state, w)
        w = w + change
        out.append(np.asarray(w, np.float64))
    return out, state


def check(got, want, rtol=2e-6):
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-7, err_msg=f"update {k + 1}")


# ------------------------------------------------------------------ TF1, by hand


def test_gradient_descent():
    lr, w, want = 0.1, W0.copy(), []
    for g in GRADS:
        w = w - lr * g
        want.append(w)
    check(nnopt_steps("sgd", {"learning_rate": lr})[0], want)
    # By hand, update 1: 0.5 - 0.1·0.5 = 0.45.
    assert want[0][0] == pytest.approx(0.45)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum(nesterov):
    # ApplyMomentum: accum = accum·μ + g (accum starts at 0); w -= lr·accum, or Nesterov's
    # w -= lr·g + lr·μ·accum.
    lr, mu = 0.1, 0.9
    w, accum, want = W0.copy(), np.zeros(3), []
    for g in GRADS:
        accum = accum * mu + g
        w = w - (lr * g + lr * mu * accum if nesterov else lr * accum)
        want.append(w)
    numbers = {"learning_rate": lr, "momentum": mu}
    got = nnopt_steps("momentum", numbers, switches=[("use_nesterov", nesterov)])[0]
    check(got, want)
    if nesterov:  # the name nesterov is momentum with use_nesterov = true
        check(nnopt_steps("nesterov", numbers)[0], want)
    # By hand, update 2 of w[0], heavy ball: accum = 0.9·0.5 + 0.3 = 0.75; 0.45 - 0.075.
    if not nesterov:
        assert want[1][0] == pytest.approx(0.375)


@pytest.mark.parametrize("epsilon", [1e-8, 0.1])
def test_adam_epsilon_hat(epsilon):
    # ApplyAdam: lr_t = lr·√(1-β2^t)/(1-β1^t); m += (g-m)(1-β1); v += (g²-v)(1-β2);
    # w -= lr_t·m/(√v + ε), ε on the uncorrected root; β^t start at β (t = 1).
    lr, b1, b2 = 0.01, 0.9, 0.999
    w, m, v, want = W0.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        w = w - lr_t * m / (np.sqrt(v) + epsilon)
        want.append(w)
    numbers = {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": epsilon}
    got, state = nnopt_steps("adam", numbers)
    check(got, want)
    # The powers are TF1's variables: β^3 after three updates... times β once more (t = 4).
    assert float(state.inner_state.beta1_power) == pytest.approx(b1**4, rel=1e-6)
    if epsilon == 0.1:
        # By hand, update 1 of w[0]: m = 0.05, v = 0.00025, lr_t = 0.01·√0.001/0.1;
        # 0.5 - 0.0031623·0.05/(0.0158114 + 0.1) = 0.4986347. Optax's ε on the corrected
        # root would give 0.5 - 0.01·0.5/(0.5 + 0.1) = 0.4916667: far from TF1's.
        assert want[0][0] == pytest.approx(0.4986347, abs=1e-7)
        optax_first = nnopt_steps("adam", numbers, convention="optax")[0][0]
        assert optax_first[0] == pytest.approx(0.5 - 0.01 * 0.5 / 0.6, rel=1e-6)


def test_adamw_decays_without_the_rate():
    # tf.contrib.opt.AdamWOptimizer: w -= wd·w, then Adam's step (gradient taken before).
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.05
    w, m, v, want = W0.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        w = (w - wd * w) - lr_t * m / (np.sqrt(v) + eps)
        want.append(w)
    numbers = {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": eps, "weight_decay": wd}
    check(nnopt_steps("adamw", numbers)[0], want)
    # Optax's adamw scales the decay by the rate: 0.05·0.01 of w, not 0.05 of it.
    optax_first = nnopt_steps("adamw", numbers, convention="optax")[0][0]
    step = 0.01 * (0.5 / (0.5 + eps) + wd * 0.5)
    assert optax_first[0] == pytest.approx(0.5 - step, rel=1e-6)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(centered, momentum):
    # ApplyRMSProp: ms starts at 1; ms += (g²-ms)(1-ρ); mom = mom·μ + lr·g/√(ms + ε); w -= mom.
    # Centered: mg += (g-mg)(1-ρ), the root of ms - mg² + ε. A large ε shows its place.
    lr, rho, eps = 0.01, 0.9, 0.1
    w, ms, mg, mom, want = W0.copy(), np.ones(3), np.zeros(3), np.zeros(3), []
    for g in GRADS:
        ms = ms + (g * g - ms) * (1 - rho)
        if centered:
            mg = mg + (g - mg) * (1 - rho)
        mom = mom * momentum + lr * g / np.sqrt(ms - mg * mg + eps)
        w = w - mom
        want.append(w)
    numbers = {"learning_rate": lr, "decay": rho, "momentum": momentum, "epsilon": eps}
    got, state = nnopt_steps("rmsprop", numbers, switches=[("centered", centered)])
    check(got, want)
    assert (state.inner_state.mg is None) == (not centered)
    if not centered:
        # By hand, update 1 of w[0]: ms = 0.9 + 0.1·0.25 = 0.925; 0.5 - 0.01·0.5/√1.025.
        assert want[0][0] == pytest.approx(0.5 - 0.005 / math.sqrt(1.025), rel=1e-12)


def test_rmsprop_slot_starts_at_one_not_zero():
    # TF1 starts the mean square at 1, Optax at 0: the first update differs by about
    # 1/√(1-ρ) (3.2x) for ρ = 0.9 and a gradient of 0.5 (ms 0.925 against 0.025).
    numbers = {"learning_rate": 0.01, "decay": 0.9, "momentum": 0.0, "epsilon": 1e-10}
    tf1_step = W0[0] - nnopt_steps("rmsprop", numbers)[0][0][0]
    optax_step = W0[0] - nnopt_steps("rmsprop", numbers, convention="optax")[0][0][0]
    # (w0 - w1 in float32: w1's rounding is 1e-5 of the step.)
    assert tf1_step == pytest.approx(0.01 * 0.5 / math.sqrt(0.925), rel=2e-5)
    assert optax_step == pytest.approx(0.01 * 0.5 / math.sqrt(0.025 + 1e-10), rel=2e-5)
    assert optax_step / tf1_step == pytest.approx(math.sqrt(0.925 / 0.025), rel=4e-5)


def test_adagrad_has_no_epsilon():
    # ApplyAdagrad: accum starts at initial_accumulator_value; accum += g²; w -= lr·g/√accum.
    lr, start = 0.1, 0.1
    w, accum, want = W0.copy(), np.full(3, start), []
    for g in GRADS:
        accum = accum + g * g
        w = w - lr * g / np.sqrt(accum)
        want.append(w)
    got, state = nnopt_steps("adagrad", {"learning_rate": lr, "initial_accumulator_value": start})
    check(got, want)
    np.testing.assert_allclose(
        state.inner_state.accum, start + sum(g * g for g in GRADS), rtol=1e-6
    )
    # A zero gradient at a tiny accumulator moves nothing (no 0/ε surprises), and a tiny
    # accumulator is not floored by an ε: by hand 0.1·1e-3/√(1e-6 + 1e-6) = 0.0707107.
    tiny, _ = nnopt_steps("adagrad", {"learning_rate": lr, "initial_accumulator_value": 1e-6},
                          grads=[np.array([1e-3, 0.0, 0.0])])  # fmt: skip
    assert W0[0] - tiny[0][0] == pytest.approx(0.1 * 1e-3 / math.sqrt(2e-6), rel=1e-5)
    assert tiny[0][1] == W0[1]


# ------------------------------------------------------------------ layouts and the registry


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_updates_are_elementwise_in_every_layout(name, convention):
    """A flat vector per configuration, lanes ({name: [..., C]} with [C] numbers) and vmap
    give the same updates."""
    choice = OptimizerChoice(name, convention)
    meaning = choice.meaning
    configs = 3
    numbers = [
        {**default_numbers(choice), "learning_rate": 0.01 * (c + 1),
         **{n.name: n.default * (1 - 0.1 * c) for n in meaning.numbers}}
        for c in range(configs)
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(configs, 5)).astype(np.float32)
    grads = [rng.normal(size=(configs, 5)).astype(np.float32) for _ in range(3)]

    def run_one(c):
        tx = make_optimizer(choice, numbers[c])
        w, state = jnp.asarray(w0[c]), tx.init(jnp.asarray(w0[c]))
        for g in grads:
            change, state = tx.update(jnp.asarray(g[c]), state, w)
            w = w + change
        return np.asarray(w)

    singles = np.stack([run_one(c) for c in range(configs)])
    stacked = {k: jnp.asarray([n[k] for n in numbers], jnp.float32) for k in numbers[0]}
    # vmap over configurations
    tx = make_optimizer(choice, default_numbers(choice))

    def run_vmapped(w, gs, nums):
        state = make_optimizer(choice, nums).init(w)
        for g in gs:
            change, state = tx.update(g, state, w)
            w = w + change
        return w

    vmapped = jax.vmap(run_vmapped, in_axes=(0, 1, 0))(
        jnp.asarray(w0), jnp.asarray(np.stack(grads)), stacked
    )
    np.testing.assert_allclose(np.asarray(vmapped), singles, rtol=1e-6, atol=1e-7)
    # lanes: parameters {"a": [2, C], "b": [3, C]}, numbers [C]; init per configuration (as
    # the engine does), then the state's parameter-shaped slots moved to the last axis.
    init = jax.vmap(lambda w, nums: make_optimizer(choice, nums).init(w))(jnp.asarray(w0), stacked)

    def to_lanes(x):
        if hasattr(x, "ndim") and x.ndim == 2 and x.shape[1] == 5:
            return {"a": x[:, :2].T, "b": x[:, 2:].T}
        return x

    state = jax.tree_util.tree_map(to_lanes, init)
    w = to_lanes(jnp.asarray(w0))
    for g in grads:
        change, state = tx.update(to_lanes(jnp.asarray(g)), state, w)
        w = jax.tree_util.tree_map(jnp.add, w, change)
    lanes = np.concatenate([np.asarray(w["a"]).T, np.asarray(w["b"]).T], axis=1)
    np.testing.assert_allclose(lanes, singles, rtol=1e-6, atol=1e-7)


def test_every_setting_has_a_config_field_and_a_declared_range():
    from nnopt.config.schema import OptimizerConfig, section_fields

    fields = section_fields("optimizer")
    for name in (*OPTIMIZER_SETTINGS, *ALIASES):
        assert name in fields, name
        assert getattr(OptimizerConfig(), name) is None  # unset: the meaning's default
    for spec in OPTIMIZERS.values():
        for meaning in (spec.tf1, spec.optax):
            for s in meaning.settings:
                assert s.allows(s.default), (meaning.source, s.name)


def test_tf1_defaults_are_tf1s():
    tf1 = {n: OPTIMIZERS[n].tf1.defaults() for n in OPTIMIZERS}
    assert tf1["rmsprop"] == {"decay": 0.9, "momentum": 0.0, "epsilon": 1e-10, "centered": False}
    assert tf1["adam"] == {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    assert tf1["adagrad"] == {"initial_accumulator_value": 0.1}
    assert tf1["momentum"] == {"momentum": 0.9, "use_nesterov": False}
    assert OPTIMIZERS["rmsprop"].optax.defaults()["epsilon"] == 1e-8
    assert OPTIMIZERS["adagrad"].optax.defaults()["epsilon"] == 1e-7
