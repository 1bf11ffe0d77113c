"""A sweep's configurations: every combination of a grid's values, times a number of seeds.

A sweep is a base config (TOML-shaped), a grid of ``section.field`` values and a number of
seeds (:class:`~nnopt.config.schema.SweepConfig`); each combination is a :class:`Point`
with a validated config.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from nnopt.config import Config, apply_overrides, config_from_dict, config_to_dict
from nnopt.errors import ConfigError

SEED_FIELD = "train.seed"
MAX_POINTS = 10_000  # configurations in one sweep


@dataclass(frozen=True)
class Point:
    """One configuration of a sweep: its grid settings (field -> value) and its config."""

    index: int
    settings: dict[str, Any]
    config: Config


def grid_points(base_raw: dict, grid: dict[str, list[Any]], seeds: int, source: str) -> list[Point]:
    """Every combination of the grid's values, times ``seeds`` seeds, as validated configs.

    Seed i sets ``train.seed`` to the base seed + i (the initial weights and the shuffling;
    the data stay the same).

    Raises:
      ConfigError: an empty sweep, or a combination that is not a valid config.
    """
    if seeds < 1:
        raise ConfigError(f"sweep.seeds = {seeds} is out of range: must be >= 1")
    count = math.prod(len(v) for v in grid.values()) * seeds
    if count > MAX_POINTS:  # said before building (and validating) every configuration
        raise ConfigError(
            f"the sweep has {count} configurations (grid values x sweep.seeds); "
            f"at most {MAX_POINTS}"
        )
    if not grid and seeds == 1:
        raise ConfigError(
            "empty sweep: give sweep.grid at least one field with values, or sweep.seeds > 1"
        )
    if SEED_FIELD in grid and seeds > 1:
        raise ConfigError(
            "sweep.grid train.seed and sweep.seeds both set the seed; use one of them"
        )
    fields = list(grid)
    base_seed = config_from_dict(base_raw, source).train.seed
    points = []
    for combo in itertools.product(*(grid[f] for f in fields)):
        overrides = [f"{f}={_toml_value(v)}" for f, v in zip(fields, combo)]
        for s in range(seeds):
            settings = dict(zip(fields, combo))
            extra = []
            if seeds > 1:
                settings[SEED_FIELD] = base_seed + s
                extra = [f"{SEED_FIELD}={base_seed + s}"]
            raw = apply_overrides(base_raw, overrides + extra)
            label = f"{source} with " + ", ".join(f"{k}={v}" for k, v in settings.items())
            points.append(Point(len(points), settings, config_from_dict(raw, label)))
    return points


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def point_key(point: Point) -> str:
    """A stable name for a configuration: the hash of its full config (for resuming)."""
    text = json.dumps(config_to_dict(point.config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
