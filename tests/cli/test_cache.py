"""The persistent compilation cache: a second run compiles nothing and gives the same bits,
and no cache folder, however broken, stops a run (fresh processes, as a user runs them)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RUN = ["run", "circle-l2", "--set", "train.steps=400", "--set", "train.log_every=100",
       "--no-figures", "--json"]  # fmt: skip

# Counts the programs JAX needed (compiled by XLA or read from the cache) from its own
# monitoring events; ``break_writes`` makes every cache write fail as a full disk would.
PROBE = """
import json, sys
from nnopt.engine.compilation import compile_counter
if {break_writes!r}:
    import errno
    from jax._src import lru_cache
    def full(self, key, value):
        raise OSError(errno.ENOSPC, "No space left on device")
    lru_cache.LRUCache.put = full
count = compile_counter()
from nnopt.cli.main import main
code = main({argv!r})
n = count()
print(json.dumps({{"code": code, "programs": n.programs, "hits": n.cache_hits}}))
"""


def nnopt(argv, cwd: Path, cache, break_writes: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["NNOPT_CACHE_DIR"] = str(cache)
    script = PROBE.format(argv=list(argv), break_writes=break_writes)
    proc = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, proc.stderr
    seen = json.loads(lines[-1])
    seen["summary"] = json.loads(lines[-2])
    seen["notes"] = [line for line in proc.stderr.splitlines() if line.startswith("nnopt:")]
    assert seen["code"] == 0, proc.stderr
    return seen


def trained(run_dir: Path) -> dict[str, np.ndarray]:
    """Everything a run computed: its final parameters (raw and EMA) and every update's values."""
    summary = json.loads((run_dir / "summary.json").read_text())
    with np.load(io.BytesIO((run_dir / "steps.npz").read_bytes())) as steps:
        out = {k: np.asarray(steps[k]) for k in steps.files}
    for which in ("params", "ema_params"):
        for name, value in (summary.get(which) or {}).items():
            out[f"{which}.{name}"] = np.asarray(value, np.float32)
    return out


def assert_same_bits(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture
def reference(tmp_path) -> dict[str, np.ndarray]:
    """The run without any cache."""
    nnopt([*RUN, "--out", "plain", "--no-cache"], tmp_path, tmp_path / "unused")
    return trained(tmp_path / "plain")


def test_a_second_run_compiles_nothing_and_gives_the_same_bits(tmp_path, reference):
    cache = tmp_path / "cache"
    first = nnopt([*RUN, "--out", "a"], tmp_path, cache)
    assert first["programs"] == 1 and first["hits"] == 0  # one program for the whole run
    second = nnopt([*RUN, "--out", "b"], tmp_path, cache)
    assert second["programs"] == second["hits"] == 1  # read back, nothing compiled
    # A cache off for one run (--no-cache) neither reads nor fills it.
    off = nnopt([*RUN, "--out", "c", "--no-cache"], tmp_path, tmp_path / "other")
    assert off["hits"] == 0 and not (tmp_path / "other").exists()
    for run in ("a", "b", "c"):
        assert_same_bits(trained(tmp_path / run), reference)
    assert first["notes"] == second["notes"] == off["notes"] == []
    # It lives in a folder of this JAX version, one file per program.
    (folder,) = (cache / "xla").iterdir()
    assert folder.name.startswith("jax-") and len(list(folder.glob("*-cache"))) == 1
    # evaluate uses the run's own program: from the cache, and the numbers training logged.
    seen = nnopt(["evaluate", "a", "--split", "train", "--json"], tmp_path, cache)
    assert seen["programs"] == seen["hits"] == 1
    assert seen["summary"]["loss"] == first["summary"]["final_loss"]


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing: take /sys
        return Path("/sys/nnopt-cache-test")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder / "cache"


BAD_FOLDERS = {
    "a file where the folder should be": lambda tmp: _file(tmp / "cache-file"),
    "a folder that cannot be written": _unwritable,
}


def _file(path: Path) -> Path:
    path.write_text("not a folder\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_an_unusable_cache_folder_is_said_once_and_the_run_goes_on(tmp_path, reference, case):
    cache = BAD_FOLDERS[case](tmp_path)
    seen = nnopt([*RUN, "--out", "r"], tmp_path, cache)
    assert seen["hits"] == 0
    assert len(seen["notes"]) == 1 and "cannot be used" in seen["notes"][0]
    assert "--no-cache" in seen["notes"][0]
    assert_same_bits(trained(tmp_path / "r"), reference)


@pytest.mark.slow
def test_garbage_in_the_cache_is_said_once_cleared_and_compiled_again(tmp_path, reference):
    cache = tmp_path / "cache"
    nnopt([*RUN, "--out", "fill"], tmp_path, cache)
    (folder,) = (cache / "xla").iterdir()
    entries = list(folder.glob("*-cache"))
    for entry in entries:  # every program's entry overwritten with noise
        entry.write_bytes(np.random.default_rng(0).bytes(entry.stat().st_size))
    (folder / "stray.bin").write_bytes(b"\x00\xff" * 64)
    other = cache / "xla" / "jax-0.0.0-jaxlib-0.0.0"  # another version's cache beside it
    other.mkdir()
    (other / "jit_run_chunk-0123-cache").write_bytes(b"from another version")
    seen = nnopt([*RUN, "--out", "r"], tmp_path, cache)
    assert seen["hits"] == 0
    assert len(seen["notes"]) == 1 and "could not be read" in seen["notes"][0]
    assert_same_bits(trained(tmp_path / "r"), reference)
    again = nnopt([*RUN, "--out", "r2"], tmp_path, cache)  # written anew by the run before
    assert again["programs"] == again["hits"] == 1 and again["notes"] == []
    assert (other / "jit_run_chunk-0123-cache").read_bytes() == b"from another version"


@pytest.mark.slow
def test_a_full_disk_stops_only_the_caching(tmp_path, reference):
    seen = nnopt([*RUN, "--out", "r"], tmp_path, tmp_path / "cache", break_writes=True)
    assert len(seen["notes"]) == 1 and "could not be written" in seen["notes"][0]
    assert "No space left on device" in seen["notes"][0]
    assert_same_bits(trained(tmp_path / "r"), reference)
