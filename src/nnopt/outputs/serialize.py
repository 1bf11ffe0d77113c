"""Turning values into bytes on disk: one JSON form of arrays, one CSV writer, one safe write.

Every file nnopt writes goes through :func:`write_bytes`: a temporary file created next to
the target with a random name (``O_EXCL``: it never follows or reuses what is there), synced
and renamed over the target, so a crash leaves the old file or the new one, never half of
one. A disk that refuses is a one-line :class:`~nnopt.errors.RunDirError`. A process killed
between the two leaves its temporary file (``.NAME.XXXXXXXX.tmp``); the next run or resume in
that folder removes the old ones (:func:`stale_temporaries`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from nnopt.errors import RunDirError

STALE_TMP_SECONDS = 60.0  # a temporary file this old is left by a killed process
_TEMPORARY = re.compile(r"\.(.+)\.[A-Za-z0-9_]{8}\.tmp")  # mkstemp's 8 random characters


def jsonable(value: Any) -> Any:
    """Plain JSON values from NumPy arrays and scalars, tuples and nested dicts; a non-finite
    float (NaN, infinity: JSON has neither) becomes None.

    Example:
      >>> jsonable({"w": np.float32([[0.5], [2]]), "loss": float("nan"), "k": (1, np.int64(2))})
      {'w': [[0.5], [2.0]], 'loss': None, 'k': [1, 2]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value: Any, indent: int | None = 1) -> str:
    """:func:`jsonable` of the value as JSON text (Chinese and other text kept as is)."""
    return json.dumps(jsonable(value), indent=indent, ensure_ascii=False) + "\n"


def csv_text(rows: Iterable[dict], columns: list[str] | None = None, cell=None) -> str:
    """Rows of dicts as CSV text: a header of ``columns`` (default: every key, in order of
    first appearance), one line per row, an empty cell where a row lacks a column; ``cell``
    turns each value into its text (default: as it is)."""
    rows = list(rows)
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (v if cell is None else cell(k, v)) for k, v in row.items()})
    return out.getvalue()


def write_bytes(path: Path, payload: bytes) -> None:
    """Writes ``payload`` to ``path`` atomically (see the module's notes).

    Raises:
      RunDirError: the folder cannot be written (permission, a full disk ...).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise RunDirError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise RunDirError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    _sync_folder(path.parent)


def temporary_of(name: str) -> str | None:
    """The file a temporary file's name is for (``.config.toml.k3j_x9q1.tmp`` -> ``config.toml``),
    or None if the name is not one :func:`write_bytes` makes."""
    match = _TEMPORARY.fullmatch(name)
    return match.group(1) if match else None


def stale_temporaries(
    folder: Path, own: Callable[[str], object], age: float = STALE_TMP_SECONDS
) -> list[Path]:
    """The temporary files in ``folder`` of the files ``own(name)`` says are its writer's,
    older than ``age`` seconds: what a killed process left (a live writer renames its file
    within moments). Another program's files of the same pattern are not touched."""
    now, found = time.time(), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        target = temporary_of(entry.name)
        if target is None or not own(target):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime >= age:
                found.append(Path(entry.path))
        except OSError:
            continue
    return found


def remove_files(paths: Iterable[Path]) -> None:
    """Removes the files (best effort: one that cannot go stays)."""
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            pass


def _sync_folder(folder: Path) -> None:
    """Makes a rename in ``folder`` durable (where the system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: Path, text: str) -> None:
    """Writes a text file (UTF-8) with :func:`write_bytes`."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, value: Any, indent: int | None = 1) -> None:
    """Writes :func:`json_text` of ``value``."""
    write_text(path, json_text(value, indent))


def figure_png(fig, dpi: int = 100) -> bytes:
    """A matplotlib figure as PNG bytes (log axes with plain labels, see ``plots``)."""
    from nnopt.outputs.plots import plain_log_ticks

    plain_log_ticks(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def write_figure(path: Path, fig, dpi: int = 100) -> None:
    """Draws a figure to a PNG file with :func:`write_bytes`."""
    write_bytes(path, figure_png(fig, dpi))
