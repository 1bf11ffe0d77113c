"""Whole-process times of nnopt's commands, with an empty and with a warm compilation cache,
beside the same run as a PyTorch eager per-step loop, the interpreter, and `import jax`.

Run: python bench/bench_cold.py [--repeat 3] [--skip-lecture] [--skip-torch]

Every figure is the best of ``--repeat`` fresh processes (the machine may be shared; the
load average is printed before and after). "Empty" gives each process a new, empty cache
folder (``NNOPT_CACHE_DIR``); "warm" one that a first, untimed run has filled. For
``nnopt run circle-l2`` the time until the final numbers are printed (the summary's last
line, ``run folder: ...``) is read from its stdout as it arrives, and the phases (import,
setup, compile, train, write, figures) from its ``--timing`` line; ``nnopt lecture`` reports
its own phases. The PyTorch process (``pip install 'nnopt[bench]'``, or any torch) trains the
same experiment (circle-l2: the same data and first weights, 2-11-1 relu, MSE + L2 0.01,
Adam 1e-4, batches of 30, 40000 steps, a full-data loss every 2000) one eager step at a time
on one thread and draws the same three figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The targets, whole process on a quiet 2-core machine: (empty cache, warm cache).
TARGETS = {
    "nnopt --help": (0.3, 0.3),
    "nnopt presets": (0.3, 0.3),
    "nnopt run circle-l2, until the numbers": (2.5, 1.8),
    "nnopt run circle-l2, whole process": (3.5, 2.5),
    "nnopt lecture": (6.0, 4.0),
}


def nnopt_command() -> list[str]:
    script = Path(sys.executable).with_name("nnopt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nnopt.cli.main"]


def environment(cache: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    if cache is not None:
        env["NNOPT_CACHE_DIR"] = str(cache)
    return env


def timed(argv: list[str], cwd: Path, env: dict, marker: str | None = None) -> dict:
    """Runs one fresh process: its wall time, the time until a stdout line containing
    ``marker`` appeared, its stdout and stderr."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err,
                                text=True)  # fmt: skip
        lines, seen = [], None
        for line in proc.stdout:
            lines.append(line)
            if marker and seen is None and marker in line:
                seen = time.perf_counter() - start
        code = proc.wait()
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{stderr}")
    return {"wall": wall, "marker": seen, "stdout": "".join(lines), "stderr": stderr}


def phases_of_run(stderr: str) -> dict[str, float]:
    """The phases of ``nnopt run --timing``'s last line."""
    line = [x for x in stderr.splitlines() if x.startswith("time: ")][-1]
    found = dict((k, float(v)) for k, v in re.findall(r"(\w+) ([0-9.]+) s", line))
    programs = re.search(r"(\d+) compiled programs? \((\d+) from the cache\)", line)
    found["programs"], found["from cache"] = int(programs[1]), int(programs[2])
    return found


def best(runs: list[dict], key: str = "wall") -> dict:
    return min(runs, key=lambda r: r[key])


# ------------------------------------------------------------------ the measurements


def measure_simple(argv: list[str], repeat: int, work: Path) -> float:
    return best([timed(argv, work, environment(None)) for _ in range(repeat)])["wall"]


def measure_run(repeat: int, work: Path, warm: bool) -> dict:
    argv = [*nnopt_command(), "run", "circle-l2", "--out", "runs/c", "--overwrite", "--timing"]
    runs = []
    cache = Path(tempfile.mkdtemp(prefix="nnopt-cache-", dir=work))
    if warm:
        timed(argv, work, environment(cache))  # fills the cache
    for i in range(repeat):
        folder = cache if warm else Path(tempfile.mkdtemp(prefix=f"empty-{i}-", dir=work))
        r = timed(argv, work, environment(folder), marker="run folder:")
        r["phases"] = phases_of_run(r["stderr"])
        runs.append(r)
    return best(runs)


def measure_lecture(repeat: int, work: Path, warm: bool) -> dict:
    argv = [*nnopt_command(), "lecture", "--json", "--out", "report"]
    cache = Path(tempfile.mkdtemp(prefix="nnopt-cache-", dir=work))
    if warm:
        timed(argv, work, environment(cache))
    runs = []
    for i in range(repeat):
        folder = cache if warm else Path(tempfile.mkdtemp(prefix=f"empty-{i}-", dir=work))
        r = timed(argv, work, environment(folder))
        r["phases"] = json.loads(r["stdout"].strip().splitlines()[-1])["timing_seconds"]
        runs.append(r)
    return best(runs)


def measure_torch(repeat: int, work: Path) -> dict:
    argv = [sys.executable, str(Path(__file__).resolve()), "--torch-child"]
    return best([timed(argv, work, environment(None), marker="final") for _ in range(repeat)])


# ------------------------------------------------------------------ the PyTorch process


def torch_child() -> None:
    """circle-l2 as a PyTorch user writes it: eager steps in a Python loop, then figures."""
    t0 = time.perf_counter()
    import numpy as np
    import torch

    from nnopt.config import resolve
    from nnopt.config.presets import load_config
    from nnopt.core.data import DATASETS, dataset_of
    from nnopt.core.model import init_mlp

    c = resolve(load_config("circle-l2"))
    d = c.data
    x, y = DATASETS[d.name].generate(d.n_samples, d.noise, d.seed)
    data = dataset_of(d.name, x, y, d.test_fraction, d.seed)
    m = c.model
    start = init_mlp(m.layers, init=m.init, stddev=m.init_stddev, bias_init=m.bias_init,
                     bias=m.bias, seed=c.train.seed)  # fmt: skip
    assert "jax" not in sys.modules
    # One thread: tensors this small gain nothing from more, and a pool of two spins for
    # seconds on a busy machine.
    torch.set_num_threads(1)
    t_import = time.perf_counter()
    params = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    xs, ys = torch.tensor(data.x_train), torch.tensor(data.y_train)
    opt = torch.optim.Adam(params.values(), lr=c.optimizer.learning_rate,
                           betas=(c.optimizer.b1, c.optimizer.b2), eps=c.optimizer.eps)  # fmt: skip

    def forward(xb):
        h = torch.relu(xb @ params["w1"] + params["b1"])
        return h @ params["w2"] + params["b2"]

    def penalty():
        return c.regularizer.scale * sum((params[k] ** 2).sum() / 2 for k in ("w1", "w2"))

    b, n = c.train.batch_size, len(xs)
    batch_losses, history = [], []
    for step in range(c.train.steps):
        if step % c.train.log_every == 0:
            with torch.no_grad():
                history.append((step, float(((forward(xs) - ys) ** 2).mean())))
        s = (step * b) % n
        loss = ((forward(xs[s : s + b]) - ys[s : s + b]) ** 2).mean()
        opt.zero_grad()
        (loss + penalty()).backward()
        opt.step()
        batch_losses.append(loss.detach())
    with torch.no_grad():
        final = float(((forward(xs) - ys) ** 2).mean())
        accuracy = float(((forward(xs) >= 0.5) == (ys >= 0.5)).float().mean())
    history.append((c.train.steps, final))
    torch.stack(batch_losses)
    t_train = time.perf_counter()
    print(f"final data loss {final:.6g}, accuracy {accuracy:.4f}", flush=True)

    from matplotlib.figure import Figure

    steps, losses = zip(*history)
    for name, plot in (
        ("loss", lambda ax: ax.semilogy(steps, losses)),
        ("learning_rate", lambda ax: ax.plot([c.optimizer.learning_rate] * c.train.steps)),
    ):
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        plot(fig.subplots())
        fig.savefig(f"torch-{name}.png", dpi=110)
    lo, hi = data.x_train.min(0) - 0.5, data.x_train.max(0) + 0.5
    step = max(0.01, float(max(hi - lo)) / 600)
    xx, yy = np.mgrid[lo[0] : hi[0] : step, lo[1] : hi[1] : step]
    with torch.no_grad():
        grid = torch.tensor(np.c_[xx.ravel(), yy.ravel()].astype(np.float32))
        probs = forward(grid).numpy().reshape(xx.shape)
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.subplots()
    ax.contour(xx, yy, probs, levels=[0.5], colors="k")
    ax.scatter(data.x_train[:, 0], data.x_train[:, 1], c=data.y_train[:, 0], s=9)
    fig.savefig("torch-boundary.png", dpi=110)
    t_end = time.perf_counter()
    print(json.dumps({"import": t_import - t0, "train": t_train - t_import,
                      "figures": t_end - t_train}))  # fmt: skip


# ------------------------------------------------------------------ the table


def load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "over"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-lecture", action="store_true")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_child:
        return torch_child()
    print(f"load average before: {load()} (1, 5, 15 min) on {os.cpu_count()} CPUs")
    r = args.repeat
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        work = Path(tmp)
        python = measure_simple([sys.executable, "-c", "pass"], r, work)
        import_jax = measure_simple([sys.executable, "-c", "import jax"], r, work)
        help_s = measure_simple([*nnopt_command(), "--help"], r, work)
        presets = measure_simple([*nnopt_command(), "presets"], r, work)
        run = {warm: measure_run(r, work, warm) for warm in (False, True)}
        lecture = (
            None if args.skip_lecture else {w: measure_lecture(r, work, w) for w in (False, True)}
        )
        torch = None if args.skip_torch else measure_torch(r, work)
    print(f"load average after:  {load()}\n")
    print(f"references: python -c pass {python:.2f} s, python -c 'import jax' {import_jax:.2f} s")
    print(f"{'command':<42} {'empty cache':>12} {'target':>7} {'warm cache':>11} {'target':>7}")

    def row(name, empty, warm):
        te, tw = TARGETS[name]
        print(f"{name:<42} {empty:>10.2f} s {te:>5.1f} s {warm:>9.2f} s {tw:>5.1f} s"
              f"   {verdict(empty, te)}/{verdict(warm, tw)}")  # fmt: skip

    row("nnopt --help", help_s, help_s)
    row("nnopt presets", presets, presets)
    row("nnopt run circle-l2, until the numbers", run[False]["marker"], run[True]["marker"])
    row("nnopt run circle-l2, whole process", run[False]["wall"], run[True]["wall"])
    if lecture:
        row("nnopt lecture", lecture[False]["wall"], lecture[True]["wall"])
    print("\nphases of the best runs (s):")
    for warm in (False, True):
        p = run[warm]["phases"]
        shown = ", ".join(
            f"{k} {v:.2f}" for k, v in p.items() if k not in ("programs", "from cache")
        )
        print(f"  run circle-l2, {'warm' if warm else 'empty'}: {shown}; "
              f"{p['programs']} program(s), {p['from cache']} from the cache")  # fmt: skip
    if lecture:
        for warm in (False, True):
            p = lecture[warm]["phases"]
            shown = ", ".join(f"{k} {v:.2f}" for k, v in p.items())
            print(f"  lecture, {'warm' if warm else 'empty'}: {shown}")
    if torch:
        phases = json.loads(torch["stdout"].strip().splitlines()[-1])
        shown = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
        print(f"\nPyTorch eager per-step loop, same run: until the numbers {torch['marker']:.2f} s, "
              f"whole process {torch['wall']:.2f} s ({shown})")  # fmt: skip
        for warm in (False, True):
            print(f"  nnopt run circle-l2 ({'warm' if warm else 'empty'} cache) takes "
                  f"{run[warm]['wall'] / torch['wall']:.2f}x PyTorch's whole process, "
                  f"{run[warm]['marker'] / torch['marker']:.2f}x until the numbers")  # fmt: skip


if __name__ == "__main__":
    main()
