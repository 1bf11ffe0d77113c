"""What a sweep keeps of each configuration, and the results table over all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class PointResult:
    """What a sweep keeps of one configuration."""

    index: int
    settings: dict[str, Any]
    rows: list[dict]
    diverged_at: int | None
    params: dict[str, np.ndarray]
    ema_params: dict[str, np.ndarray] | None


def steps_to_reach(rows: list[dict], threshold: float, metric: str = "train_loss") -> float | None:
    """The first logged step whose full-data ``metric`` is below ``threshold`` (None: never)."""
    for row in rows:
        if row.get(metric, float("inf")) < threshold:
            return row["step"]
    return None


FINAL_METRICS = (
    "train_loss", "train_total", "train_accuracy", "test_loss", "test_accuracy",
    "ema_train_loss", "ema_train_accuracy", "ema_test_loss", "ema_test_accuracy",
)  # fmt: skip


def result_table(
    results: list[PointResult], threshold: float | None = None
) -> tuple[list[dict], float]:
    """One row per configuration: its settings, final metrics, first step under the threshold,
    and whether it diverged. The default threshold is the median final train loss of the
    configurations that did not diverge (so about half of them reach it)."""
    finals = [r.rows[-1].get("train_loss", np.nan) for r in results if r.diverged_at is None]
    finite = [v for v in finals if np.isfinite(v)]
    if threshold is None:
        threshold = float(np.median(finite)) if finite else float("nan")
    table = []
    for r in sorted(results, key=lambda r: r.index):
        last = r.rows[-1]
        row: dict[str, Any] = {"config": r.index, **r.settings}
        row.update({m: last[m] for m in FINAL_METRICS if m in last})
        row["steps_to_threshold"] = steps_to_reach(r.rows, threshold)
        row["diverged"] = r.diverged_at is not None
        row["diverged_at"] = r.diverged_at
        table.append(row)
    return table, threshold
