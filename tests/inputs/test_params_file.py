"""``--init`` parameter files that would crash or hang the reader: nested too deeply, NPZ
arrays of the wrong kind or too large (read from the headers), a FIFO."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nnopt.errors import ParamsError
from nnopt.inputs.params_file import read_params_file
from tests.inputs.test_datafiles import _npz_claiming_rows


def test_deeply_nested_json_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"w": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(ParamsError) as err:
        read_params_file(path)
    assert (
        str(err.value) == f"params file {path} nests arrays or tables too deeply: at most 16 levels"
    )


def test_npz_of_a_structured_array_is_one_line(tmp_path):
    path = tmp_path / "st.npz"
    np.savez(path, w=np.zeros(2, dtype=[("a", "f4")]))
    with pytest.raises(ParamsError) as err:
        read_params_file(path)
    assert str(err.value) == (
        f"params file {path}: array 'w' holds a structured array (fields a); "
        "parameters are arrays of numbers"
    )


def test_npz_too_large_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    _npz_claiming_rows(path, 400_000_000)
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("data read"))
    with pytest.raises(ParamsError) as err:
        read_params_file(path)
    assert str(err.value).startswith(f"params file {path} is too large: its arrays hold over")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "start.json"
    os.mkfifo(path)
    with pytest.raises(ParamsError) as err:
        read_params_file(path)
    assert str(err.value) == (
        f"params file {path} is not a regular file (a FIFO or device); give a regular file"
    )
