"""Feature inputs (TensorFlow Playground's input tiles): what the model sees of a 2-D point.

Each registered input is a pure function of the point's two columns ``x0, x1`` (nnopt's
column names, as in the lecture's ``x0² + x1² < 2``): ``x0``, ``x1``, ``x0²``, ``x1²``,
``x0·x1``, ``sin x0``, ``sin x1``. ``data.inputs`` names the ones a model takes, in order;
the model's first layer has one unit per input. An empty list means the columns as they are,
for any number of columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnopt.core.data import Dataset, columns_of

INPUT_COLUMNS = 2  # the inputs are computed from a point's two coordinates


@dataclass(frozen=True)
class FeatureSpec:
    """One input: its label on the page, its formula in words, and the function of (x0, x1)."""

    label: str
    formula: str
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray]


FEATURES: dict[str, FeatureSpec] = {
    "x0": FeatureSpec("x₀", "x0", lambda a, b: a),
    "x1": FeatureSpec("x₁", "x1", lambda a, b: b),
    "x0_squared": FeatureSpec("x₀²", "x0²", lambda a, b: a * a),
    "x1_squared": FeatureSpec("x₁²", "x1²", lambda a, b: b * b),
    "x0_x1": FeatureSpec("x₀x₁", "x0·x1", lambda a, b: a * b),
    "sin_x0": FeatureSpec("sin x₀", "sin(x0)", lambda a, b: np.sin(a)),
    "sin_x1": FeatureSpec("sin x₁", "sin(x1)", lambda a, b: np.sin(b)),
}
PLAIN = ("x0", "x1")  # the columns as they are: what a model without data.inputs sees


def feature_inputs(x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The inputs ``names`` of the rows ``x`` (``[n, 2]``): column j is
    ``FEATURES[names[j]].fn(x0, x1)``, in float32 (training and prediction compute it alike).

    Example:
      >>> feature_inputs(np.array([[2.0, 3.0]]), ("x0_squared", "x0_x1")).tolist()
      [[4.0, 6.0]]
    """
    x = np.asarray(x, np.float32)
    a, b = x[:, 0], x[:, 1]
    columns = [np.asarray(FEATURES[name].fn(a, b), np.float32) for name in names]
    return np.stack(columns, axis=1).astype(np.float32) if columns else x[:, :0]


def with_inputs(dataset: Dataset, names: tuple[str, ...]) -> Dataset:
    """The dataset whose rows are the inputs ``names`` of its two columns (recorded in its
    columns, so that prediction computes them from new rows the same way)."""
    columns = dataclasses.replace(columns_of(dataset), inputs=tuple(names))
    return dataclasses.replace(
        dataset,
        x_train=feature_inputs(dataset.x_train, names),
        x_test=feature_inputs(dataset.x_test, names),
        columns=columns,
    )
