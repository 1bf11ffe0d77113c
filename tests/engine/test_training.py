"""The training engine against hand recurrences, NumPy re-implementations of the
lecture's loops and the lecture's printed numbers."""

from __future__ import annotations

import doctest
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.config.presets import load_config, preset_names
from nnopt.engine.step import select_batch
from nnopt.engine.training import Training, summary_line, train
from nnopt.errors import ConfigError, DivergenceError
from tests.support.numpy_reference import np_forward

# ------------------------------------------------------------------ helpers


def lecture_yogurt():
    rdm = np.random.RandomState(23455)
    X = rdm.rand(32, 2)
    Y_ = [[x1 + x2 + (rdm.rand() / 10.0 - 0.05)] for (x1, x2) in X]
    return X.astype(np.float32).astype(np.float64), np.asarray(Y_).astype(np.float32).astype(
        np.float64
    )


def lecture_yogurt_loop(steps, batch, lr, loss="mse", cost=1.0, profit=9.0):
    """The lecture's training loop in NumPy float64, with its slices X[start:start+B]."""
    X, Y = lecture_yogurt()
    w = np.array([[-0.8113182], [1.4845988]])  # tf.random_normal([2,1], stddev=1, seed=1)
    for i in range(steps):
        start = (i * batch) % 32
        x, t = X[start : start + batch], Y[start : start + batch]
        y = x @ w
        if loss == "mse":
            g = x.T @ (2 * (y - t)) / len(x)
        else:
            g = x.T @ np.where(y > t, cost, -profit)
        w = w - lr * g
    return w.ravel()


def capped(name, cap=50):
    return min(load_config(name).train.steps, cap)


# ------------------------------------------------------------------ the 1-D demos (lecture 4.2)


def test_gd_rate_0_2_lecture_steps_and_convergence():
    r = train(load_config("gd-rate-0.2"))
    w = r.history.column("w")
    np.testing.assert_array_equal(r.history.column("step"), np.arange(41))
    # 5 -> 5 - 0.2*(2*5+2) = 2.6 -> 1.16 -> 0.296
    assert w[0] == 5.0
    np.testing.assert_allclose(w[1:4], [2.6, 1.16, 0.296], atol=1e-5)
    # Closed form: w_k + 1 = 6 * (1 - 2*0.2)^k.
    np.testing.assert_allclose(w, -1 + 6 * 0.6 ** np.arange(41), atol=2e-6)
    assert abs(w[-1] + 1) < 1e-6
    assert float(r.params["w"]) == w[-1]
    # The batch loss of update k is (w_k + 1)^2, before the update.
    np.testing.assert_allclose(r.history.per_step("loss"), (w[:-1] + 1) ** 2, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(r.history.per_step("lr"), np.full(40, 0.2), rtol=1e-7)
    assert r.steps == 40 and len(r.history.per_step("loss")) == 40


def test_gd_rate_1_swings_between_5_and_minus_7():
    w = train(load_config("gd-rate-1")).history.column("w")
    np.testing.assert_array_equal(w, [5.0 if k % 2 == 0 else -7.0 for k in range(41)])


def test_gd_rate_0_0001_moves_slowly():
    w = train(load_config("gd-rate-0.0001")).history.column("w")
    # First update: 0.0001 * (2*5 + 2) = 0.0012.
    assert abs((w[0] - w[1]) - 0.0012) < 1e-6
    assert abs(w[1] - 4.9988) < 1e-6
    np.testing.assert_allclose(w, -1 + 6 * (1 - 0.0002) ** np.arange(41), rtol=2e-6)


def test_exponential_decay_rates_and_recurrence():
    r = train(load_config("exponential-decay"))
    lr = r.history.per_step("lr")
    k = np.arange(40)
    np.testing.assert_allclose(lr, 0.1 * 0.99**k, rtol=2e-6)
    w_hand = [5.0]
    for i in range(40):
        w_hand.append(w_hand[-1] - 0.1 * 0.99**i * (2 * w_hand[-1] + 2))
    np.testing.assert_allclose(r.history.column("w"), w_hand, rtol=1e-5, atol=1e-5)
    # First two steps by hand: 5 - 0.1*12 = 3.8; 3.8 - 0.099*9.6 = 2.8496.
    np.testing.assert_allclose(r.history.column("w")[1:3], [3.8, 2.8496], atol=1e-5)


def test_ema_demo_shadow_recurrence():
    # The preset groups the EMA with the step as the lecture does (ema.order = before_update):
    # update k reads w_k, before the step, with num_updates = k.
    r = train(load_config("ema-demo"))
    w, shadow = r.history.column("w"), r.history.column("ema_w")
    assert shadow[0] == w[0] == 5.0  # the shadow starts at the parameter's initial value
    want = [5.0]
    for k in range(40):
        d = min(0.99, (1 + k) / (10 + k))
        want.append(want[-1] - (want[-1] - w[k]) * (1 - d))
    np.testing.assert_allclose(shadow, want, rtol=1e-5, atol=1e-6)
    # Update 0 reads w_0 = 5: the shadow stays 5. Update 1: d = 2/11, 5 - (5 - 2.6)·9/11.
    assert shadow[1] == 5.0 and abs(shadow[2] - (5 - 2.4 * 9 / 11)) < 1e-5
    assert float(r.ema_params["w"]) == shadow[-1]
    # The raw parameter is unaffected by the average: the plain rate-0.2 sequence.
    np.testing.assert_allclose(w, -1 + 6 * 0.6 ** np.arange(41), atol=2e-6)
    # TF1's documented order reads w_{k+1} with num_updates = k + 1: the same shadow, one
    # update earlier.
    after = train(load_config("ema-demo", ["ema.order=after_update"])).history.column("ema_w")
    want = [5.0]
    for k in range(40):
        d = min(0.99, (2 + k) / (11 + k))
        want.append(want[-1] - (want[-1] - w[k + 1]) * (1 - d))
    np.testing.assert_allclose(after, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after[:-1], shadow[1:], rtol=1e-6)


def test_init_params_replace_the_start():
    r = train(load_config("gd-rate-0.2", ["train.steps=2"]), init_params={"w": 2.0})
    np.testing.assert_allclose(
        r.history.column("w"), [2.0, 2.0 - 0.2 * 6, 0.8 - 0.2 * 3.6], atol=1e-6
    )


def test_divergence_is_reported_at_the_first_infinite_loss():
    # Rate 10: w_k + 1 = 6 * (-19)^k; (w+1)^2 overflows float32 first at k = 15, update 16.
    assert math.isfinite(float(np.float32(6.0 * 19**14) ** 2))
    with np.errstate(over="ignore"):
        assert not math.isfinite(float(np.float32(6.0 * 19**15) ** 2))
    run = Training(load_config("gd-rate-0.2", ["optimizer.learning_rate=10.0"]))
    with pytest.raises(DivergenceError) as info:
        run.run()
    assert info.value.step == 16
    assert run.step == 15 and len(run.history.per_step("loss")) == 15


# ------------------------------------------------------------------ the yogurt fit (lecture 4.1)


def test_yogurt_mse_reproduces_the_lecture():
    r = train(load_config("yogurt-mse"))
    w = r.params["w1"].ravel()
    # "w1=0.98, w2=1.02"
    assert [round(float(v), 2) for v in w] == [0.98, 1.02]
    # And the lecture's loop, re-run in NumPy float64.
    np.testing.assert_allclose(w, lecture_yogurt_loop(20000, 8, 0.001), atol=1e-5)
    # The start is TensorFlow 1's tf.random_normal([2,1], seed=1).
    np.testing.assert_allclose(
        [r.history.column("w1[0,0]")[0], r.history.column("w1[1,0]")[0]],
        [-0.8113182, 1.4845988],
        atol=2e-6,
    )
    np.testing.assert_array_equal(r.history.column("step"), np.arange(0, 20001, 500))


@pytest.mark.parametrize(
    "name,cost,profit", [("yogurt-cost1-profit9", 1.0, 9.0), ("yogurt-cost9-profit1", 9.0, 1.0)]
)
def test_yogurt_cost_profit_follows_the_lecture_loop(name, cost, profit):
    # Early on the piecewise-linear loss has no near-ties: the NumPy loop agrees closely.
    r = train(load_config(name, ["train.steps=500"]))
    want = lecture_yogurt_loop(500, 8, 0.001, "cost_profit", cost, profit)
    np.testing.assert_allclose(r.params["w1"].ravel(), want, atol=1e-4)


def test_yogurt_cost_profit_direction():
    mse = train(load_config("yogurt-mse")).params["w1"].ravel()
    more = train(load_config("yogurt-cost1-profit9")).params["w1"].ravel()
    fewer = train(load_config("yogurt-cost9-profit1")).params["w1"].ravel()
    # Profit 9 > cost 1: predicting too few is dearer, so the fit leans up; and the other way.
    assert np.all(more > mse + 0.01), (more, mse)
    assert np.all(fewer < mse - 0.005), (fewer, mse)
    # Both still near y = x1 + x2.
    assert np.all(np.abs(more - 1) < 0.1) and np.all(np.abs(fewer - 1) < 0.1)


def test_cyclic_short_last_batch_matches_the_lecture_slices():
    # 32 rows in slices of 5: start = (5i) % 32, so the 7th slice X[30:35] has 2 rows.
    steps, lr = 30, 0.05
    r = train(
        load_config(
            "yogurt-mse",
            [
                f"train.steps={steps}",
                "train.batch_size=5",
                f"optimizer.learning_rate={lr}",
                "train.log_every=10",
            ],
        )
    )
    np.testing.assert_allclose(r.params["w1"].ravel(), lecture_yogurt_loop(steps, 5, lr), atol=1e-5)


# ------------------------------------------------------------------ single updates by hand


def _np_total_on_rows(flat, names, shapes, x, t, scale):
    params, i = {}, 0
    for n, s in zip(names, shapes, strict=True):
        size = int(np.prod(s))
        params[n] = flat[i : i + size].reshape(s)
        i += size
    y = np_forward(params, x, "relu", "linear")
    return (
        np.mean((t - y) ** 2)
        + scale * sum(np.sum(params[n] ** 2) for n in names if n[0] == "w") / 2
    )


def test_one_sgd_update_is_the_gradient_of_the_total_loss():
    run = Training(
        load_config(
            "circle-l2", ["optimizer.name=sgd", "optimizer.learning_rate=0.1", "train.steps=1"]
        )
    )
    p0 = run.params()
    run.advance()
    p1 = run.params()
    names = sorted(p0)
    shapes = [p0[n].shape for n in names]
    flat = np.concatenate([p0[n].ravel() for n in names]).astype(np.float64)
    x = run.dataset.x_train[:30].astype(np.float64)  # update 0 reads rows 0..29
    t = run.dataset.y_train[:30].astype(np.float64)
    eps, fd = 1e-6, np.empty_like(flat)
    for i in range(len(flat)):
        e = np.zeros_like(flat)
        e[i] = eps
        fd[i] = (
            _np_total_on_rows(flat + e, names, shapes, x, t, 0.01)
            - _np_total_on_rows(flat - e, names, shapes, x, t, 0.01)
        ) / (2 * eps)
    step = np.concatenate([(p0[n] - p1[n]).ravel() for n in names]).astype(np.float64) / 0.1
    np.testing.assert_allclose(step, fd, rtol=1e-3, atol=2e-5)
    # The recorded batch loss and penalty are those of the starting parameters.
    total0 = _np_total_on_rows(flat, names, shapes, x, t, 0.0)
    reg0 = 0.01 * sum(np.sum(p0[n].astype(np.float64) ** 2) for n in names if n[0] == "w") / 2
    assert run.history.per_step("loss")[0] == pytest.approx(total0, rel=1e-5)
    assert run.history.per_step("reg")[0] == pytest.approx(reg0, rel=1e-5)


def test_first_adam_update_is_minus_lr_times_sign_of_gradient():
    # Adam's first step: m̂ = g, v̂ = g², so the update is -lr * g / (|g| + eps) ≈ -lr * sign(g).
    run = Training(load_config("circle-modular", ["train.steps=1"]))
    p0 = run.params()
    run.advance()
    p1 = run.params()
    for n in ("w1", "w2"):
        moved = (p1[n] - p0[n]).astype(np.float64)
        np.testing.assert_allclose(np.abs(moved), 0.001, rtol=1e-3)  # base rate at step 0
    # The preset's EMA reads the weights before the update (the lecture's grouping): after
    # update 0 the shadow is still p0. In TF1's documented order it reads p1 with
    # num_updates 1, d = 2/11: p0 - (p0 - p1)·9/11.
    ema = run.params("ema")
    for n in p0:
        np.testing.assert_array_equal(ema[n], p0[n])
    after = Training(load_config("circle-modular", ["train.steps=1", "ema.order=after_update"]))
    after.advance()
    for n in p0:
        want = p0[n] - (p0[n] - p1[n]) * (9 / 11)
        np.testing.assert_allclose(after.params("ema")[n], want, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ chunking, batching, determinism


def test_results_do_not_depend_on_log_every():
    # circle-modular: Adam, a staircase schedule, L2 and EMA all read the step counter.
    base = ["train.steps=300"]
    ref = train(load_config("circle-modular", base + ["train.log_every=300"]))
    assert len(ref.history.rows) == 2
    for every in (1, 7):
        other = train(load_config("circle-modular", base + [f"train.log_every={every}"]))
        assert len(other.history.rows) == 1 + math.ceil(300 / every)
        for n in ref.params:
            np.testing.assert_array_equal(other.params[n], ref.params[n])
            np.testing.assert_array_equal(other.ema_params[n], ref.ema_params[n])
        for what in ("loss", "reg", "lr"):
            np.testing.assert_array_equal(other.history.per_step(what), ref.history.per_step(what))
        assert other.final["train_loss"] == ref.final["train_loss"]


def test_shuffle_and_uneven_batches_run_and_are_deterministic():
    for batching in ("cyclic", "shuffle"):
        cfg = load_config(
            "circle",
            [
                f"data.batching={batching}",
                "train.batch_size=7",
                "train.steps=60",
                "optimizer.learning_rate=0.01",
            ],
        )
        a, b = train(cfg), train(cfg)
        for n in a.params:
            np.testing.assert_array_equal(a.params[n], b.params[n])
        assert np.all(np.isfinite(a.history.per_step("loss")))


@pytest.mark.slow
def test_shuffle_order_depends_on_train_seed():
    first = []
    for seed in (0, 5):
        cfg = ["data.batching=shuffle", "train.batch_size=7", f"train.seed={seed}"]
        run = Training(load_config("circle", cfg))
        x, _, _ = select_batch(run.structure, run.data, jnp.int32(0), run.numbers)
        first.append(np.asarray(x))
    assert not np.array_equal(first[0], first[1])
    # ... and neither is the cyclic slice X[0:7].
    assert not np.array_equal(first[0], run.dataset.x_train[:7])


def _rows(x):
    return sorted(map(tuple, np.asarray(x).tolist()))


def test_shuffle_visits_every_row_once_per_epoch():
    run = Training(load_config("circle", ["data.batching=shuffle", "train.batch_size=7"]))
    per_epoch = math.ceil(300 / 7)  # 43 batches, the last with 6 rows
    epochs = []
    for e in range(2):
        seen = []
        for j in range(per_epoch):
            x, _, w = select_batch(
                run.structure, run.data, jnp.int32(e * per_epoch + j), run.numbers
            )
            w = np.asarray(w)
            assert set(np.unique(w)) <= {0.0, 1.0}
            seen.extend(map(tuple, np.asarray(x)[w > 0].tolist()))
        assert len(seen) == 300
        assert sorted(seen) == _rows(run.dataset.x_train)
        epochs.append(seen)
    assert epochs[0] != epochs[1]  # a new order each epoch


@pytest.mark.slow
def test_training_draws_each_shuffled_epoch_once_and_reads_it_like_select_batch():
    # The loop carries an epoch's order and draws the next one when an epoch opens; chunks
    # of 13 updates start in the middle of 43-update epochs. Reference: every update's rows
    # from select_batch alone (which draws the order itself), trained by train_step.
    from nnopt.engine.step import train_step

    cfg = ["data.batching=shuffle", "train.batch_size=7", "train.steps=100",
           "train.log_every=13", "optimizer.learning_rate=0.01"]  # fmt: skip
    run = Training(load_config("circle", cfg))
    step = jax.jit(lambda state: train_step(run.structure, run.data, run.numbers, state))
    state, losses = run.state, []
    for _ in range(100):
        state, (loss, _, _) = step(state)
        losses.append(float(loss))
    result = run.run()
    np.testing.assert_array_equal(result.history.per_step("loss"), np.float32(losses))
    np.testing.assert_array_equal(np.asarray(result.state.params), np.asarray(state.params))


def test_cyclic_batches_are_the_lecture_slices():
    run = Training(load_config("circle", ["train.batch_size=7"]))
    x_all = run.dataset.x_train
    for step in (0, 1, 42, 43, 300, 1234):
        x, _, w = select_batch(run.structure, run.data, jnp.int32(step), run.numbers)
        start = (step * 7) % 300
        want = x_all[start : start + 7]  # short when it runs off the end
        w = np.asarray(w)
        assert int(w.sum()) == len(want)
        np.testing.assert_array_equal(np.asarray(x)[: len(want)], want)
        assert np.all(w[: len(want)] == 1) and np.all(w[len(want) :] == 0)


def test_cyclic_batch_start_does_not_overflow_at_large_steps():
    run = Training(load_config("circle", ["data.n_samples=310", "train.batch_size=30"]))
    step = 80_000_000  # step * 30 = 2.4e9 > 2**31 - 1; train.steps allows up to 1e8
    x, _, w = select_batch(run.structure, run.data, jnp.int32(step), run.numbers)
    start = (step * 30) % 310
    want = run.dataset.x_train[start : start + 30]
    np.testing.assert_array_equal(np.asarray(x)[: len(want)], want)


# ------------------------------------------------------------------ model summary, presets, docs


def test_summary_of_the_lecture_3_4_2_network():
    line = summary_line(load_config("circle", ["model.layers=[3, 4, 2]"]))
    assert line.startswith("3-4-2 relu network")
    assert "2 layers" in line and "26 parameters" in line
    assert "45 parameters" in summary_line(load_config("circle"))  # 2*11+11 + 11+1
    assert "2 parameters" in summary_line(load_config("yogurt-mse"))  # y = x @ w1, no bias


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_runs_end_to_end(name):
    steps = capped(name)
    cfg = load_config(name, [f"train.steps={steps}"])
    r = train(cfg)
    assert r.steps == steps
    for what in ("loss", "reg", "lr"):
        values = r.history.per_step(what)
        assert values.shape == (steps,) and np.all(np.isfinite(values))
    assert math.isfinite(r.final["train_loss"]) and math.isfinite(r.final["train_total"])
    assert r.final["train_total"] == pytest.approx(
        r.final["train_loss"] + r.final["train_reg"], rel=1e-5
    )
    # The learning rate of update k from the schedule's closed form.
    s, k = cfg.schedule, np.arange(steps)
    if s.name == "exponential_decay":
        p = k // s.decay_steps if s.staircase else k / s.decay_steps
        want = cfg.optimizer.learning_rate * s.decay_rate**p
    else:
        want = np.full(steps, cfg.optimizer.learning_rate)
    np.testing.assert_allclose(r.history.per_step("lr"), want, rtol=2e-6)
    assert (r.ema_params is not None) == cfg.ema.enabled
    # The full-data data loss at the end, recomputed in NumPy, for the MSE models.
    if cfg.loss.name == "mse":
        y = np_forward(r.params, r.dataset.x_train, cfg.model.activation, "linear")
        assert r.final["train_loss"] == pytest.approx(
            np.mean((r.dataset.y_train - y) ** 2), rel=1e-4
        )


def test_advance_stops_at_log_points():
    run = Training(load_config("gd-rate-0.2", ["train.steps=25", "train.log_every=10"]))
    assert run.advance(4) == 4
    assert run.advance() == 6  # up to the log point at step 10
    assert run.advance(100) == 10
    assert run.advance() == 5 and run.done and run.advance() == 0
    np.testing.assert_array_equal(run.history.column("step"), [0, 4, 10, 20, 25])


def test_training_docstring_example():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    tests = finder.find(Training, "Training", globs={"Training": Training})
    assert sum(len(t.examples) for t in tests) >= 3
    for t in tests:
        runner.run(t, out=lambda _: None)
    assert runner.failures == 0


def test_every_docstring_example_in_the_package_runs():
    import importlib
    import pkgutil

    import nnopt

    failures, tried = 0, 0
    for info in pkgutil.walk_packages(nnopt.__path__, "nnopt."):
        if info.name.endswith("__main__"):
            continue  # running it is the command line
        module = importlib.import_module(info.name)
        result = doctest.testmod(module, verbose=False, report=False)
        failures, tried = failures + result.failed, tried + result.attempted
    assert tried >= 10
    assert failures == 0


def test_retune_goes_on_with_new_numbers_and_refuses_a_new_structure():
    run = Training(load_config("circle-l2", ["train.steps=40", "train.log_every=20"]))
    run.advance()
    before = np.asarray(run.state.params)
    run.retune(load_config("circle-l2", ["train.steps=40", "optimizer.learning_rate=0.05",
                                         "regularizer.scale=0.5", "optimizer.beta1=0.5"]))  # fmt: skip
    assert run.step == 20 and np.array_equal(np.asarray(run.state.params), before)
    assert float(run.numbers["learning_rate"]) == pytest.approx(0.05)
    assert float(run.numbers["l2_scale"]) == pytest.approx(0.5)
    assert float(run.state.opt_state.hyperparams["beta1"]) == pytest.approx(0.5)
    run.advance()
    assert run.history.rows[-1]["lr"] == pytest.approx(0.05)
    with pytest.raises(ConfigError, match="start a new run"):
        run.retune(load_config("circle-l2", ["model.layers=[2,5,1]"]))
    with pytest.raises(ConfigError, match="start a new run"):
        run.retune(load_config("circle-l2", ["optimizer.name=sgd"]))
    with pytest.raises(ConfigError, match="start a new run"):
        run.retune(load_config("circle-l2", ["optimizer.convention=optax"]))
    # b1 is another name of beta1 (Optax's, and nnopt 0.1's field).
    run.retune(load_config("circle-l2", ["train.steps=40", "optimizer.b1=0.7"]))
    assert float(run.state.opt_state.hyperparams["beta1"]) == pytest.approx(0.7)


def test_runs_trained_together_in_one_program_are_bit_for_bit_their_own_runs():
    from nnopt.engine.compilation import compile_counter
    from nnopt.engine.training import slot_counts, train_together

    # Queues of about equal length: 4 runs of yogurt-mse sgd take two slots beside one run each.
    assert slot_counts([4, 1, 1]) == [2, 1, 1] and slot_counts([18, 6, 6, 6, 2, 2]) == [
        3,
        1,
        1,
        1,
        1,
        1,
    ]

    specs = [
        ("yogurt-mse", ("train.steps=1200",)),  # chunks of 500, 500, 200
        ("yogurt-mse", ("train.steps=700", "optimizer.learning_rate=0.01")),  # same key, next
        ("yogurt-mse", ("train.steps=1000", "optimizer.name=adam")),
        ("yogurt-mse", ("train.steps=1000", "optimizer.learning_rate=30")),  # diverges
        ("yogurt-mse", ("train.steps=900", "optimizer.learning_rate=0.1")),
        ("gd-rate-0.2", ()),  # another structure and capacity
    ]
    configs = [load_config(p, o) for p, o in specs]
    count = compile_counter()
    together = train_together([Training(c) for c in configs])
    assert count().programs <= 1  # one program for the three keys (none if already compiled)
    for config, got in zip(configs, together):
        alone = Training(config)
        try:
            want = alone.run()
        except DivergenceError as exc:
            assert isinstance(got, DivergenceError) and got.step == exc.step
            assert got.step < 1000
            continue
        assert got.steps == want.steps == config.train.steps
        for name in ("params", "ema_params"):
            np.testing.assert_array_equal(
                np.asarray(getattr(got.state, name)), np.asarray(getattr(want.state, name))
            )
        for column in ("loss", "reg", "lr"):
            np.testing.assert_array_equal(
                got.history.per_step(column), want.history.per_step(column)
            )
        assert got.history.rows == want.history.rows
