"""The lecture, re-run: every experiment through the presets, every printed number checked.

Engine layer: :func:`run_lecture` trains the lecture's presets (the same ones
``nnopt run`` uses, with ``--set``-style overrides for the exercises) and returns
values: the runs and a list of :class:`Check` comparing the lecture's printed
number with nnopt's at the lecture's printed precision. Each check names the passage of the
notes it is about and the lecture's code (both in :mod:`nnopt.engine.passages`), the runs
that reproduce it, its pass rule, and, in Chinese and English, what explains it: a miss's
cause and a slip of the text are measured from nnopt's own runs while the lecture runs, never
typed in, and no preset is tuned to make a number come out. Three kinds are kept apart:
claims that reproduce, claims that do not (with their cause), and answered exercises.
Figures and the report are drawn by :mod:`nnopt.outputs.report`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nnopt.config import Config, EmaConfig
from nnopt.config.presets import load_config
from nnopt.core.data import circle
from nnopt.core.ema import numpy_ema_decay, numpy_ema_update
from nnopt.core.losses import NUMPY_LOSSES, cross_entropy_of
from nnopt.core.model import NUMPY_ACTIVATIONS, layer_count, parameter_count
from nnopt.engine.passages import part_text
from nnopt.errors import DivergenceError

if TYPE_CHECKING:
    from nnopt.engine.training import TrainResult

KINDS = ("claim", "exercise")


def bi(zh: str, en: str) -> dict[str, str]:
    """A text in the report's two languages."""
    return {"zh": zh, "en": en}


@dataclass(frozen=True)
class Check:
    """One claim of the lecture (or an exercise it sets): its number, nnopt's, and the verdict.

    ``rule`` is the pass rule in words; ``passage`` and ``code`` are ids in
    :mod:`nnopt.engine.passages`; ``runs`` the labels of the part's runs it reads (their
    ``nnopt run`` commands and configs reproduce it), ``command`` the command when it is not
    one of those; ``printed`` what the lecture's own program prints for it; ``note`` the
    explanation (a miss's measured cause) and ``slip`` a slip of the text, both {zh, en}.
    """

    name: str
    claim: dict[str, str]  # what is compared, {zh, en}
    lecture: Any
    nnopt: Any
    tolerance: float | None  # half a unit of the lecture's last printed digit; None: not numeric
    ok: bool
    rule: str = ""
    kind: str = "claim"  # claim | exercise
    passage: str = ""
    code: str = ""
    runs: tuple[str, ...] = ()
    command: str = ""
    printed: tuple[str, ...] = ()
    note: dict[str, str] = field(default_factory=dict)
    slip: dict[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """reproduced / not reproduced (a claim), answered / not answered (an exercise)."""
        if self.kind == "exercise":
            return "answered" if self.ok else "not answered"
        return "reproduced" if self.ok else "not reproduced"

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["verdict"] = self.verdict
        return out


@dataclass
class Experiment:
    """One part of the lecture, after it ran: its runs (by label), checks and values for figures."""

    name: str
    section: str
    title: str
    runs: dict[str, TrainResult] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """One part of the lecture: the runs it needs (label -> preset and overrides) and its analysis.

    ``analyze(experiment)`` fills the experiment's checks and values from its runs.
    ``study()``, when given, is work of the part that needs none of its runs (e.g. a sweep):
    it starts with the trainings, and its value is ``experiment.values["study"]`` when the
    part is analyzed.
    """

    name: str
    section: str
    title: str
    runs: dict[str, tuple[str, tuple[str, ...]]]
    analyze: Callable[[Experiment], None]
    study: Callable[[], Any] | None = None


def _round(x: float, digits: int) -> float:
    return float(round(float(x), digits))


def numeric_check(name: str, claim: dict, lecture, value, digits: int, **more) -> Check:
    """Compares at the printed precision: |nnopt - lecture| <= half a unit of the last digit."""
    tol = 0.5 * 10.0**-digits
    lec = np.atleast_1d(np.asarray(lecture, np.float64))
    got = np.atleast_1d(np.asarray(value, np.float64))
    ok = bool(np.all(np.abs(got - lec) <= tol + 1e-12))
    shown = [_round(v, digits + 2) for v in got]
    rule = more.pop("rule", "") or (
        f"|nnopt - lecture| <= {tol:g} for every number (half a unit of the last digit the "
        "lecture prints)"
    )
    return Check(name, claim, lecture, shown if len(shown) > 1 else shown[0], tol, ok, rule, **more)


def fact_check(name: str, claim: dict, lecture, value, ok: bool, rule: str, **more) -> Check:
    """A claim that is a statement rather than one number (e.g. 'the loss keeps decreasing')."""
    return Check(name, claim, lecture, value, None, bool(ok), rule, **more)


def run_command(preset: str, overrides: tuple[str, ...] = ()) -> str:
    """The ``nnopt run`` command of a preset with ``--set`` overrides."""
    return " ".join(["nnopt run", preset, *(f"--set {o}" for o in overrides)])


def check_commands(part: str, check: Check) -> list[str]:
    """The commands that reproduce a check: its own, or ``nnopt run`` of each run it reads."""
    if check.command:
        return [check.command]
    specs = PARTS[part].runs
    return [run_command(*specs[label]) for label in check.runs if label in specs]


def _f(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


# ------------------------------------------------------------------ 4.1


def analyze_network_size(exp: Experiment) -> None:
    layers = (3, 4, 2)
    command = (
        'python -c "from nnopt.core.model import layer_count, parameter_count; '
        'print(layer_count((3, 4, 2)), parameter_count((3, 4, 2)))"'
    )
    exp.checks += [
        numeric_check(
            "network-size.layers",
            bi("3-4-2 网络的层数", "layers of the 3-4-2 network"),
            2,
            layer_count(layers),
            0,
            passage="network-size.layers",
            code="network-size",
            command=command,
        ),
        numeric_check(
            "network-size.parameters",
            bi("3-4-2 网络的参数个数 (w 与 b)", "parameters of the 3-4-2 network (w and b)"),
            26,
            parameter_count(layers),
            0,
            passage="network-size.parameters",
            code="network-size",
            command=command,
        ),
    ]


def analyze_activations(exp: Experiment) -> None:
    # The registry's NumPy twins (the same formulas, compiled into no program).
    z = np.linspace(-6, 6, 241, dtype=np.float32)
    exp.values["z"] = z
    exp.values["curves"] = {n: NUMPY_ACTIVATIONS[n](z.copy()) for n in ("relu", "sigmoid", "tanh")}
    probes = (("relu", -1.0, 0.0), ("sigmoid", 0.0, 0.5), ("tanh", 0.0, 0.0))
    got = [float(NUMPY_ACTIVATIONS[n](np.float32([v]))[0]) for n, v, _ in probes]
    exp.checks.append(
        fact_check(
            "activations.values",
            bi(
                "relu(z) = max(0, z)，sigmoid(z) = 1/(1+e^-z)，tanh(z)",
                "relu(z) = max(0, z), sigmoid(z) = 1/(1+e^-z), tanh(z)",
            ),
            "relu(-1)=0, sigmoid(0)=0.5, tanh(0)=0",
            got,
            all(g == want for g, (_, _, want) in zip(got, probes)),
            "relu(-1), sigmoid(0) and tanh(0) equal 0, 0.5 and 0 exactly (float32)",
            passage="activations",
            code="activations",
            command=(
                'python -c "import jax.numpy as jnp; from nnopt.core.model import ACTIVATIONS; '
                "print([float(ACTIVATIONS[n](jnp.float32(v))) for n, v in "
                "(('relu', -1.0), ('sigmoid', 0.0), ('tanh', 0.0))])\""
            ),
        )
    )


YOGURT_LECTURE = {
    "yogurt-mse": (0.98, 1.02),
    "yogurt-cost1-profit9": (1.03, 1.05),
    "yogurt-cost9-profit1": (0.96, 0.97),
}
COST_PROFIT = ("yogurt-cost1-profit9", "yogurt-cost9-profit1")
# Starts that differ from the lecture's in the 5th digit: tf.random_normal(...)·init_stddev.
START_SCALES = tuple(round(1 + k * 1e-5, 6) for k in (-4, -3, -2, -1, 1, 2, 3, 4))


def _start_label(preset: str, scale: float) -> str:
    return f"{preset} start x{scale!r}"


def _w(result) -> np.ndarray:
    return np.asarray(result.params["w1"], np.float64).ravel()


def _final_w1_line(w) -> str:
    """The lecture's program's last line, ``print "Final w1 is:\\n", sess.run(w1)``."""
    a, b = (str(np.float32(v)) for v in w)
    return f"Final w1 is: [[{a}] [{b}]]"


def _list(steps, most: int = 8) -> str:
    steps = [int(s) for s in steps]
    if len(steps) <= most:
        return ", ".join(map(str, steps))
    return ", ".join(map(str, steps[: most // 2])) + ", …, " + ", ".join(map(str, steps[-2:]))


def _over_share(result) -> float:
    """Share of the rows the fit over-predicts (y > y_) at its final weights."""
    x, y_ = result.dataset.x_train, result.dataset.y_train[:, 0]
    return float(np.mean(x @ result.params["w1"][:, 0] > y_))


def _cost_profit_cause(exp: Experiment, preset: str) -> tuple[dict, dict]:
    """(values, note) for a cost/profit fit: when the text's rounded weights come out, and why."""
    lecture = YOGURT_LECTURE[preset]
    r = exp.runs[preset]
    h = r.history
    steps = h.column("step")
    w1, w2 = h.column("w1[0,0]"), h.column("w1[1,0]")
    equal = [s for s, a, b in zip(steps, w1, w2) if (round(a, 2), round(b, 2)) == lecture]
    late = steps >= steps[-1] / 2
    band = [[_round(v.min(), 3), _round(v.max(), 3)] for v in (w1[late], w2[late])]
    finals = [tuple(np.round(_w(r), 2))] + [
        tuple(np.round(_w(exp.runs[_start_label(preset, s)]), 2)) for s in START_SCALES
    ]
    counts = Counter(finals)
    at_text = counts.get(lecture, 0)
    c = r.config
    # A sum over the batch (reduce_sum): one update moves w by up to lr·max(COST, PROFIT)·Σx.
    x = r.dataset.x_train
    b = c.train.batch_size
    hop = max(
        c.optimizer.learning_rate
        * max(c.loss.cost, c.loss.profit)
        * float(x[i : i + b].sum(0).max())
        for i in range(0, len(x), b)
    )
    values = {
        "steps at the text's numbers": [int(s) for s in equal],
        "log points": len(steps),
        "band (second half)": band,
        "finals of nearby starts": {f"{k[0]:.2f}, {k[1]:.2f}": n for k, n in counts.items()},
        "largest hop": hop,
    }
    shown = "(" + ", ".join(f"{v:.2f}" for v in lecture) + ")"
    final = "(" + ", ".join(f"{v:.2f}" for v in _w(r)) + ")"
    outcomes = "; ".join(f"({k[0]:.2f}, {k[1]:.2f}) {n}×" for k, n in counts.most_common())
    every, last = int(steps[1] - steps[0]), int(steps[-1])
    spread = f"{min(START_SCALES):g} … {max(START_SCALES):g}"
    inside = all(lo - 0.005 <= v <= hi + 0.005 for v, (lo, hi) in zip(lecture, band))
    zh = [
        f"原因（运行时测得）：这个损失是分段线性的，梯度在最优点附近不会变小，学习率又不变，所以 w 最后在一小段范围里"
        f"来回跳动（后一半训练中 w1 ∈ {band[0]}，w2 ∈ {band[1]}）。每次更新对 {b} 行求和（reduce_sum），"
        f"一步最多移动 {hop:.3f}。"
    ]
    en = [
        f"Cause (measured as the lecture ran): this loss is piecewise linear, so its gradient "
        f"does not shrink near the optimum and, at a constant rate, w never settles: it keeps "
        f"hopping in a band (w1 in {band[0]}, w2 in {band[1]} over the second half). Each "
        f"update sums {b} rows (reduce_sum), so one hop is up to {hop:.3f}."
    ]
    if equal:
        zh.append(
            f"课文的 {shown} 就是 w 在这段范围里经过的值：nnopt 每 {every} 步记录一次，{len(steps)} 个记录点中有 "
            f"{len(equal)} 个四舍五入后正好等于它（第 {_list(equal)} 步之后）；第 {last} 步之后停在 {final}。"
        )
        en.append(
            f"The text's {shown} is a value w passes through in that band: at {len(equal)} of "
            f"nnopt's {len(steps)} log points (every {every} updates) the rounded weights equal "
            f"it (after {_list(equal)} updates); after update {last} they read {final}."
        )
    else:
        zh.append(
            f"{len(steps)} 个记录点（每 {every} 步）中没有一个四舍五入后等于课文的 {shown}"
            f"（课文的数{'在' if inside else '不在'}这段范围之内）；第 {last} 步之后停在 {final}。"
        )
        en.append(
            f"None of nnopt's {len(steps)} log points (every {every} updates) rounds to the "
            f"text's {shown} (which lies {'inside' if inside else 'outside'} the band); after "
            f"update {last} the weights read {final}."
        )
    zh.append(
        f"停在哪里对很小的数值差异很敏感：把起点只改动第 5 位（init_stddev = {spread}），{len(finals)} 个起点的"
        f"最终结果为 {outcomes}，其中 {at_text} 个正是课文的数。"
    )
    en.append(
        f"Where the last update lands is sensitive to tiny numerical differences: starts "
        f"changed in their 5th digit (init_stddev = {spread}) end at {outcomes}, {at_text} of "
        f"{len(finals)} at the text's numbers."
    )
    if equal or at_text:
        zh.append(
            "最可能的原因：课文那次运行的浮点舍入（TensorFlow 版本、CPU/GPU）与 nnopt 不同，于是停在这段范围的另一点；"
            "损失、数据和学习率都与课文一致。"
        )
        en.append(
            "Most likely cause: the text's run rounded differently along its path (another "
            "TensorFlow version, CPU or GPU) and stopped at another point of the same band; its "
            "loss, data and rate are the ones nnopt runs."
        )
    else:
        zh.append("nnopt 的运行从未经过课文的数：原因不在于停在范围中的哪一点。")
        en.append(
            "nnopt's runs never pass through the text's numbers: the cause is not where in the "
            "band the run stops."
        )
    note = bi("".join(zh), " ".join(en))
    return values, note


def analyze_yogurt(exp: Experiment) -> None:
    mse = exp.runs["yogurt-mse"]
    exp.checks.append(
        numeric_check(
            "yogurt-mse.w",
            bi("均方误差拟合的最终 w1、w2", "final w1, w2 of the MSE fit"),
            list(YOGURT_LECTURE["yogurt-mse"]),
            _w(mse),
            2,
            passage="yogurt-mse",
            code="yogurt-mse",
            runs=("yogurt-mse",),
            printed=(_final_w1_line(_w(mse)),),
        )
    )
    causes = {}
    for preset in COST_PROFIT:
        values, note = _cost_profit_cause(exp, preset)
        causes[preset] = values
        r = exp.runs[preset]
        slip = {}
        if preset == "yogurt-cost1-profit9":
            other = ", ".join(f"{v:.2f}" for v in _w(exp.runs["yogurt-cost9-profit1"]))
            slip = bi(
                f"课文在 ① 下给出的代码写的是 COST = 9、PROFIT = 1（第一行注释“#成本9元，利润1元”），那是 ② 的设定；"
                f"第二行注释“#预测多或预测少的影响一样”抄自均方误差的程序。照代码运行会停在 ({other})，低于均方误差的拟合："
                f"课文的 1.03、1.05 来自正文所说的成本 1 元、利润 9 元。",
                f"The code the notes print under ① sets COST = 9, PROFIT = 1 (its first comment "
                f"reads “#成本9元，利润1元”, cost 9, profit 1): the setting of ②; its second "
                f"comment “#预测多或预测少的影响一样” (over- and under-prediction cost the same) is "
                f"copied from the MSE program. Run as printed it ends at ({other}), below the "
                f"MSE fit: the text's 1.03, 1.05 come from cost 1, profit 9, as its words say.",
            )
        label = "成本 1 元、利润 9 元" if preset == COST_PROFIT[0] else "成本 9 元、利润 1 元"
        en = "cost 1, profit 9" if preset == COST_PROFIT[0] else "cost 9, profit 1"
        exp.checks.append(
            numeric_check(
                f"{preset}.w",
                bi(f"{label}：最终 w1、w2", f"{en}: final w1, w2"),
                list(YOGURT_LECTURE[preset]),
                _w(r),
                2,
                passage=preset,
                code="cost-profit",
                runs=(preset,) + tuple(_start_label(preset, s) for s in START_SCALES[:1]),
                printed=(_final_w1_line(_w(r)),),
                note=note,
                slip=slip,
            )
        )
    exp.values["causes"] = causes
    sums = {p: float(_w(exp.runs[p]).sum()) for p in YOGURT_LECTURE}
    over = {p: _over_share(exp.runs[p]) for p in YOGURT_LECTURE}
    more, less = COST_PROFIT
    quantiles = {
        p: exp.runs[p].config.loss.profit
        / (exp.runs[p].config.loss.cost + exp.runs[p].config.loss.profit)
        for p in COST_PROFIT
    }
    n = len(exp.runs["yogurt-mse"].dataset.x_train)
    exp.checks.append(
        fact_check(
            "yogurt.direction",
            bi(
                "自定义损失使预测偏多（利润大于成本）或偏少（成本大于利润）",
                "the custom loss shifts the fit up (profit > cost) or down (cost > profit)",
            ),
            "cost1/profit9 > mse > cost9/profit1",
            {p: _round(v, 3) for p, v in sums.items()},
            sums[more] > sums["yogurt-mse"] > sums[less],
            "w1 + w2 (the prediction at x = (1, 1)) is largest with cost 1/profit 9 and "
            "smallest with cost 9/profit 1",
            passage="yogurt.direction",
            code="cost-profit",
            runs=tuple(YOGURT_LECTURE),
            note=bi(
                f"按 w1 + w2（x = (1, 1) 处的预测）比较。成本/利润损失的最小点在“预测偏多的天数占 PROFIT/(COST+PROFIT)”处"
                f"（一个分位数拟合）：nnopt 的拟合在 {n} 天中预测偏多的天数为 均方误差 {round(over['yogurt-mse'] * n)} 天、"
                f"成本 1/利润 9 {round(over[more] * n)} 天（理想 {_pct(quantiles[more], 0)}）、"
                f"成本 9/利润 1 {round(over[less] * n)} 天（理想 {_pct(quantiles[less], 0)}）。",
                f"Compared by w1 + w2, the prediction at x = (1, 1). The cost/profit loss is least "
                f"where a share PROFIT/(COST+PROFIT) of the days is over-predicted (a quantile "
                f"fit): nnopt's fits over-predict on {round(over['yogurt-mse'] * n)} of {n} days "
                f"with MSE, {round(over[more] * n)} with cost 1/profit 9 (ideal "
                f"{_pct(quantiles[more], 0)}) and {round(over[less] * n)} with cost 9/profit 1 "
                f"(ideal {_pct(quantiles[less], 0)}).",
            ),
        )
    )
    exp.values["conventions"] = [
        bi(
            "约简（reductions）：均方误差是 tf.reduce_mean（对一批 8 行求平均），自定义损失是 tf.reduce_sum（求和）："
            "同样的学习率 0.001，自定义损失每步的移动大约是均方误差的 8 倍乘以 COST 或 PROFIT。",
            "Reductions: the MSE is tf.reduce_mean (the mean over a batch of 8 rows), the custom "
            "loss tf.reduce_sum (the sum): at the same rate 0.001 the custom loss moves w about "
            "8 × COST or PROFIT times as far per update.",
        )
    ]


def _nnopt_cross_entropy(y_: list[float], rows: list[list[float]]) -> list[float]:
    """nnopt's ``cross_entropy`` (the lecture's ``-tf.reduce_mean(y_·log(clip(y)))``) of each
    prediction row against the answer ``y_``, in float32 (its NumPy twin: no program)."""
    fn = NUMPY_LOSSES["cross_entropy"]
    ys = np.asarray(rows, np.float32)[:, None, :]  # one batch of one row per prediction
    return [float(v) for v in fn(ys, np.asarray([y_], np.float32), np.ones(1, np.float32), {})]


def analyze_cross_entropy(exp: Experiment) -> None:
    answer, y1, y2 = [1.0, 0.0], [0.6, 0.4], [0.8, 0.2]
    readings = {
        "log10 sum (the text)": [cross_entropy_of(answer, y, base=10) for y in (y1, y2)],
        "natural-log sum": [cross_entropy_of(answer, y) for y in (y1, y2)],
        "the lecture's code, nnopt cross_entropy (mean over both classes)": _nnopt_cross_entropy(
            answer, [y1, y2]
        ),
    }
    exp.values["readings"] = readings
    (t1, t2), (n1, n2), (c1, c2) = readings.values()
    command = (
        'python -c "from nnopt.core.losses import cross_entropy_of; '
        'print(cross_entropy_of([1, 0], [0.6, 0.4], base=10), cross_entropy_of([1, 0], [0.8, 0.2], base=10))"'
    )
    slip = bi(
        f"课文的数字是以 10 为底的对数之和 −Σ y_·log₁₀ y。课文给的代码 ce = -tf.reduce_mean(y_ * tf.log(...)) 用的是自然对数"
        f"（tf.log），并且对 (1, 0) 的两个分量求平均：nnopt 的 cross_entropy 照代码算出 H1 = {c1:.4f}、H2 = {c2:.4f}；"
        f"自然对数之和是 {n1:.4f}、{n2:.4f}。三种读法的排序相同。",
        f"The text's numbers are sums of base-10 logarithms, −Σ y_·log10 y. The code it gives, "
        f"ce = -tf.reduce_mean(y_ * tf.log(...)), takes the natural log (tf.log) and averages "
        f"over both entries of (1, 0): nnopt's cross_entropy, which is that code, gives "
        f"H1 = {c1:.4f} and H2 = {c2:.4f}; the natural-log sums are {n1:.4f} and {n2:.4f}. The "
        f"ranking is the same in all three readings.",
    )
    exp.checks += [
        numeric_check(
            "cross-entropy.H1",
            bi("H1：标准答案 (1, 0)，预测 (0.6, 0.4)", "H1: answer (1, 0), prediction (0.6, 0.4)"),
            0.222,
            t1,
            3,
            passage="cross-entropy.H1",
            code="cross-entropy",
            command=command,
            slip=slip,
        ),
        numeric_check(
            "cross-entropy.H2",
            bi("H2：标准答案 (1, 0)，预测 (0.8, 0.2)", "H2: answer (1, 0), prediction (0.8, 0.2)"),
            0.097,
            t2,
            3,
            passage="cross-entropy.H2",
            code="cross-entropy",
            command=command,
            slip=slip,
        ),
        fact_check(
            "cross-entropy.ranking",
            bi("H1 > H2：y2 更接近标准答案", "H1 > H2: y2 is closer to the answer"),
            "H1 > H2",
            {k: [_round(a, 4), _round(b, 4)] for k, (a, b) in readings.items()},
            all(a > b for a, b in readings.values()),
            "H1 > H2 in every reading (log10 sum, natural-log sum, the lecture's code)",
            passage="cross-entropy.ranking",
            code="cross-entropy",
            command=command,
        ),
    ]
    probs = NUMPY_ACTIVATIONS["softmax"](np.asarray([[1.0, 2.0, 3.0]], np.float32))[0]
    exp.checks.append(
        fact_check(
            "softmax.distribution",
            bi("softmax 的输出是概率分布", "softmax outputs a probability distribution"),
            "each in [0, 1], Σ = 1",
            [_round(p, 4) for p in probs],
            bool(np.all((probs >= 0) & (probs <= 1)) and abs(probs.sum() - 1) < 1e-6),
            "softmax([1, 2, 3]): every entry in [0, 1] and |Σ - 1| < 1e-6",
            passage="softmax",
            code="softmax",
            command=(
                'python -c "import jax.numpy as jnp; from nnopt.core.model import OUTPUT_ACTIVATIONS; '
                "print(OUTPUT_ACTIVATIONS['softmax'](jnp.asarray([[1.0, 2.0, 3.0]])))\""
            ),
            note=bi(
                "约简：tf.reduce_mean(ce) 对一批中每一行的交叉熵求平均（nnopt 的 softmax_cross_entropy 同样如此）。",
                "Reduction: tf.reduce_mean(ce) averages the cross entropy of every row of the "
                "batch (so does nnopt's softmax_cross_entropy).",
            ),
        )
    )


# ------------------------------------------------------------------ 4.2

RATES_TRIED = (0.0001, 0.01, 0.1, 0.2, 0.5, 0.9, 1.0, 1.05)


def _gd_line(w, loss, i: int) -> str:
    """``print "After %s steps: w is %f.   loss is %f" % (i, w_val, loss_val)``."""
    return f"After {i} steps: w is {w:f}.   loss is {loss:f}"


STEP_LABELS = bi(
    "程序在每次 sess.run(train_step) 之后打印：它的“After 0 steps”是第 1 次更新之后的 w（课文的“1 次”），"
    "即 nnopt 记录中的第 1 步。",
    "The program prints after each sess.run(train_step): its “After 0 steps” is w after the "
    "first update (the text's “1 次”, 1st time), nnopt's step 1.",
)


def analyze_gradient_descent(exp: Experiment) -> None:
    h = exp.runs["0.2"].history
    w, loss = h.column("w"), h.column("train_loss")
    steps = (("gd-0.2.step1", 2.6, 1), ("gd-0.2.step2", 1.16, 2), ("gd-0.2.step3", 0.296, 3))
    for k, (name, lec, digits) in enumerate(steps, start=1):
        exp.checks.append(
            numeric_check(
                name,
                bi(f"学习率 0.2：第 {k} 次更新后的 w", f"rate 0.2: w after update {k}"),
                lec,
                w[k],
                digits,
                passage=name,
                code="gradient-descent",
                runs=("0.2",),
                printed=(_gd_line(w[k], loss[k], k - 1),),
                note=STEP_LABELS,
            )
        )
    exp.checks.append(
        numeric_check(
            "gd-0.2.limit",
            bi("40 次更新后 w 趋近于 -1", "w approaches -1 (after 40 updates)"),
            -1.0,
            w[-1],
            3,
            passage="gd-0.2.limit",
            code="gradient-descent",
            runs=("0.2",),
            printed=(_gd_line(w[-1], loss[-1], len(w) - 2),),
        )
    )
    h1 = exp.runs["1"].history
    w1, loss1 = h1.column("w"), h1.column("train_loss")
    swings = bool(np.allclose(w1[0::2], 5.0) and np.allclose(w1[1::2], -7.0))
    lows, highs = float(loss1.min()), float(loss1.max())
    loss_range_zh = f"始终是 {lows:g}" if lows == highs else f"在 {lows:g} 到 {highs:g} 之间"
    loss_range_en = (
        f"stays {lows:g} throughout" if lows == highs else f"stays between {lows:g} and {highs:g}"
    )
    exp.checks.append(
        fact_check(
            "gd-1.swing",
            bi(
                "学习率为 1：不收敛，在 5 和 -7 之间波动",
                "rate 1: no convergence, a swing between 5 and -7",
            ),
            "5, -7, 5, -7 ...",
            {"w": [_round(v, 3) for v in w1[:6]], "loss": [_round(v, 3) for v in loss1[:6]]},
            swings,
            "w alternates 5, -7, 5, -7 ... (|difference| <= 1e-5) over all 41 values",
            passage="gd-rate-1",
            code="gradient-descent",
            runs=("1",),
            printed=tuple(_gd_line(w1[k], loss1[k], k - 1) for k in (1, 2)),
            note=bi(
                "w ← w - 1·(2w + 2) = -w - 2：把 5 变成 -7，再变回 5。",
                "w ← w - 1·(2w + 2) = -w - 2 maps 5 to -7 and back.",
            ),
            slip=bi(
                f"课文说“损失函数 loss 值……在 5 和 -7 之间波动”。loss = (w + 1)² 不可能是负数：在 5 和 -7 之间来回跳的是 w，"
                f"而 loss {loss_range_zh}。",
                f"The text says the *loss* swings between 5 and -7; a loss (w + 1)² is never "
                f"negative. It is w that swings between 5 and -7, while the loss {loss_range_en}.",
            ),
        )
    )
    slow = exp.runs["0.0001"].history
    ws, losses = slow.column("w"), slow.column("train_loss")
    exp.checks.append(
        fact_check(
            "gd-0.0001.slow",
            bi(
                "学习率为 0.0001：loss 缓慢下降，w 变化很小",
                "rate 0.0001: the loss falls slowly, w hardly moves",
            ),
            "w stays near 5, the loss falls slowly",
            {
                "w after 40 updates": _round(ws[-1], 4),
                "loss": [_round(losses[0], 3), _round(losses[-1], 3)],
            },
            bool(np.all(np.diff(losses) < 0) and 4.9 < ws[-1] < 5.0),
            "the loss falls at every update, and w after 40 updates is in (4.9, 5)",
            passage="gd-rate-0.0001",
            code="gradient-descent",
            runs=("0.0001",),
            printed=(_gd_line(ws[1], losses[1], 0), _gd_line(ws[-1], losses[-1], len(ws) - 2)),
        )
    )
    exp.values["rates"] = {r: exp.runs[f"rate {r}"].history.column("w") for r in RATES_TRIED}


def _schedule_at(config: Config, steps) -> np.ndarray:
    """The rate of the config's schedule at the given global steps (nnopt's schedule function,
    in NumPy float32: no program)."""
    from nnopt.core.schedules import numpy_exponential_decay
    from nnopt.engine.structure import number_values

    numbers = number_values(config)
    return numpy_exponential_decay(np.asarray(steps, np.int32), numbers, numbers["staircase"])


def _decay_line(i: int, rate: float, w, loss) -> str:
    """The decay program's line after loop i: global_step has moved to i + 1, and ``rate`` is
    the rate there."""
    return (
        f"After {i} steps: global_step is {i + 1:f} , learning rate is {rate:f}, "
        f"w is {w:f}.   loss is {loss:f}"
    )


def analyze_exponential_decay(exp: Experiment) -> None:
    r = exp.runs["decay"]
    lr = r.history.per_step("lr")
    w, loss = r.history.column("w"), r.history.column("train_loss")
    base = r.config.optimizer.learning_rate
    rate, every = r.config.schedule.decay_rate, r.config.schedule.decay_steps
    formula = base * rate ** (np.arange(len(lr)) // every)
    # The rate at global_step 1, 2, ...: what the program prints after each update. And the
    # modular pattern's staircase for the figure (one shape: one compiled schedule).
    after = _schedule_at(r.config, np.arange(1, 121))
    printed_first = float(after[0])
    exp.values["modular_staircase"] = _schedule_at(load_config("circle-modular"), np.arange(120))
    exp.checks += [
        numeric_check(
            "exponential-decay.first",
            bi(
                "学习率初值 0.1（第一次更新所用的学习率）",
                "the initial rate 0.1 (the rate of the first update)",
            ),
            0.1,
            lr[0],
            3,
            passage="exponential-decay.first",
            code="exponential-decay",
            runs=("decay",),
            printed=(_decay_line(0, after[0], w[1], loss[1]),),
            note=bi(
                f"程序在 sess.run(train_step) 之后才读 learning_rate，这时 global_step 已经变成 1：它第一行打印的是 "
                f"{printed_first:f}（= 0.1·0.99¹，下一次更新的学习率）；第一次更新用的是 {lr[0]:g}。",
                f"The program reads learning_rate after sess.run(train_step) has moved global_step "
                f"to 1: its first line prints {printed_first:f} (= 0.1·0.99¹, the rate of the "
                f"next update); the first update used {lr[0]:g}.",
            ),
        ),
        fact_check(
            "exponential-decay.formula",
            bi(
                "learning_rate = 0.1·0.99^⌊global_step / 1⌋，每次更新",
                "learning_rate = 0.1·0.99^⌊global_step / 1⌋, at every update",
            ),
            "0.1·0.99^k",
            f"max deviation {float(np.max(np.abs(lr - formula))):.1e}",
            bool(np.allclose(lr, formula, rtol=1e-5)),
            "every update's rate within 1e-5 (relative) of 0.1·0.99^k, k = 0 ... 39",
            passage="exponential-decay",
            code="exponential-decay",
            runs=("decay",),
        ),
        fact_check(
            "exponential-decay.decreasing",
            bi("学习率随训练轮数增加而不断减小", "the rate keeps falling as training goes on"),
            "decreasing",
            {"update 1": _round(lr[0], 4), "update 40": _round(lr[-1], 4)},
            bool(np.all(np.diff(lr) < 0)),
            "each update's rate is smaller than the one before",
            passage="exponential-decay.decreasing",
            code="exponential-decay",
            runs=("decay",),
            printed=(_decay_line(len(lr) - 1, after[len(lr) - 1], w[-1], loss[-1]),),
        ),
    ]


# ------------------------------------------------------------------ 4.3

EMA_LECTURE = (0.9, 1.644, 2.328, 2.956)


def ema_script(decay: float, runs: int = 8) -> list[tuple[int, float, float]]:
    """The lecture's EMA demo: (global_step, w1, shadow) after each ``ema_op``.

    w1 = 0 and its shadow 0; w1 := 1, ema_op at step 0; then step := 100, w1 := 10 and
    ema_op again and again.
    """
    shadow = np.float32(0.0)  # float32, as TF1's variables (NumPy: no program)
    out = [(0, 0.0, 0.0)]
    for i in range(runs):
        step, w = (0, 1.0) if i == 0 else (100, 10.0)
        shadow = numpy_ema_update(shadow, w, numpy_ema_decay(decay, step))
        out.append((step, w, float(shadow)))
    return out


def ema_order_setting() -> str:
    """The config fields of [ema] beyond enabled/decay/num_updates (e.g. the order of the step
    and the moving average, when nnopt offers a choice), as ``ema.field = default``."""
    known = {"enabled", "decay", "num_updates"}
    extra = [f for f in dataclasses.fields(EmaConfig) if f.name not in known]
    return ", ".join(f"ema.{f.name} = {f.default!r}" for f in extra)


def ema_order_note() -> dict[str, str]:
    setting = ema_order_setting()
    zh_tail = (
        f"nnopt 用设定 {setting} 选择顺序。"
        if setting
        else "nnopt 固定为：先更新参数，再用更新前的 global_step 把影子移向新参数。"
    )
    en_tail = (
        f"nnopt chooses the order with {setting}."
        if setting
        else "nnopt fixes one: the step first, then the shadow moves toward the new parameters "
        "with the global step before its increment."
    )
    return bi(
        "顺序：课文用 tf.control_dependencies([train_step, ema_op]) 加一个 tf.no_op 把两者组在一起，只保证两者都在 "
        "train_op 之前运行，不规定它们之间的先后：TF1 可能先移动影子再更新参数，也可能反过来（global_step 也可能在"
        "读取前或后增加）。" + zh_tail,
        "Order: the lecture groups train_step and ema_op with tf.control_dependencies([train_step, "
        "ema_op]) and a tf.no_op, which only makes both run before train_op, in no defined order "
        "between them: TF1 may move the shadow before or after the step (and read global_step "
        "before or after it moves). " + en_tail,
    )


def _ema_line(w, shadow) -> str:
    """``print sess.run([w1, ema.average(w1)])``."""
    return f"[{np.float32(w)!s}, {np.float32(shadow)!s}]"


def analyze_ema(exp: Experiment) -> None:
    seq = ema_script(0.99)
    d100 = float(numpy_ema_decay(0.99, 100))
    first, second = d100 * seq[1][2], (1 - d100) * 10.0
    with_text_w = d100 * seq[2][2] + (1 - d100) * seq[2][2]  # if w1 were the shadow 1.644...
    claims = (
        bi("global_step 0，w1 := 1 之后的影子", "the shadow after global_step 0, w1 := 1"),
        bi("global_step 100，w1 := 10 之后的影子", "the shadow after global_step 100, w1 := 10"),
        bi("再运行一次 ema_op 之后的影子", "the shadow after one more ema_op"),
        bi("再运行一次 ema_op 之后的影子", "the shadow after one more ema_op"),
    )
    notes = [
        {},
        bi(
            f"课文把四舍五入后的两项相加：0.826 + 0.818。未舍入时是 {first:.5f} + {second:.5f} = {first + second:.5f}，"
            f"三位小数是 {first + second:.3f}：课文最后一位是舍入的失误，公式本身相同。",
            f"The text adds the rounded terms 0.826 + 0.818. Unrounded they are {first:.5f} + "
            f"{second:.5f} = {first + second:.5f}, which prints as {first + second:.3f} to three "
            f"decimals: the text's last digit is a rounding slip, not another formula.",
        ),
        {},
        {},
    ]
    slips = [
        {},
        {},
        bi(
            f"课文说这次运行前“参数 w1 更新为 1.644”。1.644 是影子，w1 仍是 10（课文自己的算式也用 10）："
            f"用 w1 = 10 得到 {seq[3][2]:.5f}；若 w1 真是 1.644，影子会停在 {with_text_w:.3f}。"
            "（课文的编号也是 ①③③④。）",
            f"The text says w1 is “updated to 1.644” before this run. 1.644 is the shadow; w1 "
            f"stays 10 (the text's own formula uses 10): with w1 = 10 the shadow becomes "
            f"{seq[3][2]:.5f}, while with w1 = 1.644 it would stay at {with_text_w:.3f}. (The "
            f"text also numbers its steps ①③③④.)",
        ),
        bi(
            f"同样，“参数 w1 更新为 2.328”中的 2.328 是影子，w1 仍是 10：影子变为 {seq[4][2]:.5f}。",
            f"Likewise “w1 is updated to 2.328”: 2.328 is the shadow, w1 stays 10, and the shadow "
            f"becomes {seq[4][2]:.5f}.",
        ),
    ]
    command = 'python -c "from nnopt.engine.lecture import ema_script; print(ema_script(0.99, 4))"'
    for i, (lec, claim, note, slip) in enumerate(zip(EMA_LECTURE, claims, notes, slips)):
        _, w, s = seq[i + 1]
        exp.checks.append(
            numeric_check(
                f"ema.shadow{i + 1}",
                claim,
                lec,
                s,
                1 if i == 0 else 3,
                passage=f"ema.shadow{i + 1}",
                code="ema",
                command=command,
                printed=(_ema_line(w, s),),
                note=note,
                slip=slip,
            )
        )
    exp.values["script"] = {d: ema_script(d, 40) for d in (0.99, 0.1)}
    exp.values["conventions"] = [ema_order_note()]


# ------------------------------------------------------------------ 4.4 / 4.5

CIRCLE_STARTS = 16  # seeds of the initial weights in the multi-start study
FRESH_POINTS, FRESH_SEED = 3000, 12345


def _weights_norm(params) -> float:
    return float(sum(np.sum(np.square(v)) for k, v in params.items() if k.startswith("w")))


@functools.cache
def fresh_circle(n: int = FRESH_POINTS, seed: int = FRESH_SEED) -> tuple[np.ndarray, np.ndarray]:
    """New points drawn like the lecture's (another seed), and their classes."""
    from nnopt.engine.evaluate import predicted_classes

    x, y = circle(n, seed=seed)
    return x, predicted_classes(y)


def fresh_circle_accuracy(
    result: TrainResult, params, n: int = FRESH_POINTS, seed: int = FRESH_SEED
) -> float:
    """Accuracy on new points drawn like the lecture's: how well the fit generalizes. A point
    counts as red where the output is at least 0.5, the lecture's line (as in training)."""
    from nnopt.engine.evaluate import predict, predicted_classes

    x, classes = fresh_circle(n, seed)
    return float(np.mean(predicted_classes(predict(result.structure, params, x)) == classes))


def _circle_line(i: int, loss: float, total: bool) -> str:
    """The circle program's line: ``"After %d steps, loss is %f"`` (with L2: ``loss is: %f``)."""
    return f"After {i} steps, loss is{':' if total else ''} {loss:f}"


def multi_start_points(starts: int = CIRCLE_STARTS):
    """The circle with and without L2 (scale 0 and 0.01 of circle-l2), ``starts`` seeds each."""
    from nnopt.config.presets import read_raw
    from nnopt.engine.sweep.grid import grid_points

    raw, label = read_raw("circle-l2")
    return grid_points(
        raw, {"regularizer.scale": [0.0, raw["regularizer"]["scale"]]}, starts, label
    )


def _mean_sd(values) -> dict[str, float]:
    a = np.asarray(values, np.float64)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if len(a) > 1 else 0.0}


def multi_start_runs(starts: int = CIRCLE_STARTS) -> list[tuple]:
    """Trains the circle with and without L2 from ``starts`` initial weights, all in one compiled
    program (the sweep engine): (point, result) of each. It needs no run of the lecture, so
    :func:`run_lecture` starts it on its pool beside the trainings (a part's ``study``)."""
    from nnopt.engine.sweep.run import run_batch

    points = multi_start_points(starts)
    # One shard: the configurations share each step's loop (two shards would run the loop
    # twice), and the pool's other thread keeps the other core busy meanwhile.
    return list(zip(points, run_batch(points, workers=1)))


def multi_start(reference: TrainResult, runs: list[tuple]) -> dict:
    """Measures each run of :func:`multi_start_runs`: accuracy on fresh points, Σw², train loss."""
    out: dict[str, dict[str, list[float]]] = {}
    for p, r in runs:
        key = "l2" if p.settings["regularizer.scale"] > 0 else "plain"
        row = out.setdefault(key, {"seed": [], "fresh": [], "norm": [], "train": []})
        row["seed"].append(p.settings["train.seed"])
        row["fresh"].append(fresh_circle_accuracy(reference, r.params))
        row["norm"].append(_weights_norm(r.params))
        row["train"].append(float(r.rows[-1]["train_accuracy"]))
    return out


def program_prints(config: Config, column: str) -> list[tuple[int, float]]:
    """What the lecture's loop ``for i in range(STEPS): train; if i % every == 0: print``
    prints: (i, the full-data ``column``) after update i + 1, for i = 0, every, 2·every, ...
    (``every`` is the config's ``train.log_every``). The run's own compiled program, stopped
    one update past each log point."""
    from nnopt.engine.training import Training

    run = Training(config)
    out = []
    while not run.done:
        run.advance(1)  # loop i = run.step - 1, a multiple of log_every
        out.append((run.step - 1, float(run.history.rows[-1][column])))
        run.advance()  # on to the next multiple of log_every
    return out


def analyze_regularization(exp: Experiment) -> None:
    plain, l2 = exp.runs["circle"], exp.runs["circle-l2"]
    labels = bi(
        "程序在第 i 次循环（也就是第 i+1 次更新）之后、i 是 2000 的倍数时打印“After i steps”：它的“After 0 steps”是一次更新之后。"
        "这里的数字就是 nnopt 在这些时刻算出的值（课文的 loss 只出现在截图中，起点没有固定种子，所以没有可比的数字）。",
        "The program prints “After i steps” after loop i, i.e. after update i + 1, when i is a "
        "multiple of 2000: its “After 0 steps” comes after one update. The values here are "
        "nnopt's at those very points (the text shows its losses only in a screenshot, from an "
        "unseeded start, so there is no number to compare).",
    )
    exp.values["printed"] = {}
    for key, label, r, column in (
        ("plain", "无正则化", plain, "train_loss"),
        ("l2", "有正则化", l2, "train_total"),
    ):
        prints = program_prints(r.config, column)
        exp.values["printed"][key] = prints
        shown = prints[:: max(1, len(prints) // 4)] + prints[-1:]
        en = "without L2: loss_mse" if key == "plain" else "with L2: loss_total"
        name = "loss_mse" if key == "plain" else "loss_total (the data loss + the L2 term)"
        exp.checks.append(
            fact_check(
                f"circle.{key}.loss",
                bi(
                    f"{label}：程序打印的 loss 在训练中下降",
                    f"{en}, as the program prints it, falls",
                ),
                "decreasing",
                {f"After {i} steps": _round(v, 4) for i, v in dict(shown).items()},
                prints[-1][1] < prints[0][1],
                f"the full-data {name} the program prints last (After {prints[-1][0]} steps) is "
                f"below the first (After {prints[0][0]} steps)",
                passage=f"circle.{key}.loss",
                code="circle",
                runs=("circle",) if key == "plain" else ("circle-l2",),
                printed=tuple(_circle_line(i, v, key == "l2") for i, v in prints[:2] + prints[-1:]),
                note=labels,
            )
        )
    # TF1's l2_regularizer(scale)(w) = scale·tf.nn.l2_loss(w) = scale·Σw²/2; the text writes Σw².
    scale = l2.config.regularizer.scale
    sq = _weights_norm(l2.params)
    data_loss, penalty = float(l2.final["train_loss"]), float(l2.final["train_reg"])
    exp.values["conventions"] = [
        bi(
            f"L2 的约定：TensorFlow 的 l2_regularizer(scale)(w) = scale·tf.nn.l2_loss(w) = scale·Σw²/2，课文写的是 Σ|w|²。"
            f"nnopt 照 TF1：训练结束时 Σw² = {sq:.3f}，L2 项 = {scale:g}·{sq:.3f}/2 = {penalty:.4f}，"
            f"loss_total = {data_loss:.4f} + {penalty:.4f} = {data_loss + penalty:.4f}；按课文的 Σw² 会是 "
            f"{data_loss + scale * sq:.4f}。",
            f"L2 convention: TensorFlow's l2_regularizer(scale)(w) is scale·tf.nn.l2_loss(w) = "
            f"scale·Σw²/2, while the text writes Σ|w|². nnopt follows TF1: at the end Σw² = "
            f"{sq:.3f}, the L2 term is {scale:g}·{sq:.3f}/2 = {penalty:.4f} and loss_total = "
            f"{data_loss:.4f} + {penalty:.4f} = {data_loss + penalty:.4f}; with the text's Σw² it "
            f"would be {data_loss + scale * sq:.4f}.",
        )
    ]
    study = multi_start(plain, exp.values.pop("study"))
    exp.values["multi_start"] = study
    n = len(study["plain"]["norm"])
    norms = {k: _mean_sd(v["norm"]) for k, v in study.items()}
    fresh = {k: _mean_sd(v["fresh"]) for k, v in study.items()}
    smaller = sum(a > b for a, b in zip(study["plain"]["norm"], study["l2"]["norm"]))
    sweep_command = f"nnopt sweep circle-l2 --grid regularizer.scale=0,{scale:g} --seeds {n}"
    exp.checks.append(
        fact_check(
            "circle.l2.smaller-weights",
            bi(f"L2 使权重变小（{n} 个起点）", f"L2 keeps the weights small ({n} starts)"),
            "Σw² smaller with L2",
            {
                "without L2": {k: _round(v, 2) for k, v in norms["plain"].items()},
                "with L2": {k: _round(v, 2) for k, v in norms["l2"].items()},
                "smaller with L2": f"{smaller} of {n}",
            },
            smaller == n,
            f"Σw² (weights only) after training is smaller with L2 than without from every one of "
            f"{n} starts (the same initial weights for both)",
            passage="circle.l2.smaller-weights",
            code="circle",
            command=sweep_command,
            runs=("circle", "circle-l2"),
            note=bi(
                f"同一组起点（train.seed = 0…{n - 1}）分别不加和加 L2 训练，全部在一个编译好的程序里（nnopt 的 sweep 引擎）。"
                f"课文的那一次起点（seed 0）：Σw² = {_weights_norm(plain.params):.2f}（无）、{_weights_norm(l2.params):.2f}（有）。",
                f"The same starts (train.seed = 0 ... {n - 1}) trained without and with L2, all in "
                f"one compiled program (nnopt's sweep engine). The preset's own start (seed 0): "
                f"Σw² = {_weights_norm(plain.params):.2f} without, {_weights_norm(l2.params):.2f} with.",
            ),
        )
    )
    diff = np.asarray(study["l2"]["fresh"]) - np.asarray(study["plain"]["fresh"])
    mean_diff = float(diff.mean())
    se = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else float("inf")
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    better = mean_diff > 2 * se
    one = {k: fresh_circle_accuracy(r, r.params) for k, r in (("circle", plain), ("circle-l2", l2))}
    holds_zh = "成立" if better else "不成立"
    spread = fresh["l2"]["sd"] < fresh["plain"]["sd"]
    exp.checks.append(
        fact_check(
            "circle.l2.generalization",
            bi(
                f"有正则化的模型泛化能力更好（{FRESH_POINTS} 个新点上的准确率，{n} 个起点）",
                f"the regularized model generalizes better (accuracy on {FRESH_POINTS} new points, {n} starts)",
            ),
            "better with L2",
            {
                "without L2": {k: _round(v, 4) for k, v in fresh["plain"].items()},
                "with L2": {k: _round(v, 4) for k, v in fresh["l2"].items()},
                "paired difference": {
                    "mean": _round(mean_diff, 4),
                    "standard error": _round(se, 4),
                },
                "L2 better / worse": f"{wins} / {losses} of {n}",
                "the preset's start": {k: _round(v, 4) for k, v in one.items()},
            },
            better,
            f"over {n} starts, the mean paired difference of accuracy on {FRESH_POINTS} fresh "
            "points (with L2 minus without, same start) exceeds twice its standard error",
            passage="circle.l2.generalization",
            code="circle",
            command=sweep_command,
            runs=("circle", "circle-l2"),
            note=bi(
                f"课文没有测试集；nnopt 按同样的分布另取 {FRESH_POINTS} 个新点（seed {FRESH_SEED}）。课文那一次起点上 L2 "
                f"{'更好' if one['circle-l2'] > one['circle'] else '并不更好'}（{_pct(one['circle-l2'])} 对 {_pct(one['circle'])}）。"
                f"换 {n} 个起点：有 L2 {_pct(fresh['l2']['mean'])} ± {_pct(fresh['l2']['sd'])}，无 L2 "
                f"{_pct(fresh['plain']['mean'])} ± {_pct(fresh['plain']['sd'])}（平均 ± 标准差）；同一起点的差平均 "
                f"{100 * mean_diff:+.2f} ± {100 * se:.2f} 个百分点（标准误），L2 更好 {wins} 次、更差 {losses} 次。"
                f"所以“泛化更好”在这里{holds_zh}。成立的是：权重小得多（Σw² {norms['l2']['mean']:.1f} 对 "
                f"{norms['plain']['mean']:.1f}）"
                + ("，不同起点之间的准确率也更稳定（标准差更小）" if spread else "")
                + "；边界更平滑可以在图中看到。",
                f"The lecture has no test set; nnopt draws {FRESH_POINTS} new points from the same "
                f"distribution (seed {FRESH_SEED}). From the preset's start L2 is "
                f"{'better' if one['circle-l2'] > one['circle'] else 'not better'} "
                f"({_pct(one['circle-l2'])} against {_pct(one['circle'])}). Over {n} starts: with L2 "
                f"{_pct(fresh['l2']['mean'])} ± {_pct(fresh['l2']['sd'])}, without "
                f"{_pct(fresh['plain']['mean'])} ± {_pct(fresh['plain']['sd'])} (mean ± sd); the "
                f"paired difference is {100 * mean_diff:+.2f} ± {100 * se:.2f} points (standard "
                f"error), L2 better from {wins} starts and worse from {losses}. So “generalizes "
                f"better” {'holds' if better else 'does not hold'} here. What holds: the weights are "
                f"much smaller (Σw² {norms['l2']['mean']:.1f} against {norms['plain']['mean']:.1f})"
                + (
                    ", and the accuracy varies less from start to start (a smaller sd)"
                    if spread
                    else ""
                )
                + "; the smoother boundary shows in the figure.",
            ),
        )
    )
    exp.values.update(
        train_accuracy={k: _round(r.final["train_accuracy"], 4) for k, r in exp.runs.items()},
        fresh_accuracy={k: _round(v, 4) for k, v in one.items()},
    )


def analyze_modular(exp: Experiment) -> None:
    r = exp.runs["circle-modular"]
    lr = r.history.per_step("lr")
    # TensorFlow computes in float32, so the formula takes the float32 values of 0.001 and 0.999.
    base, rate = float(np.float32(0.001)), float(np.float32(0.999))
    formula = base * rate ** (np.arange(len(lr)) // 10)
    deviation = float(np.max(np.abs(lr / formula - 1)))
    exp.checks.append(
        fact_check(
            "modular.lr",
            bi(
                "learning_rate = 0.001·0.999^⌊global_step / (300/30)⌋（阶梯型），每次更新",
                "learning_rate = 0.001·0.999^⌊global_step / (300/30)⌋ (staircase), at every update",
            ),
            "0.001·0.999^⌊k/10⌋",
            {
                "first": _round(lr[0], 6),
                "last": float(f"{lr[-1]:.7g}"),
                "max relative deviation": float(f"{deviation:.1e}"),
            },
            deviation < 1e-5,
            "every update's rate within 1e-5 (relative) of 0.001·0.999^⌊k/10⌋ in float32",
            passage="modular.lr",
            code="modular",
            runs=("circle-modular",),
        )
    )
    fresh = {
        w: _round(fresh_circle_accuracy(r, p), 4)
        for w, p in (("raw", r.params), ("ema", r.ema_params))
    }
    exp.values["fresh_accuracy"] = fresh
    exp.checks.append(
        fact_check(
            "modular.result",
            bi(
                "加入指数衰减学习率和正则化后分割曲线平滑，效果变好",
                "with decay and L2 the boundary is smooth and good",
            ),
            "a good separation",
            {
                "train accuracy raw": _round(r.final["train_accuracy"], 4),
                "train accuracy EMA": _round(r.final["ema_train_accuracy"], 4),
                f"{FRESH_POINTS} new points": fresh,
            },
            r.final["train_accuracy"] > 0.9,
            "the raw weights classify more than 90 % of the 300 training points right",
            passage="modular.result",
            code="modular",
            runs=("circle-modular",),
            note=bi(
                "课文只以图片给出 backward.py；nnopt 依照课文的模板：同一个 global_step 同时驱动学习率衰减和滑动平均。",
                "The notes show backward.py only as a picture; nnopt follows the text's template: "
                "one global_step drives both the decay and the moving average.",
            ),
        )
    )
    exp.values["conventions"] = [ema_order_note()]


# ------------------------------------------------------------------ exercises

OPTIMIZERS_TRIED = ("sgd", "momentum", "rmsprop", "adagrad", "adam")
EXERCISE_RATES = (0.001, 0.01, 0.1, 0.3, 1.0, 3.0)  # the lecture's rate first
EXERCISE_BASE = "yogurt-mse"
THRESHOLD = 0.001  # full-pass MSE of the yogurt fit; the least-squares floor is about 0.00065


def rate_label(name: str, rate: float) -> str:
    return f"{name} {rate:g}"


def _rate_overrides(name: str, rate: float) -> tuple[str, ...]:
    return (f"optimizer.name={name}", f"optimizer.learning_rate={rate!r}")


def epoch_losses(result: TrainResult) -> np.ndarray:
    """The mean batch loss of each pass over the data (Keras's epoch loss): every update's batch
    loss, which nnopt records, averaged over ceil(N / B) consecutive updates."""
    per = -(-len(result.dataset.x_train) // result.config.train.batch_size)
    losses = result.history.per_step("loss")
    n = len(losses) // per
    return losses[: n * per].reshape(n, per).mean(axis=1)


def steps_to_settle(result: TrainResult, threshold: float) -> int | None:
    """The first update after which every pass's mean batch loss stays below ``threshold``
    (None: it never settles there, or the run diverged)."""
    if "diverged_at" in result.final:
        return None
    epochs = epoch_losses(result)
    above = np.flatnonzero(~(epochs < threshold))
    per = -(-len(result.dataset.x_train) // result.config.train.batch_size)
    if len(above) == 0:
        return per
    if above[-1] == len(epochs) - 1:
        return None
    return int((above[-1] + 2) * per)


def least_squares_floor(result: TrainResult) -> float:
    """The least MSE a line y = x·w can reach on the run's data (the noise floor)."""
    x = np.asarray(result.dataset.x_train, np.float64)
    y = np.asarray(result.dataset.y_train[:, 0], np.float64)
    w, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(np.mean((x @ w - y) ** 2))


def analyze_optimizers(exp: Experiment) -> None:
    table: dict[str, dict[float, int | None]] = {}
    for name in OPTIMIZERS_TRIED:
        table[name] = {
            rate: steps_to_settle(exp.runs[rate_label(name, rate)], THRESHOLD)
            for rate in EXERCISE_RATES
        }
    best = {}
    for name, by_rate in table.items():
        reached = [(s, r) for r, s in by_rate.items() if s is not None]
        best[name] = min(reached) if reached else (None, None)
    shared = EXERCISE_RATES[0]  # the lecture's 0.001
    diverged = [
        rate_label(n, r) for n in OPTIMIZERS_TRIED for r in EXERCISE_RATES
        if "diverged_at" in exp.runs[rate_label(n, r)].final
    ]  # fmt: skip
    lecture_run = exp.runs[rate_label("sgd", shared)]
    floor = least_squares_floor(lecture_run)
    rows, batch = len(lecture_run.dataset.x_train), lecture_run.config.train.batch_size
    per, steps = -(-rows // batch), lecture_run.config.train.steps
    beta = exp.runs[rate_label("momentum", shared)].config.optimizer.momentum
    exp.values.update(table=table, best=best, threshold=THRESHOLD, floor=floor, diverged=diverged)
    ranked = sorted(
        (n for n in OPTIMIZERS_TRIED if best[n][0] is not None), key=lambda n: best[n][0]
    )
    at_shared = sorted(
        OPTIMIZERS_TRIED, key=lambda n: (table[n][shared] is None, table[n][shared] or 0)
    )
    edge = [n for n in ranked if best[n][1] in (EXERCISE_RATES[0], EXERCISE_RATES[-1])]

    def steps_text(s):
        return "—" if s is None else str(s)

    fastest = ranked[0] if ranked else None
    best_en = "; ".join(
        f"{n} {steps_text(best[n][0])} updates at rate {best[n][1]:g}" for n in ranked
    )
    best_zh = "；".join(
        f"{n} 在学习率 {best[n][1]:g} 下 {steps_text(best[n][0])} 次更新" for n in ranked
    )
    shared_en = ", ".join(f"{n} {steps_text(table[n][shared])}" for n in at_shared)
    never = [n for n in OPTIMIZERS_TRIED if table[n][shared] is None]
    rates_text = ", ".join(f"{r:g}" for r in EXERCISE_RATES)
    exp.checks.append(
        fact_check(
            "optimizers.yogurt-mse",
            bi(
                "换用其他反向传播方法对收敛速度的影响（酸奶，均方误差）",
                "how other optimizers change the speed of convergence (yogurt, MSE)",
            ),
            "(an exercise: the lecture gives no number)",
            {
                n: {
                    "best rate": best[n][1],
                    "updates": best[n][0],
                    f"updates at {shared:g}": table[n][shared],
                }
                for n in OPTIMIZERS_TRIED
            },
            all(best[n][0] is not None for n in OPTIMIZERS_TRIED),
            f"answered when every optimizer, at some rate of the grid, brings the loss of a pass "
            f"over the data below {THRESHOLD:g} to stay",
            kind="exercise",
            passage="optimizers",
            code="optimizers",
            command=(
                f"nnopt sweep {EXERCISE_BASE} --grid optimizer.name={','.join(OPTIMIZERS_TRIED)} "
                f"--grid optimizer.learning_rate={','.join(f'{r:g}' for r in EXERCISE_RATES)} --threshold {THRESHOLD:g}"
            ),
            runs=tuple(rate_label(n, best[n][1]) for n in ranked),
            note=bi(
                f"问题是收敛速度，所以量的是：多少次更新之后，每一轮（{per} 批 × {batch} 行 = 全部 {rows} 行）的平均 batch loss 降到 "
                f"{THRESHOLD:g} 以下并保持（最小二乘的下限是 {floor:.5f}）。每种方法都在学习率 {rates_text} 中各自取最快的一个"
                f"（其余设定同课文：从课文的起点、每批 {batch} 行、{steps} 步）。结果：{best_zh}。"
                + (f"最快的是 {fastest}。" if fastest else "")
                + f"在课文共用的学习率 {shared:g} 下，顺序变成 {shared_en}"
                + (f"（{', '.join(never)} 在 {steps} 步内没有降到阈值）" if never else "")
                + "：同一个学习率比较的是学习率，而不是方法本身。这个问题只有两个权重、是凸的、尺度也好，所以普通梯度下降只要学习率"
                f"接近稳定的上限就已经很快；动量相当于把学习率放大 1/(1-{beta:g}) 倍；Adam 和 RMSProp 的步长约等于学习率，"
                "与梯度大小无关；Adagrad 的累计量只增不减，步长越走越小。"
                + (f"{', '.join(edge)} 的最佳学习率在网格的边上。" if edge else "")
                + (f"发散的设定：{', '.join(diverged)}。" if diverged else ""),
                f"The question is the speed of convergence, so the measure is: after how many "
                f"updates the mean batch loss of a pass over the data ({per} batches × {batch} rows = all {rows} "
                f"rows) falls below {THRESHOLD:g} and stays there (the least-squares floor is "
                f"{floor:.5f}). Each optimizer runs at its own best rate of {rates_text} (the rest "
                f"as the lecture: its start, batches of {batch}, {steps} updates). Result: {best_en}."
                + (f" Fastest: {fastest}." if fastest else "")
                + f" At the lecture's shared rate {shared:g} the order is {shared_en}"
                + (
                    f" ({', '.join(never)} not below the threshold within {steps} updates)"
                    if never
                    else ""
                )
                + ": comparing at one rate compares the rate, not the optimizer. This problem has "
                "two weights, is convex and well scaled, so plain gradient descent near its "
                "largest stable rate is already fast; momentum multiplies the rate by about "
                f"1/(1 - {beta:g}); Adam's and RMSProp's steps are about the rate whatever the "
                "gradient's size; Adagrad's accumulated Σg² only grows, so its steps keep "
                "shrinking."
                + (
                    f" The best rate of {', '.join(edge)} is at the edge of the grid."
                    if edge
                    else ""
                )
                + (f" Diverged: {', '.join(diverged)}." if diverged else ""),
            ),
        )
    )


def analyze_ema_decay(exp: Experiment) -> None:
    seq = ema_script(0.1, 8)
    exp.values["script"] = {d: ema_script(d, 40) for d in (0.99, 0.1)}
    d = float(numpy_ema_decay(0.1, 100))
    exp.checks.append(
        fact_check(
            "ema-decay.0.1",
            bi(
                "MOVING_AVERAGE_DECAY = 0.1 时影子追随参数的速度",
                "how fast the shadow follows with MOVING_AVERAGE_DECAY = 0.1",
            ),
            "(an exercise: the lecture gives no number)",
            [_round(s, 3) for _, _, s in seq[1:6]],
            abs(seq[3][2] - 10.0) < 0.1,
            "answered when, with decay 0.1, the shadow is within 0.1 of w1 = 10 after two runs at global_step 100",
            kind="exercise",
            passage="ema-decay",
            code="ema-decay",
            command='python -c "from nnopt.engine.lecture import ema_script; print(ema_script(0.1, 5))"',
            printed=tuple(_ema_line(w, s) for _, w, s in seq[1:4]),
            note=bi(
                f"衰减率 0.1 时 d = min(0.1, (1+n)/(10+n)) = {d:g}：每运行一次，影子与 w1 的差距缩小 {_pct(1 - d, 0)}，"
                f"两次之后已在 0.1 以内；而 0.99 时（d = {float(numpy_ema_decay(0.99, 100)):.4f}）每次只缩小 "
                f"{_pct(1 - float(numpy_ema_decay(0.99, 100)), 0)}。",
                f"With decay 0.1, d = min(0.1, (1+n)/(10+n)) = {d:g}: each run closes "
                f"{_pct(1 - d, 0)} of the gap between the shadow and w1, within 0.1 after two runs; "
                f"with 0.99 (d = {float(numpy_ema_decay(0.99, 100)):.4f}) each run closes only "
                f"{_pct(1 - float(numpy_ema_decay(0.99, 100)), 0)}.",
            ),
        )
    )


# ------------------------------------------------------------------ beyond: the landscape

LANDSCAPE_LOSSES = ("yogurt-mse",) + COST_PROFIT
LANDSCAPE_RATE = 0.001  # the lecture's


def _landscape_label(preset: str, name: str) -> str:
    return f"{preset} / {name}"


def _landscape_spec(preset: str, name: str) -> tuple[str, tuple[str, ...]]:
    if preset == EXERCISE_BASE:  # the exercise's run at the lecture's rate: trained once
        return preset, _rate_overrides(name, LANDSCAPE_RATE)
    return preset, () if name == "sgd" else (f"optimizer.name={name}",)


def loss_surface(result: TrainResult, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """The run's full-data loss (its own loss function from nnopt's registry) at every (w1, w2)
    of the grid: ``[len(w2), len(w1)]``."""
    from nnopt.engine.evaluate import predict
    from nnopt.engine.structure import number_values

    x = np.asarray(result.dataset.x_train, np.float32)
    y_ = np.asarray(result.dataset.y_train, np.float32)
    # Every grid point's w1 [2, 1] at once: x @ w1 broadcasts to [points, rows, 1]. In NumPy
    # float32 (the model's and the loss's NumPy twins): a figure's grid compiles no program.
    grid = np.stack(np.meshgrid(w1, w2), axis=-1).reshape(-1, 2, 1).astype(np.float32)
    y = predict(result.structure, {"w1": grid}, x)
    loss = NUMPY_LOSSES[result.structure.loss]
    values = loss(y, y_, np.ones(len(x), np.float32), number_values(result.config))
    return np.asarray(values, np.float64).reshape(len(w2), len(w1))


def analyze_landscape(exp: Experiment) -> None:
    paths, surfaces, ends = {}, {}, {}
    for preset in LANDSCAPE_LOSSES:
        runs = {n: exp.runs[_landscape_label(preset, n)] for n in OPTIMIZERS_TRIED}
        paths[preset] = {
            n: np.stack([r.history.column("w1[0,0]"), r.history.column("w1[1,0]")], axis=1)
            for n, r in runs.items()
        }
        ends[preset] = {n: [_round(v, 3) for v in _w(r)] for n, r in runs.items()}
    # One window for the three panels: every path, the start and the text's weights, with a margin.
    every = np.concatenate([p for by_name in paths.values() for p in by_name.values()])
    every = np.concatenate([every, np.asarray(list(YOGURT_LECTURE.values()))])
    lo, hi = every.min(axis=0), every.max(axis=0)
    pad = 0.08 * (hi - lo) + 0.05
    w1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 121)
    w2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 101)
    for preset in LANDSCAPE_LOSSES:
        surfaces[preset] = loss_surface(exp.runs[_landscape_label(preset, "sgd")], w1, w2)
    exp.values.update(w1=w1, w2=w2, surfaces=surfaces, paths=paths, ends=ends)
    exp.values["lecture_w"] = {p: YOGURT_LECTURE[p] for p in LANDSCAPE_LOSSES}


# ------------------------------------------------------------------ the parts


def _preset(name: str, *overrides: str) -> tuple[str, tuple[str, ...]]:
    return name, tuple(overrides)


def _part(name: str, runs: dict, analyze: Callable[[Experiment], None], study=None) -> Part:
    text = part_text(name)
    return Part(name, text.section, text.title_en, runs, analyze, study)


PARTS: dict[str, Part] = {
    p.name: p
    for p in (
        _part("network-size", {}, analyze_network_size),
        _part("activations", {}, analyze_activations),
        _part(
            "yogurt",
            {
                **{p: _preset(p) for p in YOGURT_LECTURE},
                **{
                    _start_label(p, s): _preset(p, f"model.init_stddev={s!r}")
                    for p in COST_PROFIT
                    for s in START_SCALES
                },
            },
            analyze_yogurt,
        ),
        _part("cross-entropy", {}, analyze_cross_entropy),
        _part(
            "gradient-descent",
            {
                **{r: _preset(f"gd-rate-{r}") for r in ("0.2", "1", "0.0001")},
                **{
                    f"rate {r}": _preset("gd-rate-0.2", f"optimizer.learning_rate={r}")
                    for r in RATES_TRIED
                },
            },
            analyze_gradient_descent,
        ),
        _part(
            "exponential-decay", {"decay": _preset("exponential-decay")}, analyze_exponential_decay
        ),
        _part("ema", {"ema-demo": _preset("ema-demo")}, analyze_ema),
        _part(
            "regularization",
            {"circle": _preset("circle"), "circle-l2": _preset("circle-l2")},
            analyze_regularization,
            multi_start_runs,
        ),
        _part("modular", {"circle-modular": _preset("circle-modular")}, analyze_modular),
        _part(
            "optimizers",
            {
                rate_label(n, r): _preset(EXERCISE_BASE, *_rate_overrides(n, r))
                for n in OPTIMIZERS_TRIED
                for r in EXERCISE_RATES
            },
            analyze_optimizers,
        ),
        _part("ema-decay", {}, analyze_ema_decay),
        _part(
            "landscape",
            {
                _landscape_label(p, n): _landscape_spec(p, n)
                for p in LANDSCAPE_LOSSES
                for n in OPTIMIZERS_TRIED
            },
            analyze_landscape,
        ),
    )
}


def run_to_end(training) -> TrainResult:
    """``training.run()``, except that a run whose loss turns NaN or infinite (an exercise
    tries rates up to divergence) returns what it trained before, with
    ``final["diverged_at"]`` set to the step."""
    try:
        return training.run()
    except DivergenceError as exc:
        return _diverged(training, exc)


def _diverged(training, exc: DivergenceError) -> TrainResult:
    result = training.result()
    result.final["diverged_at"] = float(exc.step)
    return result


BUNDLE = 6  # program keys per compiled program at most (see compiled_bundle)
SMALL = 8  # parameters: the yogurt fits and the 1-D demos


def bundles(keys: list[tuple]) -> list[list[tuple]]:
    """The program keys grouped into the programs that train them: the keys of small networks
    (at most :data:`SMALL` parameters: the yogurt fit's optimizers and losses, the 1-D demos)
    share programs, at most :data:`BUNDLE` keys each, dealt round; every other key has its
    own program (the circle's, which :func:`program_prints` steps through again)."""
    small = [k for k in keys if k[0].n_params <= SMALL]
    n = -(-len(small) // BUNDLE)
    return [small[i::n] for i in range(n)] + [[k] for k in keys if k[0].n_params > SMALL]


def run_lecture(
    only: list[str] | None = None,
    on_trained: Callable[[str, int, int], None] | None = None,
    workers: int | None = None,
) -> list[Experiment]:
    """Runs the lecture's parts (all, or ``only`` these names), returned in the lecture's order.

    Every distinct config (a preset with overrides) is trained once, on a pool of threads
    (compiling and training release Python's lock, so the cores work in parallel). The
    configs that share a compiled program train one after another in one task, so that no
    program is compiled twice (two threads would each compile it), and programs alike in
    shape are compiled together as one (:func:`bundles`, :func:`train_together`: XLA's cost
    per program is paid once), the programs slowest to compile and train first.
    ``on_trained(label, done, total)`` is called as each finishes; a part is analyzed as
    soon as all its runs are done.
    """
    from nnopt.engine.training import Training, train_together

    parts = [p for name, p in PARTS.items() if not only or name in only]
    configs: dict[tuple, Config] = {}
    for part in parts:
        for preset, overrides in part.runs.values():
            configs.setdefault((preset, overrides), load_config(preset, overrides))
    unique: dict[Config, list[tuple]] = {}
    for key, config in configs.items():
        unique.setdefault(config, []).append(key)
    by_key: dict[tuple, list[tuple[Config, Training]]] = {}
    for config in unique:
        training = Training(config)  # sets up the data and the start; compiles nothing
        by_key.setdefault(training.program_key(), []).append((config, training))
    # Runs of many keys first (the yogurt keys with many runs lead their programs).
    keys = sorted(by_key, key=lambda k: -len(by_key[k]))
    tasks = [[run for k in group for run in by_key[k]] for group in bundles(keys)]
    results: dict[tuple, TrainResult] = {}
    studies: dict[str, Any] = {}
    finished: dict[str, Experiment] = {}

    def finish_ready_parts() -> None:
        for part in parts:
            if part.name in finished or (part.study and part.name not in studies):
                continue
            if all(s in results for s in part.runs.values()):
                exp = Experiment(part.name, part.section, part.title)
                exp.runs = {label: results[spec] for label, spec in part.runs.items()}
                if part.study:
                    exp.values["study"] = studies[part.name]
                part.analyze(exp)
                finished[part.name] = exp

    def train_all(task: list[tuple[Config, Training]]) -> list[TrainResult]:
        trainings = [t for _, t in task]
        return [
            _diverged(t, r) if isinstance(r, DivergenceError) else r
            for t, r in zip(trainings, train_together(trainings))
        ]

    def cost(task: list[tuple[Config, Training]]) -> tuple:
        return (
            -max(t.structure.n_params for _, t in task),
            -max(t.config.train.steps for _, t in task),
        )

    done = 0
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        # The studies first: a sweep's program is the slowest to compile and train.
        futures = {pool.submit(p.study): p.name for p in parts if p.study}
        futures |= {pool.submit(train_all, task): task for task in sorted(tasks, key=cost)}
        finish_ready_parts()  # the parts without runs, while the pool compiles and trains
        for future in as_completed(futures):
            if isinstance(futures[future], str):
                studies[futures[future]] = future.result()
                finish_ready_parts()
                continue
            for (config, _), result in zip(futures[future], future.result()):
                keys = unique[config]
                for key in keys:
                    results[key] = result
                done += 1
                if on_trained is not None:
                    on_trained(" ".join([keys[0][0], *keys[0][1]]), done, len(unique))
            finish_ready_parts()
    return [finished[p.name] for p in parts]
