#!/usr/bin/env python
"""Benchmark of the training engine on the lecture's circle experiment (preset ``circle-l2``).

The preset: 300 circle points, a 2-11-1 relu network with a linear output, MSE + L2 0.01
(``0.01·Σw²/2``), Adam lr 1e-4, cyclic slices of 30 rows, 40000 steps, a full-data
evaluation every 2000 steps.

Measured, for the nnopt engine (``Training(config).run()``):

- cold: in a fresh subprocess, with ``import nnopt`` (and so ``import jax``) excluded: the
  first ``Training(config)`` plus ``.run()``, compilation included;
- warm: the same config again in the same process (everything compiled already);

and the same training done step by step from Python:

- NumPy: forward, hand-written backward and Adam (as Optax computes it) per step;
- JAX jit-per-step: one jitted train step (plain JAX + ``optax.adam``) called once per step.

The reference loops do the engine's bookkeeping too (every step's batch loss is kept, the
full data is evaluated every ``log_every`` steps). Before timing, the NumPy reference and the
JAX loop are checked against nnopt from the same initial parameters (``--check-steps``).

Run: ``python bench/bench_train.py [--steps N] [--repeat R]``. Every figure is the best of
R runs (the machine may be shared); cold runs are R fresh subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

PRESET = "circle-l2"
TARGET_WARM_S = 0.1  # project targets, for the full 40000 steps
TARGET_COLD_S = 0.6
TARGET_STEPS = 40000
CHECK_RTOL = 1e-4
SMALL_LOOPS_FLAG = "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=100000000"


def load(steps: int):
    from nnopt.config import resolve
    from nnopt.config.presets import load_config

    return resolve(load_config(PRESET, [f"train.steps={steps}"]))


# ------------------------------------------------------------------ nnopt engine


def nnopt_run(config):
    """Training(config).run(); returns (seconds for Training(), seconds for run(), result)."""
    from nnopt.engine.training import Training

    t0 = time.perf_counter()
    training = Training(config)
    t1 = time.perf_counter()
    result = training.run()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, result


def cold_child(steps: int) -> None:
    """Runs in a fresh interpreter: imports first (not timed), then one timed Training + run."""
    import nnopt  # noqa: F401  (imports jax, optax)
    import nnopt.engine.training  # noqa: F401

    config = load(steps)
    t_init, t_run, result = nnopt_run(config)
    print(json.dumps({"init": t_init, "run": t_run, "train_loss": result.final["train_loss"]}))


def cold_times(steps: int, repeat: int, cache_dir: str | None = None) -> list[dict]:
    """``repeat`` fresh interpreters; with ``cache_dir``, JAX's persistent compilation cache is
    on in them and one untimed run fills it first."""
    env = dict(os.environ)
    if cache_dir:
        env.update({
            "JAX_COMPILATION_CACHE_DIR": cache_dir,
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        })  # fmt: skip
    out = []
    for i in range(repeat + (1 if cache_dir else 0)):
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--cold-child", "--steps", str(steps)],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        if proc.returncode != 0:
            sys.exit(f"cold subprocess failed:\n{proc.stderr}")
        if cache_dir and i == 0:
            continue  # the run that fills the cache
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


# ------------------------------------------------------------------ NumPy reference


def numpy_train(params: dict, x_train, y_train, steps, batch, log_every, lr, reg, b1, b2, eps):
    """Per-step NumPy training of the 2-11-1 relu MLP: MSE + reg·Σw²/2, Adam as Optax does it.

    Returns (params, every step's batch data loss, the full-data rows at the log points).
    Everything is float32, as in the engine.
    """
    f32 = np.float32
    names = ("w1", "b1", "w2", "b2")
    p = {k: np.array(params[k], dtype=f32) for k in names}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    lr, reg, b1, b2, eps = (f32(a) for a in (lr, reg, b1, b2, eps))
    one = f32(1.0)
    n = len(x_train)
    xb = [x_train[i : i + batch] for i in range(0, n, batch)]  # cyclic slices (n % batch == 0)
    yb = [y_train[i : i + batch] for i in range(0, n, batch)]
    per_step = np.empty(steps, f32)
    rows = []
    b1_t, b2_t = one, one  # b1^t, b2^t
    for step in range(steps):
        j = step % len(xb)
        x, y_ = xb[j], yb[j]
        # forward
        h = x @ p["w1"] + p["b1"]
        a = np.maximum(h, 0)
        y = a @ p["w2"] + p["b2"]
        diff = y - y_
        per_step[step] = np.mean(diff * diff)
        # backward: d/dθ [mean((y - y_)²) + reg·Σw²/2]
        dy = (f32(2.0) / f32(diff.size)) * diff
        da = dy @ p["w2"].T
        dh = da * (h > 0)
        g = {
            "w2": a.T @ dy + reg * p["w2"],
            "b2": dy.sum(0),
            "w1": x.T @ dh + reg * p["w1"],
            "b1": dh.sum(0),
        }
        # Adam (optax.scale_by_adam then scale by -lr)
        b1_t, b2_t = b1_t * b1, b2_t * b2
        c1, c2 = one - b1_t, one - b2_t
        for k in names:
            gk = g[k]
            m[k] = (one - b1) * gk + b1 * m[k]
            v[k] = (one - b2) * (gk * gk) + b2 * v[k]
            p[k] = p[k] + -lr * ((m[k] / c1) / (np.sqrt(v[k] / c2) + eps))
        if (step + 1) % log_every == 0 or step + 1 == steps:
            y_full = np.maximum(x_train @ p["w1"] + p["b1"], 0) @ p["w2"] + p["b2"]
            loss = float(np.mean(np.square(y_train - y_full)))
            penalty = float(reg * (np.sum(p["w1"] ** 2) + np.sum(p["w2"] ** 2)) / 2)
            acc = float(np.mean((y_full[:, 0] >= 0.5) == (y_train[:, 0] >= 0.5)))
            rows.append({"step": step + 1, "train_loss": loss, "train_reg": penalty, "acc": acc})
    return p, per_step, rows


def numpy_reference(config, params):
    from nnopt.engine.setup import build_dataset

    ds = build_dataset(config)
    c = config
    return numpy_train(
        params, ds.x_train, ds.y_train, c.train.steps, c.train.batch_size, c.train.log_every,
        c.optimizer.learning_rate, c.regularizer.scale, 0.9, 0.999, 1e-8,
    )  # fmt: skip


# ------------------------------------------------------------------ JAX jit-per-step reference


def make_jax_reference(config):
    """A plain JAX + Optax training loop: one jitted step, called from Python once per update."""
    import jax
    import jax.numpy as jnp
    import optax

    from nnopt.engine.setup import build_dataset

    c = config
    ds = build_dataset(c)
    reg = jnp.float32(c.regularizer.scale)
    tx = optax.adam(c.optimizer.learning_rate)

    def forward(p, x):
        return jax.nn.relu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]

    def objective(p, x, y_):
        data_loss = jnp.mean(jnp.square(y_ - forward(p, x)))
        return data_loss + reg * (jnp.sum(p["w1"] ** 2) + jnp.sum(p["w2"] ** 2)) / 2, data_loss

    @jax.jit
    def step_fn(p, opt_state, x, y_):
        (_, data_loss), grads = jax.value_and_grad(objective, has_aux=True)(p, x, y_)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, data_loss

    @jax.jit
    def evaluate(p, x, y_):
        y = forward(p, x)
        acc = jnp.mean((y[:, 0] >= 0.5) == (y_[:, 0] >= 0.5))
        penalty = reg * (jnp.sum(p["w1"] ** 2) + jnp.sum(p["w2"] ** 2)) / 2
        return jnp.mean(jnp.square(y_ - y)), penalty, acc

    b = c.train.batch_size
    x_all, y_all = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    xb = [jnp.asarray(ds.x_train[i : i + b]) for i in range(0, len(ds.x_train), b)]
    yb = [jnp.asarray(ds.y_train[i : i + b]) for i in range(0, len(ds.y_train), b)]

    def run(params, steps, log_every):
        p = {k: jnp.asarray(v) for k, v in params.items()}
        opt_state = tx.init(p)
        losses, rows = [], []
        for step in range(steps):
            j = step % len(xb)
            p, opt_state, loss = step_fn(p, opt_state, xb[j], yb[j])
            losses.append(loss)
            if (step + 1) % log_every == 0 or step + 1 == steps:
                full, penalty, acc = (float(a) for a in evaluate(p, x_all, y_all))
                rows.append(
                    {"step": step + 1, "train_loss": full, "train_reg": penalty, "acc": acc}
                )
        per_step = np.asarray(jax.device_get(losses), np.float32)
        return {k: np.asarray(v) for k, v in p.items()}, per_step, rows

    return run


# ------------------------------------------------------------------ check and timing


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-30)


def check(steps: int) -> bool:
    """Same initial parameters, ``steps`` updates: NumPy and JAX loops against nnopt."""
    from nnopt.engine.setup import initial_params

    config = load(steps)
    params = initial_params(config)
    _, _, result = nnopt_run(config)
    ref = result.final["train_loss"]
    ref_total = result.final["train_total"]
    ref_params = result.params
    ref_steps = result.history.per_step("loss")

    p_np, steps_np, rows_np = numpy_reference(config, params)
    p_jx, steps_jx, rows_jx = make_jax_reference(config)(params, steps, config.train.log_every)

    ok = True
    print(f"check: {steps} steps from nnopt.train.initial_params, relative to nnopt "
          f"(tolerance {CHECK_RTOL:g})")  # fmt: skip
    for label, p, per_step, rows in (
        ("NumPy", p_np, steps_np, rows_np),
        ("JAX jit", p_jx, steps_jx, rows_jx),
    ):
        loss = rows[-1]["train_loss"]
        total = loss + rows[-1]["train_reg"]
        d_loss = rel(loss, ref)
        d_total = rel(total, ref_total)
        d_param = max(
            float(np.max(np.abs(p[k] - ref_params[k]))) / float(np.max(np.abs(ref_params[k])))
            for k in ref_params
        )
        d_steps = float(np.max(np.abs(per_step - ref_steps) / np.maximum(np.abs(ref_steps), 1e-30)))
        good = d_loss <= CHECK_RTOL and d_total <= CHECK_RTOL
        ok &= good
        print(f"  {label:8s} final train loss {loss:.7f} vs nnopt {ref:.7f}: rel {d_loss:.1e}"
              f" | total {d_total:.1e} | params {d_param:.1e} | every batch loss {d_steps:.1e}"
              f"  {'OK' if good else 'MISMATCH'}")  # fmt: skip
    return ok


def best(times: list[float]) -> float:
    return min(times)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--steps", type=int, default=TARGET_STEPS, help="training steps (default 40000)"
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per figure; the best is shown (default 3)"
    )
    ap.add_argument(
        "--check-steps", type=int, default=2000, help="steps of the correctness check (0: skip)"
    )
    ap.add_argument("--skip-cold", action="store_true", help="no cold-start subprocesses")
    ap.add_argument("--skip-numpy", action="store_true", help="no NumPy reference timing")
    ap.add_argument(
        "--xla-small-loops", action="store_true",
        help="experiment: let XLA:CPU compile small while loops (the scan) into one kernel "
        f"({SMALL_LOOPS_FLAG}); applies to every run here",
    )  # fmt: skip
    ap.add_argument(
        "--cache-dir", metavar="DIR",
        help="experiment: cold runs with JAX's persistent compilation cache in DIR (filled first)",
    )  # fmt: skip
    ap.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.xla_small_loops and not args.cold_child:  # before jax is imported; children inherit it
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {SMALL_LOOPS_FLAG}".strip()
    if args.cold_child:
        cold_child(args.steps)
        return 0
    steps, repeat = args.steps, max(1, args.repeat)
    t_start = time.perf_counter()

    # cold first, while this process has not even imported jax (the children compete less)
    cold = None if args.skip_cold else cold_times(steps, repeat, args.cache_dir)

    import jax

    import nnopt
    from nnopt.engine.setup import initial_params

    print(f"nnopt {nnopt.__version__}, jax {jax.__version__} ({jax.default_backend()}), "
          f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} cpus")  # fmt: skip
    config = load(steps)
    print(f"preset {PRESET}: {steps} steps, batch {config.train.batch_size}, "
          f"log_every {config.train.log_every}, best of {repeat}")  # fmt: skip
    if os.environ.get("XLA_FLAGS"):
        print(f"XLA_FLAGS={os.environ['XLA_FLAGS']}")
    if args.cache_dir:
        print(f"cold runs use the persistent compilation cache {args.cache_dir} (filled first)")

    ok = check(args.check_steps) if args.check_steps > 0 else True

    # warm: compile once (a first run), then time whole Training(config).run() calls
    nnopt_run(config)
    warm_split = []

    def warm_once():
        warm_split.append(nnopt_run(config)[:2])

    warm = best(timed(warm_once, repeat))
    warm_run_only = min(r for _, r in warm_split)

    params = initial_params(config)
    numpy_t = None
    if not args.skip_numpy:
        numpy_t = best(timed(lambda: numpy_reference(config, params), repeat))

    jax_run = make_jax_reference(config)
    jax_run(params, min(steps, 20), config.train.log_every)  # compile
    jax_t = best(timed(lambda: jax_run(params, steps, config.train.log_every), repeat))

    # ---- table
    us = 1e6 / steps
    scale = TARGET_STEPS / steps  # the targets are for 40000 steps
    print()
    print(f"{'':28s} {'cold s':>8s} {'warm s':>8s} {'µs/step':>8s}   target")
    if cold:
        c_best = min(c["init"] + c["run"] for c in cold)
        c_init = min(c["init"] for c in cold)
        c_run = min(c["run"] for c in cold)
        cold_s = f"{c_best:8.3f}"
    else:
        cold_s = f"{'-':>8s}"
    tgt = f"warm <= {TARGET_WARM_S / scale:.3g} s, cold <= {TARGET_COLD_S:.3g} s"
    print(f"{'nnopt engine (scan)':28s} {cold_s} {warm:8.3f} {warm * us:8.2f}   {tgt}")
    if numpy_t is not None:
        print(f"{'NumPy per-step loop':28s} {'':8s} {numpy_t:8.3f} {numpy_t * us:8.2f}")
    print(f"{'JAX jit step per-step loop':28s} {'':8s} {jax_t:8.3f} {jax_t * us:8.2f}")
    print()
    if cold:
        cached = ", compilation cache warm" if args.cache_dir else ""
        print(f"cold = Training() {c_init:.3f} s + run() {c_run:.3f} s (best of each{cached}); "
              f"target {TARGET_COLD_S} s: {'met' if c_best <= TARGET_COLD_S else 'NOT met'} "
              f"({c_best / TARGET_COLD_S:.1f}x the target)")  # fmt: skip
    print(f"warm = Training() {warm - warm_run_only:.3f} s + run() {warm_run_only:.3f} s; "
          f"target {TARGET_WARM_S / scale:.3g} s: "
          f"{'met' if warm <= TARGET_WARM_S / scale else 'NOT met'} "
          f"({warm / (TARGET_WARM_S / scale):.1f}x the target)")  # fmt: skip
    ratios = []
    if numpy_t is not None:
        ratios.append(f"vs NumPy {numpy_t / warm:.3g}x (warm)")
        if cold:
            ratios.append(f"{numpy_t / c_best:.2g}x (cold)")
    ratios.append(f"vs JAX jit-per-step {jax_t / warm:.3g}x (warm)")
    if cold:
        ratios.append(f"{jax_t / c_best:.2g}x (cold)")
    print("speed-up of the engine: " + ", ".join(ratios))
    print(f"check: {'passed' if ok else 'FAILED'}; total benchmark time "
          f"{time.perf_counter() - t_start:.0f} s")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
