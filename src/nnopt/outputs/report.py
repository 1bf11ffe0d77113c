"""The lecture report: figures (PNG), one self-contained HTML page, and results.json.

Outputs layer: draws what :func:`nnopt.engine.lecture.run_lecture` computed. The page is a
companion to the lecture in its own language: each part opens with the lecture's Chinese
text and an English rendering (:mod:`nnopt.engine.passages`), and each check is a card with
its quote, the numbers, its pass rule, what the lecture's program prints, the measured
cause of a miss or slip (Chinese and English), the lecture's TF1 code, and the ``nnopt``
command and resolved config that reproduce it. ``lang`` is ``zh``, ``en`` or ``both``;
Chinese text is marked ``lang="zh"`` so browsers choose a CJK font. The HTML embeds every
figure (base64 PNG) and needs nothing else, so it opens offline and reads on a phone.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import tomli_w
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch

from nnopt.config import config_to_dict, resolve
from nnopt.engine.lecture import (
    EXERCISE_RATES,
    OPTIMIZERS_TRIED,
    Check,
    Experiment,
    check_commands,
    epoch_losses,
)
from nnopt.engine.passages import code as lecture_code
from nnopt.engine.passages import part_text, passage
from nnopt.errors import RunDirError
from nnopt.outputs.plots import BLUE, RED, draw_boundary
from nnopt.outputs.serialize import figure_png, jsonable, write_bytes, write_json

LANGS = ("zh", "en", "both")
QUALITATIVE = matplotlib.colormaps["tab10"]  # distinguishable colours, one per curve


def _fig(ncols=1, nrows=1, width=5.0, height=3.8, right=0.25) -> tuple[Figure, np.ndarray]:
    """A figure with fixed margins: a layout engine would measure every label again on each
    draw, which doubles the time the report spends drawing. ``right``: inches kept free on
    the right (for a legend beside the last axes)."""
    fig = Figure(figsize=(width * ncols, height * nrows))
    fig.subplots_adjust(
        left=0.75 / (width * ncols), right=1 - right / (width * ncols),
        bottom=0.55 / (height * nrows), top=1 - 0.4 / (height * nrows),
        wspace=0.32, hspace=0.38,
    )  # fmt: skip
    # Titles at a fixed height: placing them automatically measures every tick label again.
    with matplotlib.rc_context({"axes.titley": 1.0}):
        return fig, np.atleast_1d(fig.subplots(nrows, ncols)).ravel()


def _major_ticks_only(fig: Figure) -> None:
    """No minor ticks on log axes: locating and drawing them is most of such a figure's time."""
    from matplotlib.ticker import NullLocator

    for ax in fig.axes:
        if ax.get_xscale() == "log":
            ax.xaxis.set_minor_locator(NullLocator())
        if ax.get_yscale() == "log":
            ax.yaxis.set_minor_locator(NullLocator())


def _legend_beside(ax, **kw) -> None:
    """A legend outside the axes, on their right: it never covers the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)


# ------------------------------------------------------------------ figures


def fig_activations(exp: Experiment) -> Figure:
    fig, axes = _fig(3, width=3.6, height=3.0)
    z = exp.values["z"]
    for ax, (name, y) in zip(axes, exp.values["curves"].items()):
        ax.plot(z, y, color="C3")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set(title=f"{name}(z)", xlabel="z")
    return fig


YOGURT_NAMES = {
    "yogurt-mse": "MSE",
    "yogurt-cost1-profit9": "cost 1, profit 9",
    "yogurt-cost9-profit1": "cost 9, profit 1",
}


def fig_yogurt(exp: Experiment) -> Figure:
    fig, (ax_path, ax_fit) = _fig(2, right=2.2)
    for i, preset in enumerate(YOGURT_NAMES):
        r = exp.runs[preset]
        h = r.history
        w = r.params["w1"].ravel()
        ax_path.plot(h.column("w1[0,0]"), h.column("w1[1,0]"), color=f"C{i}", lw=1)
        ax_path.plot(*w, "o", color=f"C{i}")
        x, y = r.dataset.x_train, r.dataset.y_train[:, 0]
        ax_fit.scatter(
            y, x @ r.params["w1"][:, 0] - y, color=f"C{i}", s=12,
            label=f"{YOGURT_NAMES[preset]}\nw = ({w[0]:.3f}, {w[1]:.3f})",
        )  # fmt: skip
    ax_path.set(xlabel="w1", ylabel="w2", title="path of (w1, w2) from the lecture's start")
    ax_fit.axhline(0, color="0.5", lw=0.8)
    ax_fit.set(xlabel="true sales y_", ylabel="prediction - y_", title="over- and under-prediction")
    _legend_beside(ax_fit, fontsize=8)
    return fig


def fig_yogurt_band(exp: Experiment) -> Figure:
    """Each cost/profit fit's w over the log points, with the interval that rounds to the
    text's number shaded: where the text's numbers come out."""
    from nnopt.engine.lecture import COST_PROFIT, YOGURT_LECTURE

    fig, axes = _fig(2, 2, width=4.6, height=2.8, right=0.3)
    fig.subplots_adjust(hspace=0.6)
    for row, preset in enumerate(COST_PROFIT):
        h = exp.runs[preset].history
        steps = h.column("step")
        hits = set(exp.values["causes"][preset]["steps at the text's numbers"])
        for col, (name, lec) in enumerate(zip(("w1[0,0]", "w1[1,0]"), YOGURT_LECTURE[preset])):
            ax = axes[2 * row + col]
            w = h.column(name)
            ax.axhspan(lec - 0.005, lec + 0.005, color="C2", alpha=0.18, lw=0)
            ax.plot(steps[1:], w[1:], color="0.35", lw=0.8)
            inside = np.array([s in hits for s in steps])
            ax.plot(steps[inside], w[inside], "o", ms=3.5, color="C2")
            ax.plot(steps[-1], w[-1], "s", ms=5, color="C3")
            lo, hi = np.quantile(w[len(w) // 4 :], (0.0, 1.0))
            ax.set_ylim(min(lo, lec - 0.005) - 0.004, max(hi, lec + 0.005) + 0.004)
            short = "w1" if col == 0 else "w2"
            ax.set(
                xlabel="updates", ylabel=short,
                title=f"{YOGURT_NAMES[preset]}: {short} (text: {lec:.2f})",
            )  # fmt: skip
    fig.legend(
        handles=[
            Patch(color="C2", alpha=0.3, label="rounds to the text's number"),
            Line2D([], [], marker="o", ls="", color="C2", label="both weights round to the text's"),
            Line2D([], [], marker="s", ls="", color="C3", label="after the last update"),
        ],
        loc="lower center", ncols=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0),
    )  # fmt: skip
    fig.subplots_adjust(bottom=0.2)
    return fig


def fig_gradient_descent(exp: Experiment) -> Figure:
    fig, (ax_curve, ax_rates) = _fig(2, right=1.1)
    w = np.linspace(-8, 6, 300)
    ax_curve.plot(w, (w + 1) ** 2, color="0.5", lw=1)
    for i, rate in enumerate(("0.2", "1", "0.0001")):
        path = exp.runs[rate].history.column("w")[:12]
        ax_curve.plot(
            path, (path + 1) ** 2, "o-", ms=4, lw=0.8, color=f"C{i}", label=f"rate {rate}"
        )
    ax_curve.set(
        xlabel="w", ylabel="loss = (w+1)²", title="gradient descent from w = 5 (first 11 updates)"
    )
    ax_curve.legend(loc="upper center")
    styles = ("-", "--", "-.", ":")
    for i, (rate, path) in enumerate(exp.values["rates"].items()):
        # |w_k + 1| = 6·|1 - 2·rate|^k: a straight line on a log scale, one slope per rate.
        gap = np.abs(np.asarray(path, np.float64) + 1.0)
        gap[gap < 1e-9] = np.nan  # rate 0.5 lands on -1 exactly
        ax_rates.plot(
            gap, color=QUALITATIVE(i % 10), ls=styles[i % len(styles)], lw=1.4, marker=".",
            ms=3, label=f"{rate:g}",
        )  # fmt: skip
    ax_rates.set(
        yscale="log", ylim=(1e-7, 1e3), xlabel="update", ylabel="|w + 1| (distance to the minimum)",
        title="distance to w = -1 for each learning rate",
    )  # fmt: skip
    _legend_beside(ax_rates, fontsize=8, title="rate")
    return fig


def fig_exponential_decay(exp: Experiment) -> Figure:
    fig, axes = _fig(2)
    lr = exp.runs["decay"].history.per_step("lr")
    axes[0].step(np.arange(len(lr)), lr, where="post", label="0.1·0.99^step")
    axes[0].set(
        xlabel="update (global_step)", ylabel="learning rate", title="decay every step (staircase)"
    )
    axes[0].legend()
    lr_m = exp.values["modular_staircase"]  # the schedule function its training uses
    steps = np.arange(len(lr_m))
    axes[1].step(steps, lr_m, where="post", color="C1", label="0.001·0.999^⌊step/10⌋")
    axes[1].set(
        xlabel="update", ylabel="learning rate", title="modular pattern: a step every 10 updates"
    )
    axes[1].legend()
    return fig


def fig_ema(exp: Experiment) -> Figure:
    fig, (ax_script, ax_run) = _fig(2)
    for i, (decay, seq) in enumerate(exp.values["script"].items()):
        shadow = [s for _, _, s in seq]
        ax_script.plot(shadow, "o-", ms=3, color=f"C{i}", label=f"shadow, decay {decay}")
    ax_script.plot([w for _, w, _ in exp.values["script"][0.99]], "k--", lw=1, label="w1")
    ax_script.set(xlabel="ema_op run", ylabel="value", title="the lecture's demo: w1 = 1, then 10")
    ax_script.legend(loc="center right")
    if "ema-demo" in exp.runs:
        h = exp.runs["ema-demo"].history
        ax_run.plot(h.column("step"), h.column("w"), "o-", ms=3, label="w")
        ax_run.plot(
            h.column("step"), h.column("ema_w"), "o-", ms=3, label="shadow (0.99, num_updates)"
        )
        ax_run.set(xlabel="update", ylabel="value", title="gradient descent on (w+1)² with EMA")
        ax_run.legend()
    return fig


def _true_circle(ax) -> None:
    """The rule the labels come from, x0² + x1² = 2 (radius √2)."""
    ax.add_patch(Circle((0, 0), np.sqrt(2), fill=False, ls="--", lw=1.2, color="0.2"))


CIRCLE_LEGEND = [
    Line2D([], [], color="k", lw=1.2, label="model's 0.5 contour (the boundary)"),
    Line2D([], [], color="0.2", lw=1.2, ls="--", label="true circle x0² + x1² = 2"),
    Line2D([], [], marker="o", ls="", color=RED, label="y_ = 1 (red)"),
    Line2D([], [], marker="o", ls="", color=BLUE, label="y_ = 0 (blue)"),
]


def fig_circle(exp: Experiment) -> Figure:
    fig, axes = _fig(3, width=4.2, height=4.4)
    plain = exp.runs["circle"]
    x, y = plain.dataset.x_train, plain.dataset.y_train[:, 0]
    axes[0].scatter(x[:, 0], x[:, 1], c=np.where(y >= 0.5, RED, BLUE), s=8)
    axes[0].set(title="the data: red where x0² + x1² < 2", xlabel="x0", ylabel="x1")
    axes[0].set_aspect("equal", adjustable="box")
    draw_boundary(
        axes[1], plain.structure, plain.dataset, plain.params, "without regularization",
        grid_step=0.03,
    )  # fmt: skip
    l2 = exp.runs["circle-l2"]
    scale = l2.config.regularizer.scale
    draw_boundary(
        axes[2], l2.structure, l2.dataset, l2.params, f"with L2 ({scale:g})", grid_step=0.03
    )
    for ax in axes:
        _true_circle(ax)
    fig.legend(handles=CIRCLE_LEGEND, loc="lower center", ncols=4, fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.19)
    return fig


def fig_circle_loss(exp: Experiment) -> Figure:
    fig, axes = _fig(1, width=6.5, right=2.4)
    plain, l2 = exp.runs["circle"], exp.runs["circle-l2"]
    for i, (label, r, column) in enumerate(
        (("without L2: loss_mse", plain, "train_loss"), ("with L2: loss_total", l2, "train_total"))
    ):
        h = r.history
        axes[0].plot(h.column("step"), h.column(column), "o-", ms=3, color=f"C{i}", label=label)
    h = l2.history
    axes[0].plot(
        h.column("step"), h.column("train_loss"), ":", color="C1", label="with L2: loss_mse"
    )
    axes[0].set(
        xlabel="updates", ylabel="loss on all 300 points", yscale="log",
        title="what the programs print, every 2000 updates",
    )  # fmt: skip
    _legend_beside(axes[0], fontsize=8)
    return fig


def fig_circle_starts(exp: Experiment) -> Figure:
    """Accuracy on fresh points and Σw² from every start, without and with L2 (paired)."""
    study = exp.values["multi_start"]
    fig, axes = _fig(2, width=4.4, height=3.6)
    for ax, key, label in (
        (axes[0], "fresh", "accuracy on 3000 new points"),
        (axes[1], "norm", "Σw² after training"),
    ):
        a, b = np.asarray(study["plain"][key]), np.asarray(study["l2"][key])
        for lo, hi in zip(a, b):
            ax.plot([0, 1], [lo, hi], color="0.75", lw=0.8)
        ax.plot(np.zeros_like(a), a, "o", color="C0", ms=4)
        ax.plot(np.ones_like(b), b, "o", color="C1", ms=4)
        for pos, v, c in ((0, a, "C0"), (1, b, "C1")):
            ax.errorbar(
                pos + 0.12, v.mean(), yerr=v.std(ddof=1), fmt="_", ms=14, color=c, capsize=4
            )
        ax.set_xticks([0, 1], ["without L2", "with L2"])
        ax.set_xlim(-0.4, 1.5)
        ax.set(ylabel=label, title=f"{label}, {len(a)} starts (mean ± sd)")
    return fig


def fig_modular(exp: Experiment) -> Figure:
    r = exp.runs["circle-modular"]
    fig, axes = _fig(2, 2, width=4.6, height=4.0)
    h = r.history
    steps = h.column("step")
    axes[0].plot(steps, h.column("train_loss"), label="data loss (raw)")
    axes[0].plot(steps, h.column("train_reg"), "--", label="L2 term")
    axes[0].plot(steps, h.column("train_total"), label="total loss")
    axes[0].plot(steps, h.column("ema_train_loss"), ":", label="data loss (EMA weights)")
    axes[0].set(xlabel="updates", ylabel="loss", yscale="log", title="loss")
    axes[0].legend(fontsize=8, loc="upper right")
    lr = h.per_step("lr")
    axes[1].plot(np.arange(len(lr)), lr, color="C1")
    axes[1].set(
        xlabel="update", ylabel="learning rate", title="learning rate 0.001·0.999^⌊step/10⌋"
    )
    draw_boundary(axes[2], r.structure, r.dataset, r.params, "raw weights", grid_step=0.03)
    draw_boundary(
        axes[3], r.structure, r.dataset, r.ema_params, "EMA (shadow) weights", grid_step=0.03
    )
    for ax in axes[2:]:
        _true_circle(ax)
    return fig


def fig_optimizers(exp: Experiment) -> Figure:
    from nnopt.engine.lecture import rate_label

    fig, (ax_rates, ax_curves) = _fig(2, width=4.8, right=1.7)
    table, best, threshold = exp.values["table"], exp.values["best"], exp.values["threshold"]
    for i, name in enumerate(OPTIMIZERS_TRIED):
        rates = [r for r in EXERCISE_RATES if table[name][r] is not None]
        ax_rates.plot(rates, [table[name][r] for r in rates], "o-", ms=4, color=QUALITATIVE(i))
        rate = best[name][1]
        if rate is None:
            continue
        result = exp.runs[rate_label(name, rate)]
        epochs = epoch_losses(result)
        per = result.config.train.steps // len(epochs)
        shown = min(len(epochs), 3 * (best[name][0] or per) // per + 8)
        ax_curves.plot(
            np.arange(1, shown + 1) * per, epochs[:shown], color=QUALITATIVE(i),
            label=f"{name} ({rate:g})",
        )  # fmt: skip
    ax_rates.set(
        xscale="log", yscale="log", xlabel="learning rate",
        ylabel=f"updates until the loss stays < {threshold:g}",
        title="speed at each rate (missing: never)",
    )  # fmt: skip
    ax_curves.axhline(threshold, color="0.4", ls="--", lw=0.8)
    ax_curves.axhline(exp.values["floor"], color="0.7", ls=":", lw=0.8)
    ax_curves.set(
        yscale="log", xlabel="updates", ylabel="mean batch loss of each pass",
        title="each at its best rate",
    )  # fmt: skip
    _legend_beside(ax_curves, fontsize=8)
    return fig


LANDSCAPE_TITLES = {
    "yogurt-mse": "MSE",
    "yogurt-cost1-profit9": "cost 1, profit 9 (Σ)",
    "yogurt-cost9-profit1": "cost 9, profit 1 (Σ)",
}


def fig_landscape(exp: Experiment) -> Figure:
    v = exp.values
    fig, axes = _fig(3, width=4.3, height=4.0, right=1.5)
    xx, yy = np.meshgrid(v["w1"], v["w2"])
    for ax, preset in zip(axes, LANDSCAPE_TITLES):
        z = np.log10(np.maximum(v["surfaces"][preset], 1e-12))
        levels = np.linspace(z.min(), np.quantile(z, 0.98), 16)
        ax.contourf(xx, yy, z, levels=levels, cmap="Blues_r", alpha=0.6, extend="max")
        ax.contour(
            xx, yy, z, levels=levels, colors="0.45", linewidths=0.35, negative_linestyles="solid"
        )
        for i, (name, path) in enumerate(v["paths"][preset].items()):
            ax.plot(path[:, 0], path[:, 1], ".-", ms=2.5, lw=1.1, color=QUALITATIVE(i), label=name)
            ax.plot(*path[-1], "o", ms=4, color=QUALITATIVE(i))
        ax.plot(
            *next(iter(v["paths"][preset].values()))[0], "k^", ms=6, label="the lecture's start"
        )
        ax.plot(*v["lecture_w"][preset], "k*", ms=8, label="the text's final w")
        ax.set(xlabel="w1", ylabel="w2", title=f"{LANDSCAPE_TITLES[preset]}: log10 loss")
        ax.set_xlim(v["w1"][0], v["w1"][-1])
        ax.set_ylim(v["w2"][0], v["w2"][-1])
    _legend_beside(axes[-1], fontsize=8)
    return fig


FIGURES = {  # stem -> (part, maker)
    "activations": ("activations", fig_activations),
    "yogurt": ("yogurt", fig_yogurt),
    "yogurt-band": ("yogurt", fig_yogurt_band),
    "gradient-descent": ("gradient-descent", fig_gradient_descent),
    "exponential-decay": ("exponential-decay", fig_exponential_decay),
    "ema": ("ema", fig_ema),
    "ema-decay": ("ema-decay", fig_ema),
    "circle": ("regularization", fig_circle),
    "circle-loss": ("regularization", fig_circle_loss),
    "circle-starts": ("regularization", fig_circle_starts),
    "modular": ("modular", fig_modular),
    "optimizers": ("optimizers", fig_optimizers),
    "landscape": ("landscape", fig_landscape),
}

FIGURE_CAPTIONS = {
    "gradient-descent": {
        "zh": "右图：到最小点的距离 |w + 1| = 6·|1 - 2·学习率|^k（对数刻度）。学习率 0.5 一步就到 -1；0.1 和 0.9 的 |1 - 2·学习率| 都是 0.8，距离相同，0.9 时 w 在 -1 的两侧来回跳。",
        "en": "Right: the distance to the minimum |w + 1| = 6·|1 - 2·rate|^k (log scale). Rate 0.5 reaches -1 in one update; 0.1 and 0.9 share |1 - 2·rate| = 0.8, the same distance, with 0.9 jumping from side to side of -1.",
    },
    "yogurt-band": {
        "zh": "两种自定义损失下 w 在每 500 步记录点的值：绿色带是四舍五入后等于课文数字的区间，绿点是两个权重都等于课文数字的记录点，红方块是最后一次更新之后。",
        "en": "w of each cost/profit fit at the log points (every 500 updates): the green band rounds to the text's number, green dots are log points where both weights round to the text's, the red square is after the last update.",
    },
    "circle": {
        "zh": "实线是模型的 0.5 等高线（红蓝分界），虚线是真实的圆 x0² + x1² = 2。",
        "en": "Solid: the model's 0.5 contour (the red/blue boundary); dashed: the true circle x0² + x1² = 2.",
    },
    "circle-starts": {
        "zh": "同一起点的两次训练（无/有 L2）用灰线相连。",
        "en": "The two trainings from one start (without and with L2) are joined by a grey line.",
    },
    "landscape": {
        "zh": "背景是全部 32 行数据上的损失（对数刻度）；每条彩色线是一种优化器在课文学习率 0.001 下每 500 步的路径，三角形是课文的起点，星号是课文给出的最终 w。",
        "en": "Background: the loss over all 32 rows (log scale); each coloured line is one optimizer's path at the lecture's rate 0.001, a point every 500 updates; the triangle is the lecture's start, the star the text's final w.",
    },
}


def figures(experiments: list[Experiment]) -> dict[str, tuple[str, Figure]]:
    """Figure stem -> (part name, figure), for the parts that ran."""
    names = {e.name for e in experiments}
    return {
        stem: (part, make(e))
        for e in experiments
        for stem, (part, make) in FIGURES.items()
        if part == e.name and not (stem == "ema-decay" and "ema" in names)
    }


def png_bytes(fig: Figure, dpi: int = 96) -> bytes:
    _major_ticks_only(fig)
    return figure_png(fig, dpi)


# ------------------------------------------------------------------ values


def _run_label_config(exp: Experiment, label: str) -> str:
    """The resolved config of one of the part's runs, as TOML (re-runnable with nnopt run)."""
    return tomli_w.dumps(config_to_dict(resolve(exp.runs[label].config)))


def check_record(e: Experiment, c: Check) -> dict:
    """A check as results.json keeps it: its fields, where it is, and how to reproduce it."""
    quote = passage(c.passage) if c.passage else None
    source = lecture_code(c.code) if c.code else None
    return jsonable(c.as_dict()) | {
        "part": e.name,
        "section": e.section,
        "quote": {"zh": quote.zh, "en": quote.en} if quote else None,
        "code_source": source.source if source else None,
        "commands": check_commands(e.name, c),
    }


def results(experiments: list[Experiment]) -> dict:
    """The report as JSON: every check (with its kind, verdict and pass rule) and a summary that
    keeps the three kinds apart: reproduced claims, claims not reproduced, answered exercises."""
    checks = [check_record(e, c) for e in experiments for c in e.checks]
    claims = [c for c in checks if c["kind"] == "claim"]
    exercises = [c for c in checks if c["kind"] == "exercise"]
    return {
        "checks": checks,
        "summary": {
            "checks": len(checks),
            "claims": len(claims),
            "reproduced": sum(c["ok"] for c in claims),
            "not_reproduced": [c["name"] for c in claims if not c["ok"]],
            "exercises": len(exercises),
            "answered": [c["name"] for c in exercises if c["ok"]],
            "not_answered": [c["name"] for c in exercises if not c["ok"]],
            "slips": [c["name"] for c in checks if c["slip"]],
        },
        "parts": [e.name for e in experiments],
        "conventions": {
            e.name: e.values["conventions"] for e in experiments if "conventions" in e.values
        },
    }


# ------------------------------------------------------------------ HTML

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0 auto;
max-width:1160px;padding:12px;line-height:1.5;color:#222}
:lang(zh){font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC",
"Microsoft YaHei",system-ui,sans-serif}
h1{font-size:1.45em}h2{font-size:1.2em;border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2.2em}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:14px}.pair.one{grid-template-columns:1fr}
@media (max-width:760px){.pair{grid-template-columns:1fr}}
blockquote{margin:6px 0;padding:6px 12px;border-left:4px solid #c9a227;background:#fbf7ea}
blockquote.en{border-left-color:#9bb3c9;background:#f3f6f9;color:#333}
.check{border:1px solid #ddd;border-radius:8px;padding:8px 12px;margin:14px 0}
.check.ok{border-left:6px solid #17752a}.check.miss{border-left:6px solid #b3261e}
.check.exercise{border-left:6px solid #5a4bb5}
.check header{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}
.badge{font-size:.85em;font-weight:600;padding:1px 7px;border-radius:10px;background:#eee}
.badge.ok{background:#e3f3e6;color:#17752a}.badge.miss{background:#fbe6e4;color:#b3261e}
.badge.exercise{background:#ebe8f8;color:#5a4bb5}.badge.slip{background:#fff1d6;color:#8a5a00}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9em;width:100%}
td,th{border:1px solid #e2e2e2;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f6f6f6;width:9em;font-weight:600}.note p,.slip p{margin:4px 0}
.note{color:#333}.slip{background:#fff8e8;border:1px solid #f0d9a8;border-radius:6px;padding:4px 10px;margin:6px 0}
pre{background:#f5f5f5;padding:6px 8px;overflow-x:auto;font-size:.85em;margin:4px 0}
code{background:#f2f2f2;padding:0 3px}summary{cursor:pointer;color:#2b5c8a}
details{margin:4px 0}img{max-width:100%;height:auto;display:block;margin:10px 0}
figure{margin:10px 0}figcaption{font-size:.88em;color:#555}
.summary{background:#f7f7f7;padding:8px 14px;border-radius:6px}.summary li{margin:3px 0}
.conventions{background:#eef4fb;border-radius:6px;padding:4px 12px;margin:8px 0}
nav a{margin-right:.8em;white-space:nowrap}
"""

LABELS = {  # key -> (zh, en)
    "reproduced": ("已复现", "reproduced"),
    "not reproduced": ("未复现", "not reproduced"),
    "answered": ("已解答", "answered"),
    "not answered": ("未解答", "not answered"),
    "claim": ("课文的结论", "claim of the lecture"),
    "exercise": ("练习", "exercise"),
    "slip": ("课文的失误", "slip in the text"),
    "lecture": ("课文", "the lecture"),
    "nnopt": ("nnopt", "nnopt"),
    "rule": ("判定规则", "pass rule"),
    "tolerance": ("容差", "tolerance"),
    "printed": ("课文的程序打印", "the lecture's program prints"),
    "code": ("课文的 TF1 代码", "the lecture's TF1 code"),
    "reproduce": (
        "用 nnopt 重现（命令与完整配置）",
        "reproduce with nnopt (command and resolved config)",
    ),
    "config": ("完整配置", "resolved config"),
    "conventions": ("TF1 的约定", "TF1 conventions"),
    "contents": ("目录", "contents"),
    "readings": ("交叉熵的三种读法", "three readings of the cross-entropy example"),
}
CODE_SOURCES = {  # passages.toml's source -> (zh, en)
    "lecture": ("课文的程序", "the lecture's program"),
    "lecture text": ("课文正文中的代码", "code from the lecture's text"),
    "lecture, changed as the exercise asks": (
        "课文的程序，按练习修改",
        "the lecture's program, changed as the exercise asks",
    ),
    "tf1 equivalent": (
        "课文没有给出代码：这是等价的 TF1 写法",
        "the notes give no code: a TF1 equivalent",
    ),
}


class Page:
    """Writes the page's pieces in one language setting: ``zh``, ``en`` or ``both``."""

    def __init__(self, lang: str = "both"):
        if lang not in LANGS:
            raise ValueError(f"lang {lang!r}: choose zh, en or both")
        self.lang = lang

    @property
    def zh(self) -> bool:
        return self.lang in ("zh", "both")

    @property
    def en(self) -> bool:
        return self.lang in ("en", "both")

    def label(self, key: str) -> str:
        zh, en = LABELS[key]
        return self.inline({"zh": zh, "en": en})

    def inline(self, text: dict, sep: str = " · ") -> str:
        """A short text in the chosen languages, on one line (once when both read the same)."""
        if text.get("zh") == text.get("en"):
            return html.escape(text.get("en", ""))
        parts = []
        if self.zh and text.get("zh"):
            parts.append(f'<span lang="zh">{html.escape(text["zh"])}</span>')
        if self.en and text.get("en"):
            parts.append(f'<span lang="en">{html.escape(text["en"])}</span>')
        return sep.join(parts)

    def paragraphs(self, text: dict, cls: str) -> str:
        """A longer text in the chosen languages, side by side when both."""
        if not text:
            return ""
        cells = []
        if self.zh and text.get("zh"):
            cells.append(f'<p lang="zh">{html.escape(text["zh"])}</p>')
        if self.en and text.get("en"):
            cells.append(f'<p lang="en">{html.escape(text["en"])}</p>')
        one = " one" if len(cells) < 2 else ""
        return f'<div class="{cls} pair{one}">{"".join(cells)}</div>'

    def quote(self, pid: str) -> str:
        """The lecture's words (always Chinese, verbatim) with the English rendering (en, both)."""
        p = passage(pid)
        cells = [
            f'<blockquote lang="zh" class="zh" data-passage="{html.escape(pid)}">{html.escape(p.zh)}</blockquote>'
        ]
        if self.en:
            cells.append(f'<blockquote lang="en" class="en">{html.escape(p.en)}</blockquote>')
        one = " one" if len(cells) < 2 else ""
        return f'<div class="quote pair{one}">{"".join(cells)}</div>'


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(jsonable(value), ensure_ascii=False)
    return html.escape(text)


def _check_card(page: Page, e: Experiment, c: Check) -> str:
    kind = "exercise" if c.kind == "exercise" else ("ok" if c.ok else "miss")
    verdict = page.label(c.verdict)
    badges = [
        f'<span class="badge {kind}">{verdict}</span>',
        f'<span class="badge">{page.label(c.kind)}</span>',
    ]
    if c.slip:
        badges.append(f'<span class="badge slip">{page.label("slip")}</span>')
    rows = [
        (page.label("lecture"), _cell(c.lecture)),
        (page.label("nnopt"), _cell(c.nnopt)),
        (page.label("rule"), f'<span lang="en">{html.escape(c.rule)}</span>'),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    body = [
        f'<article class="check {kind}" id="{html.escape(c.name)}" data-kind="{c.kind}" data-verdict="{c.verdict}">',
        f"<header><code>{html.escape(c.name)}</code> {' '.join(badges)}</header>",
        page.quote(c.passage) if c.passage else "",
        f'<p class="claim">{page.inline(c.claim)}</p>',
        f'<div class="scroll"><table class="values">{table}</table></div>',
    ]
    if c.printed:
        lines = html.escape("\n".join(c.printed))
        body.append(f'<div class="printed">{page.label("printed")}:<pre>{lines}</pre></div>')
    body.append(page.paragraphs(c.note, "note"))
    if c.slip:
        body.append(
            f'<div class="slip"><b>{page.label("slip")}</b>{page.paragraphs(c.slip, "slip-text")}</div>'
        )
    if c.code:
        source = lecture_code(c.code)
        zh, en = CODE_SOURCES[source.source]
        body.append(
            f'<details class="code"><summary>{page.label("code")} ({page.inline({"zh": zh, "en": en})})'
            f'</summary><pre><code class="language-python">{html.escape(source.text)}</code></pre></details>'
        )
    commands = check_commands(e.name, c)
    configs = "".join(
        f"<details><summary>{page.label('config')}: <code>{html.escape(label)}</code></summary>"
        f"<pre>{html.escape(_run_label_config(e, label))}</pre></details>"
        for label in c.runs
        if label in e.runs
    )
    body.append(
        f'<details class="reproduce"><summary>{page.label("reproduce")}</summary>'
        f'<pre class="command">{html.escape(chr(10).join(commands))}</pre>{configs}</details>'
    )
    body.append("</article>")
    return "\n".join(b for b in body if b)


def _readings_table(page: Page, e: Experiment) -> str:
    readings = e.values.get("readings")
    if not readings:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{h1:.4f}</td><td>{h2:.4f}</td></tr>"
        for name, (h1, h2) in readings.items()
    )
    return (
        f'<h3 id="{e.name}-readings">{page.label("readings")}</h3><div class="scroll"><table>'
        "<tr><th>reading</th><th>H1 (0.6, 0.4)</th><th>H2 (0.8, 0.2)</th></tr>"
        f"{rows}</table></div>"
    )


def _section_name(section: str) -> dict:
    if section == "exercise":
        return {"zh": "练习", "en": "exercise"}
    if section == "beyond":
        return {"zh": "课外", "en": "beyond the lecture"}
    return {"zh": f"§{section}", "en": f"§{section}"}


def _part_html(page: Page, e: Experiment, images: dict[str, tuple[str, bytes]]) -> str:
    text = part_text(e.name)
    title = page.inline({"zh": text.title_zh, "en": text.title_en}, sep=" / ")
    body = [
        f'<section class="part" id="{html.escape(e.name)}">',
        f"<h2>{page.inline(_section_name(e.section), sep=' ')} {title}</h2>",
        page.quote(text.intro),
    ]
    for convention in e.values.get("conventions", []):
        body.append(
            f'<div class="conventions"><b>{page.label("conventions")}</b>'
            f"{page.paragraphs(convention, 'convention')}</div>"
        )
    body += [_check_card(page, e, c) for c in e.checks]
    body.append(_readings_table(page, e))
    for stem, (part, png) in images.items():
        if part == e.name:
            data = base64.b64encode(png).decode()
            caption = FIGURE_CAPTIONS.get(stem)
            cap = f"<figcaption>{page.inline(caption, sep=' / ')}</figcaption>" if caption else ""
            body.append(
                f'<figure id="figure-{html.escape(stem)}"><img alt="{html.escape(stem)}" '
                f'src="data:image/png;base64,{data}">{cap}</figure>'
            )
    body.append("</section>")
    return "\n".join(b for b in body if b)


def _links(names: list[str]) -> str:
    return (
        ", ".join(f'<a href="#{html.escape(n)}"><code>{html.escape(n)}</code></a>' for n in names)
        or "—"
    )


def render_html(
    experiments: list[Experiment],
    images: dict[str, tuple[str, bytes]],
    timing: dict,
    lang: str = "both",
) -> str:
    """The whole report as one HTML page with the figures embedded."""
    page = Page(lang)
    summary = results(experiments)["summary"]
    claims = [c for e in experiments for c in e.checks if c.kind == "claim"]
    reproduced = [c.name for c in claims if c.ok]
    nav = " ".join(
        f'<a href="#{html.escape(e.name)}">{page.inline(_section_name(e.section), sep=" ")} '
        f"{html.escape(part_text(e.name).title(page.lang if page.lang != 'both' else 'zh'))}</a>"
        for e in experiments
    )
    timing_text = ", ".join(f"{k} {v:.1f} s" for k, v in timing.items())
    summary_items = [
        (
            {"zh": f"课文的结论：{summary['claims']} 条中 {summary['reproduced']} 条按课文打印的精度复现",
             "en": f"claims of the lecture: {summary['reproduced']} of {summary['claims']} reproduced at the lecture's printed precision"},
            _links(reproduced),
        ),
        (
            {"zh": "未复现的结论（原因写在每条旁边，都是运行时测得的）",
             "en": "claims not reproduced (each with its cause beside it, measured as the lecture ran)"},
            _links(summary["not_reproduced"]),
        ),
        (
            {"zh": f"已解答的练习（{len(summary['answered'])} / {summary['exercises']}）",
             "en": f"exercises answered ({len(summary['answered'])} of {summary['exercises']})"},
            _links(summary["answered"] + summary["not_answered"]),
        ),
        ({"zh": "课文中的失误（引用原文并标出）", "en": "slips in the text (quoted and flagged)"}, _links(summary["slips"])),
    ]  # fmt: skip
    items = "".join(f"<li>{page.inline(t)}: {links}</li>" for t, links in summary_items)
    intro = {
        "zh": "每条检查给出课文原文、nnopt 的数字、判定规则（容差为课文最后一位的半个单位）、课文程序打印的内容、课文的 TF1 代码，"
        "以及重现它的 nnopt 命令和完整配置。每个实验都通过 nnopt run 的预设运行（nnopt presets 列出它们）；没有为了凑数字调整任何预设。",
        "en": "Each check gives the lecture's words, nnopt's numbers, its pass rule (tolerance: half a unit of "
        "the last digit the lecture prints), what the lecture's program prints, its TF1 code, and the "
        "nnopt command and resolved config that reproduce it. Every experiment ran through the presets of "
        "nnopt run (nnopt presets lists them); no preset is tuned to make a number come out.",
    }
    html_lang = "zh-Hans" if lang == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nnopt: 神经网络优化 (neural-network optimization), reproduced</title><style>{CSS}</style></head>
<body>
<h1><span lang="zh">神经网络优化</span>{" (neural-network optimization)" if page.en else ""}{page.inline({"zh": "：nnopt 逐条重现", "en": ", reproduced by nnopt"}, sep="")}</h1>
<div class="summary"><ul>{items}</ul>
{page.paragraphs(intro, "intro")}
<p>{html.escape(timing_text)}</p></div>
<nav><b>{page.label("contents")}:</b> {nav}</nav>
{"".join(_part_html(page, e, images) for e in experiments)}
</body></html>
"""


def check_writable(out: Path) -> None:
    """Creates the report folder if needed and proves it writable, before anything trains."""
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
        # A new file of a random name (O_EXCL): never one planted there, never a link followed.
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise RunDirError(f"cannot write the report to {out}: {exc.strerror or exc}") from None


def write_report(
    out: Path,
    experiments: list[Experiment],
    timing: dict,
    images: dict | None = None,
    lang: str = "both",
) -> dict[str, Path]:
    """Writes figures/*.png, report.html and results.json into ``out``; touches nothing else.

    ``images`` (stem -> (part, PNG)) may come drawn already; ``lang``: zh, en or both.
    """
    check_writable(out)
    if images is None:
        images = {
            stem: (part, png_bytes(fig)) for stem, (part, fig) in figures(experiments).items()
        }
    images = {stem: images[stem] for stem in FIGURES if stem in images}  # the lecture's order
    paths = {}
    for stem, (_, png) in images.items():
        paths[stem] = out / "figures" / f"{stem}.png"
        write_bytes(paths[stem], png)
    page = render_html(experiments, images, timing, lang)
    write_bytes(out / "report.html", page.encode("utf-8"))
    write_json(out / "results.json", results(experiments) | {"timing_seconds": timing})
    paths["report.html"], paths["results.json"] = out / "report.html", out / "results.json"
    return paths


def add_timing(path: Path, timing: dict) -> None:
    """Records the command's timing in a written ``results.json``."""
    payload = json.loads(path.read_text("utf-8"))
    payload["timing_seconds"] = timing
    write_json(path, payload)
