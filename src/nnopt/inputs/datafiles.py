"""Your own data: a CSV or NPZ file read into a :class:`~nnopt.data.Dataset`.

A CSV file has a header row naming its columns and one row per example; an NPZ file
holds one array per column (a 2-D array ``x`` of shape ``[n, k]`` gives the columns
``x0 ... x{k-1}``). You choose the feature columns and the label column; the label's
kind decides the task (classes or a value). Every problem is a :class:`DataError`
of one line naming the file, the line (CSV) or row (NPZ), the column and what is
allowed, so a run that cannot start writes nothing.

This module only reads files; splitting and standardizing are pure functions of
:mod:`nnopt.core.data`.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnopt.config.documents import check_regular
from nnopt.core.data import Columns, Dataset, split
from nnopt.core.numbers import FLOAT32_MAX
from nnopt.errors import DataError

MIN_ROWS = 2  # one to learn from and one more: anything less is not a dataset
MAX_NPZ_CELLS = 50_000_000  # values in all of an NPZ file's arrays (400 MB as float64)
NPZ_KINDS = "biufU"  # bool, integers, floats, text
MAX_AUTO_CLASSES = 20  # task "auto": whole-number labels with more distinct values are values


@dataclass(frozen=True)
class Table:
    """The columns of a data file, in file order, and where each row sits in the file."""

    source: str  # the file, as error messages name it
    names: tuple[str, ...]
    cells: dict[str, np.ndarray]  # column -> its cells: strings (CSV) or the stored array (NPZ)
    row_numbers: np.ndarray  # CSV: the line of each row in the file; NPZ: 1, 2, ...
    row_word: str  # "line" (CSV) or "row" (NPZ)

    def where(self, index: int, column: str) -> str:
        """``points.csv, line 7, column 'x1'``: the place of one cell, for an error message."""
        return f"{self.source}, {self.row_word} {int(self.row_numbers[index])}, column {column!r}"

    def __len__(self) -> int:
        return len(self.row_numbers)


def display_name(path: Path | str) -> str:
    """The path relative to the current folder when it lies inside it, else as given."""
    text = str(path)
    try:
        rel = os.path.relpath(text)
    except ValueError:  # another drive (Windows)
        return text
    return rel if not rel.startswith("..") else text


def file_digest(path: Path | str) -> str:
    """SHA-256 of a file's bytes: a run records it, so a changed data file can be noticed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- reading tables


def read_table(path: Path | str) -> Table:
    """The columns of a ``.csv`` or ``.npz`` file.

    Raises:
      DataError: the file is missing or unreadable, has no header, a header cell without a
        name, a name twice, or a row with a different number of cells than the header.
    """
    path = Path(path)
    source = display_name(path)
    try:
        check_regular(path, f"data file {source}", DataError)
        if path.suffix.lower() == ".npz":
            return _read_npz(path, source)
        return _read_csv(path, source)
    except FileNotFoundError:
        raise DataError(f"data file {source} does not exist") from None
    except IsADirectoryError:
        raise DataError(f"data file {source} is a folder, not a file") from None
    except PermissionError:
        raise DataError(f"data file {source} cannot be read: permission denied") from None
    except UnicodeDecodeError:
        raise DataError(f"data file {source} is not UTF-8 text; save it as UTF-8 CSV") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        kind = "NPZ" if path.suffix.lower() == ".npz" else "CSV"
        raise DataError(
            f"data file {source} is not a readable {kind} file ({exc.__class__.__name__})"
        ) from None


def _read_csv(path: Path, source: str) -> Table:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header, rows, lines = None, [], []
        for row in _csv_rows(reader, source):
            if not any(cell.strip() for cell in row):
                continue  # blank lines carry nothing
            if header is None:
                header = [cell.strip() for cell in row]
                _check_header(header, source)
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{source}, line {reader.line_num}: {len(row)} cells, but the header names "
                    f"{len(header)} columns; every row needs one cell per column"
                )
            rows.append([cell.strip() for cell in row])
            lines.append(reader.line_num)
    if header is None:
        raise DataError(f"data file {source} is empty; it needs a header row of column names")
    table = np.array(rows, dtype=str).reshape(len(rows), len(header))
    cells = {name: table[:, j] for j, name in enumerate(header)}
    return Table(source, tuple(header), cells, np.asarray(lines, np.int64), "line")


def _csv_rows(reader, source: str):
    """The reader's rows; a malformed line (a NUL byte, a stray quote) is a DataError naming it."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"{source}, line {reader.line_num + 1}: not valid CSV ({exc})"
            ) from None


def _check_header(header: list[str], source: str) -> None:
    if all(_is_number(cell) for cell in header):
        raise DataError(
            f"{source}, line 1: the first row holds numbers ({', '.join(header[:3])} ...); "
            "it must name the columns, e.g. x0,x1,label"
        )
    for j, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{source}, line 1: column {j} has no name; name every column")
        if not name.isprintable():
            raise DataError(
                f"{source}, line 1: the name of column {j}, {name!r}, holds a line break or "
                "another control character"
            )
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{source}, line 1: the column name {name!r} appears twice")
        seen.add(name)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _npz_header(member, name: str, label: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a ``.npy`` member's header, read without its data."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(member)
        else:
            raise ValueError(f"version {version}")
    except ValueError:
        raise DataError(f"{label}: {name} is not a .npy array numpy can read") from None
    return shape, dtype


def _check_npz_dtype(dtype: np.dtype, name: str, source: str, rule: str) -> None:
    """Numbers (bool, integers, floats) or text; what would be taken wrongly as numbers
    (dates, complex numbers) or cannot be a column at all is refused by name."""
    if dtype.names is not None or dtype.kind == "V":
        what = "a structured array (fields " + ", ".join(dtype.names or ()) + ")"
    elif dtype.kind == "O":
        raise DataError(
            f"data file {source} holds Python objects; save plain number or text arrays "
            "(np.savez without object arrays)"
        )
    elif dtype.kind in "Mm":
        what = "dates or times"
    elif dtype.kind == "c":
        what = "complex numbers"
    elif dtype.kind == "S":
        what = "byte strings (save text as str arrays)"
    elif dtype.kind in NPZ_KINDS:
        return
    else:
        what = f"values of type {dtype}"
    raise DataError(f"{source}: array {name!r} holds {what}; {rule}")


def check_npz_headers(
    path: Path, source: str, label: str = "", rule: str = "columns are arrays of numbers or text"
) -> None:
    """Every member is a ``.npy`` array of a column type, and all of them hold at most
    :data:`MAX_NPZ_CELLS` values, read from the headers before any data is (a small file
    can inflate to gigabytes). ``label`` names the file in errors (default ``data file
    SOURCE``), ``rule`` says what its arrays may hold."""
    label = label or f"data file {source}"
    cells = 0
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name = info.filename[: -len(".npy")] if info.filename.endswith(".npy") else ""
            if not name:
                raise DataError(f"{label} holds {info.filename!r}, which is not a .npy array")
            with z.open(info) as member:
                shape, dtype = _npz_header(member, name, label)
            _check_npz_dtype(dtype, name, source, rule)
            cells += math.prod(shape)
            if cells > MAX_NPZ_CELLS:
                raise DataError(
                    f"{label} is too large: its arrays hold over {MAX_NPZ_CELLS} "
                    f"values (array {name!r} has shape {list(shape)})"
                )


def _read_npz(path: Path, source: str) -> Table:
    if not zipfile.is_zipfile(path):  # np.load would try to unpickle it
        raise DataError(f"data file {source} is not a readable NPZ file (not a zip archive)")
    check_npz_headers(path, source)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: np.asarray(f[k]) for k in f.files}
    except ValueError:
        raise DataError(
            f"data file {source} holds Python objects; save plain number or text arrays "
            "(np.savez without object arrays)"
        ) from None
    cells: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        if a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1):
            cells[name] = a.reshape(-1)
        elif a.ndim == 2:
            cells.update({f"{name}{j}": a[:, j] for j in range(a.shape[1])})
        else:
            raise DataError(
                f"{source}: array {name!r} has shape {list(a.shape)}; columns are 1-D arrays "
                "or 2-D arrays [rows, columns]"
            )
    if not cells:
        raise DataError(f"data file {source} holds no arrays")
    lengths = {name: len(c) for name, c in cells.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}: {v}" for k, v in list(lengths.items())[:6])
        raise DataError(f"{source}: the arrays have different numbers of rows ({shown})")
    n = next(iter(lengths.values()))
    return Table(source, tuple(cells), cells, np.arange(1, n + 1, dtype=np.int64), "row")


# ---------------------------------------------------------------- cells to numbers


def numbers_of(table: Table, column: str, role: str) -> np.ndarray:
    """A column as float64, or a DataError at its first cell that is empty, not a number,
    NaN or infinite. ``role`` says what the column is for ("feature", "label")."""
    cells = table.cells[column]
    if cells.dtype.kind in "biuf":
        values = cells.astype(np.float64)
    else:
        try:
            values = np.asarray(cells, dtype=np.float64)
        except ValueError:
            i = next(i for i, c in enumerate(cells) if not _is_number(str(c)))
            text = str(cells[i])
            shown = "an empty cell" if not text else f"{text!r} is not a number"
            raise DataError(
                f"{table.where(i, column)}: {shown}; {role} cells must be numbers"
            ) from None
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{table.where(i, column)}: {values[i]} is not a finite number; "
            f"remove or fill that row ({role} cells must be finite numbers)"
        )
    # The model reads float32: a cell past its range would become inf (and predict nan).
    big = np.abs(values) > FLOAT32_MAX
    if big.any():
        i = int(np.argmax(big))
        raise DataError(
            f"{table.where(i, column)}: {values[i]:g} is too large; {role} cells must be "
            f"from -{FLOAT32_MAX:.3g} to {FLOAT32_MAX:.3g} (float32)"
        )
    return values


def _has_numbers(table: Table, column: str) -> bool:
    cells = table.cells[column]
    return cells.dtype.kind in "biuf" or all(_is_number(str(c)) for c in cells)


def class_name(value) -> str:
    """How a class label is shown: 3 for 3.0 (or the text "3.0"), 0.5 for 0.5, a word as it is."""
    if isinstance(value, (str, np.str_)):
        text = str(value).strip()
        if not _is_number(text):
            return text
        value = float(text)
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def label_targets(table: Table, label: str, task: str) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """(targets [n, 1] float32, task, class names) of the label column.

    ``task`` is "classification", "regression" or "auto": classes when the labels are words,
    or whole numbers with at most :data:`MAX_AUTO_CLASSES` distinct values; else a value.
    Classes are numbered in sorted order of their labels (numbers numerically); the
    targets hold the class index, and the task is "binary" for 2 classes.
    """
    numeric = _has_numbers(table, label)
    if task == "regression" or (task == "auto" and numeric):
        values = numbers_of(table, label, "regression label")
        whole_few = (
            np.all(values == np.round(values)) and len(np.unique(values)) <= MAX_AUTO_CLASSES
        )
        if task == "regression" or not whole_few:
            return values.astype(np.float32).reshape(-1, 1), "regression", ()
    if numeric:
        values = numbers_of(table, label, "label")
        classes, index = np.unique(values, return_inverse=True)
        names = tuple(class_name(float(c)) for c in classes)
    else:
        cells = np.asarray(table.cells[label]).astype(str)
        empty = np.flatnonzero(cells == "")
        if len(empty):
            raise DataError(
                f"{table.where(int(empty[0]), label)}: an empty cell; every row needs a label"
            )
        classes, index = np.unique(cells, return_inverse=True)
        names = tuple(str(c) for c in classes)
    if len(names) < 2:
        raise DataError(
            f"{table.source}: the label column {label!r} has one class ({_shown(names[0])}) in all "
            f"{len(table)} rows; classification needs at least 2 classes"
        )
    kind = "binary" if len(names) == 2 else "multiclass"
    return index.astype(np.float32).reshape(-1, 1), kind, names


# ---------------------------------------------------------------- a dataset from a file


def choose_columns(
    table: Table, features: tuple[str, ...], label: str
) -> tuple[tuple[str, ...], str]:
    """(feature columns, label column): the label defaults to the last column, the features
    to every other column; names that the file lacks are a DataError listing its columns."""
    names = table.names
    if len(names) < 2:
        raise DataError(
            f"{table.source} has one column ({_shown(names[0])}); it needs feature columns "
            "and a label column"
        )
    label = label or names[-1]
    for name, field in [(label, "data.label")] + [(f, "data.features") for f in features]:
        if name not in table.cells:
            raise DataError(
                f"{table.source} has no column {name!r} ({field}); its columns are " + _list(names)
            )
    chosen = tuple(features) or tuple(n for n in names if n != label)
    if label in chosen:
        raise DataError(f"{table.source}: data.features includes the label column {label!r}")
    return chosen, label


def _shown(text: str) -> str:
    """A name or label as it is, or quoted with escapes when it holds a line break."""
    return text if text.isprintable() else repr(text)


def _list(names, limit: int = 12) -> str:
    shown = ", ".join(_shown(n) for n in names[:limit])
    return shown + (f" ... ({len(names)} in all)" if len(names) > limit else "")


def load_dataset(
    path: Path | str,
    features: tuple[str, ...] = (),
    label: str = "",
    task: str = "auto",
    test_fraction: float = 0.0,
    seed: int = 0,
) -> Dataset:
    """The file's rows as a Dataset: chosen columns, task, and a train/test split by ``seed``.

    Example:
      >>> import tempfile, pathlib
      >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
      >>> _ = f.write_text("a,b,kind\\n0,1,cat\\n1,0,dog\\n1,1,cat\\n")
      >>> d = load_dataset(f)
      >>> d.task, d.columns.features, d.columns.classes, d.y_train[:, 0].tolist()
      ('binary', ('a', 'b'), ('cat', 'dog'), [0.0, 1.0, 0.0])

    Raises:
      DataError: unreadable file, a missing column, a cell that is not a finite number,
        a single class, or too few rows for the split.
    """
    table = read_table(path)
    feature_names, label = choose_columns(table, tuple(features), label)
    if len(table) < MIN_ROWS:
        raise DataError(
            f"{table.source} has {len(table)} data row(s); at least {MIN_ROWS} are needed"
        )
    x = np.stack([numbers_of(table, name, "feature") for name in feature_names], axis=1)
    y, kind, classes = label_targets(table, label, task)
    x_tr, y_tr, x_te, y_te = split(x.astype(np.float32), y, test_fraction, seed)
    if len(x_tr) == 0 or (test_fraction > 0 and len(x_te) == 0):
        raise DataError(
            f"{table.source} has {len(table)} rows: data.test_fraction = {test_fraction} leaves "
            f"{len(x_tr)} to train on and {len(x_te)} to test; use more rows or another fraction"
        )
    columns = Columns(feature_names, label, classes)
    return Dataset(x_tr, y_tr, x_te, y_te, kind, len(classes), columns)


def read_feature_rows(path: Path | str, features: tuple[str, ...]) -> tuple[np.ndarray, Table]:
    """New rows to predict: the named feature columns of a CSV or NPZ file, as float32 [n, f].

    Other columns are ignored (a label column may be there). Raises a DataError like
    :func:`load_dataset` for a missing column or a cell that is not a finite number.
    """
    table = read_table(path)
    missing = [name for name in features if name not in table.cells]
    if missing:
        raise DataError(
            f"{table.source} has no column {missing[0]!r}, a feature the model was trained on; "
            f"it needs the columns {_list(list(features))}"
        )
    if len(table) == 0:
        raise DataError(f"{table.source} has no data rows to predict")
    x = np.stack([numbers_of(table, name, "feature") for name in features], axis=1)
    return x.astype(np.float32), table
