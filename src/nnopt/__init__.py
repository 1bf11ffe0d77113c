"""nnopt: the neural-network optimization lecture (神经网络优化) as a fast JAX + Optax lab.

The usual entry points::

    from nnopt import load_config
    from nnopt.train import train
    result = train(load_config("circle-l2", ["regularizer.scale=0.001"]))
    result.history.column("train_loss"), result.params, result.ema_params
"""

import os

# Let XLA:CPU compile a small training loop into one kernel instead of running its body op
# by op: about twice as fast per step, and compile time does not grow. Set before JAX runs
# anything; a user's own XLA_FLAGS setting of the option wins.
_LOOP_OPTION = "xla_cpu_small_while_loop_byte_threshold"
if _LOOP_OPTION not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_backend_extra_options={_LOOP_OPTION}=100000000"
    ).strip()

from nnopt.config import Config  # noqa: E402
from nnopt.errors import NnoptError  # noqa: E402
from nnopt.presets import load_config, preset_names  # noqa: E402
from nnopt.train import Training, TrainResult  # noqa: E402

__all__ = ["Config", "NnoptError", "Training", "TrainResult", "load_config", "preset_names"]
__version__ = "0.1.0"
