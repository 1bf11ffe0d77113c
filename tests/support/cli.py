"""Running the command line in-process, as a user would type it."""

from __future__ import annotations

import json

from nnopt.cli.main import main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``nnopt ARGV...``."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    """The JSON object a ``--json`` command ends stdout with."""
    return json.loads(out.strip().splitlines()[-1])
