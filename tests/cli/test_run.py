"""The command line, end to end: presets, run, --json, --init, run folders, resume, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import numpy as np
import pytest

from nnopt.config.presets import load_config, preset_names
from tests.support.cli import last_json, run_cli

pytestmark = pytest.mark.usefixtures("in_tmp")

LECTURE_PRESETS = {
    "yogurt-mse",
    "yogurt-cost1-profit9",
    "yogurt-cost9-profit1",
    "gd-rate-0.2",
    "gd-rate-1",
    "gd-rate-0.0001",
    "exponential-decay",
    "ema-demo",
    "circle",
    "circle-l2",
    "circle-modular",
}


def test_presets_lists_every_lecture_example_with_a_description(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0
    lines = {line.split()[0]: line.split(None, 1)[1] for line in out.strip().splitlines()}
    assert LECTURE_PRESETS <= set(lines)
    assert all(len(text) > 20 for text in lines.values())


def test_presets_show_prints_a_loadable_toml(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "presets", "--show", "circle-l2")
    assert code == 0
    raw = tomllib.loads(out)
    assert raw["regularizer"] == {"name": "l2", "scale": 0.01}
    (tmp_path / "copy.toml").write_text(out)
    assert load_config("copy.toml") == load_config("circle-l2")


def test_run_json_reports_results_and_writes_a_run_folder(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "run", "gd-rate-0.2", "--json")
    assert code == 0
    payload = last_json(out)
    assert payload["steps"] == 40
    assert payload["params"]["w"] == pytest.approx(-1.0, abs=1e-5)
    assert payload["final_loss"] == pytest.approx(0.0, abs=1e-8)
    assert payload["final_total_loss"] == payload["final_loss"]
    run_dir = tmp_path / payload["run_dir"]
    for name in (
        "config.toml",
        "history.csv",
        "summary.json",
        "steps.npz",
        "loss.png",
        "learning_rate.png",
    ):
        assert (run_dir / name).is_file(), name
    saved = sorted(p.name for p in (run_dir / "checkpoints").glob("step-*.safetensors"))
    assert saved == ["step-00000000.safetensors", "step-00000040.safetensors"]  # the start, the end
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 41  # header + steps 0..40
    assert json.loads((run_dir / "summary.json").read_text()) == payload


def test_resolved_config_reruns_to_the_same_result(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys, "run", "yogurt-cost9-profit1", "--set", "train.steps=300", "--json"
    )
    first = last_json(out)
    code, out, _ = run_cli(capsys, "run", f"{first['run_dir']}/config.toml", "--json")
    assert code == 0
    second = last_json(out)
    assert second["params"] == first["params"]
    assert second["run_dir"] != first["run_dir"]


def test_ema_and_accuracy_in_json(capsys):
    code, out, _ = run_cli(
        capsys,
        "run",
        "circle-modular",
        "--set",
        "train.steps=400",
        "--set",
        "train.log_every=100",
        "--json",
    )
    payload = last_json(out)
    assert code == 0
    assert set(payload["ema_params"]) == {"w1", "b1", "w2", "b2"}
    assert np.shape(payload["ema_params"]["w1"]) == (2, 11)
    assert 0.0 <= payload["accuracy"]["train"] <= 1.0
    assert payload["ema_params"] != payload["params"]


def test_init_from_json_and_npz_gives_the_hand_computed_step(capsys, tmp_path):
    (tmp_path / "start.json").write_text('{"w": 3.0}')
    code, out, _ = run_cli(
        capsys, "run", "gd-rate-0.2", "--init", "start.json", "--set", "train.steps=1", "--json"
    )
    assert code == 0
    assert last_json(out)["params"]["w"] == pytest.approx(3.0 - 0.2 * (2 * 3.0 + 2))  # 1.4
    np.savez(tmp_path / "start.npz", w1=np.array([[0.5], [2.0]], np.float32))
    code, out, _ = run_cli(
        capsys, "run", "yogurt-mse", "--init", "start.npz", "--set", "train.steps=1", "--json"
    )
    payload = last_json(out)
    from nnopt.core.data import yogurt

    x, y = yogurt()
    w = np.array([[0.5], [2.0]])
    grad = 2 * x[:8].T @ (x[:8] @ w - y[:8]) / 8  # d/dw mean((xw - y)^2) over the first slice
    np.testing.assert_allclose(payload["params"]["w1"], w - 0.001 * grad, rtol=1e-6)


def test_existing_folder_gets_a_new_name_unless_overwrite(capsys, tmp_path):
    args = ("run", "gd-rate-1", "--set", "train.steps=2", "--out", "runs/x", "--json")
    assert last_json(run_cli(capsys, *args)[1])["run_dir"] == "runs/x"
    (tmp_path / "runs/x/notes.txt").write_text("mine")
    assert last_json(run_cli(capsys, *args)[1])["run_dir"] == "runs/x-2"
    assert last_json(run_cli(capsys, *args, "--overwrite")[1])["run_dir"] == "runs/x"
    assert (tmp_path / "runs/x/notes.txt").read_text() == "mine"


BAD = [
    (["run", "nope"], "unknown preset 'nope'"),
    (["run", "circle", "--set", "foo.bar=1"], "unknown section 'foo'"),
    (["run", "circle", "--set", "optimizer.lr=1"], "unknown field optimizer.lr"),
    (["run", "circle", "--set", "optimizer.learning_rate=-1"], "optimizer.learning_rate = -1.0"),
    (["run", "circle", "--set", "optimizer.learning_rate=0"], "must be > 0"),
    (["run", "circle", "--set", "train.batch_size=0"], "train.batch_size = 0"),
    (["run", "circle", "--set", "model.layers=[3,4,1]"], "2 input features"),
    (["run", "circle", "--set", "model.layers=[2,4,3]"], "needs 1 or 2 outputs"),
    (["run", "circle", "--set", "ema.decay=1"], "ema.decay = 1.0"),
    (["run", "circle", "--set", "ema.decay=-0.5"], "in [0, 1)"),
    (["run", "circle", "--set", "optimizer.name=foo"], "choose one of sgd"),
    (["run", "circle", "--set", "loss.name=hinge"], "choose one of mse"),
    (["run", "circle", "--set", "model.activation=swish"], "choose one of relu"),
    (["run", "circle", "--set", "train.steps=abc"], "must be an integer"),
    (["run", "circle", "--set", "train.steps=1.5"], "must be an integer"),
    (["run", "circle", "--set", "regularizer.scale=true"], "must be a number"),
    (["run", "circle", "--set", "optimizer.momentum=0.9"], "not a setting of adam"),
    (
        ["run", "circle", "--set", "optimizer.epsilon=-1e-8"],
        "optimizer.epsilon = -1e-08 is out of range: must be > 0",
    ),
    (
        ["run", "circle", "--set", "optimizer.name=rmsprop", "--set", "optimizer.decay=1"],
        "optimizer.decay = 1.0 is out of range: must be in [0, 1)",
    ),
    (
        ["run", "circle", "--set", "optimizer.name=rmsprop", "--set", "optimizer.centered=1"],
        "optimizer.centered = 1 must be true or false",
    ),
    (
        ["run", "circle", "--set", "optimizer.name=adagrad", "--set", "optimizer.epsilon=1e-7"],
        "optimizer.epsilon is not a setting of adagrad (tf.train.AdagradOptimizer); it takes initial_accumulator_value (with optimizer.convention = 'optax' it has epsilon)",
    ),
    (
        ["run", "circle", "--set", "optimizer.b1=0.5", "--set", "optimizer.beta1=0.5"],
        "optimizer.b1 and optimizer.beta1 are one setting",
    ),
    (
        ["run", "circle", "--set", "optimizer.convention=pytorch"],
        "optimizer.convention = 'pytorch' is unknown; choose one of tf1, optax",
    ),
    (
        ["run", "circle", "--set", "ema.order=during"],
        "ema.order = 'during' is unknown; choose one of after_update, before_update",
    ),
    (["run", "circle", "--set", "train.batch_size=301"], "larger than the 300 training rows"),
    (["run", "circle", "--set", "noequals"], "expected section.field=value"),
    (["run", "circle", "--init", "missing.json"], "does not exist"),
    (["run", "circle", "--bogus"], "unrecognized arguments"),
    (["presets", "--show", "nope"], "unknown preset"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nnopt: error: ")
    assert message in err
    assert not (tmp_path / "runs").exists()


def test_bad_files(capsys, tmp_path):
    (tmp_path / "bad.toml").write_text("[data\nname=1")
    (tmp_path / "unknown.toml").write_text("[data]\nname = 'circle'\n[extras]\nx = 1\n")
    (tmp_path / "shape.json").write_text('{"w1": [[1], [2], [3]]}')
    (tmp_path / "names.json").write_text('{"w9": [[1], [2]]}')
    (tmp_path / "text.json").write_text('{"w1": "abc"}')
    (tmp_path / "notjson.json").write_text("{")
    (tmp_path / "nan.json").write_text('{"w1": [[NaN], [1]]}')
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    cases = [
        (["run", "bad.toml"], "not valid TOML"),
        (["run", "unknown.toml"], "unknown section or key 'extras'"),
        (
            ["run", "yogurt-mse", "--init", "shape.json"],
            "w1 has shape [3, 1], the model needs [2, 1]",
        ),
        (["run", "yogurt-mse", "--init", "names.json"], "missing w1"),
        (["run", "yogurt-mse", "--init", "text.json"], "not a (nested) list of numbers"),
        (["run", "yogurt-mse", "--init", "notjson.json"], "not a readable JSON file"),
        (["run", "yogurt-mse", "--init", "nan.json"], "NaN or infinity"),
        (["run", "yogurt-mse", "--init", "bad.npz"], "not a readable NPZ file"),
    ]
    for argv, message in cases:
        code, _, err = run_cli(capsys, *argv)
        assert code == 2, argv
        assert message in err, (argv, err)
        assert err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_unwritable_run_folder_is_a_clear_error(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(capsys, "run", "gd-rate-1", "--out", "file/sub")
    assert code == 2 and "cannot create the run folder file/sub" in err


def test_divergence_stops_at_the_step_and_keeps_the_history(capsys, tmp_path):
    # w = 5 - 1e20·12 = -1.2e21, whose (w+1)² overflows float32: update 2's loss is infinite.
    code, out, err = run_cli(
        capsys, "run", "gd-rate-0.2", "--set", "optimizer.learning_rate=1e20", "--out", "d"
    )
    assert code == 1
    assert "at step 2" in err and "learning_rate" in err
    rows = (tmp_path / "d/history.csv").read_text().splitlines()
    assert len(rows) == 1 + 2  # steps 0 and 1 were finite
    assert list((tmp_path / "d/checkpoints").glob("step-00000001.safetensors"))


def test_interrupt_then_resume_is_bit_identical(capsys, tmp_path, monkeypatch):
    args = [
        "--set",
        "train.steps=600",
        "--set",
        "train.log_every=50",
        "--set",
        "train.checkpoint_every=100",
    ]
    _, out, _ = run_cli(capsys, "run", "circle-modular", *args, "--out", "full", "--json")
    full = last_json(out)

    from nnopt.engine.training import Training

    original = Training.advance

    def advance_then_interrupt(self, max_steps=None):
        if self.step >= 250:
            raise KeyboardInterrupt
        return original(self, max_steps)

    monkeypatch.setattr(Training, "advance", advance_then_interrupt)
    code, _, err = run_cli(capsys, "run", "circle-modular", *args, "--out", "cut")
    assert code == 130 and "nnopt resume cut" in err
    monkeypatch.setattr(Training, "advance", original)
    code, out, _ = run_cli(capsys, "resume", "cut", "--json")
    assert code == 0
    resumed = last_json(out)
    assert resumed["params"] == full["params"]
    assert resumed["ema_params"] == full["ema_params"]
    assert (tmp_path / "cut/history.csv").read_text() == (tmp_path / "full/history.csv").read_text()


def test_no_traceback_from_a_real_process(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnopt.cli.main",
            "run",
            "circle",
            "--set",
            "optimizer.learning_rate=-1",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "nnopt: error: optimizer.learning_rate = -1.0 is out of range: must be > 0"
    )


@pytest.mark.slow
def test_every_preset_runs_briefly(capsys):
    for name in preset_names():
        code, out, _ = run_cli(capsys, "run", name, "--set", "train.steps=20", "--json")
        assert code == 0, name
        payload = last_json(out)
        assert np.isfinite(payload["final_total_loss"]), name


@pytest.mark.slow
def test_the_literal_cross_entropy_on_one_output_is_explained_once(capsys, tmp_path):
    sets = ["--set", "loss.name=cross_entropy", "--set", "model.output_activation=sigmoid",
            "--set", "train.steps=20", "--no-figures", "--quiet"]  # fmt: skip
    code, _, err = run_cli(capsys, "run", "circle", *sets)
    assert code == 0
    assert err.count("nnopt: note: loss.name = 'cross_entropy' on one sigmoid output") == 1
    assert "only rows with label 1 count" in err and "binary_cross_entropy" in err
    # The two-sided loss, and the lecture's formula on softmax outputs, need no note.
    for other in (["--set", "loss.name=binary_cross_entropy"],
                  ["--set", "model.output_activation=softmax", "--set", "model.layers=[2,11,2]"]):  # fmt: skip
        code, _, err = run_cli(capsys, "run", "circle", *sets, *other, "--overwrite")
        assert code == 0 and "note:" not in err
    # A sweep of many such configurations says it once too.
    code, _, err = run_cli(capsys, "sweep", "circle", "--set", "loss.name=cross_entropy",
                           "--set", "model.output_activation=sigmoid", "--set", "train.steps=20",
                           "--grid", "optimizer.learning_rate=0.01,0.1", "--quiet")  # fmt: skip
    assert code == 0 and err.count("nnopt: note:") == 1
