"""Figures of a training run (matplotlib). Each ``figure_*`` returns a Figure, so a
notebook shows it inline; :func:`save_run_figures` writes the PNGs of a run folder.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure  # a bare Figure draws with Agg, whatever pyplot's backend

from nnopt.core.data import Dataset
from nnopt.engine.evaluate import predict
from nnopt.engine.structure import Structure
from nnopt.engine.training import TrainResult
from nnopt.outputs.serialize import write_figure

RED, BLUE = "#d62728", "#1f77b4"


def _figure(width=6.4, height=4.2, ncols=1) -> tuple[Figure, np.ndarray]:
    """A figure with fixed margins (in inches): a layout engine would measure every label
    again on each draw, a third of a run's drawing time."""
    fig = Figure(figsize=(width * ncols, height))
    fig.subplots_adjust(
        left=0.8 / (width * ncols), right=1 - 0.2 / (width * ncols),
        bottom=0.55 / height, top=1 - 0.4 / height, wspace=0.35,
    )  # fmt: skip
    axes = np.atleast_1d(fig.subplots(1, ncols))
    return fig, axes


def figure_losses(result: TrainResult) -> Figure:
    """Full-data loss over steps: data loss, regularization and total apart; test and EMA too."""
    h = result.history
    steps = h.column("step")
    fig, (ax,) = _figure()
    ax.plot(steps, h.column("train_loss"), label="data loss (train)", color="C0")
    if result.config.regularizer.name != "none":
        ax.plot(steps, h.column("train_reg"), label="regularization", color="C2", ls="--")
        ax.plot(steps, h.column("train_total"), label="total loss", color="C3")
    if result.structure.n_test:
        ax.plot(steps, h.column("test_loss"), label="data loss (test)", color="C1")
    if result.config.ema.enabled:
        ax.plot(
            steps, h.column("ema_train_loss"), label="data loss, EMA weights", color="C4", ls=":"
        )
    values = np.concatenate([h.column("train_loss"), h.column("train_total")])
    if np.all(values[np.isfinite(values)] > 0):
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title=f"{result.config.name}: loss")
    ax.legend()
    plain_log_ticks(fig)
    return fig


def figure_learning_rate(result: TrainResult) -> Figure:
    """The learning rate each update used."""
    lr = result.history.per_step("lr")
    fig, (ax,) = _figure()
    ax.step(np.arange(len(lr)), lr, where="post", color="C0")
    ax.set(
        xlabel="update (global_step)",
        ylabel="learning rate",
        title=f"{result.config.name}: learning rate",
    )
    return fig


def figure_parameters(result: TrainResult) -> Figure:
    """A small model's parameters over the log points (raw solid, EMA dotted)."""
    h = result.history
    steps = h.column("step")
    names = [k for k in h.rows[0] if k.startswith(("w", "b")) and not k.startswith("batch")]
    fig, (ax,) = _figure()
    for i, name in enumerate(names):
        ax.plot(
            steps,
            h.column(name),
            color=f"C{i}",
            marker="." if len(steps) <= 60 else None,
            label=name,
        )
        if f"ema_{name}" in h.rows[-1]:
            ax.plot(
                steps, h.column(f"ema_{name}"), color=f"C{i}", ls=":", label=f"{name} (EMA shadow)"
            )
    ax.set(xlabel="step", ylabel="value", title=f"{result.config.name}: parameters")
    ax.legend()
    return fig


def boundary_grid(x: np.ndarray, step: float = 0.01, margin: float = 0.5):
    """The lecture's ``np.mgrid`` over the data's range with the given step, as (xx, yy, points)."""
    lo, hi = x.min(0) - margin, x.max(0) + margin
    span = float(max(hi - lo))
    step = max(step, span / 600)  # at most about 600 x 600 points
    xx, yy = np.mgrid[lo[0] : hi[0] : step, lo[1] : hi[1] : step]
    return xx, yy, np.c_[xx.ravel(), yy.ravel()].astype(np.float32)


def plain_log_ticks(fig: Figure) -> None:
    """Log axes labelled 0.01, 0.1, 1 in plain text, without minor labels: the mathtext
    labels matplotlib uses by default cost most of a figure's drawing time."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                axis.set_minor_formatter(NullFormatter())


def draw_boundary(
    ax, structure: Structure, dataset: Dataset, params: dict, title: str, grid_step: float = 0.01
) -> None:
    """Scatter of the training points and the model's 0.5 contour (class regions if many)."""
    x, y = dataset.x_train, dataset.y_train[:, 0]
    xx, yy, grid = boundary_grid(x, grid_step)
    out = predict(structure, params, grid)
    if out.shape[1] == 1:
        probs = out[:, 0].reshape(xx.shape)
        ax.contourf(xx, yy, probs, levels=[-1e9, 0.5, 1e9], colors=[BLUE, RED], alpha=0.12)
        ax.contour(xx, yy, probs, levels=[0.5], colors="k", linewidths=1.2)
        colors = np.where(y >= 0.5, RED, BLUE)
    else:
        regions = out.argmax(1).reshape(xx.shape)
        # One listed colour per class (not a colormap stretched over the levels), so each
        # region has the colour of its class's points.
        palette = matplotlib.colormaps["tab10"]
        region_colors = [palette(k % 10) for k in range(out.shape[1])]
        levels = np.arange(out.shape[1] + 1) - 0.5
        ax.contourf(xx, yy, regions, levels=levels, colors=region_colors, alpha=0.22)
        colors = palette(y.astype(int) % 10)
    ax.scatter(x[:, 0], x[:, 1], c=colors, s=9, edgecolors="none")
    ax.set(title=title, xlabel="x0", ylabel="x1")
    ax.set_aspect("equal", adjustable="box")


def figure_boundary(result: TrainResult) -> Figure:
    """The data with the 0.5 decision line, as in the lecture; raw and EMA side by side when EMA is on."""
    panels = [("raw weights", result.params)]
    if result.ema_params is not None:
        panels.append(("EMA (shadow) weights", result.ema_params))
    fig, axes = _figure(5.0, 5.0, len(panels))
    for ax, (label, params) in zip(axes, panels):
        draw_boundary(
            ax, result.structure, result.dataset, params, f"{result.config.name}: {label}"
        )
    return fig


def run_figures(result: TrainResult) -> dict[str, Figure]:
    """File stem -> figure, for every figure that applies to this run."""
    figs = {"loss": figure_losses(result), "learning_rate": figure_learning_rate(result)}
    if result.structure.n_params <= 8:
        figs["parameters"] = figure_parameters(result)
    if (
        result.structure.model == "mlp"
        and result.dataset.n_features == 2
        and result.structure.classifies
    ):
        figs["boundary"] = figure_boundary(result)
    return figs


def save_run_figures(result: TrainResult, run_dir: Path) -> list[Path]:
    """Writes the run's figures as PNG files; returns their paths."""
    paths = []
    for stem, fig in run_figures(result).items():
        path = Path(run_dir) / f"{stem}.png"
        write_figure(path, fig, dpi=110)
        paths.append(path)
    return paths
