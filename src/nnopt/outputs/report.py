"""The lecture report: figures (PNG), one self-contained HTML page, and results.json.

Outputs layer: draws what :func:`nnopt.lecture.run_lecture` computed. The HTML
embeds every figure (base64 PNG) and needs nothing else, so it opens offline and
reads on a phone.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from nnopt.config.presets import load_config
from nnopt.core.schedules import exponential_decay, schedule_numbers
from nnopt.engine.lecture import RATES_TRIED, Check, Experiment
from nnopt.errors import RunDirError
from nnopt.outputs.plots import draw_boundary
from nnopt.outputs.serialize import figure_png, jsonable, write_bytes, write_json


def _fig(ncols=1, nrows=1, width=5.0, height=3.8) -> tuple[Figure, np.ndarray]:
    """A figure with fixed margins: a layout engine would measure every label again on each
    draw, which doubles the time the report spends drawing."""
    fig = Figure(figsize=(width * ncols, height * nrows))
    fig.subplots_adjust(
        left=0.75 / (width * ncols), right=1 - 0.25 / (width * ncols),
        bottom=0.55 / (height * nrows), top=1 - 0.4 / (height * nrows),
        wspace=0.32, hspace=0.38,
    )  # fmt: skip
    return fig, np.atleast_1d(fig.subplots(nrows, ncols)).ravel()


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


def fig_yogurt(exp: Experiment) -> Figure:
    fig, (ax_path, ax_fit) = _fig(2)
    for i, (label, r) in enumerate(exp.runs.items()):
        h = r.history
        ax_path.plot(h.column("w1[0,0]"), h.column("w1[1,0]"), color=f"C{i}", lw=1, label=label)
        w = r.params["w1"].ravel()
        ax_path.plot(*w, "o", color=f"C{i}")
        x, y = r.dataset.x_train, r.dataset.y_train[:, 0]
        ax_fit.scatter(
            y, x @ r.params["w1"][:, 0] - y, color=f"C{i}", s=12, label=f"{label}: w = {w.round(3)}"
        )
    ax_path.set(xlabel="w1", ylabel="w2", title="path of (w1, w2) from the same start")
    ax_path.legend(fontsize=8)
    ax_fit.axhline(0, color="0.5", lw=0.8)
    ax_fit.set(xlabel="true sales y_", ylabel="prediction - y_", title="over- and under-prediction")
    ax_fit.legend(fontsize=7)
    return fig


def fig_gradient_descent(exp: Experiment) -> Figure:
    fig, (ax_curve, ax_rates) = _fig(2)
    w = np.linspace(-8, 6, 300)
    ax_curve.plot(w, (w + 1) ** 2, color="0.5", lw=1)
    for i, rate in enumerate(("0.2", "1", "0.0001")):
        path = exp.runs[rate].history.column("w")[:12]
        ax_curve.plot(
            path, (path + 1) ** 2, "o-", ms=4, lw=0.8, color=f"C{i}", label=f"rate {rate}"
        )
    ax_curve.set(
        xlabel="w", ylabel="loss = (w+1)²", title="gradient descent from w = 5 (first 11 steps)"
    )
    ax_curve.legend()
    for i, (rate, path) in enumerate(exp.values["rates"].items()):
        ax_rates.plot(
            path, color=matplotlib.colormaps["viridis"](i / (len(RATES_TRIED) - 1)), label=f"{rate}"
        )
    ax_rates.set(xlabel="step", ylabel="w", ylim=(-12, 8), title="the effect of the learning rate")
    ax_rates.legend(fontsize=7, ncols=2, title="rate")
    return fig


def fig_exponential_decay(exp: Experiment) -> Figure:
    fig, axes = _fig(2)
    lr = exp.runs["decay"].history.per_step("lr")
    axes[0].step(np.arange(len(lr)), lr, where="post", label="0.1·0.99^step")
    axes[0].set(
        xlabel="update (global_step)", ylabel="learning rate", title="decay every step (staircase)"
    )
    axes[0].legend()
    # The modular pattern's staircase, from the same schedule function its training uses.
    s = load_config("circle-modular")
    numbers = {
        "learning_rate": s.optimizer.learning_rate,
        **schedule_numbers(
            s.schedule.name, s.schedule.decay_rate, s.schedule.decay_steps, s.schedule.staircase
        ),
    }
    steps = np.arange(120)
    lr_m = np.asarray(exponential_decay(steps, {k: np.float32(v) for k, v in numbers.items()},
                                        numbers["staircase"]))  # fmt: skip
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
    ax_script.legend()
    if "ema-demo" in exp.runs:
        h = exp.runs["ema-demo"].history
        ax_run.plot(h.column("step"), h.column("w"), "o-", ms=3, label="w")
        ax_run.plot(
            h.column("step"), h.column("ema_w"), "o-", ms=3, label="shadow (0.99, num_updates)"
        )
        ax_run.set(xlabel="step", ylabel="value", title="gradient descent on (w+1)² with EMA")
        ax_run.legend()
    return fig


def fig_circle(exp: Experiment) -> Figure:
    fig, axes = _fig(3, width=4.2, height=4.2)
    plain = exp.runs["circle"]
    x, y = plain.dataset.x_train, plain.dataset.y_train[:, 0]
    axes[0].scatter(x[:, 0], x[:, 1], c=np.where(y >= 0.5, "#d62728", "#1f77b4"), s=8)
    axes[0].set(title="the data: red where x0²+x1² < 2", xlabel="x0", ylabel="x1")
    axes[0].set_aspect("equal", adjustable="box")
    draw_boundary(
        axes[1],
        plain.structure,
        plain.dataset,
        plain.params,
        "without regularization",
        grid_step=0.03,
    )
    l2 = exp.runs["circle-l2"]
    draw_boundary(axes[2], l2.structure, l2.dataset, l2.params, "with L2 (0.01)", grid_step=0.03)
    return fig


def fig_circle_loss(exp: Experiment) -> Figure:
    fig, axes = _fig(1, width=6.0)
    for i, (label, r) in enumerate(exp.runs.items()):
        h = r.history
        axes[0].plot(
            h.column("step"),
            h.column("train_loss"),
            "o-",
            ms=3,
            color=f"C{i}",
            label=f"{label}: data loss",
        )
        if r.config.regularizer.name != "none":
            axes[0].plot(
                h.column("step"),
                h.column("train_total"),
                "--",
                color=f"C{i}",
                label=f"{label}: total",
            )
    axes[0].set(
        xlabel="step", ylabel="loss on all 300 points", yscale="log", title="loss every 2000 steps"
    )
    axes[0].legend()
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
    axes[0].set(xlabel="step", ylabel="loss", yscale="log", title="loss")
    axes[0].legend(fontsize=8)
    lr = h.per_step("lr")
    axes[1].plot(np.arange(len(lr)), lr, color="C1")
    axes[1].set(
        xlabel="update", ylabel="learning rate", title="learning rate 0.001·0.999^⌊step/10⌋"
    )
    draw_boundary(axes[2], r.structure, r.dataset, r.params, "raw weights", grid_step=0.03)
    draw_boundary(
        axes[3], r.structure, r.dataset, r.ema_params, "EMA (shadow) weights", grid_step=0.03
    )
    return fig


def fig_optimizers(exp: Experiment) -> Figure:
    fig, axes = _fig(2)
    for ax, base in zip(axes, ("yogurt-mse", "circle")):
        for i, (label, r) in enumerate(
            (k, v) for k, v in exp.runs.items() if k.startswith(base + "/")
        ):
            h = r.history
            ax.plot(
                h.column("step"), h.column("train_loss"), color=f"C{i}", label=label.split("/")[1]
            )
        rate = (
            next(iter(exp.runs.values())).config.optimizer.learning_rate
            if base == "yogurt-mse"
            else None
        )
        ax.set(
            xlabel="step",
            ylabel="data loss",
            yscale="log",
            title=f"{base}: every optimizer at rate {rate if rate else 1e-4:g}",
        )
        ax.legend()
    return fig


FIGURES = {  # stem -> (part, maker)
    "activations": ("activations", lambda e: fig_activations(e)),
    "yogurt": ("yogurt", lambda e: fig_yogurt(e)),
    "gradient-descent": ("gradient-descent", lambda e: fig_gradient_descent(e)),
    "exponential-decay": ("exponential-decay", lambda e: fig_exponential_decay(e)),
    "ema": ("ema", lambda e: fig_ema(e)),
    "ema-decay": ("ema-decay", lambda e: fig_ema(e)),
    "circle": ("regularization", lambda e: fig_circle(e)),
    "circle-loss": ("regularization", lambda e: fig_circle_loss(e)),
    "modular": ("modular", lambda e: fig_modular(e)),
    "optimizers": ("optimizers", lambda e: fig_optimizers(e)),
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
    return figure_png(fig, dpi)


# ------------------------------------------------------------------ values


def results(experiments: list[Experiment]) -> dict:
    """The report as JSON: every check, and a summary count."""
    checks = [
        jsonable(c.as_dict()) | {"part": e.name, "section": e.section}
        for e in experiments
        for c in e.checks
    ]
    missed = [c["name"] for c in checks if not c["ok"]]
    return {
        "checks": checks,
        "summary": {
            "checks": len(checks),
            "reproduced": len(checks) - len(missed),
            "not_reproduced": missed,
        },
        "parts": [e.name for e in experiments],
    }


# ------------------------------------------------------------------ HTML

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC",sans-serif;margin:0 auto;
max-width:1100px;padding:12px;line-height:1.45;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9em;width:100%}
td,th{border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f4f4f4}.ok{color:#17752a;font-weight:600}.miss{color:#b3261e;font-weight:600}
td.note{color:#555;font-size:.92em}img{max-width:100%;height:auto;display:block;margin:10px 0}
.summary{background:#f7f7f7;padding:8px 12px;border-radius:6px}code{background:#f2f2f2;padding:0 3px}
"""


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(jsonable(value), ensure_ascii=False)
    return html.escape(text)


def _check_rows(checks: list[Check]) -> str:
    rows = []
    for c in checks:
        tol = "" if c.tolerance is None else f"±{c.tolerance:g}"
        verdict = (
            '<span class="ok">reproduced</span>'
            if c.ok
            else '<span class="miss">not reproduced</span>'
        )
        rows.append(
            f"<tr><td><code>{html.escape(c.name)}</code></td><td>{html.escape(c.claim)}</td>"
            f"<td>{_cell(c.lecture)}</td><td>{_cell(c.nnopt)}</td><td>{tol}</td><td>{verdict}</td></tr>"
        )
        if c.note:
            rows.append(
                f'<tr><td></td><td class="note" colspan="5">{html.escape(c.note)}</td></tr>'
            )
    return "\n".join(rows)


def render_html(
    experiments: list[Experiment], images: dict[str, tuple[str, bytes]], timing: dict
) -> str:
    """The whole report as one HTML page with the figures embedded."""
    summary = results(experiments)["summary"]
    parts = []
    for e in experiments:
        section = "exercise" if e.section == "exercise" else f"§{e.section}"
        body = [f'<h2 id="{e.name}">{html.escape(section)} {html.escape(e.title)}</h2>']
        if e.checks:
            body.append(
                '<div class="scroll"><table><tr><th>check</th><th>the lecture says</th><th>lecture</th>'
                "<th>nnopt</th><th>tolerance</th><th>result</th></tr>"
            )
            body.append(_check_rows(e.checks) + "</table></div>")
        for stem, (part, png) in images.items():
            if part == e.name:
                data = base64.b64encode(png).decode()
                body.append(f'<img alt="{html.escape(stem)}" src="data:image/png;base64,{data}">')
        parts.append("\n".join(body))
    missed = (
        ", ".join(
            f'<a href="#{html.escape(n.split(".")[0])}"><code>{html.escape(n)}</code></a>'
            for n in summary["not_reproduced"]
        )
        or "none"
    )
    timing_text = ", ".join(f"{k} {v:.1f} s" for k, v in timing.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nnopt: the lecture 神经网络优化, reproduced</title><style>{CSS}</style></head>
<body>
<h1>神经网络优化 (neural-network optimization), reproduced by nnopt</h1>
<p class="summary"><b>{summary["reproduced"]} of {summary["checks"]}</b> checks reproduced at the lecture's printed
precision. Not reproduced: {missed}. Each miss has its cause beside it. Tolerance is half a unit of the last
digit the lecture prints. Every experiment ran through the presets of <code>nnopt run</code>
(<code>nnopt presets</code> lists them). Time: {html.escape(timing_text)}.</p>
{"".join(parts)}
</body></html>
"""


def check_writable(out: Path) -> None:
    """Creates the report folder if needed and proves it writable, before anything trains."""
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
        probe = out / f".nnopt-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(f"cannot write the report to {out}: {exc.strerror or exc}") from None


def write_report(
    out: Path, experiments: list[Experiment], timing: dict, images: dict | None = None
) -> dict[str, Path]:
    """Writes figures/*.png, report.html and results.json into ``out``; touches nothing else.

    ``images`` (stem -> (part, PNG)) may come drawn already.
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
    write_bytes(out / "report.html", render_html(experiments, images, timing).encode("utf-8"))
    write_json(out / "results.json", results(experiments) | {"timing_seconds": timing})
    paths["report.html"], paths["results.json"] = out / "report.html", out / "results.json"
    return paths


def add_timing(path: Path, timing: dict) -> None:
    """Records the command's timing in a written ``results.json``."""
    payload = json.loads(path.read_text("utf-8"))
    payload["timing_seconds"] = timing
    write_json(path, payload)
