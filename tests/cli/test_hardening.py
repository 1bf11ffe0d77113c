"""Nothing lost, nothing crashes: SIGKILL at random moments and resume, Ctrl-C, corrupted
checkpoints. The runs are real processes, killed for real."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from nnopt.outputs.run_dir import checkpoints

pytestmark = pytest.mark.slow  # real processes killed and resumed

# A run slow enough to be killed in the middle: 40 checkpoints over a few seconds.
RUN = [
    "circle-modular",
    "--set", "model.layers=[2, 32, 32, 1]",
    "--set", "train.steps=12000",
    "--set", "train.log_every=300",
    "--set", "train.checkpoint_every=300",
    "--quiet",
]  # fmt: skip
KILL_POINTS = 20


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The processes share a compilation cache, so each restart compiles nothing new."""
    cache = tmp_path_factory.mktemp("jax-cache")
    return {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(cache),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def nnopt(args, env, cwd, **kw):
    return subprocess.Popen([sys.executable, "-m", "nnopt.cli.main", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # fmt: skip


def final_state(run_dir: Path) -> dict[str, np.ndarray]:
    last = checkpoints(run_dir)[-1]
    assert last.name == "step-00012000.safetensors"
    return load_file(last)


def latest_step(run_dir: Path) -> int:
    """The step of the newest checkpoint in a run folder (-1 if there is none)."""
    try:
        names = [n for n in os.listdir(run_dir / "checkpoints") if n.endswith(".safetensors")]
    except OSError:
        return -1
    return max((int(n[5:13]) for n in names), default=-1)


def wait_for(condition, timeout: float = 120.0) -> float:
    """Polls until ``condition()`` holds; returns the time it did."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
    return time.monotonic()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, env):
    """The uninterrupted run, and how long its training lasts (from its config file to its
    last checkpoint), the window the kills aim at."""
    cwd = tmp_path_factory.mktemp("reference")
    proc = nnopt(["run", *RUN, "--out", "ref"], env, cwd)
    started = wait_for(lambda: (cwd / "ref/config.toml").exists())
    last = cwd / "ref/checkpoints/step-00012000.safetensors"
    ended = wait_for(last.exists)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return final_state(cwd / "ref"), ended - started


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path, env, reference):
    expected, duration = reference
    rng = random.Random(20261123)
    kills, resumed_from = 0, []
    run = 0
    while kills < KILL_POINTS:
        run_dir = tmp_path / f"run{run}"
        args = ["run", *RUN, "--out", run_dir.name]
        for _ in range(4):  # up to four kills in one run, each at a random moment of training
            proc = nnopt(args, env, tmp_path)
            # Aim at a random point of the training: once the run has saved the checkpoint
            # of a random step, kill it within the next few milliseconds (while it trains
            # on, or writes its next files).
            target = rng.randrange(0, 12000, 300)
            wait_for(
                lambda d=run_dir, t=target, p=proc: latest_step(d) >= t or p.poll() is not None
            )
            time.sleep(rng.uniform(0.0, 0.03))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=300)
            found = checkpoints(run_dir) if (run_dir / "config.toml").exists() else []
            resumed_from.append(int(found[-1].stem.split("-")[1]) if found else -1)
            if not (run_dir / "config.toml").exists():
                args = ["run", *RUN, "--out", run_dir.name, "--overwrite"]  # killed before it began
            else:
                args = ["resume", run_dir.name, "--quiet"]
            if kills >= KILL_POINTS:
                break
        proc = nnopt(args, env, tmp_path)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        got = final_state(run_dir)
        assert set(got) == set(expected)
        for name in expected:  # parameters, EMA shadow, optimizer state, step
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
        run += 1
    assert kills >= KILL_POINTS
    # The kills landed at many different places of the runs (not all before the first checkpoint).
    assert len(set(resumed_from)) >= 5, resumed_from


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path, env, reference):
    expected, duration = reference
    proc = nnopt(["run", *RUN, "--out", "r"], env, tmp_path)
    deadline = time.monotonic() + 120
    while len(checkpoints(tmp_path / "r")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # wait until training is under way (past the step-0 checkpoint)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130, err
    assert "nnopt resume r" in err and "Traceback" not in err
    assert checkpoints(tmp_path / "r")
    proc = nnopt(["resume", "r", "--quiet"], env, tmp_path)
    assert proc.communicate(timeout=300) and proc.returncode == 0
    got = final_state(tmp_path / "r")
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_ctrl_c_stops_a_sweep_on_threads_promptly(tmp_path, env):
    # Group 1 (200 steps) ends and is saved; Ctrl-C lands while group 2 (hours of training)
    # trains as two shards on two threads, which must stop at their next log point: the
    # process ends within communicate's generous bound only if they do.
    sweep = ["sweep", "circle-l2", "--grid", "train.steps=200,100000000", "--grid",
             "optimizer.learning_rate=1e-3,1e-2,3e-2,0.1", "--seeds", "2",
             "--set", "train.log_every=100", "--out", "s"]  # fmt: skip
    proc = nnopt(sweep, env, tmp_path)
    points = tmp_path / "s" / "points"
    deadline = time.monotonic() + 120
    while len(list(points.glob("*.json"))) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)  # the long group's shards are training
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "8 of 16 configurations are saved" in err and "Traceback" not in err
    assert len(list(points.glob("*.json"))) == 8


def test_a_corrupted_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    from nnopt.cli.main import main

    os.chdir(tmp_path)
    args = ["gd-rate-0.2", "--set", "train.checkpoint_every=10", "--quiet"]
    assert main(["run", *args, "--out", "full"]) == 0
    assert main(["run", *args, "--set", "train.steps=30", "--out", "cut"]) == 0
    # Pretend the run was meant to go on to 40 steps, and that its last checkpoint got damaged.
    config = (tmp_path / "cut/config.toml").read_text().replace("steps = 30", "steps = 40")
    (tmp_path / "cut/config.toml").write_text(config)
    last = checkpoints(tmp_path / "cut")[-1]
    data = bytearray(last.read_bytes())
    data[-3] ^= 0xFF
    last.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["resume", "cut", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "corrupted" in err and "previous checkpoint" in err
    a = load_file(checkpoints(tmp_path / "full")[-1])
    b = load_file(checkpoints(tmp_path / "cut")[-1])
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_two_runs_started_at_once_never_share_a_folder(tmp_path, env):
    procs = [
        nnopt(["run", "gd-rate-1", "--out", "same", "--json"], env, tmp_path) for _ in range(3)
    ]
    folders = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        folders.append(json.loads(out.strip().splitlines()[-1])["run_dir"])
    assert sorted(folders) == ["same", "same-2", "same-3"]
    for folder in folders:  # each run wrote a whole, consistent folder of its own
        assert (tmp_path / folder / "summary.json").is_file()
        assert len((tmp_path / folder / "history.csv").read_text().splitlines()) == 42


def test_sigterm_saves_like_ctrl_c_for_run_and_resume_and_exits_143(tmp_path, env, reference):
    expected, _ = reference
    for args in (["run", *RUN, "--out", "r"], ["resume", "r", "--quiet"]):
        before = latest_step(tmp_path / "r")
        proc = nnopt(args, env, tmp_path)
        # Training is under way: a checkpoint past the one it started from (and not the last).
        wait_for(lambda b=before: latest_step(tmp_path / "r") >= max(b, 0) + 600)
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            pytest.skip("the run finished before SIGTERM arrived")
        assert proc.returncode == 143, err
        assert "terminated (SIGTERM) at step" in err and "Traceback" not in err
        stopped = int(err.split("at step ")[1].split(";")[0])
        # Saved at the step it stopped at, not only at the last periodic checkpoint.
        assert latest_step(tmp_path / "r") == stopped, err
        assert len((tmp_path / "r/history.csv").read_text().splitlines()) >= 1 + stopped // 300
    proc = nnopt(["resume", "r", "--quiet"], env, tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    got = final_state(tmp_path / "r")
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_sigterm_stops_a_sweep_like_ctrl_c_and_exits_143(tmp_path, env):
    sweep = ["sweep", "circle-l2", "--grid", "train.steps=200,100000000", "--grid",
             "optimizer.learning_rate=1e-3,1e-2,3e-2,0.1", "--seeds", "2",
             "--set", "train.log_every=100", "--out", "s"]  # fmt: skip
    proc = nnopt(sweep, env, tmp_path)
    points = tmp_path / "s" / "points"
    wait_for(lambda: len(list(points.glob("*.json"))) >= 8)
    time.sleep(1.0)  # the long group's shards are training
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM); 8 of 16 configurations are saved" in err
    assert "Traceback" not in err
    assert len(list(points.glob("*.json"))) == 8


# ---------------------------------------------------------------- a kill at a chosen moment

# Runs nnopt with one library function replaced by one that SIGKILLs the process at the
# moment named (a real kill, at an exact place instead of a random one).
KILL_AT = """
import os, signal, sys
import {module} as m
real = m.{name}
def killing(*args, **kw):
    if {condition}:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kw)
m.{name} = killing
from nnopt.cli.main import entry
entry(sys.argv[1:])
"""

SHORT_RUN = ["circle-modular", "--set", "train.steps=1200", "--set", "train.log_every=100",
             "--set", "train.checkpoint_every=300", "--quiet"]  # fmt: skip


def nnopt_killed_at(args, env, cwd, module, name, condition):
    code = KILL_AT.format(module=module, name=name, condition=condition)
    return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def run_records(folder: Path) -> dict[str, bytes]:
    """The files of a run folder that must match an uninterrupted run's (the summary without
    its folder name)."""
    out = {n: (folder / n).read_bytes() for n in ("history.csv", "steps.npz")}
    summary = json.loads((folder / "summary.json").read_text())
    summary.pop("run_dir")
    out["summary"] = json.dumps(summary).encode()
    out |= {k: v.tobytes() for k, v in load_file(checkpoints(folder)[-1]).items()}
    return out


@pytest.mark.parametrize(
    ("module", "name", "condition"),
    [
        # the end: history.csv written, steps.npz not yet
        ("nnopt.outputs.run_dir", "write_steps", "args[1].rows[-1]['step'] == 1200"),
        # summary.json written, the final checkpoint not yet
        ("nnopt.outputs.run_dir", "write_checkpoint", "int(args[1].step) == 1200"),
        # the final checkpoint written, the figures not yet
        ("nnopt.outputs.run_dir", "save_run_figures", "True"),
        # a periodic checkpoint's history written, its checkpoint not yet
        ("nnopt.outputs.run_dir", "write_checkpoint", "int(args[1].step) == 600"),
    ],
)
def test_a_kill_between_the_last_records_then_resume_is_bit_identical(
    tmp_path, env, module, name, condition
):
    ref = subprocess.run([sys.executable, "-m", "nnopt.cli.main", "run", *SHORT_RUN, "--out",
                          "ref"], env=env, cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert ref.returncode == 0, ref.stderr
    killed = nnopt_killed_at(["run", *SHORT_RUN, "--out", "r"], env, tmp_path, module, name,
                             condition)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = subprocess.run([sys.executable, "-m", "nnopt.cli.main", "resume", "r", "--quiet"],
                             env=env, cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert run_records(tmp_path / "r") == run_records(tmp_path / "ref")
    assert sorted(p.name for p in (tmp_path / "r").glob("*.png")) == sorted(
        p.name for p in (tmp_path / "ref").glob("*.png")
    )


# ---------------------------------------------------------------- sweeps killed at random

# Four groups (one per train.steps) of four configurations: the points are saved group by
# group, so kills land before, between and after the groups and while the tables are written.
SWEEP = ["sweep", "circle-l2", "--grid", "train.steps=2000,4000,6000,8000", "--grid",
         "optimizer.learning_rate=1e-3,1e-2", "--seeds", "2", "--set", "train.log_every=250",
         "--quiet"]  # fmt: skip
SWEEP_KILLS = 20


def sweep_records(folder: Path) -> dict[str, bytes]:
    names = ["results.csv", "histories.csv"] + sorted(
        f"points/{p.name}" for p in (folder / "points").glob("*.json")
    )
    return {n: (folder / n).read_bytes() for n in names}


def reached(out: Path, stage, proc) -> bool:
    """The process ended, or the sweep in ``out`` got to ``stage``: started, so many points
    saved, or its results table written (the figures come after)."""
    if proc.poll() is not None or stage == "start":
        return True
    if stage == "results":
        return (out / "results.csv").exists()
    points = out / "points"
    return points.is_dir() and len(list(points.glob("*.json"))) >= stage


def test_sigkill_a_sweep_at_random_moments_then_rerun_is_bit_identical(tmp_path, env):
    ref = nnopt([*SWEEP, "--out", "ref"], env, tmp_path)
    _, err = ref.communicate(timeout=600)
    assert ref.returncode == 0, err
    expected = sweep_records(tmp_path / "ref")
    assert len(expected) == 2 + 16
    rng = random.Random(20261202)
    kills, saved_at_kill, n = 0, [], 0
    while kills < SWEEP_KILLS:
        out = tmp_path / f"s{n}"
        points = out / "points"

        for _ in range(4):  # up to four kills in one sweep folder, then it finishes
            proc = nnopt([*SWEEP, "--out", out.name], env, tmp_path)
            stage = rng.choice(["start", 0, 4, 8, 12, 16, "results"])
            wait_for(lambda o=out, s=stage, p=proc: reached(o, s, p))
            time.sleep(rng.uniform(0.0, 0.5 if stage == "start" else 0.2))
            if proc.poll() is not None:
                proc.communicate()
                assert proc.returncode == 0
                break
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            kills += 1
            saved_at_kill.append(len(list(points.glob("*.json"))) if points.is_dir() else -1)
            if kills >= SWEEP_KILLS:
                break
        proc = nnopt([*SWEEP, "--out", out.name], env, tmp_path)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0 and "Traceback" not in err, err
        assert not (tmp_path / f"{out.name}-2").exists()  # resumed there, not a new folder
        assert sweep_records(out) == expected
        n += 1
    # The kills landed at many different stages of the sweeps.
    assert len(set(saved_at_kill)) >= 4, saved_at_kill


def test_sigterm_stops_a_sweep_on_ray_like_ctrl_c(tmp_path, env):
    from tests.cli.test_sweep import RAY_ENV

    sweep = ["sweep", "circle-l2", "--grid", "train.steps=200,100000000", "--grid",
             "optimizer.learning_rate=1e-3,1e-2", "--set", "train.log_every=100", "--out", "s",
             "--backend", "ray"]  # fmt: skip
    proc = nnopt(sweep, {**env, **RAY_ENV}, tmp_path)
    points = tmp_path / "s" / "points"
    wait_for(lambda: len(list(points.glob("*.json"))) >= 2 or proc.poll() is not None, 300)
    time.sleep(1.0)  # the long group's task is training
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM); 2 of 4 configurations are saved" in err
    assert "Traceback" not in err and "*** SIGTERM received" not in err
