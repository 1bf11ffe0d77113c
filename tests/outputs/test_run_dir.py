"""Run folders: nothing lost, nothing mixed, nothing written where nobody asked.

--overwrite replaces the folder's run as a whole, the file that says "complete" is written
last, checkpoints sort by their step, stray and temporary files are handled, and a run name
is a name."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from nnopt.config.presets import load_config
from nnopt.engine.training import Training
from nnopt.errors import RunDirError
from nnopt.outputs import run_dir as rd
from nnopt.outputs.run_dir import (
    checkpoints,
    find_checkpoint,
    resume_training,
    start_run_folder,
    train_in_folder,
    write_checkpoint,
)
from tests.support.cli import last_json, run_cli

pytestmark = pytest.mark.usefixtures("in_tmp")

# gd-rate-0.2: w <- w - 0.2 * 2 (w + 1) from w = 5, 40 steps (the lecture's first example).
FAST = ["gd-rate-0.2", "--quiet", "--no-figures"]


def steps_of(folder: Path) -> list[int]:
    return [rd.checkpoint_step(p) for p in checkpoints(folder)]


# ---------------------------------------------------------------- --overwrite


def test_overwrite_replaces_the_run_as_a_whole_and_keeps_the_users_files(capsys, tmp_path):
    args = [*FAST, "--set", "train.checkpoint_every=10", "--out", "r"]
    first = [a for a in args if a != "--no-figures"]
    assert run_cli(capsys, "run", *first, "--set", "train.steps=30")[0] == 0
    assert steps_of(tmp_path / "r") == [10, 20, 30]
    assert (tmp_path / "r/parameters.png").is_file()
    (tmp_path / "r/notes.txt").write_text("mine")
    (tmp_path / "r/checkpoints/README").write_text("also mine")
    code, out, _ = run_cli(capsys, "run", *args, "--set", "train.steps=5", "--overwrite", "--json")
    assert code == 0
    # Only the new run's checkpoints: the old step-20/30 ones would be "newer" than its own.
    assert steps_of(tmp_path / "r") == [0, 5]
    assert len((tmp_path / "r/history.csv").read_text().splitlines()) == 1 + 6  # steps 0..5
    assert json.loads((tmp_path / "r/summary.json").read_text())["steps"] == 5
    assert (tmp_path / "r/notes.txt").read_text() == "mine"
    assert (tmp_path / "r/checkpoints/README").read_text() == "also mine"
    assert list((tmp_path / "r").glob("*.png")) == []  # the old run's figures went with it
    # evaluate and resume see the new run only: w after 5 steps is -1 + 6 * 0.6**5.
    w5 = last_json(out)["params"]["w"]
    assert w5 == pytest.approx(-1 + 6 * 0.6**5, rel=1e-5)
    code, _, err = run_cli(capsys, "resume", "r", "--quiet", "--no-figures")
    assert code == 0 and "already complete (5 steps)" in err
    assert json.loads((tmp_path / "r/summary.json").read_text())["params"]["w"] == w5
    assert rd.checkpoint_step(find_checkpoint(tmp_path / "r")) == 5


# ---------------------------------------------------------------- write order


def _train(folder: str, fail_on: str | None = None, monkeypatch=None) -> None:
    """Trains gd-rate-0.2 (checkpoints at the start and the end only) into ``folder``; with
    ``fail_on``, the disk is full when the run's last records write that file."""
    training = Training(load_config("gd-rate-0.2", ["train.checkpoint_every=0"]))
    run_dir = start_run_folder(training, Path(folder))
    if fail_on is not None:
        for name in ("write_text", "write_bytes", "write_json"):
            real = getattr(rd, name)

            def failing(path, *a, _real=real, **kw):
                if Path(path).name == fail_on:
                    raise RunDirError(f"cannot write {path}: No space left on device")
                return _real(path, *a, **kw)

            monkeypatch.setattr(rd, name, failing)
    train_in_folder(training, run_dir, figures=False)


SLOW = pytest.mark.slow  # the neighbours of a case the fast tier keeps


@pytest.mark.parametrize(
    "fail_on",
    [
        pytest.param("history.csv", marks=SLOW),
        pytest.param("steps.npz", marks=SLOW),
        "summary.json",
    ],
)
def test_a_full_disk_before_the_last_record_leaves_a_run_resume_finishes(
    tmp_path, monkeypatch, fail_on
):
    _train("ref")
    with monkeypatch.context() as patch, pytest.raises(RunDirError, match="No space left"):
        _train("cut", fail_on, patch)
    # The final checkpoint says "complete": it is not there before every record is.
    assert steps_of(tmp_path / "cut") == [0]
    training = resume_training(Path("cut"))
    assert training.step == 0 and not training.done
    train_in_folder(training, Path("cut"), figures=False)
    for name in ("history.csv", "summary.json"):
        assert (tmp_path / "cut" / name).read_text() == (
            tmp_path / "ref" / name
        ).read_text().replace('"run_dir": "ref"', '"run_dir": "cut"'), name
    with np.load(tmp_path / "cut/steps.npz") as got, np.load(tmp_path / "ref/steps.npz") as ref:
        assert len(got["loss"]) == 40
        for k in ("loss", "reg", "lr"):
            np.testing.assert_array_equal(got[k], ref[k])


def test_the_final_checkpoint_is_the_last_file_a_run_writes(tmp_path, monkeypatch):
    written = []
    for module, name in ((rd, "write_text"), (rd, "write_bytes"), (rd, "write_json")):
        real = getattr(module, name)

        def record(path, *a, _real=real, **kw):
            written.append(Path(path).name)
            return _real(path, *a, **kw)

        monkeypatch.setattr(module, name, record)
    import nnopt.outputs.checkpoint as ck

    real_save = ck.write_bytes
    monkeypatch.setattr(
        ck,
        "write_bytes",
        lambda path, data: (written.append(Path(path).name), real_save(path, data)),
    )
    _train("r")
    assert written == [
        "step-00000000.safetensors", "inputs.json", "config.toml",  # the start
        "history.csv", "steps.npz", "summary.json", "step-00000040.safetensors",  # the end
    ]  # fmt: skip


# ---------------------------------------------------------------- checkpoints by number


def test_checkpoints_sort_by_step_past_eight_digits_and_prune_the_oldest(tmp_path):
    state = Training(load_config("gd-rate-0.2")).state
    (tmp_path / "r").mkdir()
    for step in (99_999_800, 99_999_900, 100_000_000):
        write_checkpoint(tmp_path / "r", state._replace(step=np.int32(step)), keep=2)
    assert steps_of(tmp_path / "r") == [99_999_900, 100_000_000]
    assert find_checkpoint(tmp_path / "r").name == "step-100000000.safetensors"


def test_a_stray_copy_in_checkpoints_is_not_a_checkpoint(capsys, tmp_path):
    assert run_cli(capsys, "run", *FAST, "--set", "train.checkpoint_every=10", "--out", "r")[0] == 0
    last = tmp_path / "r/checkpoints/step-00000040.safetensors"
    for stray in ("step-00000900 (copy).safetensors", "step-.safetensors", "step-12x.safetensors"):
        (last.parent / stray).write_bytes(last.read_bytes())
    assert steps_of(tmp_path / "r") == [20, 30, 40]
    code, out, err = run_cli(capsys, "evaluate", "r", "--split", "train")
    assert code == 0 and "checkpoint of step 40 of 40" in out, err
    code, _, err = run_cli(capsys, "resume", "r", "--quiet", "--no-figures")
    assert code == 0 and "Traceback" not in err
    # A later run's pruning keeps the user's copies.
    assert (last.parent / "step-00000900 (copy).safetensors").is_file()


# ---------------------------------------------------------------- inputs.json


def test_a_run_stopped_before_inputs_json_says_how_to_get_it_and_resume_writes_it(capsys, tmp_path):
    args = ["yogurt-mse", "--set", "train.steps=100", "--quiet", "--no-figures"]
    for out in ("ref", "r"):
        assert run_cli(capsys, "run", *args, "--out", out)[0] == 0
    inputs = (tmp_path / "r/inputs.json").read_text()
    (tmp_path / "r/inputs.json").unlink()
    (tmp_path / "rows.csv").write_text("x0,x1\n0.5,0.25\n1,2\n")
    code, _, err = run_cli(capsys, "predict", "r", "rows.csv")
    assert code == 2 and "nnopt resume r" in err and "predates inputs.json;" not in err
    assert run_cli(capsys, "resume", "r", "--quiet", "--no-figures")[0] == 0
    assert (tmp_path / "r/inputs.json").read_text() == inputs
    code, out, err = run_cli(capsys, "predict", "r", "rows.csv")
    assert code == 0, err
    assert out == run_cli(capsys, "predict", "ref", "rows.csv")[1]


# ---------------------------------------------------------------- temporary files


def test_resume_removes_old_temporary_files_of_the_runs_own_files_only(capsys, tmp_path):
    assert run_cli(capsys, "run", *FAST, "--set", "train.checkpoint_every=10", "--out", "r")[0] == 0
    run = tmp_path / "r"
    old = time.time() - 3600
    stale = [
        run / ".history.csv.a1b2c3d4.tmp",
        run / "checkpoints/.step-00000050.safetensors.zz_9yx8w.tmp",
    ]
    kept = [
        run / ".summary.json.fresh123.tmp",  # a writer may still be about to rename it
        run / ".notes.txt.a1b2c3d4.tmp",  # not one of nnopt's files
        run / "history.csv.tmp",
    ]
    for path in stale + kept:
        path.write_text("x")
    for path in [*stale, *kept[1:]]:
        os.utime(path, (old, old))
    assert run_cli(capsys, "resume", "r", "--quiet", "--no-figures")[0] == 0
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in kept] == [True, True, True]


# ---------------------------------------------------------------- a name is a name


@pytest.mark.parametrize("name", ["../../x", "ABSOLUTE", "a/b", "..", ".", "a\\b", "", "a\tb"])
def test_a_run_name_that_is_a_path_is_refused_in_one_line(capsys, tmp_path, name):
    name = name.replace("ABSOLUTE", str(tmp_path.parent / "absolute"))
    code, out, err = run_cli(capsys, "run", *FAST, "--set", f"name={name}")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "is a path, not a name" in err and "name = " in err
    assert not (tmp_path / "runs").exists() and not (tmp_path.parent / "x").exists()
    assert not Path("ABSOLUTE").exists()


def test_a_config_files_path_name_is_refused_for_run_and_sweep(capsys, tmp_path):
    (tmp_path / "c.toml").write_text('name = "../escaped"\n')
    for argv in (["run", "c.toml"], ["sweep", "c.toml", "--grid", "train.steps=5,6"]):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and "name = '../escaped' is a path, not a name" in err
    assert sorted(os.listdir(tmp_path)) == ["c.toml"]
    assert not (tmp_path.parent / "escaped").exists()


def test_a_plain_name_with_dots_and_spaces_is_a_name(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "run", *FAST, "--set", "name=my run.v2", "--json")
    assert code == 0 and last_json(out)["run_dir"] == "runs/my run.v2"


# ---------------------------------------------------------------- resuming an edited config


@pytest.fixture(scope="module")
def circle_run(tmp_path_factory) -> Path:
    """A short circle run (40 steps, checkpoints at 20 and 40), trained once for the module."""
    from nnopt.cli.main import main

    folder = tmp_path_factory.mktemp("circle") / "r"
    args = ["circle", "--set", "train.steps=40", "--set", "train.checkpoint_every=20"]
    assert main(["run", *args, "--out", str(folder), "--quiet", "--no-figures"]) == 0
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('activation = "relu"', 'activation = "tanh"', "model.activation = 'tanh'"),
        pytest.param('name = "circle"', 'name = "xor"', "data.name = 'xor'", marks=SLOW),
        pytest.param('name = "adam"', 'name = "adamw"', "optimizer.name = 'adamw'", marks=SLOW),
        pytest.param("seed = 0", "seed = 1", "train.seed = 1", marks=SLOW),
    ],
)
def test_resume_refuses_an_edit_that_changes_the_experiment(
    capsys, tmp_path, circle_run, old, new, field
):
    shutil.copytree(circle_run, tmp_path / "r")
    _edit(tmp_path / "r/config.toml", "steps = 40", "steps = 60")
    _edit(tmp_path / "r/config.toml", old, new)
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    code, out, err = run_cli(capsys, "resume", "r", "--quiet", "--no-figures")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"nnopt: error: {field} differs from the run's ")
    assert "train this one as a new run" in err
    after = {p.name: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing lost


def test_resume_goes_on_with_an_edited_rate_and_more_steps(capsys, tmp_path):
    args = ["gd-rate-0.2", "--set", "train.steps=20", "--out", "r", "--quiet", "--no-figures"]
    assert run_cli(capsys, "run", *args)[0] == 0
    _edit(tmp_path / "r/config.toml", "steps = 20", "steps = 40")
    _edit(tmp_path / "r/config.toml", "learning_rate = 0.2", "learning_rate = 0.1")
    code, out, err = run_cli(capsys, "resume", "r", "--json", "--no-figures")
    assert code == 0, err
    # w - (-1) shrinks by 1 - 2 * 0.2 for 20 steps, then by 1 - 2 * 0.1 (the new rate) for 20.
    assert last_json(out)["params"]["w"] == pytest.approx(-1 + 6 * 0.6**20 * 0.8**20, rel=1e-4)
    assert last_json(out)["learning_rate"] == pytest.approx(0.1)


def test_overwrite_never_follows_a_checkpoints_link_to_another_folder(capsys, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "step-00000001.safetensors").write_text("not this run's")
    (tmp_path / "r").mkdir()
    (tmp_path / "r/checkpoints").symlink_to(other)
    rd.clear_run(tmp_path / "r")
    assert (other / "step-00000001.safetensors").read_text() == "not this run's"
