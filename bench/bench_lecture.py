"""The whole `nnopt lecture` in fresh processes, empty and warm cache: how long, where the time
goes, how many programs it compiles, beside another nnopt measured in the same minutes.

Run: python bench/bench_lecture.py [--repeat R] [--reference PATH/TO/nnopt] [--skip-warm]

Each repeat starts a new interpreter running `nnopt lecture --json` into a temporary folder.
"empty": a new, empty compilation cache (``NNOPT_CACHE_DIR``), so every program compiles;
"warm": a cache a first, untimed run has filled. From each run: the process's wall clock, the
command's own split (import, compile and train on two threads, figures and report, total,
compile time summed over the threads) and its count of compiled programs (and of those read
from the cache). With ``--reference`` (e.g. another checkout's ``.venv/bin/nnopt``) the same
runs of that nnopt alternate with these, so both see the same load: the ratio of the best
wall clocks is the figure to read on a shared machine. The project's targets on a quiet
2-core CPU: total <= 6 s with an empty cache, <= 4 s warm.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"empty": 6.0, "warm": 4.0}


def this_nnopt() -> list[str]:
    return [sys.executable, "-m", "nnopt.cli.main"]


def one_run(command: list[str], cache: str) -> dict:
    """One fresh `nnopt lecture --json` with the cache folder ``cache``: its timing and counts."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
        env["NNOPT_CACHE_DIR"] = cache
        start = time.perf_counter()
        proc = subprocess.run(
            [*command, "lecture", "--json", "--out", os.path.join(tmp, "report")],
            capture_output=True, text=True, env=env, check=True, cwd=tmp,
        )  # fmt: skip
        wall = time.perf_counter() - start
    payload = json.loads(proc.stdout.strip().splitlines()[-1])
    counts = payload.get("compiled_programs", {})
    return payload["timing_seconds"] | {
        "process wall clock": wall,
        "programs": counts.get("programs"),
        "read from the cache": counts.get("read from the cache"),
    }


def measure(commands: dict[str, list[str]], repeat: int, warm: bool) -> dict:
    """{(name, "empty" | "warm"): [runs]}, the commands' runs alternating."""
    runs: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm_caches = {}
        if warm:
            for name, command in commands.items():
                warm_caches[name] = os.path.join(tmp, f"warm-{name}")
                one_run(command, warm_caches[name])  # fills it, untimed
        for i in range(repeat):
            for name, command in commands.items():
                empty = os.path.join(tmp, f"empty-{name}-{i}")
                runs.setdefault((name, "empty"), []).append(one_run(command, empty))
                if warm:
                    runs.setdefault((name, "warm"), []).append(one_run(command, warm_caches[name]))
    return runs


def show(runs: dict) -> None:
    for (name, cache), rows in runs.items():
        best = min(rows, key=lambda r: r["process wall clock"])
        print(f"{name}, {cache} cache, {len(rows)} fresh processes (best by wall clock):")
        for key, value in best.items():
            if isinstance(value, float):
                every = ", ".join(f"{r[key]:.2f}" for r in rows)
                print(f"  {key:<34} {value:6.2f} s   (all: {every})")
            else:
                print(f"  {key:<34} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference", metavar="NNOPT", help="another nnopt to alternate with")
    parser.add_argument("--skip-warm", action="store_true", help="only the empty cache")
    args = parser.parse_args()
    commands = {"this nnopt": this_nnopt()}
    if args.reference:
        commands["reference"] = [str(Path(args.reference).expanduser())]
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    runs = measure(commands, args.repeat, not args.skip_warm)
    print(f"load average after:  {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    show(runs)
    for cache, target in TARGETS.items():
        if ("this nnopt", cache) not in runs:
            continue
        best = min(r["process wall clock"] for r in runs[("this nnopt", cache)])
        line = f"{cache} cache: best {best:.2f} s, target <= {target:g} s: "
        line += "met" if best <= target else "NOT met"
        if ("reference", cache) in runs:
            ref = min(r["process wall clock"] for r in runs[("reference", cache)])
            line += f"; reference {ref:.2f} s, ratio {best / ref:.2f}"
        print(line)


if __name__ == "__main__":
    main()
