"""Uploaded points: a CSV of ``x0,x1,label`` rows from the page, checked row by row."""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from nnopt.web.protocol.messages import LIMITS, ProtocolError


def parse_points_csv(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """CSV rows ``x0,x1,label`` (an optional header line naming them) -> (x [n, 2], y [n, 1]).

    Labels are 0 or 1; coordinates finite numbers within ±1e6; 4 to ``LIMITS.points`` rows.

    Raises:
      ProtocolError: naming the first bad row and what a row must be.
    """
    if len(body) > LIMITS.upload_bytes:
        raise ProtocolError(
            f"upload: {len(body)} bytes is too large; at most {LIMITS.upload_bytes}"
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProtocolError(
            "upload: the file is not UTF-8 text; expected CSV rows x0,x1,label"
        ) from None
    try:
        rows = [
            (i, r)
            for i, r in enumerate(csv.reader(io.StringIO(text)), start=1)
            if any(c.strip() for c in r)
        ]
    except csv.Error as exc:  # e.g. a NUL byte
        raise ProtocolError(f"upload: not a CSV file ({exc}); expected rows x0,x1,label") from None
    if rows and not _is_number(rows[0][1][0]):
        header = [c.strip().lower() for c in rows[0][1]]
        if header != ["x0", "x1", "label"]:
            raise ProtocolError(
                f"upload: the header must be x0,x1,label, not {','.join(rows[0][1])!r}"
            )
        rows = rows[1:]
    if len(rows) > LIMITS.points:
        raise ProtocolError(f"upload: {len(rows)} rows of points; expected 4 to {LIMITS.points}")
    points = np.array([_point(line, row) for line, row in rows], dtype=np.float64)
    if len(rows) < 4:
        raise ProtocolError(f"upload: {len(rows)} rows of points; expected 4 to {LIMITS.points}")
    if len(set(points[:, 2])) < 2:
        raise ProtocolError(
            "upload: every point has the same label; both labels 0 and 1 are needed"
        )
    return points[:, :2].astype(np.float32), points[:, 2:].astype(np.float32)


def _point(line: int, row: list[str]) -> tuple[float, float, float]:
    if len(row) != 3:
        raise ProtocolError(f"upload: line {line} has {len(row)} fields; each row is x0,x1,label")
    values = []
    for name, cell in zip(("x0", "x1", "label"), row):
        if not _is_number(cell):
            raise ProtocolError(f"upload: line {line}: {name} = {cell.strip()!r} is not a number")
        values.append(float(cell))
    x0, x1, label = values
    if not (abs(x0) <= 1e6 and abs(x1) <= 1e6):
        raise ProtocolError(f"upload: line {line}: coordinates must be finite, within ±1e6")
    if label not in (0.0, 1.0):
        raise ProtocolError(f"upload: line {line}: label = {row[2].strip()} must be 0 or 1")
    return x0, x1, label


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
