"""Datasets (the lecture's ``generateds``): generators with one signature, and splitting.

Every generator is ``fn(n_samples, noise, seed) -> (x, y)`` with ``x`` float32 of shape
``[n, features]`` and ``y`` of shape ``[n, 1]``: a float target for regression, the
class index (0 or 1 ...) for classification. The lecture's two datasets are
bit-exact with its NumPy code; the others follow TensorFlow Playground's
generators (labels -1/+1 there are 0/1 here).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnopt.errors import DataError

Generator = Callable[[int, float, int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its generator, task, default size and a one-line summary."""

    generate: Generator | None  # None: the rows come from a bundled table (see ``bundled``)
    task: str  # "regression", "binary", "multiclass" or "none"
    default_size: int
    summary: str
    n_classes: int = 0
    n_features: int = 2  # input columns; the playground shows only 2-D datasets
    bundled: str = ""  # a table shipped with an installed package (nnopt.inputs.bundled)


def yogurt(n_samples: int = 32, noise: float = 0.0, seed: int = 23455):
    """The lecture's yogurt sales: ``X = rand(n, 2)``, ``y = x1 + x2 + rand()/10 - 0.05``.

    Exactly the lecture's draws: all of X first, then one noise draw per row, from
    ``np.random.RandomState(seed)``. ``noise > 0`` adds Playground's regression noise after
    them: the target is taken at the point moved by ``j ~ U(-1/2, 1/2)² · noise`` (half the
    unit square's side, as Playground's plane moves by half of its 12), so
    ``y += j0 + j1``; the points stay. ``noise = 0`` draws nothing more: the lecture's data.
    """
    rdm = np.random.RandomState(seed)
    x = rdm.rand(n_samples, 2)
    y = np.asarray([[x1 + x2 + (rdm.rand() / 10.0 - 0.05)] for (x1, x2) in x])
    if noise > 0:
        y = y + (rdm.uniform(-0.5, 0.5, (n_samples, 2)) * noise).sum(1, keepdims=True)
    return x.astype(np.float32), y.astype(np.float32).reshape(-1, 1)


CIRCLE_SPREAD = 2 * math.sqrt(2)  # twice the class boundary's radius, as Playground's 5 to 2.5


def circle(n_samples: int = 300, noise: float = 0.0, seed: int = 2):
    """The lecture's points: ``X = randn(n, 2)``, label 1 where ``x0² + x1² < 2`` else 0.

    ``noise > 0`` then moves each point by ``U(-1, 1)² · noise · 2√2`` (Playground moves its
    circle's points by up to noise × its radius 5, twice the boundary 2.5), drawn after the
    lecture's points; the labels stay those of the points where they were drawn, so points
    near the boundary land on the wrong side. ``noise = 0`` is the lecture's data exactly.
    """
    rdm = np.random.RandomState(seed)
    x = rdm.randn(n_samples, 2)
    y = [int(x0 * x0 + x1 * x1 < 2) for (x0, x1) in x]
    if noise > 0:
        x = x + rdm.uniform(-1.0, 1.0, (n_samples, 2)) * noise * CIRCLE_SPREAD
    return x.astype(np.float32), np.asarray(y, dtype=np.float32).reshape(-1, 1)


def _labels(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).reshape(-1, 1)


def rings(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Playground's circle: class 1 within radius 2.5, class 0 on a ring 3.5..5; noise moves the label test."""
    rng = np.random.RandomState(seed)
    radius, half = 5.0, n_samples // 2
    xs, ys = [], []
    for inner, count in ((True, half), (False, n_samples - half)):
        lo, hi = (0.0, radius * 0.5) if inner else (radius * 0.7, radius)
        r = rng.uniform(lo, hi, count)
        angle = rng.uniform(0, 2 * math.pi, count)
        px, py = r * np.sin(angle), r * np.cos(angle)
        nx, ny = rng.uniform(-radius, radius, (2, count)) * noise
        xs.append(np.stack([px, py], 1))
        ys.append(np.hypot(px + nx, py + ny) < radius * 0.5)
    return np.concatenate(xs).astype(np.float32), _labels(np.concatenate(ys))


def xor(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Playground's XOR: uniform in [-5, 5]², pushed 0.3 off the axes; class 1 where x·y >= 0."""
    rng = np.random.RandomState(seed)
    p = rng.uniform(-5, 5, (n_samples, 2))
    p += np.where(p > 0, 0.3, -0.3)
    jitter = rng.uniform(-5, 5, (n_samples, 2)) * noise
    moved = p + jitter
    return p.astype(np.float32), _labels(moved[:, 0] * moved[:, 1] >= 0)


def gauss(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Playground's two Gaussians at (2, 2) (class 1) and (-2, -2) (class 0); noise widens them."""
    rng = np.random.RandomState(seed)
    variance = 0.5 + 3.5 * (noise / 0.5) if noise <= 0.5 else 4.0
    half = n_samples // 2
    pos = rng.normal(2.0, math.sqrt(variance), (half, 2))
    neg = rng.normal(-2.0, math.sqrt(variance), (n_samples - half, 2))
    labels = np.concatenate([np.ones(half), np.zeros(n_samples - half)])
    return np.concatenate([pos, neg]).astype(np.float32), _labels(labels)


def spiral(n_samples: int = 500, noise: float = 0.0, seed: int = 0, n_arms: int = 2):
    """Playground's spiral: arms ``r = 5i/n``, ``t = 3.5π i/n + 2πk/arms``, jittered by ±noise."""
    rng = np.random.RandomState(seed)
    per_arm = n_samples // n_arms
    xs, ys = [], []
    for arm in range(n_arms):
        count = per_arm if arm < n_arms - 1 else n_samples - per_arm * (n_arms - 1)
        i = np.arange(count)
        r = i / count * 5.0
        t = 1.75 * i / count * 2 * math.pi + 2 * math.pi * arm / n_arms
        jitter = rng.uniform(-1, 1, (count, 2)) * noise
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1) + jitter)
        label = (
            (1 - arm) if n_arms == 2 else arm
        )  # two arms: the first is class 1, as in Playground
        ys.append(np.full(count, label))
    return np.concatenate(xs).astype(np.float32), _labels(np.concatenate(ys))


def spiral3(n_samples: int = 600, noise: float = 0.0, seed: int = 0):
    """Three interleaved spiral arms, classes 0, 1, 2."""
    return spiral(n_samples, noise, seed, n_arms=3)


def plane(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Playground's regression plane: uniform in [-6, 6]², target (x + y)/12 in [-1, 1] at noisy points."""
    rng = np.random.RandomState(seed)
    p = rng.uniform(-6, 6, (n_samples, 2))
    jitter = rng.uniform(-6, 6, (n_samples, 2)) * noise
    target = (p + jitter).sum(1) / 12.0
    return p.astype(np.float32), target.astype(np.float32).reshape(-1, 1)


def digits_rows(table: np.ndarray, n_samples: int, seed: int):
    """The bundled handwritten digits (a table of 64 pixels 0..16 and the digit per row) as
    ``(x, y)``: 8×8 images as 64 features in [0, 1], classes 0..9.

    Each pixel's ink level is divided by 16, as MNIST's pixels are scaled to [0, 1] in the
    course. The rows come in an order drawn from ``seed``, so ``n_samples`` below the table's
    size is a random subset.
    """
    if n_samples > len(table):
        raise DataError(
            f"data.n_samples = {n_samples}: digits has {len(table)} images; choose at most that"
        )
    order = np.random.default_rng([seed, 11]).permutation(len(table))[:n_samples]
    return (table[order, :64] / 16.0).astype(np.float32), _labels(table[order, 64])


def no_data(n_samples: int = 1, noise: float = 0.0, seed: int = 0):
    """No data: the 1-D demos' loss depends on the parameter alone. One dummy row keeps shapes fixed."""
    return np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float32)


DATASETS: dict[str, DatasetSpec] = {
    "yogurt": DatasetSpec(yogurt, "regression", 32, "lecture 4.1: yogurt sales y = x1 + x2 ± 0.05"),
    "circle": DatasetSpec(
        circle, "binary", 300, "lecture 4.4: 300 normal points, red inside x0²+x1²<2", 2
    ),
    "rings": DatasetSpec(rings, "binary", 500, "Playground: a disc inside a ring", 2),
    "xor": DatasetSpec(xor, "binary", 500, "Playground: exclusive or of the quadrants", 2),
    "gauss": DatasetSpec(gauss, "binary", 500, "Playground: two Gaussian clusters", 2),
    "spiral": DatasetSpec(spiral, "binary", 500, "Playground: two interleaved spirals", 2),
    "spiral3": DatasetSpec(spiral3, "multiclass", 600, "three interleaved spirals, 3 classes", 3),
    "plane": DatasetSpec(plane, "regression", 500, "Playground: regression on a tilted plane"),
    "digits": DatasetSpec(
        None,
        "multiclass",
        1797,
        "scikit-learn's 8x8 handwritten digits: 64 pixels, 10 classes",
        n_classes=10,
        n_features=64,
        bundled="digits",
    ),
    "none": DatasetSpec(
        no_data, "none", 1, "no data: the loss is a function of the parameter alone", n_features=1
    ),
}


@dataclass(frozen=True)
class Columns:
    """What a dataset's columns mean, so that new rows can be read the same way.

    ``features`` name the input columns (built-in datasets: ``x0, x1, ...``), ``label`` the
    target column, ``classes`` the original label of each class index (a data file's
    labels may be any numbers or words), and ``mean``/``std`` the standardization
    ``x' = (x - mean) / std`` fitted on the training rows (empty: inputs used as they are).
    ``inputs`` name the feature inputs computed from the two columns before the
    standardization (:mod:`nnopt.core.features`; empty: the columns themselves).
    """

    features: tuple[str, ...]
    label: str = "y"
    classes: tuple[str, ...] = ()
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays of one experiment, with what kind of target they hold."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    n_classes: int = 0
    columns: Columns | None = None  # None: x0, x1, ... -> y, classes 0..n-1, not standardized

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def columns_of(dataset: Dataset) -> Columns:
    """The dataset's :class:`Columns`, with the defaults of a generated dataset filled in."""
    if dataset.columns is not None:
        return dataset.columns
    classes = tuple(str(c) for c in range(dataset.n_classes))
    return Columns(tuple(f"x{j}" for j in range(dataset.n_features)), "y", classes)


def fit_standardization(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature ``mean = Σ x / n`` and ``std = sqrt(Σ (x - mean)² / n)`` of the rows ``x``.

    A constant feature (std 0, e.g. a digit's always-blank corner pixel) gets std 1, so it
    becomes 0 instead of NaN.
    """
    x64 = np.asarray(x, np.float64)
    mean, std = x64.mean(0), x64.std(0)
    std = np.where(std > 0, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def standardize(x: np.ndarray, mean, std) -> np.ndarray:
    """``(x - mean) / std`` per feature, in float32 (training and prediction compute it alike)."""
    return (
        (np.asarray(x, np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    ).astype(np.float32)


def standardized(dataset: Dataset) -> Dataset:
    """The dataset with its inputs standardized by the mean and std of its training rows only
    (the test rows must not leak into what the model sees), recorded in its columns."""
    mean, std = fit_standardization(dataset.x_train)
    columns = dataclasses.replace(
        columns_of(dataset),
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
    )
    return dataclasses.replace(
        dataset,
        x_train=standardize(dataset.x_train, mean, std),
        x_test=standardize(dataset.x_test, mean, std),
        columns=columns,
    )


def split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    """Holds out ``round(n * test_fraction)`` rows, chosen by a permutation seeded with ``seed``.

    With ``test_fraction == 0`` the rows stay in their original order (the lecture trains on all).
    """
    if test_fraction <= 0:
        return x, y, x[:0], y[:0]
    n_test = int(round(len(x) * test_fraction))
    order = np.random.default_rng([seed, 7]).permutation(len(x))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def dataset_of(name: str, x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> Dataset:
    """The rows of the named dataset, split into train and test (``nnopt.engine.setup.make_dataset``
    generates or reads them)."""
    spec = DATASETS[name]
    x_tr, y_tr, x_te, y_te = split(x, y, test_fraction, seed)
    if len(x_tr) == 0:
        raise DataError(
            f"data: no training rows left (n_samples={len(x)}, test_fraction={test_fraction})"
        )
    return Dataset(x_tr, y_tr, x_te, y_te, spec.task, spec.n_classes)


def targets_for(y: np.ndarray, task: str, n_outputs: int) -> np.ndarray:
    """The target array a loss compares with: one-hot rows for a many-output classifier, else ``y``."""
    if task in ("binary", "multiclass") and n_outputs >= 2:
        return np.eye(n_outputs, dtype=np.float32)[y[:, 0].astype(np.int64)]
    return y.astype(np.float32)
