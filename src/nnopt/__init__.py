"""nnopt: the neural-network optimization lecture (神经网络优化) as a fast JAX + Optax lab.

The package is layered, imports pointing down only (``tests/test_layers.py`` checks it)::

    core/     the lecture's formulas: data, model, losses, regularizers, schedules, ema, optimizers
    config/   frozen dataclass configs from TOML and --set, validated against core's registries
    inputs/   data files, the bundled digits and parameter files, read into values
    engine/   compiled training, evaluation, sweeps, the lecture's experiments: values only
    outputs/  run folders, checkpoints, figures, reports, sweep folders
    cli/ web/ the faces: parse, call, print

The usual entry points::

    from nnopt import load_config, train
    result = train(load_config("circle-l2", ["regularizer.scale=0.001"]))
    result.history.column("train_loss"), result.params, result.ema_params

Importing ``nnopt`` loads no JAX: the names below are imported on first use.
"""

import importlib
import os

# Let XLA:CPU compile a small training loop into one kernel instead of running its body op
# by op: about twice as fast per step, and compile time does not grow. Set before JAX runs
# anything; a user's own XLA_FLAGS setting of the option wins.
_LOOP_OPTION = "xla_cpu_small_while_loop_byte_threshold"
if _LOOP_OPTION not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_backend_extra_options={_LOOP_OPTION}=100000000"
    ).strip()

from nnopt import _aliases  # noqa: E402  (old module paths, for one release)

_aliases.install()

# Public name -> the module that defines it (imported when the name is first used).
_LAZY = {
    "Config": "nnopt.config.schema",
    "NnoptError": "nnopt.errors",
    "load_config": "nnopt.config.presets",
    "preset_names": "nnopt.config.presets",
    "Training": "nnopt.engine.training",
    "TrainResult": "nnopt.engine.training",
    "train": "nnopt.engine.training",
    "figure_boundary": "nnopt.outputs.plots",
    "figure_losses": "nnopt.outputs.plots",
    "train_in_folder": "nnopt.outputs.run_dir",
    "run_sweep": "nnopt.outputs.sweep_dir",
}

__all__ = sorted(_LAZY)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnopt' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
