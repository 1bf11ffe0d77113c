"""A disk that fills while the figures are drawn: one line, exit code 2, and the numbers
(``summary.json``, the tables) already on disk. The full disk is the operating system's own
error, ENOSPC, raised where nnopt creates a figure's file."""

from __future__ import annotations

import errno
import json
import tempfile

import pytest

from nnopt.cli.main import main
from nnopt.outputs import serialize

pytestmark = [pytest.mark.usefixtures("in_tmp"), pytest.mark.slow]  # a run and a sweep, end to end


@pytest.fixture
def full_for_figures(monkeypatch):
    """Creating any .png file fails as on a full disk; every other file is written."""
    real = tempfile.mkstemp

    def mkstemp(*args, prefix="", **kwargs):
        if ".png." in prefix:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(serialize.tempfile, "mkstemp", mkstemp)


def test_run_full_disk_at_the_figures_keeps_the_summary(full_for_figures, capsys, in_tmp):
    code = main(["run", "circle-l2", "--set", "train.steps=30", "--out", "runs/a", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert (
        err.splitlines()[-1]
        == "nnopt: error: cannot write runs/a/loss.png: No space left on device"
    )
    printed = json.loads(out.strip().splitlines()[-1])
    assert json.loads((in_tmp / "runs/a/summary.json").read_text()) == printed
    assert printed["steps"] == 30 and not list((in_tmp / "runs/a").glob("*.png"))


def test_sweep_full_disk_at_the_figures_keeps_the_summary(full_for_figures, capsys, in_tmp):
    code = main(["sweep", "circle-l2", "--grid", "optimizer.learning_rate=0.1,0.2",
                 "--set", "train.steps=30", "--out", "sw"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[-1] == "nnopt: error: cannot write sw/race.png: No space left on device"
    summary = json.loads((in_tmp / "sw/summary.json").read_text())
    assert summary["configurations"] == 2 and summary["figures"] == []
    assert summary["best"]["config"] in (0, 1) and (in_tmp / "sw/results.csv").is_file()
