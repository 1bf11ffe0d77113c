"""What a compiled program is made of: the :class:`Structure` (compiled in) and the numbers
(passed as arrays), and the flat parameter vector both are laid out for.

The regularizer, the learning-rate schedule and the moving average are numbers, not
structure (an L1 and an L2 scale, a decay rate with a staircase switch, an EMA decay with a
warm-up switch), so runs that differ only there share one compiled program, and a sweep
trains them together.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from nnopt.config import Config, optimizer_choice, optimizer_numbers
from nnopt.core.data import Dataset
from nnopt.core.losses import LOSS_NUMBERS
from nnopt.core.optimizers import OptimizerChoice
from nnopt.core.regularizers import penalty_scales
from nnopt.core.schedules import schedule_numbers


@dataclass(frozen=True)
class Structure:
    """Everything that shapes the compiled program; numbers are passed separately as arrays."""

    model: str
    layers: tuple[int, ...]
    activation: str
    output_activation: str
    param_shapes: tuple[tuple[str, tuple[int, ...]], ...]  # (name, shape), sorted by name
    loss: str
    optimizer: OptimizerChoice  # name, convention and switches
    batch_size: int
    batching: str
    n_train: int
    n_test: int
    task: str
    products: str = "auto"  # "dot" in programs batched over configurations (see model._dense)

    @property
    def classifies(self) -> bool:
        return self.task in ("binary", "multiclass")

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(shape, dtype=np.int64)) for _, shape in self.param_shapes)


def make_structure(config: Config, dataset: Dataset, params: dict) -> Structure:
    """The compiled-in part of an experiment: the model, loss, optimizer, batches, data sizes."""
    c = config
    return Structure(
        model=c.model.name,
        layers=c.model.layers if c.model.name == "mlp" else (1, 1),
        activation=c.model.activation,
        output_activation=c.model.output_activation,
        param_shapes=tuple((k, tuple(np.shape(params[k]))) for k in sorted(params)),
        loss=c.loss.name,
        optimizer=optimizer_choice(c),
        batch_size=c.train.batch_size,
        batching=c.data.batching,
        n_train=len(dataset.x_train),
        n_test=len(dataset.x_test),
        task=dataset.task,
    )


def flatten(params: dict, structure: Structure) -> np.ndarray:
    """The parameters as one float32 vector, in the structure's (sorted) order."""
    return np.concatenate(
        [np.ravel(np.asarray(params[n], np.float32)) for n, _ in structure.param_shapes]
    )


def unflatten(flat, structure: Structure) -> dict:
    """Inverse of :func:`flatten`: static slices of the vector, reshaped and named.

    Works on JAX arrays (inside compiled code) and NumPy arrays (on the host, where slicing
    a NumPy copy costs microseconds instead of a device dispatch per parameter).
    """
    out, start = {}, 0
    for name, shape in structure.param_shapes:
        size = int(np.prod(shape, dtype=np.int64))
        out[name] = flat[..., start : start + size].reshape(flat.shape[:-1] + shape)
        start += size
    return out


def flat_position(structure: Structure, name: str, index: tuple[int, ...]) -> int:
    """Where ``params[name][index]`` sits in the flat vector of :func:`flatten`: the sizes of
    the parameters before ``name`` (sorted order) plus the row-major offset of ``index``."""
    start = 0
    for n, shape in structure.param_shapes:
        if n == name:
            return start + int(np.ravel_multi_index(index, shape))
        start += int(np.prod(shape, dtype=np.int64))
    raise KeyError(name)


def number_values(config: Config) -> dict:
    """The config's numbers that the compiled step reads, as float32 scalars on the host:
    the base rate, the schedule's, every regularizer's scale, the EMA decay, warm-up switch
    and order, every loss number, the shuffling seed, and under ``optimizer`` the
    optimizer's own (with its base rate: what its ``init`` takes at the start of a run)."""
    c, s = config, config.schedule
    values = {
        "learning_rate": c.optimizer.learning_rate,
        **schedule_numbers(s.name, s.decay_rate, s.decay_steps, s.staircase),
        **penalty_scales(c.regularizer.name, c.regularizer.scale),
        "ema_decay": c.ema.decay if c.ema.enabled else 0.0,
        "ema_warmup": float(c.ema.num_updates),
        "ema_after_update": float(c.ema.order == "after_update"),
        **{k: getattr(c.loss, k) for k in LOSS_NUMBERS},
        "shuffle_seed": float(c.train.seed),
    }
    out = {k: np.float32(v) for k, v in values.items()}
    out["optimizer"] = {k: np.float32(v) for k, v in optimizer_numbers(config).items()}
    return out


def make_numbers(config: Config) -> dict:
    """:func:`number_values` as device arrays, the form the compiled step takes (a transfer,
    not a compiled program as ``jnp.asarray`` would be)."""
    return jax.device_put(number_values(config))


def log_interval(config: Config) -> int:
    """Updates between log points: ``train.log_every``, or 1/100 of the run when it is 0."""
    return config.train.log_every or max(1, config.train.steps // 100)
