"""Reading the documents nnopt takes (TOML and JSON text, files), refusing what would hang or
crash the reader instead of telling the user: nesting deeper than any nnopt file has (the
parsers recurse, so ``[[[[...]]]]`` thousands deep raised RecursionError), and paths that are
not regular files (opening a FIFO for reading blocks until someone writes to it).

Every problem is the caller's :class:`~nnopt.errors.NnoptError` subclass with one line naming
the document.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from nnopt.errors import ConfigError, NnoptError

MAX_DEPTH = 16  # arrays and tables inside one another; nnopt's own files need 4 at most


def nesting_depth(value: Any) -> int:
    """How many lists or dicts deep ``value`` is: 0 for a number, 1 for ``[1]``, 2 for ``[[1]]``.

    Iterative, so a value deeper than the recursion limit is measured too.
    """
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (list, tuple, dict)):
            depth += 1
            deepest = max(deepest, depth)
            todo.extend((v, depth) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def check_depth(value: Any, label: str, error: type[NnoptError] = ConfigError) -> Any:
    """``value`` unchanged, or ``error`` when it nests deeper than :data:`MAX_DEPTH`."""
    if nesting_depth(value) > MAX_DEPTH:
        raise error(too_deep(label))
    return value


def too_deep(label: str) -> str:
    """The one line for a document nested deeper than :data:`MAX_DEPTH`."""
    return f"{label} nests arrays or tables too deeply: at most {MAX_DEPTH} levels"


def loads_toml(text: str, label: str, error: type[NnoptError] = ConfigError) -> dict[str, Any]:
    """The TOML text as a dict, or ``error`` naming ``label``: not TOML, or nested too deeply."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{label} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level
        raise error(too_deep(label)) from None
    return check_depth(raw, label, error)


def loads_json(text: str, label: str, error: type[NnoptError] = ConfigError) -> Any:
    """The JSON text as a value, or ``error`` naming ``label``: not JSON, or nested too deeply.

    JSON's own limits (an integer of over 4300 digits) count as not JSON.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{label} is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise error(too_deep(label)) from None
    except ValueError:
        raise error(f"{label} is not JSON nnopt can read (a number too long)") from None
    return check_depth(raw, label, error)


def check_regular(path: Path, label: str, error: type[NnoptError] = ConfigError) -> None:
    """Nothing when ``path`` is a regular file (or a link to one), else ``error``.

    Missing files are left to the caller's own message (FileNotFoundError goes on).
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO or device)"
        raise error(f"{label} is {kind}; give a regular file")


def read_regular_bytes(path: Path, label: str, error: type[NnoptError] = ConfigError) -> bytes:
    """A regular file's bytes; ``error`` for a FIFO, device or folder (never blocks on one).

    The file is opened without blocking and checked on its open descriptor, so a FIFO put in
    its place between a check and the open cannot hang the reader either.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO or device)"
            raise error(f"{label} is {kind}; give a regular file")
        with os.fdopen(fd, "rb") as f:
            fd = -1  # the file object owns it now
            return f.read()
    finally:
        if fd >= 0:
            os.close(fd)


def read_regular_text(path: Path, label: str, error: type[NnoptError] = ConfigError) -> str:
    """A regular file's UTF-8 text (see :func:`read_regular_bytes`); UnicodeDecodeError goes on."""
    return read_regular_bytes(path, label, error).decode("utf-8")
