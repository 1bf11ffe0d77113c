"""What a sweep leaves on disk: per-configuration results (for resuming), the results table
(CSV and Parquet), the histories, and the figures (race, heatmap, boundaries, seeds)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nnopt.errors import RunDirError
from nnopt.outputs.plots import plain_log_ticks
from nnopt.outputs.run_dir import write_text
from nnopt.engine.sweep.run import Point, PointResult, point_key

HISTORY_COLUMNS = (
    "step", "lr", "batch_loss", "train_loss", "train_reg", "train_total", "train_accuracy",
    "test_loss", "test_accuracy", "ema_train_loss", "ema_train_accuracy", "ema_test_loss",
    "ema_test_accuracy",
)  # fmt: skip


# ------------------------------------------------------------------ per point (resume)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None  # JSON has no NaN; a diverged run's metrics read back as NaN
    return value


def save_point(out: Path, point: Point, result: PointResult) -> None:
    """``points/<config hash>.json``: everything the sweep keeps of one configuration."""
    payload = {
        "index": result.index, "settings": result.settings, "diverged_at": result.diverged_at,
        "rows": [{k: _plain(v) for k, v in row.items()} for row in result.rows],
        "params": _plain(result.params),
        "ema_params": _plain(result.ema_params) if result.ema_params is not None else None,
    }  # fmt: skip
    write_text(out / "points" / f"{point_key(point)}.json", json.dumps(payload))


def load_point(out: Path, point: Point) -> PointResult | None:
    """The saved result of a configuration, or None if it has not finished (or is unreadable)."""
    path = out / "points" / f"{point_key(point)}.json"
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    rows = [{k: (np.nan if v is None else v) for k, v in row.items()} for row in raw["rows"]]
    params = {k: np.asarray(v, np.float32) for k, v in raw["params"].items()}
    ema = raw["ema_params"]
    ema = {k: np.asarray(v, np.float32) for k, v in ema.items()} if ema is not None else None
    return PointResult(point.index, point.settings, rows, raw["diverged_at"], params, ema)


# ------------------------------------------------------------------ tables


def table_csv(table: list[dict]) -> str:
    columns: list[str] = []
    for row in table:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


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
    try:
        pq.write_table(pa.table(columns), out / "results.parquet")
    except OSError as exc:
        raise RunDirError(f"cannot write {out / 'results.parquet'}: {exc}") from None


def write_histories(out: Path, results: list[PointResult]) -> None:
    """histories.csv: one row per configuration and log point."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("config", *HISTORY_COLUMNS))
    for r in sorted(results, key=lambda r: r.index):
        for row in r.rows:
            writer.writerow((r.index, *(_cell(row.get(c)) for c in HISTORY_COLUMNS)))
    write_text(out / "histories.csv", buf.getvalue())


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


def figure_race(results: list[PointResult], metric: str = "train_loss") -> Figure:
    """Every setting's loss over the steps on one plot (mean over seeds, band = min..max)."""
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


def figure_heatmap(
    table: list[dict], x_field: str, y_field: str, metric: str = "train_loss"
) -> Figure:
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


def figure_seeds(table: list[dict], metric: str = "train_loss") -> Figure:
    """Final ``metric`` per setting: the mean over seeds with a min..max bar, and each seed."""
    groups: dict[str, list[float]] = {}
    for r in table:
        label = _label({k: v for k, v in r.items() if k not in _NOT_SETTINGS})
        v = r.get(metric)
        groups.setdefault(label, []).append(np.nan if v is None or r["diverged"] else v)
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


def figure_boundaries(points: list[Point], results: list[PointResult], limit: int = 16) -> Figure:
    """Small multiples of decision boundaries (2-D classification data), first seed of each setting."""
    from nnopt.outputs.plots import draw_boundary
    from nnopt.engine.training import Training

    firsts = [group[0] for group in _by_setting(results).values()][:limit]
    by_index = {p.index: p for p in points}
    cols = min(4, len(firsts))
    rows = -(-len(firsts) // cols)
    # Fixed margins: a layout engine would measure the labels of every panel again.
    width, height = 3.3 * cols, 3.3 * rows
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.45 / width, right=1 - 0.15 / width, bottom=0.35 / height,
                        top=1 - 0.3 / height, wspace=0.3, hspace=0.3)  # fmt: skip
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, r in zip(axes, firsts):
        training = Training(by_index[r.index].config)
        shell = _Shell(training)
        draw_boundary(ax, shell, r.params, textwrap.fill(_label(r.settings), 36), grid_step=0.03)
        ax.set(xlabel="", ylabel="")
        ax.title.set_fontsize(8)
    for ax in axes[len(firsts) :]:
        ax.set_visible(False)
    return fig


class _Shell:
    """What nnopt.plots.draw_boundary reads of a result: its structure and dataset."""

    def __init__(self, training):
        self.structure = training.structure
        self.dataset = training.dataset


def save_figures(out: Path, points: list[Point], results: list[PointResult], table: list[dict],
                 grid_fields: list[str]) -> list[str]:  # fmt: skip
    """Writes the figures that apply to this sweep; returns their file names."""
    figs: dict[str, Figure] = {"race": figure_race(results)}
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
    names = []
    for stem, fig in figs.items():
        plain_log_ticks(fig)
        path = out / f"{stem}.png"
        try:
            fig.savefig(path, dpi=100)
        except OSError as exc:
            raise RunDirError(f"cannot write {path}: {exc.strerror}") from None
        names.append(path.name)
    return names
