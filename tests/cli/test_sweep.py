"""nnopt sweep: the command, its folders, resume, bad input, and the Ray backend."""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import warnings

import pytest

from nnopt.config.presets import read_raw
from tests.support.cli import run_cli

SHORT = ["train.steps=600", "train.log_every=200"]


# ------------------------------------------------------------------ the command


GRID = ["--grid", "optimizer.name=sgd,adam", "--grid", "optimizer.learning_rate=1e-3,1e-2"]
SETS = ["--set", "train.steps=400", "--set", "train.log_every=100"]


@pytest.mark.slow
def test_sweep_writes_tables_histories_and_figures(capsys, in_tmp):
    code, out, _ = run_cli(capsys, "sweep", "circle-l2", *SETS, *GRID, "--seeds", "2", "--json")
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["configurations"] == 8 and summary["groups"] == 2 and summary["diverged"] == []
    folder = in_tmp / summary["out"]
    rows = list(csv.DictReader(open(folder / "results.csv")))
    assert len(rows) == 8
    assert {r["optimizer.name"] for r in rows} == {"sgd", "adam"}
    assert {"train_loss", "train_accuracy", "steps_to_threshold", "diverged", "train.seed"} <= set(
        rows[0]
    )
    import pyarrow.parquet as pq

    table = pq.read_table(folder / "results.parquet").to_pydict()
    assert table["train_loss"] == pytest.approx([float(r["train_loss"]) for r in rows])
    history = list(csv.DictReader(open(folder / "histories.csv")))
    assert len(history) == 8 * 5  # steps 0, 100, ..., 400
    for name in ("race.png", "heatmap.png", "seeds.png", "boundaries.png"):
        assert (folder / name).stat().st_size > 1000, name
    best = summary["best"]
    assert best["train_loss"] == min(float(r["train_loss"]) for r in rows)


def test_sweep_table_in_the_toml_file(capsys, in_tmp):
    text = read_raw("circle-l2")[0]
    (in_tmp / "s.toml").write_text(
        '[sweep]\nseeds = 2\n[sweep.grid]\n"optimizer.learning_rate" = [0.001, 0.01]\n'
    )
    import tomli_w

    base = dict(text)
    base["train"] = {**base["train"], "steps": 200, "log_every": 100}
    (in_tmp / "base.toml").write_text(tomli_w.dumps(base) + (in_tmp / "s.toml").read_text())
    code, out, _ = run_cli(capsys, "sweep", "base.toml", "--json")
    assert code == 0
    assert json.loads(out.strip().splitlines()[-1])["configurations"] == 4
    # A [sweep] table does not stop `nnopt run` from using the same file.
    assert run_cli(capsys, "run", "base.toml", "--quiet")[0] == 0


def test_an_interrupted_sweep_resumes_without_retraining(capsys, in_tmp, monkeypatch):
    import nnopt.engine.sweep.run as sweep

    real = sweep.run_batch
    trained = []

    def interrupt_second_group(group, *args):
        if trained:
            raise KeyboardInterrupt
        trained.append([p.index for p in group])
        return real(group, *args)

    monkeypatch.setattr(sweep, "run_batch", interrupt_second_group)
    monkeypatch.setattr(sweep, "groups_at_once", lambda groups: 1)  # one group, then the next
    code, _, err = run_cli(capsys, "sweep", "circle-l2", *SETS, *GRID, "--out", "s")
    assert code == 130 and "2 of 4 configurations are saved" in err
    assert len(list((in_tmp / "s/points").glob("*.json"))) == 2

    resumed = []

    def record(group, *args):
        resumed.append([p.index for p in group])
        return real(group, *args)

    monkeypatch.setattr(sweep, "run_batch", record)
    code, out, _ = run_cli(capsys, "sweep", "circle-l2", *SETS, *GRID, "--out", "s", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["resumed"] is True
    assert sorted(i for g in resumed for i in g) == sorted(set(range(4)) - set(trained[0]))

    monkeypatch.setattr(sweep, "run_batch", real)
    code, out, _ = run_cli(capsys, "sweep", "circle-l2", *SETS, *GRID, "--out", "fresh", "--json")
    assert (in_tmp / "fresh/results.csv").read_text() == (in_tmp / "s/results.csv").read_text()


def test_configurations_retrained_on_resume_match_bit_for_bit(capsys, in_tmp):
    # One group of 8; results deleted here and there are retrained in a batch of their own.
    argv = ["sweep", "circle-l2", *SETS, "--grid", "optimizer.learning_rate=1e-3,3e-3",
            "--seeds", "4", "--set", "ema.enabled=true"]  # fmt: skip
    assert run_cli(capsys, *argv, "--out", "s")[0] == 0
    whole = (in_tmp / "s/results.csv").read_text()
    points = sorted((in_tmp / "s/points").glob("*.json"))
    for path in (points[1], points[6]):
        path.unlink()
    code, out, _ = run_cli(capsys, *argv, "--out", "s", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["resumed"] is True
    assert (in_tmp / "s/results.csv").read_text() == whole


def test_another_sweep_never_overwrites_a_folder(capsys, in_tmp):
    run_cli(
        capsys,
        "sweep",
        "circle-l2",
        *SETS,
        "--grid",
        "optimizer.learning_rate=1e-3,1e-2",
        "--out",
        "s",
    )
    code, out, _ = run_cli(capsys, "sweep", "circle-l2", *SETS, "--grid", "regularizer.scale=0,0.1",
                           "--out", "s", "--json")  # fmt: skip
    assert json.loads(out.strip().splitlines()[-1])["out"] == "s-2"


BAD = [
    (["--grid", "foo.bar=1"], "unknown section 'foo'"),
    (["--grid", "optimizer.lr=1,2"], "unknown field optimizer.lr"),
    (["--grid", "optimizer.learning_rate=abc"], "must be a number"),
    (["--grid", "optimizer.learning_rate=-1,1"], "must be > 0"),
    (["--grid", "optimizer.learning_rate="], "no values"),
    ([], "empty sweep"),
    (["--seeds", "0"], "--seeds 0 is out of range: must be >= 1"),
    (["--grid", "train.seed=1,2", "--seeds", "2"], "use one of them"),
    (["--seeds", "2", "--address", "127.0.0.1:6379"], "--address is for --backend ray"),
    (["--seeds", "2", "--backend", "gpu"], "invalid choice"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) or "empty" for a, _ in BAD])
def test_bad_sweeps_are_one_line_exit_2_and_nothing_written(capsys, in_tmp, argv, message):
    code, _, err = run_cli(capsys, "sweep", "circle-l2", *argv)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (in_tmp / "sweeps").exists()


def test_a_sweep_too_big_for_memory_is_refused_before_training(capsys, in_tmp, monkeypatch):
    import nnopt.engine.sweep.run as sweep

    monkeypatch.setattr(sweep, "available_bytes", lambda: 10_000_000)
    code, _, err = run_cli(capsys, "sweep", "circle-l2", "--seeds", "64")
    assert code == 2 and "GiB" in err and "64 configurations" in err
    assert not (in_tmp / "sweeps").exists()


# ------------------------------------------------------------------ Ray


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # every Ray address on loopback
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(32),
}


@pytest.fixture(scope="module")
def ray_cluster():
    """A real Ray cluster with 2 CPUs on loopback, with token authentication, started and
    stopped by the test."""
    import importlib.util

    # Ray is part of the test extra (pip install -e '.[test]'); not imported here, so that
    # nnopt's own import of it sees the loopback setting.
    assert importlib.util.find_spec("ray") is not None, (
        "install the test extra: pip install -e '.[test]'"
    )
    ray_bin = shutil.which("ray", path=os.path.dirname(sys.executable))
    port = _free_port()
    env = {**os.environ, **RAY_ENV}
    start = [ray_bin, "start", "--head", f"--port={port}", "--num-cpus=2", "--node-ip-address=127.0.0.1",
             "--include-dashboard=false", "--disable-usage-stats"]  # fmt: skip
    subprocess.run(start, check=True, capture_output=True, env=env, timeout=600)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray_bin, "stop", "--force"], capture_output=True, env=env, timeout=120)


@pytest.mark.slow
def test_ray_backend_gives_the_local_results(capsys, in_tmp, ray_cluster, monkeypatch):
    for key, value in RAY_ENV.items():
        monkeypatch.setenv(key, value)
    argv = ["sweep", "circle-l2", *SETS, *GRID]
    assert run_cli(capsys, *argv, "--out", "local")[0] == 0
    code, out, err = run_cli(
        capsys, *argv, "--out", "ray", "--backend", "ray", "--address", ray_cluster
    )
    assert code == 0, err
    assert (in_tmp / "ray/results.csv").read_text() == (in_tmp / "local/results.csv").read_text()


@pytest.mark.slow
def test_ray_backend_starts_a_local_instance_without_an_address(capsys, in_tmp, monkeypatch):
    for key, value in RAY_ENV.items():
        monkeypatch.setenv(key, value)
    argv = ["sweep", "gd-rate-0.2", "--grid", "optimizer.learning_rate=0.1,0.2,0.5", "--out"]
    assert run_cli(capsys, *argv, "local")[0] == 0  # JAX runs in this process from here on
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run_cli(capsys, *argv, "ray", "--backend", "ray")
    assert code == 0, err
    assert not [w for w in caught if "os.fork() was called" in str(w.message)]
    assert (in_tmp / "ray/results.csv").read_text() == (in_tmp / "local/results.csv").read_text()
    import ray

    assert not ray.is_initialized()  # the instance nnopt started is stopped again


@pytest.mark.slow
def test_ray_sweep_process_starts_ray_before_jax_so_no_fork_warning(in_tmp):
    """The cause, not the message: a fresh ``nnopt sweep --backend ray`` starts Ray's
    processes before JAX has threads, so no fork happens beside them."""
    argv = ["sweep", "gd-rate-0.2", "--grid", "optimizer.learning_rate=0.1,0.2", "--backend",
            "ray", "--out", "ray", "--quiet"]  # fmt: skip
    done = subprocess.run([sys.executable, "-W", "always", "-m", "nnopt.cli.main", *argv],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, **RAY_ENV})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "os.fork()" not in done.stderr and (in_tmp / "ray/results.csv").is_file()


@pytest.mark.slow
def test_unreachable_ray_address_is_a_clear_error(capsys, in_tmp):
    code, _, err = run_cli(capsys, "sweep", "circle-l2", "--seeds", "2", "--backend", "ray",
                           "--address", f"127.0.0.1:{_free_port()}")  # fmt: skip
    assert code == 2 and "--address 127.0.0.1:" in err and "no Ray cluster answers there" in err


# ------------------------------------------------------------------ resumed, bit-identical


def _point_results(folder) -> dict[str, dict]:
    """Each configuration's saved result by its key, without its place in the sweep."""
    out = {}
    for path in (folder / "points").glob("*.json"):
        raw = json.loads(path.read_text())
        raw.pop("index")
        out[path.name] = raw
    return out


@pytest.mark.slow
@pytest.mark.parametrize("wide", [False, True], ids=["lanes", "vmap"])
def test_a_configurations_result_does_not_depend_on_its_companions(capsys, in_tmp, wide):
    sets = ["--set", "train.steps=200", "--set", "train.log_every=50"]
    sets += ["--set", "model.layers=[2, 32, 32, 1]"] if wide else []
    grid = ["--grid", "optimizer.learning_rate=1e-3,3e-3,1e-2"]
    sweep = ["sweep", "circle-l2", *sets, *grid, "--seeds", "3", "--quiet"]
    assert run_cli(capsys, *sweep, "--out", "full")[0] == 0
    files = {n: (in_tmp / "full" / n).read_bytes() for n in ("results.csv", "histories.csv")}
    # Single results deleted (one from each shard of the vmap width), then the sweep again.
    for name in sorted(os.listdir(in_tmp / "full/points"))[1:9:3]:
        (in_tmp / "full/points" / name).unlink()
    code, _, err = run_cli(capsys, *sweep, "--out", "full")
    assert code == 0 and "resuming" not in err  # --quiet
    for name, data in files.items():
        assert (in_tmp / "full" / name).read_bytes() == data, name
    # A subset of the grid trained on its own: each configuration exactly as in the full one.
    subset = ["sweep", "circle-l2", *sets, "--grid", "optimizer.learning_rate=1e-2", "--seeds",
              "2", "--quiet", "--out", "part"]  # fmt: skip
    assert run_cli(capsys, *subset)[0] == 0
    part, full = _point_results(in_tmp / "part"), _point_results(in_tmp / "full")
    assert len(part) == 2 and all(full[name] == result for name, result in part.items())
