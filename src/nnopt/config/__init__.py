"""The schema every face shares: frozen dataclass configs (:mod:`~nnopt.config.schema`),
parsed from TOML, ``--set`` and ``--grid`` (:mod:`~nnopt.config.parse`), checked against the
core's registries (:mod:`~nnopt.config.validate`), and the built-in presets
(:mod:`~nnopt.config.presets`).

``from nnopt.config import Config, config_from_dict`` works as in nnopt 0.1. Nothing here
imports JAX.
"""

from nnopt.config.parse import (
    apply_overrides,
    config_from_dict,
    config_to_dict,
    parse_grid,
    parse_override,
    split_values,
    sweep_from_raw,
)
from nnopt.config.schema import (
    OTHER_TABLES,
    SECTIONS,
    TOP_LEVEL,
    Config,
    DataConfig,
    EmaConfig,
    LossConfig,
    ModelConfig,
    OptimizerConfig,
    RegularizerConfig,
    ScheduleConfig,
    SweepConfig,
    TrainConfig,
    field_names,
    optimizer_choice,
    optimizer_numbers,
    resolve,
    section_fields,
)
from nnopt.config.validate import DATA_FILE_TYPES, DATA_TASKS, show_value, validate

__all__ = [
    "DATA_FILE_TYPES", "DATA_TASKS", "OTHER_TABLES", "SECTIONS", "TOP_LEVEL", "Config",
    "DataConfig", "EmaConfig", "LossConfig", "ModelConfig", "OptimizerConfig",
    "RegularizerConfig", "ScheduleConfig", "SweepConfig", "TrainConfig", "apply_overrides",
    "config_from_dict", "config_to_dict", "field_names", "optimizer_choice", "optimizer_numbers", "parse_grid",
    "parse_override", "resolve", "section_fields", "show_value", "split_values",
    "sweep_from_raw", "validate",
]  # fmt: skip
