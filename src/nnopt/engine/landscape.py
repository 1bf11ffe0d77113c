"""The loss landscape of a model with exactly two trainable numbers (the lecture's yogurt fit
``y = x @ w1``, or any other): its total loss on the training rows over a grid of the two
numbers, for the playground to draw the optimizer's path on."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import numpy as np

from nnopt.engine.evaluate import metrics_of
from nnopt.engine.structure import Structure
from nnopt.engine.training import Training

GRID = 41  # points per axis
MIN_HALF = 1.0  # the grid reaches at least this far from the start on each side
SPREAD = 1.5  # ... and SPREAD times the start's largest magnitude


@dataclass(frozen=True)
class Landscape:
    """``total[i, j]``: the total loss (data loss + penalty) on the training rows with the
    two numbers at ``(a[j], b[i])``; ``names`` are the numbers' names (``w1[0,0]`` ...)."""

    names: tuple[str, str]
    a: np.ndarray
    b: np.ndarray
    total: np.ndarray


def number_names(structure: Structure) -> list[str]:
    """The name of each number of the flat parameter vector: ``w``, ``b1[0]``, ``w1[1,0]``."""
    names = []
    for name, shape in structure.param_shapes:
        if not shape:
            names.append(name)
        for index in np.ndindex(shape) if shape else ():
            names.append(f"{name}[{','.join(map(str, index))}]")
    return names


def has_landscape(training: Training) -> bool:
    """Whether the model has exactly two trainable numbers (a surface over a plane)."""
    return training.structure.n_params == 2


def grid_axes(start: np.ndarray, points: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """Two axes centred on the starting numbers, ``half = max(MIN_HALF, SPREAD·max|start|)``
    to each side: wide enough for the path from the start to a minimum near the origin's
    scale (the yogurt fit: from (-0.81, 1.48) to about (0.98, 1.02))."""
    half = max(MIN_HALF, SPREAD * float(np.max(np.abs(start))))
    a = np.linspace(start[0] - half, start[0] + half, points, dtype=np.float32)
    b = np.linspace(start[1] - half, start[1] + half, points, dtype=np.float32)
    return a, b


def loss_landscape(training: Training, start: np.ndarray, points: int = GRID) -> Landscape:
    """The total training loss over the grid around the starting numbers ``start`` (flat),
    with the run's own loss, regularizer and numbers (one compiled program per structure)."""
    s = training.structure
    a, b = grid_axes(np.asarray(start, np.float32), points)
    grid = np.stack(np.meshgrid(a, b), axis=-1).reshape(-1, 2).astype(np.float32)
    ds = training.dataset
    x, y_ = ds.x_train, training.data.y_train
    total = _surface(s)(training.numbers, grid, x, y_)
    names = number_names(s)
    return Landscape((names[0], names[1]), a, b, np.asarray(total).reshape(points, points))


@functools.cache
def _surface(structure: Structure):
    def surface(numbers, grid, x, y_):
        return jax.vmap(lambda flat: metrics_of(structure, numbers, flat, x, y_)["total"])(grid)

    return jax.jit(surface)
