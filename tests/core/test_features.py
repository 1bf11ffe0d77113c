"""Feature inputs: each registered input's formula on hand-picked points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnopt.core.data import Dataset, columns_of
from nnopt.core.features import FEATURES, PLAIN, feature_inputs, with_inputs

X = np.array([[2.0, 3.0], [-1.0, 0.5], [0.0, -4.0]], np.float32)


@pytest.mark.parametrize(
    "name, want",
    [
        ("x0", [2.0, -1.0, 0.0]),
        ("x1", [3.0, 0.5, -4.0]),
        ("x0_squared", [4.0, 1.0, 0.0]),
        ("x1_squared", [9.0, 0.25, 16.0]),
        ("x0_x1", [6.0, -0.5, 0.0]),
        ("sin_x0", [math.sin(2.0), math.sin(-1.0), 0.0]),
        ("sin_x1", [math.sin(3.0), math.sin(0.5), math.sin(-4.0)]),
    ],
)
def test_each_input_is_its_formula(name, want):
    got = feature_inputs(X, (name,))
    assert got.shape == (3, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-6)


def test_inputs_come_in_the_order_named_and_plain_is_the_columns_bit_for_bit():
    got = feature_inputs(X, ("x0_x1", "x0", "x1_squared"))
    np.testing.assert_array_equal(got, [[6.0, 2.0, 9.0], [-0.5, -1.0, 0.25], [0.0, 0.0, 16.0]])
    assert feature_inputs(X, PLAIN).tobytes() == X.tobytes()
    assert list(FEATURES) == [
        "x0", "x1", "x0_squared", "x1_squared", "x0_x1", "sin_x0", "sin_x1",
    ]  # fmt: skip


def test_with_inputs_maps_train_and_test_rows_and_records_the_names():
    y = np.zeros((3, 1), np.float32)
    ds = Dataset(X, y, X[:1], y[:1], "binary", 2)
    out = with_inputs(ds, ("x1_squared", "x0"))
    np.testing.assert_array_equal(out.x_train, [[9.0, 2.0], [0.25, -1.0], [16.0, 0.0]])
    np.testing.assert_array_equal(out.x_test, [[9.0, 2.0]])
    c = columns_of(out)
    assert c.features == ("x0", "x1") and c.inputs == ("x1_squared", "x0")  # read x0, x1
