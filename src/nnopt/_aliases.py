"""The module paths of nnopt 0.1 (a flat package), kept as aliases for one release.

``import nnopt.train`` still works and gives the module now at ``nnopt.engine.training``,
with a DeprecationWarning naming the new path. Remove after the next release.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

OLD_PATHS = {
    "nnopt.data": "nnopt.core.data",
    "nnopt.model": "nnopt.core.model",
    "nnopt.losses": "nnopt.core.losses",
    "nnopt.regularizers": "nnopt.core.regularizers",
    "nnopt.schedules": "nnopt.core.schedules",
    "nnopt.ema": "nnopt.core.ema",
    "nnopt.optimizers": "nnopt.core.optimizers",
    "nnopt.tf1_random": "nnopt.core.tf1_random",
    "nnopt.presets": "nnopt.config.presets",
    "nnopt.datafiles": "nnopt.inputs.datafiles",
    "nnopt.evaluate": "nnopt.engine.evaluate",
    "nnopt.train": "nnopt.engine.training",
    "nnopt.lanes": "nnopt.engine.lanes",
    "nnopt.lecture": "nnopt.engine.lecture",
    "nnopt.inference": "nnopt.engine.restore",
    "nnopt.sweep": "nnopt.engine.sweep",
    "nnopt.sweep_ray": "nnopt.engine.sweep.ray_backend",
    "nnopt.checkpoint": "nnopt.outputs.checkpoint",
    "nnopt.runs": "nnopt.outputs.run_dir",
    "nnopt.plots": "nnopt.outputs.plots",
    "nnopt.report": "nnopt.outputs.report",
    "nnopt.sweep_outputs": "nnopt.outputs.sweep_dir",
    "nnopt.tensorboard": "nnopt.outputs.tensorboard",
    "nnopt.sweep_cli": "nnopt.cli.sweep",
    "nnopt.inference_cli": "nnopt.cli.evaluate",
    "nnopt.web.cli": "nnopt.cli.serve",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds an old path and hands out the module at its new one."""

    def find_spec(self, fullname, path=None, target=None):
        new = OLD_PATHS.get(fullname)
        if new is None:
            return None
        warnings.warn(
            f"{fullname} is now {new}; the old path goes away in the next release",
            DeprecationWarning,
            stacklevel=3,
        )
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Puts the finder in front of the import system (once)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
