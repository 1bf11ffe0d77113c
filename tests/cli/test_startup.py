"""Nothing loads that a command does not need: ``--help``, ``presets`` and bad input answer
without importing JAX, Optax or matplotlib (each a second or more of start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("jax", "optax", "matplotlib", "starlette", "ray")
PROBE = """
import json, sys
from nnopt.cli.main import main
try:
    code = main({argv!r})
except SystemExit as exc:  # --help exits from argparse
    code = exc.code
print(json.dumps({{"code": code, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def loaded_by(argv: list[str], tmp_path) -> dict:
    script = PROBE.format(argv=argv, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv,code",
    [
        (["--help"], 0),
        (["run", "--help"], 0),
        (["presets"], 0),
        (["presets", "--show", "circle-l2"], 0),
        (["run", "circle", "--set", "optimizer.learning_rate=-1"], 2),
        (["run", "no-such-preset"], 2),
        (["sweep", "circle-l2", "--grid", "optimizer.name=sgd,nope"], 2),
        (["evaluate", "no-such-folder"], 2),
        (["lecture", "--only", "nope"], 2),
    ],
)
def test_light_commands_import_no_jax(argv, code, tmp_path):
    seen = loaded_by(argv, tmp_path)
    assert seen["code"] == code
    assert seen["loaded"] == [], f"nnopt {' '.join(argv)} imported {seen['loaded']}"
    assert not list(tmp_path.iterdir()), "a command that failed wrote something"


# A training command loads JAX, and matplotlib only when it draws: after the summary, whose
# last line names the run folder (an import hook notes what stdout held by then).
DRAW_PROBE = """
import importlib.abc, io, json, sys
printed = io.StringIO()
class Tee(io.TextIOBase):
    def write(self, text):
        printed.write(text)
        return sys.__stdout__.write(text)
sys.stdout = Tee()
seen = {{}}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" and "matplotlib" not in seen:
            seen["matplotlib"] = printed.getvalue()
        return None
sys.meta_path.insert(0, Watch())
from nnopt.cli.main import main
code = main({argv!r})
print(json.dumps({{"code": code, "loaded": [m for m in {heavy!r} if m in sys.modules],
                  "printed_before_matplotlib": seen.get("matplotlib")}}))
"""

SHORT_RUN = ["run", "circle-l2", "--set", "train.steps=200", "--set", "train.log_every=100",
             "--out", "r", "--no-cache"]  # fmt: skip


def draw_probe(argv, tmp_path) -> dict:
    script = DRAW_PROBE.format(argv=argv, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_run_draws_after_its_numbers_and_not_at_all_without_figures(tmp_path):
    seen = draw_probe(SHORT_RUN, tmp_path)
    assert seen["code"] == 0 and "matplotlib" in seen["loaded"]
    before = seen["printed_before_matplotlib"]
    assert "final data loss" in before and "run folder: r" in before
    assert (tmp_path / "r" / "loss.png").is_file()
    bare = draw_probe([*SHORT_RUN[:-3], "--out", "bare", "--no-figures", "--no-cache"], tmp_path)
    assert bare["code"] == 0 and "jax" in bare["loaded"]
    assert not {"matplotlib", "starlette", "ray"} & set(bare["loaded"])
    assert not list((tmp_path / "bare").glob("*.png"))
    # evaluate and predict draw nothing either.
    evaluated = draw_probe(["evaluate", "bare", "--split", "train", "--no-cache"], tmp_path)
    assert evaluated["code"] == 0 and "matplotlib" not in evaluated["loaded"]
