"""`nnopt lecture`: every check's number at the lecture's precision, the measured causes of the
misses and slips, the three kinds kept apart, and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nnopt.cli.main import main
from nnopt.engine.lecture import (
    EXERCISE_RATES,
    KINDS,
    OPTIMIZERS_TRIED,
    PARTS,
    THRESHOLD,
    YOGURT_LECTURE,
    epoch_losses,
    run_lecture,
    steps_to_settle,
)
from nnopt.engine.passages import lecture_text
from tests.support.lecture import whole_lecture


@pytest.fixture(scope="module")
def lecture():
    experiments = whole_lecture()
    return {c.name: c for e in experiments for c in e.checks}, {e.name: e for e in experiments}


# ------------------------------------------------------------------ fast: parts without training


def test_cross_entropy_three_readings():
    (exp,) = run_lecture(["cross-entropy"])
    text, natural, code = exp.values["readings"].values()
    # The text: -Σ y_·log10(y). Natural log: -ln 0.6, -ln 0.8. The lecture's code (nnopt's
    # cross_entropy): -reduce_mean over both entries of (1, 0), so half the natural-log sum.
    assert [round(v, 3) for v in text] == [0.222, 0.097]
    assert text == pytest.approx([-math.log10(0.6), -math.log10(0.8)], abs=1e-12)
    assert [round(v, 4) for v in natural] == [0.5108, 0.2231]
    assert [round(v, 4) for v in code] == [0.2554, 0.1116]
    assert code == pytest.approx([-math.log(0.6) / 2, -math.log(0.8) / 2], rel=1e-6)
    checks = {c.name: c for c in exp.checks}
    assert checks["cross-entropy.H1"].ok and checks["cross-entropy.H2"].ok
    slip = checks["cross-entropy.H1"].slip["en"]
    assert "0.2554" in slip and "0.1116" in slip and "0.5108" in slip and "base-10" in slip
    assert "0.2554" in checks["cross-entropy.H1"].slip["zh"]
    assert checks["cross-entropy.ranking"].ok


def test_every_check_names_its_passage_code_rule_and_command():
    text = lecture_text()
    experiments = run_lecture(["network-size", "activations", "cross-entropy", "ema-decay"])
    from nnopt.engine.lecture import check_commands

    for e in experiments:
        for c in e.checks:
            assert c.kind in KINDS and c.rule, c.name
            assert c.passage in text.passages and c.code in text.code, c.name
            assert c.claim["zh"] and c.claim["en"], c.name
            assert check_commands(e.name, c), c.name
    ema = next(e for e in experiments if e.name == "ema-decay").checks[0]
    assert ema.kind == "exercise" and ema.verdict == "answered"
    assert ema.nnopt[:2] == [0.9, 9.09]  # 0.1·0 + 0.9·1; then 0.1·0.9 + 0.9·10


def test_the_analyses_compile_no_program():
    """The parts without runs, and a loss landscape's grid, are NumPy: no XLA program."""
    from nnopt.config.presets import load_config
    from nnopt.engine.compilation import compile_counter
    from nnopt.engine.evaluate import losses_of
    from nnopt.engine.lecture import loss_surface
    from nnopt.engine.structure import make_numbers
    from nnopt.engine.training import train

    count = compile_counter()
    experiments = run_lecture(["network-size", "activations", "cross-entropy", "ema-decay"])
    assert count().programs == 0
    assert [c.nnopt for c in experiments[1].checks] == [[0.0, 0.5, 0.0]]
    assert experiments[2].checks[-1].nnopt == [0.09, 0.2447, 0.6652]  # softmax([1, 2, 3])
    # The landscape: the run's own loss at each (w1, w2), here beside the compiled loss.
    for preset in ("yogurt-mse", "yogurt-cost9-profit1"):
        run = train(load_config(preset, ["train.steps=1"]))
        w1, w2 = np.linspace(0.5, 1.5, 5), np.linspace(0.0, 2.0, 3)
        count = compile_counter()
        surface = loss_surface(run, w1, w2)
        assert count().programs == 0 and surface.shape == (3, 5)
        numbers = make_numbers(run.config)
        for i, j in ((0, 0), (1, 2), (2, 4)):
            w = np.float32([[w1[j]], [w2[i]]])
            want = losses_of(run.structure, numbers, {"w1": w}, run.dataset.x_train,
                             run.dataset.y_train)[0]  # fmt: skip
            assert surface[i, j] == pytest.approx(float(want), rel=3e-7)


# ------------------------------------------------------------------ slow: the whole lecture

slow = pytest.mark.slow


@slow
def test_every_part_ran_and_reports_checks(lecture):
    checks, parts = lecture
    assert list(parts) == list(PARTS)
    assert len(checks) >= 30
    text = lecture_text()
    for e in parts.values():
        for c in e.checks:
            assert c.kind in KINDS and c.rule and c.passage in text.passages, c.name
            assert all(label in e.runs for label in c.runs), c.name


@slow
def test_network_size(lecture):
    checks, _ = lecture
    assert checks["network-size.layers"].nnopt == 2
    assert checks["network-size.parameters"].nnopt == 26


@slow
def test_yogurt_mse_fit_matches_the_lecture(lecture):
    w = lecture[0]["yogurt-mse.w"].nnopt
    assert [round(v, 2) for v in w] == [0.98, 1.02]
    assert lecture[0]["yogurt-mse.w"].printed[0].startswith("Final w1 is: [[0.98")


@slow
@pytest.mark.parametrize("preset", ["yogurt-cost1-profit9", "yogurt-cost9-profit1"])
def test_cost_profit_miss_and_its_measured_cause(lecture, preset):
    checks, parts = lecture
    exp = parts["yogurt"]
    check = checks[f"{preset}.w"]
    lecture_w = YOGURT_LECTURE[preset]
    final = np.round(exp.runs[preset].params["w1"].ravel().astype(np.float64), 2)
    assert check.ok == (tuple(final) == lecture_w)
    cause = exp.values["causes"][preset]
    # The steps listed are exactly the log points whose rounded weights are the text's.
    h = exp.runs[preset].history
    rows = zip(h.column("step"), h.column("w1[0,0]"), h.column("w1[1,0]"))
    expected = [int(s) for s, a, b in rows if (round(a, 2), round(b, 2)) == lecture_w]
    assert cause["steps at the text's numbers"] == expected and expected
    assert sum(cause["finals of nearby starts"].values()) == 9
    assert f"{len(expected)} of nnopt's {len(h.rows)} log points" in check.note["en"]
    assert check.note["zh"] and "Most likely cause" in check.note["en"]
    if preset == "yogurt-cost1-profit9":  # the code printed under ① has ②'s COST and PROFIT
        assert "COST = 9, PROFIT = 1" in check.slip["en"]
    assert checks["yogurt.direction"].ok


@slow
def test_gradient_descent_numbers_and_what_the_program_prints(lecture):
    checks, _ = lecture
    assert round(checks["gd-0.2.step1"].nnopt, 1) == 2.6
    assert round(checks["gd-0.2.step2"].nnopt, 2) == 1.16
    assert round(checks["gd-0.2.step3"].nnopt, 3) == 0.296
    assert round(checks["gd-0.2.limit"].nnopt, 3) == -1.0
    # The lecture's loop prints after each update: its "After 0 steps" is w after update 1.
    assert checks["gd-0.2.step1"].printed[0].startswith("After 0 steps: w is 2.600000.")
    assert checks["gd-0.2.step3"].printed[0].startswith("After 2 steps: w is 0.296000.")
    swing = checks["gd-1.swing"]
    assert swing.nnopt["w"] == [5.0, -7.0, 5.0, -7.0, 5.0, -7.0] and swing.ok
    assert set(swing.nnopt["loss"]) == {36.0}
    # The text says the *loss* swings between 5 and -7: quoted and flagged.
    assert "*loss*" in swing.slip["en"] and "36" in swing.slip["en"]
    assert "5 和-7 之间波动" in lecture_text().passages[swing.passage].zh
    slow_run = checks["gd-0.0001.slow"].nnopt
    # w_k = -1 + 6·(1 - 0.0002)^k: after 40 updates 4.9522 (to 4 decimals).
    assert slow_run["w after 40 updates"] == pytest.approx(-1 + 6 * (1 - 0.0002) ** 40, abs=1e-4)


@slow
def test_exponential_decay_numbers_and_the_printed_rate(lecture):
    checks, parts = lecture
    lr = parts["exponential-decay"].runs["decay"].history.per_step("lr")
    np.testing.assert_allclose(lr, 0.1 * 0.99 ** np.arange(40), rtol=1e-6)
    first = checks["exponential-decay.first"]
    assert first.ok and first.nnopt == pytest.approx(0.1)
    # The program reads the rate after train_step moved global_step to 1: 0.1·0.99 = 0.099.
    assert "global_step is 1.000000 , learning rate is 0.099000" in first.printed[0]
    last = checks["exponential-decay.decreasing"].printed[0]
    assert f"learning rate is {0.1 * 0.99**40:f}" in last and last.startswith("After 39 steps")


@slow
def test_ema_numbers_rounding_miss_and_slips(lecture):
    checks, _ = lecture
    assert round(checks["ema.shadow1"].nnopt, 1) == 0.9
    assert round(checks["ema.shadow3"].nnopt, 3) == 2.328
    assert round(checks["ema.shadow4"].nnopt, 3) == 2.956
    # 0.9·101/110 + 10·9/110 = 1.644545...: the lecture's 1.644 adds rounded terms.
    second = checks["ema.shadow2"]
    assert second.nnopt == pytest.approx(0.9 * 101 / 110 + 10 * 9 / 110, abs=1e-5)
    assert not second.ok and "rounding" in second.note["en"]
    assert "1.64455" in second.note["en"]
    assert "1.644 is the shadow" in checks["ema.shadow3"].slip["en"]
    assert checks["ema.shadow2"].printed == ("[10.0, 1.6445453]",)


@slow
def test_circle_loss_checks_compare_what_the_programs_print(lecture):
    checks, parts = lecture
    exp = parts["regularization"]
    runs, printed = exp.runs, exp.values["printed"]
    for key, run, column in (("plain", "circle", "train_loss"), ("l2", "circle-l2", "train_total")):
        prints = printed[key]
        # for i in range(40000): ... if i % 2000 == 0: print: after update i + 1.
        assert [i for i, _ in prints] == list(range(0, 40000, 2000))
        check = checks[f"circle.{key}.loss"]
        for label, value in check.nnopt.items():
            assert value == pytest.approx(dict(prints)[int(label.split()[1])], abs=1e-4)
        assert check.ok and check.printed[0].startswith("After 0 steps, loss is")
        # The printed values are the run's own: the log point one update earlier is close.
        h = runs[run].history
        at = dict(zip(h.column("step"), h.column(column)))
        assert prints[-1][1] == pytest.approx(at[38000.0], rel=0.05)
    # With L2 the program prints loss_total = loss_mse + 0.01·Σw²/2, not the data loss.
    l2 = runs["circle-l2"]
    total, data = l2.history.column("train_total"), l2.history.column("train_loss")
    assert np.all(total > data)
    w2 = sum(float(np.sum(v**2)) for k, v in l2.params.items() if k.startswith("w"))
    assert total[-1] - data[-1] == pytest.approx(0.01 * w2 / 2, rel=1e-3)
    assert checks["circle.l2.loss"].printed[0].startswith("After 0 steps, loss is: ")
    assert printed["l2"][0][1] > printed["plain"][0][1]  # the same start, plus its L2 term


@slow
def test_l2_over_several_starts(lecture):
    checks, parts = lecture
    study = parts["regularization"].values["multi_start"]
    n = len(study["plain"]["seed"])
    assert n >= 8 and study["plain"]["seed"] == study["l2"]["seed"] == list(range(n))
    smaller = checks["circle.l2.smaller-weights"]
    assert smaller.ok == all(a > b for a, b in zip(study["plain"]["norm"], study["l2"]["norm"]))
    general = checks["circle.l2.generalization"]
    diff = np.asarray(study["l2"]["fresh"]) - np.asarray(study["plain"]["fresh"])
    assert general.ok == bool(diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(n))
    assert general.nnopt["L2 better / worse"] == f"{(diff > 0).sum()} / {(diff < 0).sum()} of {n}"
    assert ("does not hold" in general.note["en"]) == (not general.ok)


@slow
def test_optimizer_exercise_answers_with_steps_at_each_best_rate(lecture):
    checks, parts = lecture
    exp = parts["optimizers"]
    table, best = exp.values["table"], exp.values["best"]
    for name in OPTIMIZERS_TRIED:
        reached = {r: s for r, s in table[name].items() if s is not None}
        assert best[name] == (min(reached.values()), min(reached, key=lambda r: (reached[r], r)))
        rate = best[name][1]
        result = exp.runs[f"{name} {rate:g}"]
        settle = steps_to_settle(result, THRESHOLD)
        passes = epoch_losses(result)
        per = 4  # 32 rows in batches of 8: a pass over the data is 4 updates
        assert np.all(passes[settle // per - 1 :] < THRESHOLD)
        if settle > per:
            assert passes[settle // per - 2] >= THRESHOLD
    check = checks["optimizers.yogurt-mse"]
    assert check.kind == "exercise" and check.verdict == "answered"
    assert set(table["sgd"]) == set(EXERCISE_RATES)
    assert "nnopt sweep yogurt-mse" in check.command and "comparing at one rate" in check.note["en"]


@slow
def test_landscape_paths_start_at_the_lecture_start(lecture):
    _, parts = lecture
    v = parts["landscape"].values
    for preset in YOGURT_LECTURE:
        paths = v["paths"][preset]
        assert set(paths) == set(OPTIMIZERS_TRIED)
        starts = {tuple(np.round(p[0], 4)) for p in paths.values()}
        assert len(starts) == 1  # tf.random_normal([2, 1], stddev=1, seed=1)
        surface = v["surfaces"][preset]
        assert surface.shape == (len(v["w2"]), len(v["w1"])) and np.all(np.isfinite(surface))
    # The MSE surface's minimum lies at the least-squares weights, near (1, 1).
    z = v["surfaces"]["yogurt-mse"]
    i, j = np.unravel_index(np.argmin(z), z.shape)
    assert abs(v["w1"][j] - 1.0) < 0.05 and abs(v["w2"][i] - 1.0) < 0.05


@slow
def test_three_kinds_kept_apart_in_results(lecture):
    from nnopt.outputs.report import results

    payload = results(whole_lecture())
    summary = payload["summary"]
    claims = [c for c in payload["checks"] if c["kind"] == "claim"]
    exercises = [c for c in payload["checks"] if c["kind"] == "exercise"]
    assert summary["claims"] == len(claims) and summary["exercises"] == len(exercises) == 2
    assert summary["reproduced"] + len(summary["not_reproduced"]) == len(claims)
    assert not set(summary["not_reproduced"]) & {c["name"] for c in exercises}
    for c in payload["checks"]:
        assert c["rule"] and c["verdict"] and c["quote"]["zh"] and c["quote"]["en"], c["name"]
        assert c["commands"] and c["code_source"], c["name"]
    assert set(summary["slips"]) >= {"gd-1.swing", "ema.shadow3", "yogurt-cost1-profit9.w"}


@slow
def test_cli_only_out_json_and_lang(tmp_path, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    parts = ["gradient-descent", "ema", "cross-entropy", "network-size", "exponential-decay"]
    code = main(["lecture", "--only", *parts, "--out", str(out), "--json", "--lang", "zh"])
    stdout, _ = capsys.readouterr()
    assert code == 0
    payload = json.loads(stdout.strip().splitlines()[-1])
    names = [c["name"] for c in payload["checks"]]
    assert "gd-0.2.step3" in names and "ema.shadow4" in names and "yogurt-mse.w" not in names
    for c in payload["checks"]:
        assert set(c) >= {"name", "kind", "verdict", "rule", "lecture", "nnopt", "ok", "note"}
    assert (out / "keep.txt").read_text() == "mine"
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["ema.png", "exponential-decay.png", "gradient-descent.png"]
    written = json.loads((out / "results.json").read_text())
    assert written["summary"]["checks"] == len(names)
    page = (out / "report.html").read_text()
    assert '<html lang="zh-Hans">' in page and 'blockquote lang="en"' not in page


@slow
def test_the_whole_lecture_compiles_four_programs(tmp_path):
    """A fresh process with an empty compilation cache: the small networks' runs in two
    programs, the circle's in one, the multi-start sweep in one; no other program."""
    import os
    import subprocess
    import sys

    env = os.environ | {"NNOPT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "nnopt.cli.main", "lecture", "--json", "--out",
         str(tmp_path / "report")],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    counts = json.loads(proc.stdout.strip().splitlines()[-1])["compiled_programs"]
    assert counts == {"programs": 4, "read from the cache": 0}


def test_cli_rejects_unknown_only_bad_lang_and_unwritable_out(tmp_path, capsys):
    assert main(["lecture", "--only", "yogurt", "nope", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown --only name 'nope'" in err and "gradient-descent" in err
    assert not (tmp_path / "r").exists()
    assert main(["lecture", "--lang", "fr", "--out", str(tmp_path / "r")]) == 2
    assert "fr" in capsys.readouterr().err and not (tmp_path / "r").exists()
    (tmp_path / "file").write_text("x")
    assert main(["lecture", "--out", str(tmp_path / "file" / "r")]) == 2
    assert "cannot write the report" in capsys.readouterr().err
