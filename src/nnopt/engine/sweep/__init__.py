"""Sweeps: many configurations trained together.

- :mod:`~nnopt.engine.sweep.grid`: the configurations of a grid times seeds (:class:`Point`);
- :mod:`~nnopt.engine.sweep.batch`: configurations of one structure in one program;
- :mod:`~nnopt.engine.sweep.run`: groups, shards on threads, memory checks;
- :mod:`~nnopt.engine.sweep.results`: what is kept of each configuration, the results table;
- :mod:`~nnopt.engine.sweep.ray_backend`: shards as Ray tasks.

Training a sweep into a folder (resuming what finished) is
:func:`nnopt.outputs.sweep_dir.run_sweep`. The names of the submodules can be imported from
here (``from nnopt.engine.sweep import grid_points``), as from ``nnopt.sweep`` in nnopt 0.1.
"""

import importlib

_HOMES = {
    "grid": ("Point", "SEED_FIELD", "grid_points", "point_key"),
    "batch": (
        "Batch", "Start", "compiled_batch_chunk", "data_key", "starts_of", "program_width",
        "LANES_WIDTH", "VMAP_WIDTH",
    ),
    "run": (
        "available_bytes", "check_memory", "estimate_bytes", "group_points", "groups_at_once",
        "run_batch", "run_groups", "shards_of", "workers_available",
    ),
    "results": ("FINAL_METRICS", "PointResult", "result_table", "steps_to_reach"),
}  # fmt: skip
_WHERE = {name: module for module, names in _HOMES.items() for name in names}
_FROM_CONFIG = ("parse_grid", "split_values")  # nnopt 0.1 kept them here


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    if name in _FROM_CONFIG:
        return getattr(importlib.import_module("nnopt.config"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
