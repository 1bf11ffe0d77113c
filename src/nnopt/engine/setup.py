"""Setting a run up: its data, its first parameters, the data on the device and step 0.

Everything here runs once per run (or once per batch of a sweep), on the host: nothing is
compiled (the optimizer's ``init`` runs at the start of the compiled loop,
:mod:`nnopt.engine.step`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import numpy as np

from nnopt.config import Config
from nnopt.core.data import DATASETS, Dataset, dataset_of, digits_rows, standardized, targets_for
from nnopt.core.features import INPUT_COLUMNS, with_inputs
from nnopt.core.model import init_mlp, init_scalar
from nnopt.core.optimizers import OptimizerChoice, default_numbers, make_optimizer
from nnopt.engine.step import TrainState
from nnopt.engine.structure import Structure, flatten
from nnopt.errors import ConfigError, ParamsError
from nnopt.inputs.bundled import TABLES


class DeviceData(NamedTuple):
    """The data, on the device, laid out for batch selection inside the compiled program."""

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    # cyclic with rows % batch == 0: [rows/batch, batch, features]; else the rows, padded
    x_batches: jax.Array
    y_batches: jax.Array


# ------------------------------------------------------------------ data


def generate(name: str, n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``(x, y)`` of a registered dataset: generated, or read from its bundled table."""
    spec = DATASETS[name]
    if spec.bundled:
        return digits_rows(TABLES[spec.bundled](), n_samples, seed)
    return spec.generate(n_samples, noise, seed)


def make_dataset(
    name: str, n_samples: int, noise: float, seed: int, test_fraction: float
) -> Dataset:
    """Generates (or reads) the named dataset and splits it into train and test."""
    x, y = generate(name, n_samples, noise, seed)
    return dataset_of(name, x, y, test_fraction, seed)


def build_dataset(config: Config, dataset: Dataset | None = None) -> Dataset:
    """The config's dataset (or the given raw rows, e.g. uploaded points) with its feature
    inputs (``data.inputs``), standardized when asked, checked against the model and the
    batch size."""
    d = config.data
    if dataset is None and d.path:
        # Reading the user's file here lets resume, evaluate and sweeps rebuild a run's data
        # from its config alone; the module is loaded only for files.
        from nnopt.inputs.datafiles import load_dataset

        dataset = load_dataset(d.path, d.features, d.label, d.task, d.test_fraction, d.seed)
    elif dataset is None:
        dataset = make_dataset(d.name, d.n_samples, d.noise, d.seed, d.test_fraction)
    if d.inputs:
        if dataset.n_features != INPUT_COLUMNS:
            shown = repr(d.name) if not d.path else f"file {d.path}"
            raise ConfigError(
                f"data.inputs = {list(d.inputs)} are computed from 2 columns (x0, x1); data "
                f"{shown} has {dataset.n_features}: leave data.inputs empty"
            )
        dataset = with_inputs(dataset, d.inputs)
    if d.standardize:
        dataset = standardized(dataset)
    check_fits(config, dataset)
    return dataset


def check_fits(config: Config, dataset: Dataset) -> None:
    """Checks a built dataset against the config's model (inputs, outputs) and batch size.

    Raises:
      ConfigError: naming the size that does not fit.
    """
    d, m = config.data, config.model
    shown = repr(d.name) if not d.path else f"file {d.path}"
    if m.name == "mlp":
        if m.layers[0] != dataset.n_features:
            where = (
                f"data.inputs {list(d.inputs)}" if d.inputs else f"input features of data {shown}"
            )
            raise ConfigError(
                f"model.layers = {list(m.layers)}: the first size must be the {dataset.n_features} "
                f"{where}"
            )
        want = dataset.n_classes if dataset.task == "multiclass" else 1
        outs = m.layers[-1]
        if dataset.task == "binary" and outs not in (1, 2):
            raise ConfigError(
                f"model.layers = {list(m.layers)}: binary data {shown} needs 1 or 2 outputs"
            )
        if dataset.task != "binary" and outs != want:
            raise ConfigError(
                f"model.layers = {list(m.layers)}: data {shown} needs {want} output(s), not {outs}"
            )
    n_train = len(dataset.x_train)
    if config.train.batch_size > n_train:
        raise ConfigError(
            f"train.batch_size = {config.train.batch_size} is larger than the {n_train} training rows"
        )


def device_data(structure: Structure, dataset: Dataset) -> DeviceData:
    """Puts the data on the device in the layout the batch selection expects."""
    outs = structure.layers[-1]
    y_tr = targets_for(dataset.y_train, dataset.task, outs)
    y_te = targets_for(dataset.y_test, dataset.task, outs)
    x_tr, b = dataset.x_train, structure.batch_size
    if structure.batching == "cyclic" and len(x_tr) % b == 0:
        xb = x_tr.reshape(-1, b, x_tr.shape[1])
        yb = y_tr.reshape(-1, b, y_tr.shape[1])
    else:  # padded by one batch of zero rows, so a slice never runs off the end
        xb = np.concatenate([x_tr, np.zeros((b,) + x_tr.shape[1:], np.float32)])
        yb = np.concatenate([y_tr, np.zeros((b,) + y_tr.shape[1:], np.float32)])
    arrays = (x_tr, y_tr, dataset.x_test, y_te, xb, yb)
    return DeviceData(*jax.device_put([np.asarray(a, np.float32) for a in arrays]))


# ------------------------------------------------------------------ parameters and step 0


def initial_params(config: Config) -> dict[str, np.ndarray]:
    """The model's starting parameters from its initializer and ``train.seed``."""
    m = config.model
    if m.name == "scalar":
        return init_scalar(m.init_value)
    return init_mlp(
        m.layers,
        init=m.init,
        stddev=m.init_stddev,
        bias_init=m.bias_init,
        bias=m.bias,
        seed=config.train.seed,
    )


def check_params(params: dict, template: dict, source: str) -> dict[str, np.ndarray]:
    """Given starting parameters as float32 arrays, checked name by name against the model's.

    ``source`` names where they come from in the errors (e.g. ``params file start.json``).
    """
    missing = sorted(set(template) - set(params))
    extra = sorted(set(params) - set(template))
    if missing or extra:
        raise ParamsError(
            f"{source}: parameters {sorted(params)} do not match the model's {sorted(template)}"
            + (f" (missing {', '.join(missing)})" if missing else "")
            + (f" (unknown {', '.join(extra)})" if extra else "")
        )
    out = {}
    for name, ref in template.items():
        try:
            value = np.asarray(params[name], dtype=np.float32)
        except (TypeError, ValueError):
            raise ParamsError(f"{source}: {name} is not an array of numbers") from None
        if value.shape != np.shape(ref):
            raise ParamsError(
                f"{source}: {name} has shape {list(value.shape)}, the model needs {list(np.shape(ref))}"
            )
        if not np.all(np.isfinite(value)):
            raise ParamsError(f"{source}: {name} holds NaN or infinity")
        out[name] = value
    return out


def initial_state(config: Config, structure: Structure, params: dict) -> TrainState:
    """Step 0 of a run, on the host: the parameters, the shadow = params, and an optimizer
    state of zeros shaped as the optimizer's.

    The optimizer's own ``init`` runs inside the run's compiled chunk, at its start
    (:func:`nnopt.engine.step.run_chunk` with ``start``), so that a run compiles one
    program; this state gives that program its shapes (and a checkpoint its template).
    """
    flat = flatten(params, structure)
    opt_state = _unstarted(structure.optimizer, len(flat), ())
    return TrainState(np.int32(0), flat, opt_state, flat.copy())


def initial_states(structure: Structure, flat: np.ndarray) -> TrainState:
    """Step 0 of many configurations at once (flat parameters ``[C, n]``), on the host; the
    batched chunk runs each one's optimizer ``init`` at its start, as for one run."""
    flat = np.asarray(flat, np.float32)
    opt_state = _unstarted(structure.optimizer, flat.shape[1], (flat.shape[0],))
    return TrainState(np.int32(0), flat, opt_state, flat.copy())


def _unstarted(choice: OptimizerChoice, size: int, batch: tuple[int, ...]):
    """Zeros in the shapes of ``make_optimizer(choice, ...).init`` of ``size`` parameters (one
    set per entry of ``batch``), from its abstract evaluation: nothing is compiled."""
    leaves, tree = _optimizer_shapes(choice, size, batch)
    return jax.tree_util.tree_unflatten(tree, [np.zeros(s, d) for s, d in leaves])


@functools.cache
def _optimizer_shapes(choice: OptimizerChoice, size: int, batch: tuple[int, ...]):
    numbers = {k: 0.0 for k in default_numbers(choice)}

    def init(flat, numbers):
        return make_optimizer(choice, numbers).init(flat)

    for _ in batch:
        init = jax.vmap(init)
    flat = jax.ShapeDtypeStruct((*batch, size), np.float32)
    nums = {k: jax.ShapeDtypeStruct(batch, np.float32) for k in numbers}
    leaves, tree = jax.tree_util.tree_flatten(jax.eval_shape(init, flat, nums))
    return [(leaf.shape, leaf.dtype) for leaf in leaves], tree
