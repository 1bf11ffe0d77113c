"""Parameter files (``--init``): JSON ``{"w1": [[...]], "b1": [...]}`` or NPZ, named as in the
lecture, read into float32 arrays (checked against the model by the engine)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from nnopt.config.documents import check_depth, check_regular, too_deep
from nnopt.errors import DataError, ParamsError
from nnopt.inputs.datafiles import check_npz_headers


def read_params_file(path: Path) -> dict[str, np.ndarray]:
    """Parameters from JSON (``{"w1": [[...]], ...}``) or NPZ, named as in the lecture.

    Raises:
      ParamsError: the file is missing, unreadable, or not a name -> array mapping.
    """
    path = Path(path)
    label = f"params file {path}"
    try:
        check_regular(path, label, ParamsError)
        if path.suffix.lower() == ".npz":
            if zipfile.is_zipfile(path):  # not a zip: np.load says so below
                try:
                    check_npz_headers(path, label, label, "parameters are arrays of numbers")
                except DataError as exc:
                    raise ParamsError(str(exc)) from None
            with np.load(path, allow_pickle=False) as f:
                return {k: np.asarray(f[k]) for k in f.files}
        raw = json.loads(path.read_text("utf-8"))
    except RecursionError:  # json.loads recurses once per level of [[[...]]]
        raise ParamsError(too_deep(label)) from None
    except FileNotFoundError:
        raise ParamsError(f"{label} does not exist") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        kind = "NPZ" if path.suffix.lower() == ".npz" else "JSON"
        raise ParamsError(
            f"{label} is not a readable {kind} file ({exc.__class__.__name__})"
        ) from None
    check_depth(raw, label, ParamsError)
    if not isinstance(raw, dict):
        raise ParamsError(f"{label}: expected an object mapping names (w1, b1, ...) to arrays")
    out = {}
    for name, value in raw.items():
        try:
            with np.errstate(over="ignore"):  # too large for float32: inf, refused by check_params
                out[name] = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError, OverflowError):
            raise ParamsError(f"{label}: {name} is not a (nested) list of numbers") from None
    return out
