"""A resumed sweep reads ``points/*.json``: a file that is not what ``save_point`` wrote for
that configuration is not a result (None: the configuration is trained again), never a
traceback."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from nnopt.config.presets import read_raw
from nnopt.engine.setup import initial_params
from nnopt.engine.sweep.grid import grid_points, point_key
from nnopt.engine.sweep.results import PointResult
from nnopt.outputs.sweep_dir import load_point, save_point


@pytest.fixture
def saved(tmp_path):
    """(folder, point, result) of one configuration saved as save_point writes it."""
    point = grid_points(read_raw("circle-l2")[0], {"optimizer.learning_rate": [0.1]}, 1, "t")[0]
    params = initial_params(point.config)
    rows = [{"step": 10, "train_loss": 0.5}, {"step": 20, "train_loss": None}]
    result = PointResult(point.index, point.settings, rows, None, params, None)
    (tmp_path / "points").mkdir()
    save_point(tmp_path, point, result)
    return tmp_path, point, result


def path_of(folder, point):
    return folder / "points" / f"{point_key(point)}.json"


def test_a_saved_point_reads_back(saved):
    folder, point, result = saved
    back = load_point(folder, point)
    assert back.rows[0] == {"step": 10, "train_loss": 0.5}
    assert np.isnan(back.rows[1]["train_loss"]) and back.diverged_at is None
    for name, value in result.params.items():
        np.testing.assert_array_equal(back.params[name], value)


def _edit(raw: dict, where: str, value):
    out = json.loads(json.dumps(raw))
    keys = where.split(".")
    target = out
    for k in keys[:-1]:
        target = target[int(k)] if isinstance(target, list) else target[k]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return out


@pytest.mark.parametrize(
    "change",
    [
        "{}", "null", "[]", "3", '"text"', "[" * 5000 + "]" * 5000,
        ("rows", None), ("rows", []), ("rows", "abc"), ("rows.0", None), ("rows.0", [1]),
        ("rows.0.step", "ten"), ("rows.0.train_loss", "low"), ("rows.0.train_loss", [1]),
        ("diverged_at", "never"), ("diverged_at", 1.5), ("diverged_at", True),
        ("params", None), ("params", []), ("params.w1", "abc"), ("params.w1", [[1, 2], [3]]),
        ("params.w1", [1.0]), ("params.bogus", [1.0]), ("ema_params", {"w1": [1.0]}),
        ("ema_params", "abc"),
    ],
)  # fmt: skip
def test_a_damaged_point_file_is_no_result(saved, change):
    folder, point, _ = saved
    path = path_of(folder, point)
    if isinstance(change, str):
        path.write_text(change)
    else:
        path.write_text(json.dumps(_edit(json.loads(path.read_text()), *change)))
    before = path.read_bytes()
    assert load_point(folder, point) is None
    assert path.read_bytes() == before  # read only: the sweep rewrites it with a new result


def test_a_point_file_that_is_a_fifo_is_no_result(saved):
    folder, point, _ = saved
    path = path_of(folder, point)
    path.unlink()
    os.mkfifo(path)
    assert load_point(folder, point) is None
