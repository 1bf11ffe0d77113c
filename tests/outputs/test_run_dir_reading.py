"""A run folder's own files, damaged, as resume, evaluate and predict read them: one line naming
the file (or the documented fallback), exit code 2, and nothing in the folder changed."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from nnopt.cli.main import main
from nnopt.errors import RunDirError
from nnopt.outputs.run_dir import checkpoints, resume_training, watch_checkpoints

SHORT = ["--set", "train.steps=40", "--set", "train.log_every=10",
         "--set", "train.checkpoint_every=20", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished circle run: checkpoints at steps 0, 20 and 40, history, inputs, summary."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert main(["run", "circle-l2", *SHORT, "--out", str(out), "--no-figures"]) == 0
    return out


@pytest.fixture
def run(trained, tmp_path):
    """A fresh copy of the trained run to damage."""
    return Path(shutil.copytree(trained, tmp_path / "run"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under the folder -> a digest of its bytes (FIFOs by name only)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif not p.is_dir():
            out[str(p.relative_to(folder))] = "special"
    return out


def cli(capsys, *argv) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if not line.startswith("nnopt: warning")]
    assert len(lines) == 1 and lines[0].startswith("nnopt: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "text, says",
    [
        ("step,train_loss\n10,0.5\n20,abc\n", "history.csv, line 3, column 'train_loss': 'abc' is not a number"),
        ("step,train_loss\n10,0.5\x00\n", "history.csv, line 2, column 'train_loss': '0.5\\x00' is not"),
        ("train_loss,lr\n0.5,0.1\n", "history.csv has a row without a step"),
        ("step,train_loss\n10,0.5,7\n", "history.csv, line 2: the row's cells do not match the header"),
        ("step,train_loss\n10\n", "history.csv, line 2: the row's cells do not match the header"),
    ],
)  # fmt: skip
def test_resume_with_a_damaged_history_is_one_line_and_changes_nothing(run, capsys, text, says):
    (run / "history.csv").write_text(text)
    before = snapshot(run)
    code, err = cli(capsys, "resume", str(run))
    line = one_error_line(err)
    assert code == 2 and f"{run / says}" in line
    assert line.endswith("; move it away to resume without the rows logged so far")
    assert snapshot(run) == before


@pytest.mark.parametrize(
    "text",
    [
        "{}", "null", "[]", "garbage", '"inputs"',
        '{"format": "nnopt-inputs-1", "task": "binary", "features": "x0x1", "label": "y",'
        ' "classes": [], "standardization": null}',  # a string is not a list of names
        '{"format": "nnopt-inputs-1", "task": "binary", "features": ["x0", "x1"], "label": "y",'
        ' "classes": ["0", "1"], "standardization": {"mean": [0, 0], "std": [0, 1]}}',  # std 0
        '{"format": "nnopt-inputs-1", "task": "ranking", "features": ["x0"], "label": "y",'
        ' "classes": [], "standardization": null}',
        "[" * 5000 + "]" * 5000,
    ],
)  # fmt: skip
def test_predict_with_a_damaged_inputs_json_is_one_line(run, capsys, in_tmp, text):
    (run / "inputs.json").write_text(text)
    (in_tmp / "new.csv").write_text("x0,x1\n0.5,0.5\n")
    before = snapshot(run)
    code, err = cli(capsys, "predict", str(run), "new.csv", "--out", "p.csv")
    assert code == 2 and one_error_line(err) == (
        f"nnopt: error: {run / 'inputs.json'} cannot be read: not an inputs file written by nnopt run"
    )
    assert snapshot(run) == before and not (in_tmp / "p.csv").exists()


def test_predict_a_feature_past_float32_is_one_line_not_class_0(run, capsys, in_tmp):
    (in_tmp / "new.csv").write_text("x0,x1\n0.5,0.5\n1e39,0\n")
    code, err = cli(capsys, "predict", str(run), "new.csv", "--out", "p.csv")
    assert code == 2 and one_error_line(err) == (
        "nnopt: error: new.csv, line 3, column 'x0': 1e+39 is too large; feature cells must be "
        "from -3.4e+38 to 3.4e+38 (float32)"
    )
    assert not (in_tmp / "p.csv").exists()


def test_summary_json_garbage_does_not_stop_evaluate(run, capsys):
    """evaluate reads the config and a checkpoint, not the summary."""
    (run / "summary.json").write_text("[" * 5000)
    code, err = cli(capsys, "evaluate", str(run), "--split", "train")
    assert code == 0, err


def test_deeply_nested_config_toml_is_one_line_for_evaluate_and_predict(run, capsys):
    (run / "config.toml").write_text('name = "x"\n[train]\nsteps = ' + "[" * 5000 + "]" * 5000)
    before = snapshot(run)
    for argv in (["evaluate", str(run)], ["predict", str(run), "none.csv"], ["resume", str(run)]):
        code, err = cli(capsys, *argv)
        assert code == 2 and one_error_line(err) == (
            f"nnopt: error: {run / 'config.toml'} nests arrays or tables too deeply: at most 16 levels"
        )
    assert snapshot(run) == before


def test_a_latest_checkpoint_that_is_a_fifo_never_hangs(run, capsys):
    """Opening a FIFO blocks (with the GIL held inside safetensors), so the bound is kept by
    a separate process: killed after 120 s, the test fails instead of hanging."""
    latest = checkpoints(run)[-1]
    latest.unlink()
    os.mkfifo(latest)
    done = subprocess.run([sys.executable, "-m", "nnopt.cli.main", "evaluate", str(run)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and one_error_line(done.stderr) == (
        f"nnopt: error: checkpoint {latest} is not a regular file (a FIFO or device); "
        "give a regular file"
    )
    # resume skips it for the one before, as it does a corrupted checkpoint
    assert resume_training(run).step == 20
    assert "is not a regular file (a FIFO or device)" in capsys.readouterr().err


@pytest.mark.parametrize("interval", [math.nan, math.inf, 0.0, -1.0])
def test_watch_interval_must_be_a_finite_positive_number(run, interval):
    with pytest.raises(RunDirError) as err:
        next(watch_checkpoints(run, interval=interval))
    assert str(err.value) == (
        f"interval = {interval:g} is out of range: must be a finite number of seconds > 0"
    )


@pytest.mark.parametrize("flag, value", [("--interval", "nan"), ("--interval", "inf"),
                                         ("--timeout", "nan"), ("--timeout", "inf"),
                                         ("--timeout", "-1"), ("--interval", "0")])  # fmt: skip
def test_watch_flags_out_of_range_exit_2(run, capsys, flag, value):
    code, err = cli(capsys, "evaluate", str(run), "--watch", flag, value)
    line = one_error_line(err)
    assert code == 2 and line.startswith(f"nnopt: error: {flag} {value} is out of range: must be")


def test_predict_a_row_whose_output_overflows_is_one_line(run, capsys, in_tmp):
    """3e38 is a float32, but standardized by a tiny std it is not: no nan with class 0."""
    record = json.loads((run / "inputs.json").read_text())
    record["standardization"] = {"mean": [0.0, 0.0], "std": [1e-30, 1e-30]}
    (run / "inputs.json").write_text(json.dumps(record))
    (in_tmp / "new.csv").write_text("x0,x1\n0,0\n3e38,0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings beside the one line
        code, err = cli(capsys, "predict", str(run), "new.csv", "--out", "p.csv")
    assert code == 2 and one_error_line(err) == (
        "nnopt: error: row 2: the model's output for it is not a finite number (its features "
        "are too far from the training rows for float32); check that row"
    )
    assert not (in_tmp / "p.csv").exists()
