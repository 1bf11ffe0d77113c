"""TensorBoard event files of a run (``nnopt run --tensorboard``), for ``tensorboard --logdir runs``.

An optional output: it needs the ``tensorboardX`` package (``pip install 'nnopt[tensorboard]'``),
which writes the standard event files with nothing heavier than protobuf. The events go
straight into the run folder, so TensorBoard names each run after its folder. At each
log point every metric of the history row becomes a scalar, grouped by what it measures:
``loss/train``, ``loss/test_ema``, ``accuracy/test``, ``learning_rate`` ...
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from nnopt.errors import NnoptError, RunDirError

INSTALL_HINT = "pip install 'nnopt[tensorboard]' (or pip install tensorboardX)"

# history metric -> TensorBoard group
METRIC_GROUPS = {
    "loss": "loss",
    "total": "total_loss",
    "reg": "regularization",
    "accuracy": "accuracy",
}


def tensorboard_available() -> bool:
    """Whether the writer package (tensorboardX) can be imported."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        return False
    return True


def require_tensorboard() -> None:
    """Raises a one-line NnoptError when the writer package is not installed."""
    if not tensorboard_available():
        raise NnoptError(f"TensorBoard event files need the tensorboardX package: {INSTALL_HINT}")


def scalar_tags(row: dict[str, float]) -> dict[str, float]:
    """TensorBoard tag -> value of one history row.

    ``train_loss`` -> ``loss/train``, ``ema_test_accuracy`` -> ``accuracy/test_ema``,
    ``train_total`` -> ``total_loss/train``, ``train_reg`` -> ``regularization/train``,
    ``batch_loss`` -> ``loss/batch``, ``lr`` -> ``learning_rate``. Parameter values
    (``w1[0,1]``) are left out, and so is the test split's penalty, which is the train one's.

    Example:
      >>> scalar_tags({"step": 5.0, "lr": 0.1, "ema_test_accuracy": 0.9, "w": 1.0})
      {'learning_rate': 0.1, 'accuracy/test_ema': 0.9}
    """
    tags = {}
    for key, value in row.items():
        if key == "lr":
            tags["learning_rate"] = value
        elif key in ("batch_loss", "batch_reg"):
            tags[f"{METRIC_GROUPS[key[len('batch_') :]]}/batch"] = value
        else:
            ema = key.startswith("ema_")
            split, _, metric = key.removeprefix("ema_").partition("_")
            if split in ("train", "test") and metric in METRIC_GROUPS:
                if metric == "reg" and split == "test":
                    continue
                tags[f"{METRIC_GROUPS[metric]}/{split}{'_ema' if ema else ''}"] = value
    return tags


class EventLog:
    """Writes a run's new history rows as TensorBoard scalars, flushed at every log point."""

    def __init__(self, run_dir: Path, rows_written: int = 0):
        require_tensorboard()
        from tensorboardX import SummaryWriter

        # The file name holds the time in whole seconds: a resume within the same second
        # would reopen (and empty) the run's first file without a suffix of its own.
        suffix = f".{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            self._writer = SummaryWriter(logdir=str(run_dir), flush_secs=10, filename_suffix=suffix)
        except OSError as exc:
            raise RunDirError(f"cannot write TensorBoard events in {run_dir}: {exc}") from None
        self._written = rows_written  # rows already in an earlier event file (resume)

    def write_new(self, rows: list[dict[str, float]]) -> None:
        """Writes the rows after the last one written, then flushes."""
        for row in rows[self._written :]:
            step = int(row["step"])
            for tag, value in scalar_tags(row).items():
                self._writer.add_scalar(tag, float(value), global_step=step)
        self._written = len(rows)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
