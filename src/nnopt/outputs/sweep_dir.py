"""Sweep folders: a sweep trained into one (resuming what finished), and what it leaves there.

:func:`run_sweep` is ``nnopt sweep`` as a function: it opens (or resumes) the folder, trains
the configurations not done yet on a backend, keeps each one's result as it finishes
(``points/<config hash>.json``), then writes the results table (CSV and Parquet), the
histories, the figures (race, heatmap, boundaries, seeds) and ``summary.json``.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnopt.config import SweepConfig
from nnopt.config.documents import loads_json, read_regular_text
from nnopt.engine.sweep import run as sweep_run
from nnopt.engine.sweep.grid import Point, grid_points, point_key
from nnopt.engine.sweep.results import PointResult, result_table
from nnopt.errors import ConfigError, RunDirError
from nnopt.outputs import serialize
from nnopt.outputs.run_dir import create_run_dir
from nnopt.outputs.serialize import (
    csv_text,
    jsonable,
    write_bytes,
    write_figure,
    write_json,
    write_text,
)

HISTORY_COLUMNS = (
    "step", "lr", "batch_loss", "train_loss", "train_reg", "train_total", "train_accuracy",
    "test_loss", "test_accuracy", "ema_train_loss", "ema_train_accuracy", "ema_test_loss",
    "ema_test_accuracy",
)  # fmt: skip


SWEEP_FILES = ("sweep.json", "results.csv", "results.parquet", "histories.csv", "summary.json",
               "race.png", "heatmap.png", "seeds.png", "boundaries.png")  # fmt: skip


def remove_stale_temporaries(out: Path) -> None:
    """Removes the old temporary files a killed sweep left (its files' and its points')."""
    point = re.compile(r"[0-9a-f]{16}\.json").fullmatch
    serialize.remove_files([
        *serialize.stale_temporaries(out, set(SWEEP_FILES).__contains__),
        *serialize.stale_temporaries(out / "points", point),
    ])  # fmt: skip


# ------------------------------------------------------------------ per point (resume)


def save_point(out: Path, point: Point, result: PointResult) -> None:
    """``points/<config hash>.json``: everything the sweep keeps of one configuration."""
    payload = {
        "index": result.index, "settings": result.settings, "diverged_at": result.diverged_at,
        "rows": result.rows, "params": result.params, "ema_params": result.ema_params,
    }  # fmt: skip
    # JSON has no NaN: a diverged run's metrics are written as null and read back as NaN.
    write_json(out / "points" / f"{point_key(point)}.json", payload, indent=None)


def load_point(out: Path, point: Point) -> PointResult | None:
    """The saved result of a configuration, or None if it has not finished (or is unreadable)."""
    path = out / "points" / f"{point_key(point)}.json"
    try:
        raw = loads_json(read_regular_text(path, str(path), RunDirError), str(path), RunDirError)
        return _point_result(raw, point)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError,
            RunDirError):  # fmt: skip
        return None  # trained again, and the file rewritten with its result


def _point_result(raw: dict, point: Point) -> PointResult:
    """The PointResult of a parsed point file; ValueError (KeyError, TypeError) for anything
    :func:`save_point` would not have written for this point (shapes checked against its
    model)."""
    from nnopt.engine.setup import initial_params

    def is_number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    rows = raw["rows"]
    if not isinstance(rows, list) or not rows:
        raise ValueError("rows")
    for row in rows:
        if not isinstance(row, dict) or not is_number(row.get("step")):
            raise ValueError("row")
        if not all(v is None or is_number(v) for v in row.values()):
            raise ValueError("row")
    diverged = raw["diverged_at"]
    if diverged is not None and (not isinstance(diverged, int) or isinstance(diverged, bool)):
        raise ValueError("diverged_at")
    shapes = {k: np.shape(v) for k, v in initial_params(point.config).items()}

    def arrays(named) -> dict[str, np.ndarray]:
        if not isinstance(named, dict) or set(named) != set(shapes):
            raise ValueError("params")
        wide = {k: np.asarray(v, np.float64) for k, v in named.items()}
        with np.errstate(over="ignore"):  # a number past float32 is damage, refused below
            out = {k: v.astype(np.float32) for k, v in wide.items()}
        if any(out[k].shape != shapes[k] for k in out):
            raise ValueError("shape")
        if any((np.isinf(out[k]) & np.isfinite(wide[k])).any() for k in out):
            raise ValueError("past float32")
        return out

    ema = raw["ema_params"]
    rows = [{k: (np.nan if v is None else v) for k, v in row.items()} for row in rows]
    return PointResult(point.index, point.settings, rows, diverged, arrays(raw["params"]),
                       arrays(ema) if ema is not None else None)  # fmt: skip


# ------------------------------------------------------------------ tables


def table_csv(table: list[dict]) -> str:
    return csv_text(table, cell=lambda key, value: _cell(value))


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return "" if value is None else value


def write_table(out: Path, table: list[dict]) -> None:
    """results.csv and results.parquet (one row per configuration)."""
    write_text(out / "results.csv", table_csv(table))
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return
    columns: dict[str, list] = {}
    for row in table:
        for k in row:
            columns.setdefault(k, [])
    for row in table:
        for k in columns:
            v = row.get(k)
            columns[k].append(json.dumps(list(v)) if isinstance(v, (list, tuple)) else v)
    buf = pa.BufferOutputStream()  # then written as every file is (serialize.write_bytes)
    pq.write_table(pa.table(columns), buf)
    write_bytes(out / "results.parquet", buf.getvalue().to_pybytes())


def write_histories(out: Path, results: list[PointResult]) -> None:
    """histories.csv: one row per configuration and log point."""
    rows = [
        {"config": r.index, **row} for r in sorted(results, key=lambda r: r.index) for row in r.rows
    ]
    text = csv_text(rows, ["config", *HISTORY_COLUMNS], cell=lambda key, value: _cell(value))
    write_text(out / "histories.csv", text)


# ------------------------------------------------------------------ figures


def _label(settings: dict, skip: tuple[str, ...] = ("train.seed",)) -> str:
    return (
        ", ".join(f"{k.split('.')[-1]}={v}" for k, v in settings.items() if k not in skip) or "base"
    )


def _by_setting(results: list[PointResult]) -> dict[str, list[PointResult]]:
    """Results grouped by their settings without the seed (the seeds of one setting together)."""
    out: dict[str, list[PointResult]] = {}
    for r in sorted(results, key=lambda r: r.index):
        out.setdefault(_label(r.settings), []).append(r)
    return out


def figure_race(results: list[PointResult], metric: str = "train_loss"):
    """Every setting's loss over the steps on one plot (mean over seeds, band = min..max)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for i, (label, group) in enumerate(_by_setting(results).items()):
        steps = np.array([row["step"] for row in group[0].rows])
        curves = np.array([[row.get(metric, np.nan) for row in r.rows] for r in group], dtype=float)
        color = f"C{i % 10}"
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a diverged setting is all NaN
            ax.plot(steps, np.nanmean(curves, 0), color=color, label=label, lw=1.3)
            if len(group) > 1:
                ax.fill_between(
                    steps, np.nanmin(curves, 0), np.nanmax(curves, 0), color=color, alpha=0.15
                )
    ax.set(
        xlabel="step",
        ylabel=metric.replace("_", " "),
        yscale="log",
        title="the race: loss over steps",
    )
    if len(_by_setting(results)) <= 16:
        ax.legend(fontsize=7)
    return fig


def figure_heatmap(table: list[dict], x_field: str, y_field: str, metric: str = "train_loss"):
    """Final ``metric`` over two grid axes, averaged over the other axes and the seeds."""
    xs = list(dict.fromkeys(json.dumps(r[x_field]) for r in table))
    ys = list(dict.fromkeys(json.dumps(r[y_field]) for r in table))
    grid = np.full((len(ys), len(xs)), np.nan)
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            values = [
                r.get(metric, np.nan)
                for r in table
                if json.dumps(r[x_field]) == x and json.dumps(r[y_field]) == y and not r["diverged"]
            ]
            values = [v for v in values if v is not None and np.isfinite(v)]
            grid[j, i] = np.mean(values) if values else np.nan
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.2 * len(xs) + 3, 0.6 * len(ys) + 2.2), layout="constrained")
    ax = fig.subplots()
    with np.errstate(all="ignore"):
        shown = np.log10(grid)
    image = ax.imshow(shown, cmap="viridis_r", aspect="auto")
    for j in range(len(ys)):
        for i in range(len(xs)):
            text = "diverged" if np.isnan(grid[j, i]) else f"{grid[j, i]:.3g}"
            ax.text(
                i,
                j,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="w" if np.isnan(grid[j, i]) else "k",
            )
    ax.set_xticks(range(len(xs)), [x.strip('"') for x in xs])
    ax.set_yticks(range(len(ys)), [y.strip('"') for y in ys])
    ax.set(xlabel=x_field, ylabel=y_field, title=f"final {metric.replace('_', ' ')} (mean)")
    fig.colorbar(image, ax=ax, label=f"log10 {metric}")
    return fig


def figure_seeds(table: list[dict], metric: str = "train_loss"):
    """Final ``metric`` per setting: the mean over seeds with a min..max bar, and each seed."""
    groups: dict[str, list[float]] = {}
    for r in table:
        label = _label({k: v for k, v in r.items() if k not in _NOT_SETTINGS})
        v = r.get(metric)
        groups.setdefault(label, []).append(np.nan if v is None or r["diverged"] else v)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 0.35 * len(groups) + 1.8), layout="constrained")
    ax = fig.subplots()
    for j, values in enumerate(groups.values()):
        arr = np.array(values, dtype=float)
        ax.scatter(arr, np.full(len(arr), j), s=12, color="C0", alpha=0.6)
        if np.isfinite(arr).any():
            ax.errorbar(np.nanmean(arr), j, xerr=[[np.nanmean(arr) - np.nanmin(arr)], [np.nanmax(arr) - np.nanmean(arr)]],
                        fmt="D", color="C3", ms=5, capsize=3)  # fmt: skip
    ax.set_yticks(range(len(groups)), list(groups))
    ax.set(
        xscale="log",
        xlabel=f"final {metric.replace('_', ' ')}",
        title="over seeds: mean (diamond), min..max",
    )
    return fig


_NOT_SETTINGS = (
    "config",
    "train.seed",
    "steps_to_threshold",
    "diverged",
    "diverged_at",
    *HISTORY_COLUMNS,
)


def figure_boundaries(points: list[Point], results: list[PointResult], limit: int = 16):
    """Small multiples of decision boundaries (2-D classification data), first seed of each setting."""
    from nnopt.engine.sweep.batch import point_model
    from nnopt.outputs.plots import draw_boundary

    firsts = [group[0] for group in _by_setting(results).values()][:limit]
    by_index = {p.index: p for p in points}
    cols = min(4, len(firsts))
    rows = -(-len(firsts) // cols)
    # Fixed margins: a layout engine would measure the labels of every panel again.
    width, height = 3.3 * cols, 3.3 * rows
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.45 / width, right=1 - 0.15 / width, bottom=0.35 / height,
                        top=1 - 0.3 / height, wspace=0.3, hspace=0.3)  # fmt: skip
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, r in zip(axes, firsts):
        structure, dataset = point_model(by_index[r.index])
        draw_boundary(
            ax, structure, dataset, r.params, textwrap.fill(_label(r.settings), 36), grid_step=0.03
        )
        ax.set(xlabel="", ylabel="")
        ax.title.set_fontsize(8)
    for ax in axes[len(firsts) :]:
        ax.set_visible(False)
    return fig


def save_figures(out: Path, points: list[Point], results: list[PointResult], table: list[dict],
                 grid_fields: list[str]) -> list[str]:  # fmt: skip
    """Writes the figures that apply to this sweep; returns their file names."""
    figs = {"race": figure_race(results)}
    multi = [f for f in grid_fields if len({json.dumps(r[f]) for r in table}) > 1]
    if len(multi) >= 2:
        figs["heatmap"] = figure_heatmap(table, multi[0], multi[1])
    if any("train.seed" in r.settings for r in results):
        figs["seeds"] = figure_seeds(table)
    first = points[0].config
    if (
        first.model.name == "mlp"
        and first.model.layers[0] == 2
        and "train_accuracy" in results[0].rows[-1]
    ):
        figs["boundaries"] = figure_boundaries(points, results)
    for stem, fig in figs.items():
        write_figure(out / f"{stem}.png", fig)
    return [f"{stem}.png" for stem in figs]


# ------------------------------------------------------------------ a sweep into its folder


def open_sweep_dir(path: Path, spec: dict) -> tuple[Path, bool]:
    """The output folder and whether it resumes an earlier run of the same sweep.

    A folder holding the same sweep (same ``sweep.json``) is resumed; another existing folder
    is left alone and a new name (``DIR-2`` ...) is taken.
    """
    path = Path(path)
    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
        saved = candidate / "sweep.json"
        if saved.is_file():
            try:
                text = read_regular_text(saved, str(saved), RunDirError)
                if loads_json(text, str(saved), RunDirError) == spec:
                    return candidate, True
            except (OSError, ValueError, RunDirError):
                pass  # not this sweep's: left alone, another name is taken
            continue
        if not candidate.exists():
            return create_run_dir(candidate), False
    raise RunDirError(f"cannot create the sweep folder {path}: too many folders with that name")


@dataclass
class SweepRun:
    """A sweep trained into its folder: the points, their results in order, the table and the
    summary written to ``summary.json``."""

    out: Path
    points: list[Point]
    results: list[PointResult]
    table: list[dict]
    summary: dict


class SweepInterrupted(Exception):
    """Ctrl-C during a sweep, after the finished configurations were saved."""

    def __init__(self, out: Path, done: int, total: int):
        super().__init__(f"{done} of {total} configurations are saved in {out}")
        self.out, self.done, self.total = out, done, total


def run_sweep(
    base: dict,
    sweep: SweepConfig,
    out: Path,
    source: str = "sweep",
    backend: str = "local",
    address: str | None = None,
    threshold: float | None = None,
    on_start: Callable[[Path, int, int, int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SweepRun:
    """Trains every configuration of ``sweep`` over the TOML-shaped ``base`` config into the
    folder ``out`` (a new name if another sweep is there), resuming what an earlier run of the
    same sweep finished; writes the tables, histories, figures and ``summary.json``.

    ``on_start(folder, done, total, steps_to_train)`` is called once before training;
    ``on_progress(updates)`` as updates finish. ``backend`` is ``local`` (threads on every
    core) or ``ray`` (each shard a Ray task; ``address`` a cluster to join, else a local Ray).
    Ray is joined (the address checked) or started before anything is written, and before
    JAX starts its threads (see :func:`~nnopt.engine.sweep.ray_backend.ray_session`).

    Raises:
      ConfigError: a bad grid or a combination that is no valid config, or a sweep too large
        for memory (before anything is written).
      NnoptError: a Ray address that is malformed, unreachable or not Ray (nothing written).
      SweepInterrupted: on Ctrl-C, with the finished configurations saved.
    """
    if threshold is not None and not math.isfinite(threshold):
        raise ConfigError(f"threshold = {threshold:g} is out of range: must be a finite loss")
    args = (base, sweep, out, source, backend, address, threshold, on_start, on_progress)
    if backend != "ray":
        return _run_sweep(*args)
    from nnopt.engine.sweep.ray_backend import ray_session

    grid_points(base, dict(sweep.grid), sweep.seeds, source)  # a bad grid: said before Ray starts
    with ray_session(address):
        return _run_sweep(*args)


def _run_sweep(base: dict, sweep: SweepConfig, out: Path, source: str, backend: str,
               address: str | None, threshold: float | None, on_start, on_progress) -> SweepRun:  # fmt: skip
    """:func:`run_sweep` once Ray (for the ``ray`` backend) is running."""
    points = grid_points(base, dict(sweep.grid), sweep.seeds, source)
    groups = sweep_run.group_points(points)
    sweep_run.check_memory(groups)
    spec = {"base": base, "grid": {k: list(v) for k, v in sweep.grid.items()},
            "seeds": sweep.seeds, "points": [point_key(p) for p in points]}  # fmt: skip
    out, resumed = open_sweep_dir(out, jsonable(spec))
    remove_stale_temporaries(out)
    write_json(out / "sweep.json", spec)
    (out / "points").mkdir(exist_ok=True)
    results = {}
    for p in points if resumed else ():
        saved = load_point(out, p)
        if saved is not None:
            results[p.index] = saved
    todo = [g for g in ([p for p in g if p.index not in results] for g in groups) if g]
    by_index = {p.index: p for p in points}
    if on_start is not None:
        steps = sum(len(g) * g[0].config.train.steps for g in todo)
        on_start(out, len(results), len(points), steps)
    progress = on_progress or (lambda updates: None)

    def keep(batch_results: list[PointResult]) -> None:
        for r in batch_results:
            save_point(out, by_index[r.index], r)
            results[r.index] = r

    try:
        if backend == "ray":
            from nnopt.engine.sweep.ray_backend import run_on_ray

            def done(batch_results):
                keep(batch_results)
                progress(sum(by_index[r.index].config.train.steps for r in batch_results))

            run_on_ray([s for g in todo for s in sweep_run.shards_of(g, 1)], address, done)
        else:
            at_once = sweep_run.groups_at_once(todo)
            sweep_run.run_groups(todo, keep, on_chunk=progress, at_once=at_once)
    except KeyboardInterrupt as stop:  # the cause says which stop (Ctrl-C, or SIGTERM as one)
        raise SweepInterrupted(out, len(results), len(points)) from stop
    ordered = [results[p.index] for p in points]
    table, threshold = result_table(ordered, threshold)
    write_table(out, table)
    write_histories(out, ordered)
    diverged = [r["config"] for r in table if r["diverged"]]
    best = min((r for r in table if not r["diverged"]), key=lambda r: r.get("train_loss", float("inf")),
               default=None)  # fmt: skip
    summary = {
        "out": str(out), "configurations": len(points), "groups": len(groups), "resumed": resumed,
        "threshold": threshold, "diverged": diverged, "best": best, "figures": [],
        "results": str(out / "results.csv"),
    }  # fmt: skip
    # The numbers first: a disk that fills while drawing the figures loses only figures.
    write_json(out / "summary.json", summary)
    summary["figures"] = save_figures(out, points, ordered, table, list(sweep.grid))
    write_json(out / "summary.json", summary)
    return SweepRun(out, points, ordered, table, summary)
