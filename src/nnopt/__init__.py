"""nnopt: the neural-network optimization lecture (神经网络优化) as a fast JAX + Optax lab.

The usual entry points::

    from nnopt import load_config
    from nnopt.train import train
    result = train(load_config("circle-l2", ["regularizer.scale=0.001"]))
    result.history.column("train_loss"), result.params, result.ema_params
"""

from nnopt.config import Config
from nnopt.errors import NnoptError
from nnopt.presets import load_config, preset_names
from nnopt.train import Training, TrainResult

__all__ = ["Config", "NnoptError", "Training", "TrainResult", "load_config", "preset_names"]
__version__ = "0.1.0"
