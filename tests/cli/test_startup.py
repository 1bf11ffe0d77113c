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
