"""One safe write: every file nnopt writes goes through serialize.write_bytes (a temporary
file of a random name, created with O_EXCL next to the target, renamed over it)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import nnopt
from nnopt.errors import RunDirError
from nnopt.outputs.serialize import write_bytes

SRC = Path(nnopt.__file__).parent

# Calls that would write a file by another way than write_bytes; one into an in-memory
# buffer (an argument named ``buf``) is how bytes are made for write_bytes.
WRITERS = {"write_text", "write_bytes", "savefig", "write_table", "save", "savez", "to_csv"}


def _writes(tree: ast.AST):
    """(name, first argument) of each call of a WRITERS method or an ``open(..., 'w')``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        into_buffer = any(isinstance(a, ast.Name) and a.id == "buf" for a in node.args)
        if isinstance(node.func, ast.Attribute) and node.func.attr in WRITERS and not into_buffer:
            yield node.func.attr
        if isinstance(node.func, ast.Name) and node.func.id == "open":
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value.value for k in node.keywords if k.arg == "mode"]
            if any(isinstance(m, str) and set(m) & set("wax+") for m in modes):
                yield "open"


def test_every_file_is_written_through_write_bytes():
    found = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        for name in _writes(ast.parse(path.read_text("utf-8"))):
            found.append(f"{rel}: {name}")
    assert found == []


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "out.csv").symlink_to(victim)
    write_bytes(tmp_path / "out.csv", b"new")
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "out.csv").is_symlink()
    assert (tmp_path / "out.csv").read_bytes() == b"new"


def test_links_planted_at_predictable_temporary_names_are_never_written(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    planted = [
        f".out.csv.tmp-{os.getpid()}",
        ".out.csv.tmp",
        "out.csv.tmp",
        f".out.csv.{os.getpid()}.tmp",
    ]
    for name in planted:
        (tmp_path / name).symlink_to(victim)
    write_bytes(tmp_path / "out.csv", b"new")
    assert victim.read_text() == "keep me"
    assert (tmp_path / "out.csv").read_bytes() == b"new"
    # No temporary file stays behind: only the planted links and the two files.
    assert sorted(os.listdir(tmp_path)) == sorted([*planted, "out.csv", "victim.txt"])


def test_a_refused_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text("old")

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(RunDirError, match="cannot write .*a.json: No space left on device"):
        write_bytes(tmp_path / "a.json", b"new")
    assert os.listdir(tmp_path) == ["a.json"] and (tmp_path / "a.json").read_text() == "old"


def test_a_sweeps_old_temporary_files_are_removed_and_nothing_else(tmp_path):
    from nnopt.outputs.sweep_dir import remove_stale_temporaries

    (tmp_path / "points").mkdir()
    old = [
        tmp_path / ".results.csv.abcd1234.tmp",
        tmp_path / "points/.0123456789abcdef.json.x_y_z_12.tmp",
    ]
    kept = [
        tmp_path / ".results.csv.new12345.tmp",  # recent: a writer may be about to rename it
        tmp_path / ".mine.txt.abcd1234.tmp",  # not a sweep's file
        tmp_path / "points/.notes.json.abcd1234.tmp",
        tmp_path / "results.csv",
    ]
    for path in old + kept:
        path.write_text("x")
    for path in old + kept[1:]:
        os.utime(path, (1e9, 1e9))
    remove_stale_temporaries(tmp_path)
    assert [p.exists() for p in old] == [False, False]
    assert all(p.exists() for p in kept)
