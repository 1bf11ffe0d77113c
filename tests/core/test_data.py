"""Datasets: the lecture's two are bit-exact with its NumPy lines; the others have the
shapes, labels and geometry of their definitions; split() is a seeded partition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnopt.core import data
from nnopt.engine.setup import generate, make_dataset
from nnopt.errors import DataError

# ------------------------------------------------------------------ the lecture's datasets


def lecture_yogurt():
    """Lecture 4.1, verbatim."""
    BATCH_SIZE = 8  # noqa: F841
    SEED = 23455
    rdm = np.random.RandomState(SEED)
    X = rdm.rand(32, 2)
    Y_ = [[x1 + x2 + (rdm.rand() / 10.0 - 0.05)] for (x1, x2) in X]
    return X, Y_


def lecture_circle():
    """Lecture 4.4, verbatim (without the plotting)."""
    seed = 2
    rdm = np.random.RandomState(seed)
    X = rdm.randn(300, 2)
    Y_ = [int(x0 * x0 + x1 * x1 < 2) for (x0, x1) in X]
    X = np.vstack(X).reshape(-1, 2)
    Y_ = np.vstack(Y_).reshape(-1, 1)
    return X, Y_


def test_yogurt_is_bit_exact_with_the_lecture():
    X, Y_ = lecture_yogurt()
    x, y = data.yogurt()
    assert x.shape == (32, 2) and y.shape == (32, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(x, X.astype(np.float32))
    np.testing.assert_array_equal(y, np.asarray(Y_).astype(np.float32))
    # RandomState(23455).rand's first draws, as the course prints them.
    np.testing.assert_allclose(
        x[:2], [[0.83494319, 0.11482951], [0.66899751, 0.46594987]], rtol=1e-7
    )
    # y = x1 + x2 ± 0.05
    assert np.all(np.abs(y[:, 0].astype(np.float64) - X.sum(1)) <= 0.05 + 1e-7)


def test_noise_zero_keeps_the_lecture_datasets_bit_exact():
    X, Y_ = lecture_circle()
    x, y = data.circle(300, 0.0, 2)
    np.testing.assert_array_equal(x, X.astype(np.float32))
    np.testing.assert_array_equal(y, Y_.astype(np.float32))
    X, Y_ = lecture_yogurt()
    x, y = data.yogurt(32, 0.0, 23455)
    np.testing.assert_array_equal(x, X.astype(np.float32))
    np.testing.assert_array_equal(y, np.asarray(Y_).astype(np.float32))


def test_noise_moves_the_circle_points_and_keeps_their_labels():
    X, Y_ = lecture_circle()
    x, y = data.circle(300, 0.3, 2)
    np.testing.assert_array_equal(y, Y_.astype(np.float32))  # the lecture's labels
    moved = x.astype(np.float64) - X
    # Up to 0.3 x 2*sqrt(2) = 0.8485 in each coordinate, drawn after the lecture's points.
    assert np.all(np.abs(moved) <= 0.3 * 2 * math.sqrt(2) + 1e-6)
    assert np.all(np.any(moved != 0, axis=1)) and np.abs(moved).max() > 0.8
    rdm = np.random.RandomState(2)
    rdm.randn(300, 2)
    expected = X + rdm.uniform(-1, 1, (300, 2)) * 0.3 * 2 * math.sqrt(2)
    np.testing.assert_array_equal(x, expected.astype(np.float32))
    # Points near the boundary x0^2 + x1^2 = 2 now sit on the other side of it.
    inside = (x[:, 0].astype(np.float64) ** 2 + x[:, 1] ** 2) < 2
    assert 10 < np.sum(inside != (y[:, 0] == 1)) < 150


def test_noise_shifts_the_yogurt_targets_and_keeps_the_points():
    X, Y_ = lecture_yogurt()
    x, y = data.yogurt(32, 0.5, 23455)
    np.testing.assert_array_equal(x, X.astype(np.float32))
    shift = y[:, 0].astype(np.float64) - np.asarray(Y_)[:, 0]
    # The target at the point moved by U(-1/2, 1/2)^2 x 0.5: a shift of at most 0.5.
    assert np.all(np.abs(shift) <= 0.5 + 1e-6) and np.all(shift != 0)
    assert np.abs(shift).max() > 0.2


def test_circle_is_bit_exact_with_the_lecture():
    X, Y_ = lecture_circle()
    x, y = data.circle()
    assert x.shape == (300, 2) and y.shape == (300, 1)
    np.testing.assert_array_equal(x, X.astype(np.float32))
    np.testing.assert_array_equal(y, Y_.astype(np.float32))
    # The course's printed first rows of X.
    np.testing.assert_allclose(
        x[:3],
        [[-0.41675785, -0.05626683], [-2.1361961, 1.64027081], [-1.79343559, -0.84174737]],
        rtol=1e-7,
    )
    # Row 0 has r² = 0.177 < 2 (red, 1); row 1 has r² = 7.25 (blue, 0).
    assert y[0, 0] == 1.0 and y[1, 0] == 0.0


def test_circle_label_counts():
    X, _ = lecture_circle()
    x, y = data.circle()
    assert set(np.unique(y)) == {0.0, 1.0}
    ones = int(y.sum())
    assert ones == int(np.sum(X[:, 0] ** 2 + X[:, 1] ** 2 < 2))
    assert ones + int(np.sum(y == 0)) == 300
    # P(x0² + x1² < 2) = 1 - e^-1 ≈ 0.632 for standard normals: 190 ± 4 binomial sd's of 8.4.
    assert abs(ones - 300 * (1 - math.exp(-1))) < 4 * math.sqrt(300 * 0.632 * 0.368)


def test_lecture_generators_take_other_seeds_and_sizes():
    x, y = data.circle(50, 0.0, 7)
    X = np.random.RandomState(7).randn(50, 2)
    np.testing.assert_array_equal(x, X.astype(np.float32))
    np.testing.assert_array_equal(y[:, 0], (X[:, 0] ** 2 + X[:, 1] ** 2 < 2).astype(np.float32))
    x, y = data.yogurt(10, 0.0, 1)
    assert x.shape == (10, 2) and y.shape == (10, 1)
    np.testing.assert_array_equal(x, np.random.RandomState(1).rand(10, 2).astype(np.float32))


# ------------------------------------------------------------------ Playground generators


def test_rings_geometry_and_labels():
    x, y = data.rings(500, 0.0, 0)
    assert x.shape == (500, 2) and y.shape == (500, 1) and x.dtype == np.float32
    r = np.hypot(x[:, 0].astype(np.float64), x[:, 1])
    assert set(np.unique(y)) == {0.0, 1.0}
    # Without noise: first half within radius 2.5 (class 1), second half on the ring 3.5..5 (0).
    assert np.all(y[:250, 0] == 1) and np.all(y[250:, 0] == 0)
    assert np.all(r[:250] < 2.5 + 1e-5)
    assert np.all((r[250:] >= 3.5 - 1e-5) & (r[250:] <= 5.0 + 1e-5))
    # Noise moves the label test only, never the points.
    xn, yn = data.rings(500, 0.5, 0)
    assert xn.shape == (500, 2) and set(np.unique(yn)) <= {0.0, 1.0}
    np.testing.assert_array_equal(xn, x)


def test_xor_geometry_and_labels():
    x, y = data.xor(400, 0.0, 1)
    assert x.shape == (400, 2) and y.shape == (400, 1)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert np.all(np.abs(x) >= 0.3 - 1e-6) and np.all(np.abs(x) <= 5.3 + 1e-6)
    np.testing.assert_array_equal(y[:, 0], (x[:, 0] * x[:, 1] >= 0).astype(np.float32))


def test_gauss_clusters():
    x, y = data.gauss(500, 0.0, 3)
    assert x.shape == (500, 2) and y.shape == (500, 1)
    assert np.all(y[:250] == 1) and np.all(y[250:] == 0)
    # Means near (2, 2) and (-2, -2); variance 0.5 without noise.
    np.testing.assert_allclose(x[:250].mean(0), [2.0, 2.0], atol=0.2)
    np.testing.assert_allclose(x[250:].mean(0), [-2.0, -2.0], atol=0.2)
    assert abs(x[:250].var() - 0.5) < 0.15
    # noise 0.5 gives variance 4.
    xw, _ = data.gauss(2000, 0.5, 3)
    assert abs(xw[:1000].var() - 4.0) < 0.6


def test_spiral_two_arms():
    x, y = data.spiral(500, 0.0, 0)
    assert x.shape == (500, 2) and y.shape == (500, 1)
    assert np.all(y[:250] == 1) and np.all(y[250:] == 0)
    # Without noise, the i-th point of an arm has radius 5 i / count.
    r = np.hypot(x[:, 0].astype(np.float64), x[:, 1])
    np.testing.assert_allclose(r[:250], 5.0 * np.arange(250) / 250, atol=1e-5)
    np.testing.assert_allclose(r[250:], 5.0 * np.arange(250) / 250, atol=1e-5)
    # The second arm is the first turned by pi: point-reflected.
    np.testing.assert_allclose(x[250:], -x[:250], atol=1e-5)


def test_spiral3_three_classes():
    x, y = data.spiral3()
    assert x.shape == (600, 2) and y.shape == (600, 1)
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == [0.0, 1.0, 2.0] and counts.tolist() == [200, 200, 200]
    x7, y7 = data.spiral3(7, 0.0, 0)  # uneven arms: 2, 2, 3
    assert x7.shape == (7, 2) and np.unique(y7, return_counts=True)[1].tolist() == [2, 2, 3]


def test_plane_targets():
    x, y = data.plane(300, 0.0, 4)
    assert x.shape == (300, 2) and y.shape == (300, 1) and y.dtype == np.float32
    assert np.all(np.abs(x) <= 6.0)
    np.testing.assert_allclose(y[:, 0], (x[:, 0].astype(np.float64) + x[:, 1]) / 12.0, atol=1e-6)
    assert np.all(np.abs(y) <= 1.0)


@pytest.mark.parametrize("name", sorted(data.DATASETS))
def test_every_generator_is_deterministic_with_declared_shapes(name):
    spec = data.DATASETS[name]
    x1, y1 = generate(name, spec.default_size, 0.1, 5)
    x2, y2 = generate(name, spec.default_size, 0.1, 5)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.dtype == np.float32 and y1.ndim == 2 and y1.shape[1] == 1
    assert len(x1) == len(y1) == (spec.default_size if name != "none" else 1)
    if spec.task in ("binary", "multiclass"):
        assert set(np.unique(y1)) == set(float(c) for c in range(spec.n_classes))
    if name != "none":
        x3, _ = generate(name, spec.default_size, 0.1, 6)
        assert not np.array_equal(x1, x3)


# ------------------------------------------------------------------ split and helpers


@pytest.mark.parametrize("n,fraction", [(300, 0.2), (32, 0.25), (10, 0.33), (7, 0.5)])
def test_split_fractions_partition_and_determinism(n, fraction):
    x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.float32).reshape(n, 1)
    xtr, ytr, xte, yte = data.split(x, y, fraction, seed=3)
    n_test = int(round(n * fraction))
    assert len(xte) == len(yte) == n_test and len(xtr) == len(ytr) == n - n_test
    # A partition of the rows, rows kept together.
    rows = np.concatenate([ytr[:, 0], yte[:, 0]])
    assert sorted(rows.tolist()) == list(range(n))
    np.testing.assert_array_equal(xtr[:, 0], 2 * ytr[:, 0])
    np.testing.assert_array_equal(xte[:, 1], 2 * yte[:, 0] + 1)
    # Same seed, same split; the held-out rows are a permutation's prefix, not the last rows.
    again = data.split(x, y, fraction, seed=3)
    for a, b in zip((xtr, ytr, xte, yte), again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_split_depends_on_seed_and_zero_keeps_order():
    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.arange(100, dtype=np.float32).reshape(100, 1)
    a = data.split(x, y, 0.3, seed=0)[3]
    b = data.split(x, y, 0.3, seed=1)[3]
    assert not np.array_equal(a, b)
    xtr, ytr, xte, yte = data.split(x, y, 0.0, seed=0)
    np.testing.assert_array_equal(xtr, x)
    np.testing.assert_array_equal(ytr, y)
    assert xte.shape == (0, 2) and yte.shape == (0, 1)


def test_make_dataset_and_targets():
    ds = make_dataset("circle", 300, 0.0, 2, 0.0)
    X, Y_ = lecture_circle()
    np.testing.assert_array_equal(ds.x_train, X.astype(np.float32))
    assert ds.task == "binary" and ds.n_classes == 2 and ds.n_features == 2 and len(ds.x_test) == 0
    ds2 = make_dataset("spiral3", 60, 0.0, 0, 0.25)
    assert len(ds2.x_train) == 45 and len(ds2.x_test) == 15 and ds2.task == "multiclass"
    with pytest.raises(DataError):
        make_dataset("circle", 1, 0.0, 2, 0.6)
    # One-hot targets for many outputs, the labels themselves for one.
    y = np.array([[0.0], [2.0], [1.0]], np.float32)
    np.testing.assert_array_equal(data.targets_for(y, "multiclass", 3), np.eye(3)[[0, 2, 1]])
    np.testing.assert_array_equal(data.targets_for(y[:2] / 2, "binary", 2), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(data.targets_for(y, "binary", 1), y)
    np.testing.assert_array_equal(data.targets_for(y, "regression", 1), y)
