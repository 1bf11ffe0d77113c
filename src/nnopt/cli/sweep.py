"""``nnopt sweep``: the face of sweeps (parse, validate, run on a backend, write, report)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nnopt.errors import ConfigError, NnoptError


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
    p.set_defaults(fn=cmd_sweep)


def sweep_spec(args) -> tuple[dict, dict, int, str]:
    """(base raw config, grid, seeds, label) from the base file's [sweep] table and the arguments."""
    from nnopt.config.schema import apply_overrides
    from nnopt.config.presets import read_raw
    from nnopt.engine.sweep.run import parse_grid

    raw, label = read_raw(args.config)
    table = raw.get("sweep", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: [sweep] must be a table with grid and seeds")
    unknown = set(table) - {"grid", "seeds"}
    if unknown:
        raise ConfigError(
            f"{label}: unknown field sweep.{sorted(unknown)[0]}; [sweep] has grid, seeds"
        )
    file_grid = table.get("grid", {})
    if not isinstance(file_grid, dict):
        raise ConfigError(f"{label}: sweep.grid must be a table of field = [values]")
    texts = []
    for name, values in file_grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{label}: sweep.grid.{name!r} must be a non-empty list of values")
        texts.append(f"{name}=" + ",".join(json.dumps(v) for v in values))
    grid = parse_grid(texts)
    grid.update(parse_grid(args.grid or []))
    seeds = args.seeds if args.seeds is not None else table.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool):
        raise ConfigError(f"{label}: sweep.seeds = {seeds!r} must be an integer")
    raw = apply_overrides({k: v for k, v in raw.items() if k != "sweep"}, args.set or [])
    return raw, grid, seeds, label


def _open_out(path: Path, spec: dict) -> tuple[Path, bool]:
    """The output folder and whether it resumes an earlier run of the same sweep.

    A folder holding the same sweep (same sweep.json) is resumed; another existing folder is
    left alone and a new name (``DIR-2`` ...) is taken.
    """
    from nnopt.outputs.run_dir import create_run_dir

    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
        saved = candidate / "sweep.json"
        if saved.is_file():
            try:
                if json.loads(saved.read_text("utf-8")) == spec:
                    return candidate, True
            except (OSError, ValueError):
                pass
            continue
        if not candidate.exists():
            return create_run_dir(candidate), False
    raise NnoptError(f"cannot create the sweep folder {path}: too many folders with that name")


def cmd_sweep(args) -> int:
    from tqdm import tqdm

    from nnopt.outputs.run_dir import write_text
    from nnopt.engine.sweep.run import (
        check_memory,
        grid_points,
        group_points,
        groups_at_once,
        point_key,
        result_table,
        run_groups,
        shards_of,
    )
    from nnopt.outputs.sweep_dir import (
        load_point,
        save_figures,
        save_point,
        write_histories,
        write_table,
    )

    if args.address and args.backend != "ray":
        raise NnoptError("--address is for --backend ray")
    raw, grid, seeds, label = sweep_spec(args)
    points = grid_points(raw, grid, seeds, label)
    groups = group_points(points)
    check_memory(groups)
    spec = {"base": raw, "grid": {k: list(v) for k, v in grid.items()}, "seeds": seeds,
            "points": [point_key(p) for p in points]}  # fmt: skip
    name = raw.get("name", "sweep")
    out, resumed = _open_out(Path(args.out) if args.out else Path("sweeps") / name, spec)
    write_text(out / "sweep.json", json.dumps(spec, indent=1))
    (out / "points").mkdir(exist_ok=True)

    results = {}
    for p in points:
        saved = load_point(out, p) if resumed else None
        if saved is not None:
            results[p.index] = saved
    todo = [[p for p in g if p.index not in results] for g in groups]
    todo = [g for g in todo if g]
    by_index = {p.index: p for p in points}
    total = sum(len(g) * g[0].config.train.steps for g in todo)
    quiet = args.json or args.quiet
    if resumed and not quiet:
        print(
            f"nnopt: resuming {out}: {len(results)} of {len(points)} configurations already done",
            file=sys.stderr,
        )
    bar = tqdm(
        total=total, unit="step", file=sys.stderr, disable=True if quiet else None, leave=False
    )

    def keep(batch_results) -> None:
        for r in batch_results:
            save_point(out, by_index[r.index], r)
            results[r.index] = r

    try:
        if args.backend == "ray":
            from nnopt.engine.sweep.ray_backend import run_on_ray

            def done(batch_results):
                keep(batch_results)
                bar.update(sum(by_index[r.index].config.train.steps for r in batch_results))

            run_on_ray([s for g in todo for s in shards_of(g, 1)], args.address, done)
        else:
            run_groups(todo, keep, on_chunk=bar.update, at_once=groups_at_once(todo))
    except KeyboardInterrupt:
        bar.close()
        print(
            f"nnopt: interrupted; {len(results)} of {len(points)} configurations are saved in {out}. "
            f"Run the same command again to finish the rest.",
            file=sys.stderr,
        )
        return 130
    bar.close()

    ordered = [results[p.index] for p in points]
    table, threshold = result_table(ordered, args.threshold)
    write_table(out, table)
    write_histories(out, ordered)
    figures = save_figures(out, points, ordered, table, list(grid))
    diverged = [r["config"] for r in table if r["diverged"]]
    best = min((r for r in table if not r["diverged"]), key=lambda r: r.get("train_loss", float("inf")),
               default=None)  # fmt: skip
    summary = {
        "out": str(out), "configurations": len(points), "groups": len(groups), "resumed": resumed,
        "threshold": threshold, "diverged": diverged, "best": best, "figures": figures,
        "results": str(out / "results.csv"),
    }  # fmt: skip
    write_text(out / "summary.json", json.dumps(summary, indent=1, default=str) + "\n")
    if not quiet or args.json:
        stream = sys.stderr if args.json else sys.stdout
        print(_table_text(table, list(grid) + (["train.seed"] if seeds > 1 else [])), file=stream)
        print(
            f"{len(points)} configurations in {len(groups)} compiled group(s); "
            f"{len(diverged)} diverged; results in {out}",
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
