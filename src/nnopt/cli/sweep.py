"""``nnopt sweep``: train many configurations at once and compare them.

The sweep itself (grid, groups, backends, resuming, files) is
:func:`nnopt.outputs.sweep_dir.run_sweep`; this module merges the base file's ``[sweep]``
table with ``--grid`` and ``--seeds``, shows progress and prints the best configurations.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nnopt.cli.main import EXIT_TERMINATED, Stops, add_cache_flag, sigterm_as_ctrl_c, start_cache
from nnopt.cli.run import say_notices
from nnopt.errors import NnoptError

# The library's names for what these flags set (its errors name them; see cli.main.with_flags).
FLAGS = {"sweep.seeds": "--seeds", "ray address": "--address", "threshold": "--threshold"}


def register(sub) -> None:
    p = sub.add_parser("sweep", help="train many configurations at once and compare them")
    p.add_argument(
        "config", metavar="BASE", help="a preset or TOML file (its [sweep] table is read too)"
    )
    p.add_argument(
        "--set", action="append", metavar="SECTION.FIELD=VALUE", help="override the base"
    )
    p.add_argument(
        "--grid", action="append", metavar="SECTION.FIELD=V1,V2,...", help="values to try"
    )
    p.add_argument(
        "--seeds", type=int, metavar="N", help="train each setting with N seeds (train.seed)"
    )
    p.add_argument(
        "--out", metavar="DIR", help="output folder (default sweeps/NAME); resumes a sweep there"
    )
    p.add_argument("--backend", choices=("local", "ray"), default="local")
    p.add_argument("--address", metavar="ADDR", help="a Ray cluster to join (host:port)")
    p.add_argument(
        "--threshold",
        type=float,
        metavar="LOSS",
        help="report the first step below this train loss (default: the median final loss)",
    )
    p.add_argument("--json", action="store_true", help="end stdout with one JSON line of results")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    add_cache_flag(p)
    p.set_defaults(fn=cmd_sweep, flags=FLAGS)


def sweep_spec(args):
    """(base raw config, SweepConfig, label): the base file's [sweep] table, then the flags."""
    from nnopt.config import SweepConfig, apply_overrides, parse_grid, sweep_from_raw
    from nnopt.config.presets import read_raw

    raw, label = read_raw(args.config)
    table = sweep_from_raw(raw, label)
    grid = dict(table.grid)
    grid.update({k: tuple(v) for k, v in parse_grid(args.grid or []).items()})
    seeds = args.seeds if args.seeds is not None else table.seeds
    base = apply_overrides({k: v for k, v in raw.items() if k != "sweep"}, args.set or [])
    return base, SweepConfig(grid, seeds), label


def cmd_sweep(args) -> int:
    from tqdm import tqdm

    from nnopt.engine.sweep.grid import grid_points

    if args.address and args.backend != "ray":
        raise NnoptError("--address is for --backend ray")
    base, sweep, label = sweep_spec(args)
    points = grid_points(base, dict(sweep.grid), sweep.seeds, label)  # said before JAX loads
    say_notices(p.config for p in points)
    start_cache(args)
    from nnopt.outputs.sweep_dir import SweepInterrupted, run_sweep

    out = Path(args.out) if args.out else Path("sweeps") / base.get("name", "sweep")
    quiet = args.json or args.quiet
    bar = None

    def on_start(folder: Path, done: int, total: int, steps: int) -> None:
        nonlocal bar
        if done and not quiet:
            print(
                f"nnopt: resuming {folder}: {done} of {total} configurations already done",
                file=sys.stderr,
            )
        bar = tqdm(total=steps, unit="step", file=sys.stderr, disable=True if quiet else None,
                   leave=False)  # fmt: skip

    stops = Stops()
    try:
        with sigterm_as_ctrl_c() as stops:
            done = run_sweep(
                base, sweep, out, label, args.backend, args.address, args.threshold,
                on_start=on_start, on_progress=lambda updates: bar.update(updates),
            )  # fmt: skip
    except SweepInterrupted as stop:
        if bar is not None:
            bar.close()
        code = stops.code(stop.__cause__)
        print(
            f"nnopt: {'terminated (SIGTERM)' if code == EXIT_TERMINATED else 'interrupted'}; {stop.done} of "
            f"{stop.total} configurations are saved in {stop.out}. Run the same command again "
            "to finish the rest.",
            file=sys.stderr,
        )
        return code
    bar.close()
    summary = done.summary
    if not quiet or args.json:
        stream = sys.stderr if args.json else sys.stdout
        fields = list(sweep.grid) + (["train.seed"] if sweep.seeds > 1 else [])
        print(_table_text(done.table, fields), file=stream)
        print(
            f"{summary['configurations']} configurations in {summary['groups']} compiled group(s); "
            f"{len(summary['diverged'])} diverged; results in {done.out}",
            file=stream,
        )
    if args.json:
        print(json.dumps(summary, default=str))
    return 0


def _table_text(table: list[dict], fields: list[str], limit: int = 20) -> str:
    cols = ["config", *fields, "train_loss", "train_accuracy", "steps_to_threshold", "diverged"]
    cols = [c for c in cols if any(c in r for r in table)]
    ranked = sorted(table, key=lambda r: (r["diverged"], r.get("train_loss", float("inf"))))[:limit]
    cells = [[_fmt(r.get(c)) for c in cols] for r in ranked]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    if len(table) > limit:
        lines.append(f"... {len(table) - limit} more in results.csv (best first above)")
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.5g}"
    return str(v)
