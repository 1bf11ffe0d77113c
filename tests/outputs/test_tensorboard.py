"""nnopt run --tensorboard: standard event files that TensorBoard's own reader reads back."""

from __future__ import annotations

import csv
import sys

import pytest

from nnopt.cli.main import main
from nnopt.outputs.tensorboard import scalar_tags

pytestmark = pytest.mark.usefixtures("in_tmp")


def test_history_columns_become_grouped_tags():
    row = {
        "step": 10.0, "lr": 0.1, "batch_loss": 0.5, "batch_reg": 0.01, "train_loss": 0.4,
        "train_reg": 0.01, "train_total": 0.41, "train_accuracy": 0.9, "test_loss": 0.6,
        "test_reg": 0.01, "test_accuracy": 0.8, "ema_train_loss": 0.45, "ema_test_accuracy": 0.85,
        "w1[0,0]": 1.5, "ema_w1[0,0]": 1.4,
    }  # fmt: skip
    assert scalar_tags(row) == {
        "learning_rate": 0.1,
        "loss/batch": 0.5,
        "regularization/batch": 0.01,
        "loss/train": 0.4,
        "regularization/train": 0.01,
        "total_loss/train": 0.41,
        "accuracy/train": 0.9,
        "loss/test": 0.6,
        "accuracy/test": 0.8,
        "loss/train_ema": 0.45,
        "accuracy/test_ema": 0.85,
    }


def test_event_files_are_read_back_by_tensorboard(capsys, tmp_path):
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    )
    argv = ["run", "circle-modular", "--out", "runs/tb", "--quiet", "--tensorboard"]
    for field in ("train.steps=300", "train.log_every=100", "data.test_fraction=0.2"):
        argv += ["--set", field]
    assert main(argv) == 0
    run = tmp_path / "runs" / "tb"
    assert len(list(run.glob("events.out.tfevents.*"))) == 1
    reader = event_accumulator.EventAccumulator(str(run))
    reader.Reload()
    tags = set(reader.Tags()["scalars"])
    assert {"loss/train", "loss/test", "loss/train_ema", "loss/test_ema", "learning_rate"} <= tags
    assert {
        "accuracy/train",
        "accuracy/test_ema",
        "total_loss/train",
        "regularization/train",
    } <= tags
    with open(run / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    for tag, column in (("loss/train", "train_loss"), ("accuracy/test_ema", "ema_test_accuracy"),
                        ("learning_rate", "lr")):  # fmt: skip
        events = reader.Scalars(tag)
        assert (
            [e.step for e in events] == [int(row["step"]) for row in history] == [0, 100, 200, 300]
        )
        for event, row in zip(events, history):
            assert event.value == pytest.approx(float(row[column]), rel=1e-6)


def test_resume_appends_the_rows_after_the_checkpoint(capsys, tmp_path):
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    )
    argv = ["run", "circle", "--out", "runs/r", "--quiet", "--tensorboard"]
    for field in ("train.steps=40", "train.log_every=10", "train.checkpoint_every=20"):
        argv += ["--set", field]
    assert main(argv) == 0
    (tmp_path / "runs/r/checkpoints/step-00000040.safetensors").unlink()  # as if stopped at 20
    assert main(["resume", "runs/r", "--quiet", "--tensorboard"]) == 0
    # a file of its own, even when resumed within the second the first file was named after
    assert len(list((tmp_path / "runs/r").glob("events.out.tfevents.*"))) == 2
    reader = event_accumulator.EventAccumulator(str(tmp_path / "runs/r"))
    reader.Reload()
    steps = sorted(e.step for e in reader.Scalars("loss/train"))
    assert steps == [0, 10, 20, 30, 30, 40, 40]  # the first file to 40, then 30 and 40 again


def test_without_the_extra_the_flag_is_one_line_saying_how_to_install(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import tensorboardX now fails
    code = main(["run", "circle", "--set", "train.steps=5", "--out", "runs/none", "--tensorboard"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "nnopt: error: --tensorboard needs the tensorboardX package: "
        "pip install 'nnopt[tensorboard]' (or pip install tensorboardX)\n"
    )
    assert not (tmp_path / "runs").exists()
