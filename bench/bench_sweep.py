"""Sweep throughput: the lecture's circle experiment (40000 steps) for 1 to 1024 configurations.

Run: python bench/bench_sweep.py [--steps N] [--sizes 1,8,64,256,1024] [--repeat R]

Every size is a sweep over seeds and learning rates of the preset circle-l2, all numbers,
so each size trains as one group (nnopt.engine.lanes: the configurations as the last axis of
every parameter, 32 per program, shards on every core). Times are warm (the program
compiled by a first run) and include building the batches (data, initial parameters) and
every log point's evaluation; each is the best of R runs. Beside the wall time per
configuration and step (the target: 150 ns at 64 or more) is the CPU time (all threads), which
a busy machine inflates less. The single run is nnopt's ordinary engine on the same preset
(`Training(config).run()`), also warm.
"""

from __future__ import annotations

import argparse
import os
import time

import nnopt  # noqa: F401  (sets the XLA flags before JAX starts)
from nnopt.config import apply_overrides
from nnopt.config.presets import load_config, read_raw
from nnopt.engine.sweep.grid import grid_points
from nnopt.engine.sweep.run import available_bytes, estimate_bytes, run_batch
from nnopt.engine.training import Training


def points(n: int, steps: int):
    raw, label = read_raw("circle-l2")
    raw = apply_overrides(raw, [f"train.steps={steps}", f"train.log_every={min(2000, steps)}"])
    rates = [1e-4, 3e-4, 1e-3, 3e-3]
    k = min(n, len(rates))
    grid = {"optimizer.learning_rate": rates[:k]}
    return grid_points(raw, grid, n // k, label) if n > 1 else grid_points(raw, grid, 1, label)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_cpu(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every thread of the process)."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40000)
    parser.add_argument("--sizes", default="1,8,64,256,1024")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))

    config = load_config("circle-l2", [f"train.steps={args.steps}"])
    Training(config).run()  # compile
    single = min(timed(lambda: Training(config).run()) for _ in range(3))
    print(f"circle-l2, {args.steps} steps; single run (nnopt engine, warm): {single:.3f} s")
    print(
        f"{'configs':>8} {'total s':>9} {'per config s':>13} {'ratio to single':>16} "
        f"{'ns/config-step':>15} {'CPU ns':>7}  memory estimate"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        pts = points(n, args.steps)
        need = estimate_bytes(pts)
        if need > 0.7 * available_bytes():
            print(
                f"{n:>8}  refused: needs about {need / 2**30:.1f} GiB of {available_bytes() / 2**30:.1f} GiB"
            )
            continue
        run_batch(pts)  # compiles (one program for every size: shards of one width)
        total, cpu = min(timed_cpu(lambda pts=pts: run_batch(pts)) for _ in range(args.repeat))
        per = total / n
        ns = total / (n * args.steps) * 1e9
        ns_cpu = cpu / (n * args.steps) * 1e9
        print(
            f"{n:>8} {total:>9.2f} {per:>13.4f} {per / single:>16.3f} {ns:>15.0f} {ns_cpu:>7.0f}"
            f"  {need / 2**20:.0f} MiB"
        )
    print("target: at most 150 ns per configuration-step (wall) at 64 or more configurations")
    print("load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
