"""The input plane the page draws: a grid over the data's square, and how its outputs and
each neuron's become bytes (the heatmap and the thumbnails)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnopt.config import Config
from nnopt.core.data import DATASETS, Dataset
from nnopt.engine.setup import make_dataset
from nnopt.web.protocol import DATA_DEFAULTS, playground_datasets

GRID = 64  # the heatmap is GRID x GRID cells over the data's square
THUMB_STRIDE = 2  # neuron thumbnails take every 2nd cell: 32 x 32


@dataclass(frozen=True)
class Plane:
    """The square of the input plane the page draws: its grid points and how to colour them."""

    extent: tuple[float, float, float, float]  # x0 min, x0 max, x1 min, x1 max
    points: np.ndarray  # [GRID*GRID, 2], row by row from the top (largest x1)
    task: str
    n_classes: int
    target_range: tuple[float, float]  # regression targets' min and max

    def output_bytes(self, y: np.ndarray, config: Config) -> bytes:
        """The model's output on the grid as bytes, one per cell.

        Binary and regression: 0..255 along the class-1 probability or the target range.
        Multiclass: class * 64 + confidence * 63 (the page decodes ``b >> 6`` and ``b & 63``).
        """
        if self.task == "multiclass":
            if config.loss.name == "softmax_cross_entropy":  # the outputs are logits
                z = np.exp(y - y.max(axis=1, keepdims=True))
                y = z / z.sum(axis=1, keepdims=True)
            cls = np.argmax(y, axis=1)
            confidence = np.clip(np.max(y, axis=1), 0.0, 1.0)
            return _bytes(cls * 64 + np.round(confidence * 63))
        lo, hi = self.target_range if self.task == "regression" else (0.0, 1.0)
        return _bytes(np.round(np.clip((y[:, 0] - lo) / (hi - lo), 0.0, 1.0) * 255))

    def neuron_bytes(self, layer: np.ndarray) -> list[bytes]:
        """Each neuron's output on a coarser grid, scaled into -1..1 (by its largest magnitude
        when that exceeds 1) as bytes 0..255."""
        side = GRID // THUMB_STRIDE
        coarse = layer.reshape(GRID, GRID, -1)[::THUMB_STRIDE, ::THUMB_STRIDE].reshape(
            side * side, -1
        )
        scale = np.maximum(1.0, np.max(np.abs(coarse), axis=0))
        scaled = np.nan_to_num(coarse / scale, nan=0.0)
        return [_bytes(np.round((scaled[:, j] + 1.0) * 127.5)) for j in range(coarse.shape[1])]


def plane_for(dataset: Dataset) -> Plane:
    """A square around every point (train and test) with a margin, and its grid."""
    x = np.concatenate([dataset.x_train, dataset.x_test])
    lo, hi = x.min(axis=0), x.max(axis=0)
    center = (lo + hi) / 2
    half = max(float(np.max(hi - lo)) / 2 * 1.1, 1e-3)
    x0 = np.linspace(center[0] - half, center[0] + half, GRID)
    x1 = np.linspace(center[1] + half, center[1] - half, GRID)  # top row first
    grid = np.stack(np.meshgrid(x0, x1), axis=-1).reshape(-1, 2).astype(np.float32)
    y = np.concatenate([dataset.y_train, dataset.y_test])[:, 0]
    extent = (x0[0], x0[-1], x1[-1], x1[0])
    return Plane(
        extent=tuple(float(v) for v in extent),
        points=grid,
        task=dataset.task,
        n_classes=dataset.n_classes,
        target_range=(float(y.min()), float(max(y.max(), y.min() + 1e-6))),
    )


@functools.cache
def dataset_previews(points: int = 300) -> dict[str, dict[str, Any]]:
    """A few points of every playground dataset, for the page's dataset tiles."""
    out = {}
    for name in playground_datasets():
        size = min(points, DATASETS[name].default_size)
        dataset = make_dataset(name, size, 0.0, DATA_DEFAULTS["seed"], 0.0)
        plane = plane_for(dataset)
        rows = np.concatenate([dataset.x_train, dataset.y_train], axis=1).astype(np.float64)
        out[name] = {
            "points": np.round(rows, 3).tolist(),
            "extent": list(plane.extent),
            "target_range": list(plane.target_range),
        }
    return out


def _bytes(values: np.ndarray) -> bytes:
    """Values 0..255 as raw bytes (sent as base64 in JSON, raw in a binary frame)."""
    return np.asarray(values, np.uint8).tobytes()
