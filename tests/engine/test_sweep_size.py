"""A sweep's size is checked from its grid and seeds before any configuration is built: a
billion seeds is one line, not an hour of building configs."""

from __future__ import annotations

import pytest

from nnopt.config.presets import read_raw
from nnopt.engine.sweep.grid import grid_points
from nnopt.errors import ConfigError


def test_a_sweep_past_the_cap_is_refused_before_building_it():
    base = read_raw("circle-l2")[0]
    with pytest.raises(ConfigError) as err:
        grid_points(base, {"optimizer.learning_rate": [0.1, 0.2]}, 10**9, "t")
    assert str(err.value) == (
        "the sweep has 2000000000 configurations (grid values x sweep.seeds); at most 10000"
    )
    assert len(grid_points(base, {"optimizer.learning_rate": [0.1, 0.2]}, 3, "t")) == 6
