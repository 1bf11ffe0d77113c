#!/usr/bin/env python
"""nnopt against TensorFlow 1 itself: every optimizer, loss, regularizer, schedule and EMA
order nnopt offers under TF1's meaning, trained from the same start on the circle data.

Needs ``tensorflow-cpu`` (``pip install tensorflow-cpu``; this script installs nothing) and
runs TF1's own ops through ``tf.compat.v1`` with ``disable_eager_execution()`` and
``disable_v2_behavior()``: ``tf.train.*Optimizer(...).minimize(loss, global_step)``,
``tf.train.exponential_decay``, ``tf.train.ExponentialMovingAverage`` grouped as the lecture
groups it or as TF1 documents it, the lecture's losses and ``l2_regularizer``'s
``scale·l2_loss(w)``.

Each case is a list of ``--set`` overrides of one base config (the lecture's circle: 300
points, a 2-11-1 network, cyclic slices of 30); the TF1 graph is built from the same
resolved config, so both sides read one set of numbers. TF1 draws the initial weights
(``tf.random_normal``, seeded; biases 0.01); nnopt starts from them. After ``--steps``
updates (3000) the table shows, per case, max |Δw| over every weight and bias (raw) and over
every EMA shadow, nnopt against TF1.

Before a case is trusted, TF1 is measured against itself: the same run again in a new
process (repeat), with ``TF_ENABLE_ONEDNN_OPTS=0`` (other kernels, other rounding), and from
a start one float32 ulp away (every initial value moved to the next float up). The largest
of the three is the case's noise: how far TF1's own answer moves when nothing that matters
changes. Cases are chosen where that noise is far below the goal (e.g. tanh rather than relu,
whose kinks turn rounding into different gradients).

Goal: within 1e-5 (gd, momentum, nesterov, rmsprop, adagrad) or 2e-5 (Adam) of TF1.

Run: ``python bench/verify_tf1.py [--steps 3000] [--only SUBSTRING ...] [--skip-noise]``.
Exit code 1 if a case misses its goal, 2 without TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

BASE = "circle"  # the lecture's 300 points and 2-11-1 network; cyclic slices of 30
COMMON = ["train.batch_size=30", "model.activation=tanh"]


@dataclass(frozen=True)
class Case:
    name: str
    sets: tuple[str, ...]
    goal: float = 1e-5
    contrast: bool = False  # nnopt is expected to differ (another meaning than TF1's)
    tf1_sets: tuple[str, ...] = ()  # overrides for the TF1 side only (a contrast)
    # before_update: TF1 runs the lecture's grouping as written (its order left undefined)
    # instead of with the order it almost always takes made explicit
    as_written: bool = False


def _case(name, *sets, goal=1e-5, contrast=False, tf1_sets=(), as_written=False):
    return Case(name, (*COMMON, *sets), goal, contrast, tuple(tf1_sets), as_written)


SGD = ("optimizer.name=sgd", "optimizer.learning_rate=0.05")
ADAM = ("optimizer.name=adam", "optimizer.learning_rate=0.003")
EMA = ("ema.enabled=true", "ema.decay=0.99")
MOMENTUM_EMA = ("optimizer.name=momentum", "optimizer.learning_rate=0.05", "ema.enabled=true",
                "ema.decay=0.9")  # fmt: skip

CASES = [
    # optimizers, every TF1 argument
    _case("gd", *SGD),
    _case("gd relu", *SGD, "model.activation=relu"),
    _case("momentum 0.9", "optimizer.name=momentum", "optimizer.learning_rate=0.01"),
    _case("momentum use_nesterov", "optimizer.name=momentum", "optimizer.learning_rate=0.01",
          "optimizer.use_nesterov=true"),
    _case("nesterov 0.5", "optimizer.name=nesterov", "optimizer.learning_rate=0.02",
          "optimizer.momentum=0.5"),
    _case("rmsprop", "optimizer.name=rmsprop", "optimizer.learning_rate=0.001"),
    _case("rmsprop decay 0.99 epsilon 1e-6", "optimizer.name=rmsprop",
          "optimizer.learning_rate=0.001", "optimizer.decay=0.99", "optimizer.epsilon=1e-6"),
    _case("rmsprop momentum 0.9", "optimizer.name=rmsprop", "optimizer.learning_rate=0.0003",
          "optimizer.momentum=0.9"),
    _case("rmsprop centered", "optimizer.name=rmsprop", "optimizer.learning_rate=0.001",
          "optimizer.centered=true"),
    _case("rmsprop centered momentum 0.5", "optimizer.name=rmsprop",
          "optimizer.learning_rate=0.0005", "optimizer.centered=true", "optimizer.momentum=0.5"),
    _case("adagrad", "optimizer.name=adagrad", "optimizer.learning_rate=0.1"),
    _case("adagrad initial_accumulator_value 1", "optimizer.name=adagrad",
          "optimizer.learning_rate=0.1", "optimizer.initial_accumulator_value=1.0"),
    _case("adam", *ADAM, goal=2e-5),
    _case("adam beta1 0.5 beta2 0.9", *ADAM, "optimizer.beta1=0.5", "optimizer.beta2=0.9",
          goal=2e-5),
    _case("adam epsilon 0.1", "optimizer.name=adam", "optimizer.learning_rate=0.01",
          "optimizer.epsilon=0.1", goal=2e-5),
    _case("adamw weight_decay 1e-4", "optimizer.name=adamw", "optimizer.learning_rate=0.003",
          "optimizer.weight_decay=1e-4", goal=2e-5),
    # losses
    _case("cross_entropy, 1 sigmoid output", *SGD, "loss.name=cross_entropy",
          "model.output_activation=sigmoid", "optimizer.learning_rate=0.01"),
    _case("binary_cross_entropy, sigmoid", *SGD, "loss.name=binary_cross_entropy",
          "model.output_activation=sigmoid"),
    _case("cross_entropy, 2 softmax outputs", *SGD, "loss.name=cross_entropy",
          "model.output_activation=softmax", "model.layers=[2,11,2]"),
    _case("softmax_cross_entropy, 2 logits", *SGD, "loss.name=softmax_cross_entropy",
          "model.layers=[2,11,2]"),
    _case("cost_profit 1/9", *SGD, "loss.name=cost_profit", "optimizer.learning_rate=0.0002"),
    # regularizers and schedules
    _case("l2 0.01", *SGD, "regularizer.name=l2", "regularizer.scale=0.01"),
    _case("l1 0.001", *SGD, "regularizer.name=l1", "regularizer.scale=0.001"),
    _case("exponential_decay staircase", *SGD, "schedule.name=exponential_decay",
          "schedule.decay_rate=0.99", "schedule.decay_steps=10", "schedule.staircase=true"),
    _case("exponential_decay smooth", *SGD, "schedule.name=exponential_decay",
          "schedule.decay_rate=0.99", "schedule.decay_steps=10", "schedule.staircase=false"),
    # the moving average, both orders
    _case("ema before_update (lecture)", *SGD, *EMA, "ema.order=before_update"),
    _case("ema before_update, TF1 grouping as written", *SGD, *EMA, "ema.order=before_update",
          as_written=True),
    _case("ema after_update (documented)", *SGD, *EMA, "ema.order=after_update"),
    _case("ema 0.9 no num_updates, before", *SGD, "optimizer.learning_rate=0.2",
          "ema.enabled=true", "ema.decay=0.9", "ema.num_updates=false", "ema.order=before_update"),
    _case("ema 0.9 no num_updates, after", *SGD, "optimizer.learning_rate=0.2",
          "ema.enabled=true", "ema.decay=0.9", "ema.num_updates=false", "ema.order=after_update"),
    _case("ema 0.9 momentum, before", *MOMENTUM_EMA, "ema.order=before_update"),
    _case("ema 0.9 momentum, before, TF1 grouping as written", *MOMENTUM_EMA,
          "ema.order=before_update", as_written=True),
    _case("ema 0.9 momentum, after", *MOMENTUM_EMA, "ema.order=after_update"),
    # the lecture's modular pattern: Adam, staircase decay, L2, EMA in the lecture's grouping
    _case("modular: adam + decay + l2 + ema", *ADAM, "regularizer.name=l2",
          "regularizer.scale=0.01", "schedule.name=exponential_decay", "schedule.decay_rate=0.999",
          "schedule.decay_steps=10", *EMA, "ema.order=before_update", goal=2e-5),
    _case("modular, relu", *ADAM, "model.activation=relu", "regularizer.name=l2",
          "regularizer.scale=0.01", "schedule.name=exponential_decay", "schedule.decay_rate=0.999",
          "schedule.decay_steps=10", *EMA, "ema.order=before_update", goal=2e-5),
    # contrasts: what nnopt computes under the other meaning, against TF1 (expected to differ)
    _case("contrast: rmsprop, convention optax", "optimizer.name=rmsprop",
          "optimizer.learning_rate=0.001", "optimizer.convention=optax", contrast=True),
    _case("contrast: adam epsilon 0.1, convention optax", "optimizer.name=adam",
          "optimizer.learning_rate=0.01", "optimizer.epsilon=0.1", "optimizer.convention=optax",
          contrast=True),
    _case("contrast: adagrad, convention optax", "optimizer.name=adagrad",
          "optimizer.learning_rate=0.1", "optimizer.convention=optax", contrast=True),
    _case("contrast: nnopt after_update, TF1 ema first", *MOMENTUM_EMA,
          "ema.order=after_update", tf1_sets=["ema.order=before_update"], contrast=True),
    _case("contrast: nnopt before_update, TF1 documented", *MOMENTUM_EMA,
          "ema.order=before_update", tf1_sets=["ema.order=after_update"], contrast=True),
]  # fmt: skip

VARIANTS = {  # TF1 against itself: name -> (environment, start moved one ulp up)
    "tf1": ({}, False),
    "repeat": ({}, False),
    "onednn off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, False),
    "ulp start": ({}, True),
}


def case_config(case: Case, steps: int, side: str = "nnopt"):
    """The resolved config of a case, for nnopt or (with the case's tf1_sets) for TF1."""
    from nnopt.config.presets import load_config
    from nnopt.config.schema import resolve

    sets = [*case.sets, f"train.steps={steps}", f"train.log_every={steps}"]
    return resolve(load_config(BASE, sets + list(case.tf1_sets if side == "tf1" else ())))


def case_data(config):
    """The training rows and the targets the loss compares with (one-hot for 2 outputs)."""
    from nnopt.core.data import targets_for
    from nnopt.engine.setup import build_dataset

    ds = build_dataset(config)
    return ds.x_train, targets_for(ds.y_train, ds.task, config.model.layers[-1])


# ------------------------------------------------------------------ TensorFlow 1's side


def tf1_start(config, tf) -> dict[str, np.ndarray]:
    """TF1's initial weights: ``tf.random_normal`` (seeded) and biases 0.01, as the lecture's
    forward.py makes them."""
    n_in, n_hidden, n_out = config.model.layers
    with tf.Graph().as_default():
        draw = [
            tf.random_normal([n_in, n_hidden], seed=1),
            tf.random_normal([n_hidden, n_out], seed=2),
        ]
        with tf.Session() as sess:
            w1, w2 = sess.run(draw)
    bias = {"b1": np.full(n_hidden, 0.01, np.float32), "b2": np.full(n_out, 0.01, np.float32)}
    return {"w1": w1, "w2": w2, **bias}


def tf1_graph(config, first: dict, tf, as_written: bool = False) -> dict:
    """The case's training in TF1's own ops, as a dict of graph, tensors and ops.

    The moving average: ``after_update`` is TF1's documented
    ``with tf.control_dependencies([train_step]): train_op = ema.apply(...)``.
    ``before_update`` is the lecture's ``with tf.control_dependencies([train_step, ema_op]):
    train_op = tf.no_op()``: with ``as_written`` as it stands (TF1 leaves the order of the two
    open), else with the order TF1 almost always takes made explicit: the step's ops wait for
    ``ema_op``, which reads the weights and the global step before the update.
    """
    m, lo, r, o, s, e = (config.model, config.loss, config.regularizer, config.optimizer,
                         config.schedule, config.ema)  # fmt: skip
    n_in, _, n_out = m.layers
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, (None, n_in))
        y_ = tf.placeholder(tf.float32, (None, n_out))
        var = {k: tf.Variable(first[k], name=k) for k in ("w1", "b1", "w2", "b2")}
        hidden = {"tanh": tf.nn.tanh, "relu": tf.nn.relu}[m.activation]
        z = tf.matmul(hidden(tf.matmul(x, var["w1"]) + var["b1"]), var["w2"]) + var["b2"]
        y = {"linear": tf.identity, "sigmoid": tf.nn.sigmoid, "softmax": tf.nn.softmax}[
            m.output_activation
        ](z)
        if lo.name == "mse":
            loss = tf.reduce_mean(tf.square(y_ - y))
        elif lo.name == "cost_profit":
            loss = tf.reduce_sum(
                tf.where(tf.greater(y, y_), lo.cost * (y - y_), lo.profit * (y_ - y))
            )
        elif lo.name == "cross_entropy":
            loss = -tf.reduce_mean(y_ * tf.log(tf.clip_by_value(y, 1e-12, 1.0)))
        elif lo.name == "binary_cross_entropy":
            loss = -tf.reduce_mean(
                y_ * tf.log(tf.clip_by_value(y, 1e-12, 1.0))
                + (1 - y_) * tf.log(tf.clip_by_value(1 - y, 1e-12, 1.0))
            )
        elif lo.name == "softmax_cross_entropy":
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(logits=y, labels=tf.argmax(y_, 1))
            loss = tf.reduce_mean(ce)
        weights = [var["w1"], var["w2"]]
        if r.name == "l2":  # tf.contrib.layers.l2_regularizer(scale)(w) = scale * l2_loss(w)
            loss = loss + tf.add_n([r.scale * tf.nn.l2_loss(w) for w in weights])
        elif r.name == "l1":  # l1_regularizer(scale)(w) = scale * reduce_sum(abs(w))
            loss = loss + tf.add_n([r.scale * tf.reduce_sum(tf.abs(w)) for w in weights])
        global_step = tf.Variable(0, trainable=False)
        lr = o.learning_rate
        if s.name == "exponential_decay":
            lr = tf.train.exponential_decay(
                o.learning_rate, global_step, s.decay_steps, s.decay_rate, staircase=s.staircase
            )
        optimizer = tf1_optimizer(o, lr, tf)
        shadows = {}
        if not e.enabled:
            train_op = optimizer.minimize(loss, global_step=global_step)
        else:
            ema = tf.train.ExponentialMovingAverage(e.decay, global_step if e.num_updates else None)
            if e.order == "after_update":
                train_step = optimizer.minimize(loss, global_step=global_step)
                with tf.control_dependencies([train_step]):
                    train_op = ema.apply(tf.trainable_variables())
            elif as_written:
                train_step = optimizer.minimize(loss, global_step=global_step)
                ema_op = ema.apply(tf.trainable_variables())
                with tf.control_dependencies([train_step, ema_op]):
                    train_op = tf.no_op(name="train")
            else:
                ema_op = ema.apply(tf.trainable_variables())
                with tf.control_dependencies([ema_op]):
                    train_step = optimizer.minimize(loss, global_step=global_step)
                with tf.control_dependencies([train_step, ema_op]):
                    train_op = tf.no_op(name="train")
            shadows = {k: ema.average(v) for k, v in var.items()}
        init = tf.global_variables_initializer()
    return dict(graph=graph, x=x, y_=y_, var=var, shadows=shadows, train_op=train_op,
                global_step=global_step, init=init)  # fmt: skip


def tf1_train(config, x_all, y_all, ulp: bool, tf, as_written: bool = False):
    """The case in TF1; returns (TF1's initial weights, final weights, final shadows)."""
    start = tf1_start(config, tf)
    first = {k: np.nextafter(v, np.float32(np.inf)) if ulp else v for k, v in start.items()}
    g = tf1_graph(config, first, tf, as_written)
    b, n = config.train.batch_size, len(x_all)
    with tf.Session(graph=g["graph"]) as sess:
        sess.run(g["init"])
        for i in range(config.train.steps):
            begin = (i * b) % n
            feed = {g["x"]: x_all[begin : begin + b], g["y_"]: y_all[begin : begin + b]}
            sess.run(g["train_op"], feed)
        return start, sess.run(g["var"]), sess.run(g["shadows"]) if g["shadows"] else {}


def ema_race(config, x_all, y_all, tf) -> dict[str, int]:
    """How TF1 runs the lecture's grouping as written: for every update and variable, which
    weights (before or after the step) and which num_updates (k or k + 1) its shadow read,
    told apart by recomputing ``assign_moving_average`` for each in float32."""
    g = tf1_graph(config, tf1_start(config, tf), tf, as_written=True)
    e, b, n = config.ema, config.train.batch_size, len(x_all)
    f32 = np.float32

    def decay(count):
        return (
            min(f32(e.decay), f32((1.0 + f32(count)) / (10.0 + f32(count))))
            if e.num_updates
            else f32(e.decay)
        )

    counts: dict[str, int] = {}
    with tf.Session(graph=g["graph"]) as sess:
        sess.run(g["init"])
        for i in range(config.train.steps):
            begin = (i * b) % n
            feed = {g["x"]: x_all[begin : begin + b], g["y_"]: y_all[begin : begin + b]}
            w0, s0 = sess.run([g["var"], g["shadows"]])
            sess.run(g["train_op"], feed)
            w1, s1 = sess.run([g["var"], g["shadows"]])
            for k in w0:
                seen = "neither (a mix)"
                for label, w, count in (("before the step, num_updates k", w0, i),
                                        ("after the step, num_updates k + 1", w1, i + 1),
                                        ("after the step, num_updates k", w1, i),
                                        ("before the step, num_updates k + 1", w0, i + 1)):  # fmt: skip
                    d = decay(count)
                    if np.array_equal(s0[k] - (s0[k] - w[k]) * (f32(1) - d), s1[k]):
                        seen = label
                        break
                counts[seen] = counts.get(seen, 0) + 1
    return counts


def tf1_optimizer(o, lr, tf):
    """TF1's optimizer of a resolved optimizer section (its TF1 argument names)."""
    if o.name == "sgd":
        return tf.train.GradientDescentOptimizer(lr)
    if o.name in ("momentum", "nesterov"):
        nesterov = o.name == "nesterov" or bool(o.use_nesterov)
        return tf.train.MomentumOptimizer(lr, o.momentum, use_nesterov=nesterov)
    if o.name == "adam":
        return tf.train.AdamOptimizer(lr, o.beta1, o.beta2, o.epsilon)
    if o.name == "adamw":
        return contrib_adamw(tf)(o.weight_decay, lr, o.beta1, o.beta2, o.epsilon)
    if o.name == "rmsprop":
        return tf.train.RMSPropOptimizer(lr, o.decay, o.momentum, o.epsilon, centered=o.centered)
    if o.name == "adagrad":
        return tf.train.AdagradOptimizer(lr, o.initial_accumulator_value)
    raise ValueError(o.name)


def contrib_adamw(tf):
    """``tf.contrib.opt.AdamWOptimizer`` (contrib is not in TF 2), rebuilt as its source
    builds it: ``DecoupledWeightDecayExtension._apply_dense`` runs ``var -= wd * var`` and
    then ``AdamOptimizer._apply_dense``.

    One change: contrib's decay op waits for nothing, so in a graph TF1 may run it before
    the forward pass reads the weights, and the gradient is then taken (partly) at the
    decayed ones; TF1 leaves that order open, as it does for the lecture's EMA. Here the
    decay waits for the gradient: w ← w − wd·w, then Adam's step with the gradient at w, the
    order contrib's documentation and the paper describe. (It waits for every gradient: the
    decay of w2 must not run before the backward pass has read w2.)
    """

    class AdamW(tf.train.AdamOptimizer):
        def __init__(self, weight_decay, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._weight_decay = weight_decay

        def apply_gradients(self, grads_and_vars, global_step=None, name=None):
            self._gradients = [g for g, _ in grads_and_vars]
            return super().apply_gradients(grads_and_vars, global_step, name)

        def _apply_dense(self, grad, var):
            with tf.control_dependencies(self._gradients):
                decay = var.assign_sub(self._weight_decay * var, self._use_locking)
            with tf.control_dependencies([decay]):
                return super()._apply_dense(grad, var)

    return AdamW


def tf1_worker(cases: list[Case], steps: int, ulp: bool, out: str) -> None:
    """Runs every case in TF1 and saves the arrays (one process per variant)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf1_module

    tf = tf1_module.compat.v1
    tf.disable_eager_execution()
    tf.disable_v2_behavior()
    arrays = {}
    for i, case in enumerate(cases):
        config = case_config(case, steps, "tf1")
        x_all, y_all = case_data(config)
        start, final, shadows = tf1_train(config, x_all, y_all, ulp, tf, case.as_written)
        for k in start:
            arrays[f"{i}/start/{k}"] = start[k]
            arrays[f"{i}/raw/{k}"] = final[k]
            if shadows:
                arrays[f"{i}/ema/{k}"] = shadows[k]
    np.savez(out, **arrays)


def tf1_race_worker(cases: list[Case], steps: int, out: str) -> None:
    """:func:`ema_race` of every case, written as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf1_module

    tf = tf1_module.compat.v1
    tf.disable_eager_execution()
    tf.disable_v2_behavior()
    found = {}
    for case in cases:
        config = case_config(case, steps, "tf1")
        found[case.name] = ema_race(config, *case_data(config), tf)
    with open(out, "w") as f:
        json.dump(found, f)


# ------------------------------------------------------------------ nnopt's side


def nnopt_train(config, start: dict):
    from nnopt.engine.training import Training

    run = Training(config, init_params=start, source="TF1's start")
    result = run.run()
    return result.params, result.ema_params or {}


def max_gap(a: dict, b: dict) -> float:
    if not a:
        return float("nan")
    return max(float(np.max(np.abs(np.asarray(a[k], np.float64) - b[k]))) for k in a)


def part(arrays, i: int, kind: str) -> dict:
    prefix = f"{i}/{kind}/"
    return {k[len(prefix) :]: arrays[k] for k in arrays.files if k.startswith(prefix)}


def run_variant(name: str, cases, steps: int, folder: str) -> np.lib.npyio.NpzFile:
    env, ulp = VARIANTS[name]
    out = os.path.join(folder, f"{name.replace(' ', '_')}.npz")
    cmd = [sys.executable, __file__, "--tf-worker", out, "--steps", str(steps)]
    cmd += ["--ulp"] if ulp else []
    cmd += [arg for c in cases for arg in ("--case", c.name)]
    began = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, **env})
    print(f"  TF1 ({name}): {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    return np.load(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument(
        "--only", nargs="*", default=[], help="cases whose name contains one of these"
    )
    parser.add_argument("--skip-noise", action="store_true", help="no TF1-against-itself runs")
    parser.add_argument(
        "--skip-race", action="store_true", help="do not count how TF1 orders the lecture's EMA"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    parser.add_argument("--tf-worker", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--case", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--ulp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--race", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tf_worker:
        chosen = [c for c in CASES if c.name in args.case]
        if args.race:
            tf1_race_worker(chosen, args.steps, args.tf_worker)
        else:
            tf1_worker(chosen, args.steps, args.ulp, args.tf_worker)
        return 0
    try:
        import importlib.util

        if importlib.util.find_spec("tensorflow") is None:
            raise ImportError
    except ImportError:
        print(
            "verify_tf1: TensorFlow is not installed; pip install tensorflow-cpu", file=sys.stderr
        )
        return 2
    cases = [c for c in CASES if not args.only or any(s in c.name for s in args.only)]
    variants = ["tf1"] if args.skip_noise else list(VARIANTS)
    with tempfile.TemporaryDirectory() as folder:
        tf_runs = {v: run_variant(v, cases, args.steps, folder) for v in variants}
        rows = []
        for i, case in enumerate(cases):
            config = case_config(case, args.steps)
            base = tf_runs["tf1"]
            start = part(base, i, "start")
            params, shadows = nnopt_train(config, start)
            row = {
                "case": case.name,
                "raw": max_gap(part(base, i, "raw"), params),
                "ema": max_gap(part(base, i, "ema"), shadows),
                "goal": case.goal,
                "contrast": case.contrast,
                "as_written": case.as_written,
            }
            for v in variants[1:]:
                row[v] = max(
                    max_gap(part(base, i, kind), part(tf_runs[v], i, kind))
                    for kind in (("raw", "ema") if shadows else ("raw",))
                )
            rows.append(row)
        raced = [c for c in cases if c.as_written] if not args.skip_race else []
        race = run_race(raced, args.steps, folder) if raced else {}
    print_table(rows, variants[1:], args.steps)
    for name, counts in race.items():
        seen = ", ".join(f"{n} {label}" for label, n in sorted(counts.items(), key=lambda x: -x[1]))
        print(f"TF1's lecture grouping as written ({name}): of the {sum(counts.values())} "
              f"variable updates, the shadow read the weights {seen}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "race": race}, f, indent=1)
    missed = [
        r for r in rows
        if not (r["contrast"] or r["as_written"])
        and not max(r["raw"], np.nan_to_num(r["ema"])) <= r["goal"]
    ]  # fmt: skip
    return 1 if missed else 0


def run_race(cases, steps: int, folder: str) -> dict:
    """:func:`ema_race` of the cases, in a TF1 process."""
    out = os.path.join(folder, "race.json")
    cmd = [sys.executable, __file__, "--tf-worker", out, "--race", "--steps", str(steps)]
    cmd += [arg for c in cases for arg in ("--case", c.name)]
    subprocess.run(cmd, check=True)
    with open(out) as f:
        return json.load(f)


def print_table(rows, noise: list[str], steps: int) -> None:
    def num(v):
        return "-" if v is None or v != v else f"{v:.1e}"

    head = ["case", "max abs Δw raw", "max abs Δw EMA", *[f"TF1 {n}" for n in noise], "goal", "ok"]
    lines = []
    for r in rows:
        worst = max(r["raw"], np.nan_to_num(r["ema"]))
        if r["contrast"] or r["as_written"]:
            ok = "(contrast)" if r["contrast"] else "(TF1 undefined)"
        else:
            ok = "yes" if worst <= r["goal"] else "NO"
        lines.append([r["case"], num(r["raw"]), num(r["ema"]), *[num(r[n]) for n in noise],
                      num(r["goal"]), ok])  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    print(f"nnopt vs TensorFlow {tf_version()} (tf.compat.v1), {steps} steps on the circle data")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |")


def tf_version() -> str:
    from importlib.metadata import version

    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            return version(name)
        except Exception:
            continue
    return "?"


if __name__ == "__main__":
    sys.exit(main())
