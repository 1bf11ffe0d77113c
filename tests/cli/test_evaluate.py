"""The checkpoint-and-test pattern: nnopt evaluate (once and --watch) and nnopt predict."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

from nnopt.cli.main import main
from nnopt.engine.restore import run_model
from nnopt.engine.setup import make_dataset
from nnopt.outputs.run_dir import (
    checkpoints,
    open_predictor,
    open_run,
    read_run_config,
    restore_weights,
)

pytestmark = pytest.mark.usefixtures("in_tmp")

DIGITS_SHORT = ["train.steps=600", "train.log_every=100", "train.checkpoint_every=200"]


def sets(*fields: str) -> list[str]:
    return [arg for f in fields for arg in ("--set", f)]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A short digits run: checkpoints at steps 200, 400 and 600, EMA on, 20% held out."""
    out = tmp_path_factory.mktemp("digits") / "run"
    assert main(["run", "digits", *sets(*DIGITS_SHORT), "--out", str(out), "--quiet"]) == 0
    return out


def evaluate_json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main(["evaluate", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_restores_exactly_the_saved_raw_and_ema_parameters(digits_run):
    stored = load_file(checkpoints(digits_run)[-1])
    config = read_run_config(digits_run)
    run = open_run(digits_run)
    for weights, key in (("raw", ".params"), ("ema", ".ema_params")):
        step, params = restore_weights(run.model, checkpoints(digits_run)[-1], weights)
        flat = np.concatenate([params[n].ravel() for n, _ in run.model.structure.param_shapes])
        np.testing.assert_array_equal(flat, stored[key])
        assert step == 600 == config.train.steps
    summary = json.loads((digits_run / "summary.json").read_text())
    _, raw = restore_weights(run.model, checkpoints(digits_run)[-1], "raw")
    _, ema = restore_weights(run.model, checkpoints(digits_run)[-1], "ema")
    for name in raw:
        np.testing.assert_array_equal(raw[name], np.asarray(summary["params"][name], np.float32))
        np.testing.assert_array_equal(
            ema[name], np.asarray(summary["ema_params"][name], np.float32)
        )
    assert not np.array_equal(raw["w1"], ema["w1"])


def test_evaluate_reports_what_training_logged_with_a_confusion_matrix(digits_run, capsys):
    summary = json.loads((digits_run / "summary.json").read_text())
    ema = evaluate_json(capsys, str(digits_run))  # EMA weights by default, as the course tests
    assert ema["weights"] == "ema" and ema["step"] == 600 and ema["split"] == "test"
    assert ema["rows"] == 359 and ema["classes"] == [str(d) for d in range(10)]
    assert ema["accuracy"] == pytest.approx(summary["ema"]["test_accuracy"], abs=1e-6)
    assert ema["loss"] == pytest.approx(summary["ema"]["test_loss"], rel=1e-5)
    matrix = np.array(ema["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 359
    assert np.trace(matrix) / 359 == pytest.approx(ema["accuracy"], abs=1e-6)
    raw = evaluate_json(capsys, str(digits_run), "--weights", "raw")
    assert raw["accuracy"] == pytest.approx(summary["accuracy"]["test"], abs=1e-6)
    assert raw["loss"] == pytest.approx(summary["test_loss"], rel=1e-5)
    older = evaluate_json(capsys, str(digits_run), "--checkpoint", "400")
    assert older["step"] == 400
    train = evaluate_json(capsys, str(digits_run), "--split", "train")
    assert train["rows"] == 1438
    assert main(["evaluate", str(digits_run)]) == 0
    text = capsys.readouterr().out
    assert "checkpoint of step 600 of 600, EMA (shadow) weights, test split (359 rows)" in text
    assert "confusion matrix (rows: true class, columns: predicted class)" in text


def test_evaluate_bad_input_is_one_line_and_exit_2(digits_run, capsys, tmp_path):
    cases = [
        (["evaluate", str(digits_run), "--checkpoint", "300"], "has no checkpoint of step 300; it keeps steps 200, 400, 600"),
        (["evaluate", str(digits_run), "--checkpoint", "best"], "--checkpoint 'best': give latest or a step number"),
        (["evaluate", str(digits_run), "--weights", "mean"], "argument --weights: invalid choice"),
        (["evaluate", str(tmp_path)], "is not a run folder (no config.toml)"),
        (["evaluate", str(digits_run), "--timeout", "3"], "--interval and --timeout go with --watch"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_ema_weights_of_a_run_without_ema_and_a_run_without_test_rows(capsys, tmp_path):
    argv = ["run", "circle", *sets("train.steps=20", "train.log_every=10"), "--quiet"]
    assert main([*argv, "--out", "runs/plain"]) == 0
    assert main(["evaluate", "runs/plain", "--weights", "ema"]) == 2
    assert "trained without a moving average (ema.enabled = false)" in capsys.readouterr().err
    assert main(["evaluate", "runs/plain"]) == 2  # the lecture's circle trains on all its rows
    assert "no test rows (data.test_fraction = 0); evaluate it with --split train" in (
        capsys.readouterr().err
    )
    out = evaluate_json(capsys, "runs/plain", "--split", "train")
    assert out["weights"] == "raw" and out["rows"] == 300


def test_predict_on_digits_agrees_with_evaluate(digits_run, capsys, tmp_path):
    test = make_dataset("digits", 1797, 0.0, 0, 0.2)  # the run's raw test images (data.seed 0)
    header = ",".join([f"x{j}" for j in range(64)] + ["y"])
    rows = np.concatenate([test.x_test, test.y_test], axis=1)
    np.savetxt("test.csv", rows, delimiter=",", header=header, comments="", fmt="%.9g")
    capsys.readouterr()
    assert main(["predict", str(digits_run), "test.csv", "--out", "pred.csv"]) == 0
    err = capsys.readouterr().err
    assert (
        "predicted 359 rows of test.csv with the EMA (shadow) weights of step 600 -> pred.csv"
        in err
    )
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0] == "row,class," + ",".join(f"p_{d}" for d in range(10))
    table = np.loadtxt("pred.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 2:].sum(1), 1.0, atol=1e-4)
    evaluation = open_run(digits_run).evaluate(checkpoints(digits_run)[-1], "ema")
    np.testing.assert_array_equal(table[:, 1].astype(int), evaluation.predicted)
    accuracy = float(np.mean(table[:, 1] == test.y_test[:, 0]))
    assert accuracy == pytest.approx(evaluation.accuracy, abs=1e-6)  # a float32 share
    assert f"accuracy {evaluation.accuracy:.4f}" in err
    # stdout by default, raw weights on request
    assert main(["predict", str(digits_run), "test.csv", "--weights", "raw"]) == 0
    assert capsys.readouterr().out.count("\n") == 360


def test_predict_applies_the_runs_standardization_to_new_rows(capsys, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal([100.0, -3.0], [20.0, 0.5], (60, 2))
    y = 0.01 * x[:, 0] + 2.0 * x[:, 1]
    np.savez(tmp_path / "reg.npz", x=x, y=y)
    argv = ["run", "circle", "--out", "runs/reg", "--quiet", *sets(
        "data.path=reg.npz", "data.standardize=true", "model.layers=[2,8,1]", "train.steps=200",
        "train.batch_size=10", "optimizer.learning_rate=0.01", "optimizer.name=adam")]  # fmt: skip
    assert main(argv) == 0
    np.savetxt("new.csv", x[:5], delimiter=",", header="x0,x1", comments="")
    assert main(["predict", "runs/reg", "new.csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "row,prediction"
    got = np.array([float(line.split(",")[1]) for line in out[1:]])
    predictor = open_predictor(tmp_path / "runs/reg")
    mean, std = np.array(predictor.inputs.columns.mean), np.array(predictor.inputs.columns.std)
    from nnopt.engine.evaluate import predict

    want = predict(predictor.model.structure, predictor.params, ((x[:5] - mean) / std))[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # predicting needs only the run folder: the data file may be gone
    (tmp_path / "reg.npz").unlink()
    assert main(["predict", "runs/reg", "new.csv"]) == 0
    np.savetxt("wrong.csv", x[:5], delimiter=",", header="a,b", comments="")
    assert main(["predict", "runs/reg", "wrong.csv"]) == 2
    assert "wrong.csv has no column 'x0', a feature the model was trained on" in (
        capsys.readouterr().err
    )


@pytest.mark.slow
def test_watch_evaluates_each_checkpoint_while_another_process_trains(capsys, tmp_path):
    """The course's two terminals: training saves checkpoints, the test script picks them up."""
    trainer = subprocess.Popen(
        [sys.executable, "-m", "nnopt.cli.main", "run", "digits", "--out", "runs/live", "--quiet",
         *sets("train.steps=900", "train.log_every=150", "train.checkpoint_every=300")],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        code = main(["evaluate", "--watch", "runs/live", "--interval", "0.2", "--timeout", "120"])
    finally:
        trainer.wait(timeout=120)
    out = capsys.readouterr().out
    assert code == 0 and trainer.returncode == 0
    assert "checkpoint of step 900 of 900, EMA (shadow) weights" in out
    lines = [line for line in out.splitlines() if line.startswith("after ")]
    assert all("(ema weights): test loss" in line for line in lines)
    steps = [int(line.split()[1]) for line in lines]
    # each checkpoint seen in time once, oldest first: the start (0), 300, 600
    assert steps == sorted(set(steps)) and set(steps) <= {0, 300, 600}


def test_watch_a_finished_run_stops_and_a_missing_one_times_out(digits_run, capsys, tmp_path):
    capsys.readouterr()
    assert main(["evaluate", "--watch", str(digits_run), "--json", "--interval", "0.1"]) == 0
    steps = [json.loads(line)["step"] for line in capsys.readouterr().out.splitlines()]
    assert steps == [200, 400, 600]
    start = time.monotonic()
    code = main(["evaluate", "--watch", "runs/not-yet", "--interval", "0.1", "--timeout", "0.5"])
    assert code == 124 and time.monotonic() - start < 5
    err = capsys.readouterr().err
    assert "waiting for a run in runs/not-yet" in err
    assert "--timeout 0.5 s reached watching runs/not-yet: no checkpoint yet" in err


def test_run_model_needs_only_the_run_folder(digits_run):
    from nnopt.engine.restore import shape_only
    from nnopt.outputs.run_dir import read_inputs

    inputs = read_inputs(digits_run)
    assert inputs.columns.features == tuple(f"x{j}" for j in range(64))
    assert inputs.task == "multiclass" and inputs.columns.classes == tuple("0123456789")
    model = run_model(read_run_config(digits_run), shape_only(inputs))
    assert model.structure.layers == (64, 128, 10)
