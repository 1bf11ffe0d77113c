"""Sweep throughput: the lecture's circle experiment (40000 steps) for 1 to 1024 configurations.

Run: python bench/bench_sweep.py [--steps N] [--sizes 1,8,64,256,1024]

Every size is a sweep over seeds and learning rates of the preset circle-l2, all numbers,
so each size trains as one compiled batch (nnopt.engine.lanes: the configurations as the last
axis of every parameter). Times are warm
(the batch program compiled by a first, short run of the same size) and include building
the batch (data, initial parameters, optimizer states). The single run is nnopt's ordinary
engine on the same preset (`Training(config).run()`), also warm.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40000)
    parser.add_argument("--sizes", default="1,8,64,256,1024")
    args = parser.parse_args()

    config = load_config("circle-l2", [f"train.steps={args.steps}"])
    Training(config).run()  # compile
    single = min(timed(lambda: Training(config).run()) for _ in range(3))
    print(f"circle-l2, {args.steps} steps; single run (nnopt engine, warm): {single:.3f} s")
    print(
        f"{'configs':>8} {'total s':>9} {'per config s':>13} {'ratio to single':>16}  memory estimate"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        pts = points(n, args.steps)
        need = estimate_bytes(pts)
        if need > 0.7 * available_bytes():
            print(
                f"{n:>8}  refused: needs about {need / 2**30:.1f} GiB of {available_bytes() / 2**30:.1f} GiB"
            )
            continue
        run_batch(points(n, 50))  # compile this batch size's program... with a short run
        run_batch(pts[:n])  # ... and the full-length program (same structure, other trip count)
        total = timed(lambda pts=pts: run_batch(pts))
        per = total / n
        print(f"{n:>8} {total:>9.2f} {per:>13.4f} {per / single:>16.3f}  {need / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
