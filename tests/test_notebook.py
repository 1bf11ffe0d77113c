"""examples/lecture.ipynb runs from top to bottom in a fresh kernel and draws its figures."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "lecture.ipynb"


@pytest.mark.slow
def test_the_lecture_notebook_executes(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # kept clean
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "final w1 = [0.9802 1.016 ]" in text  # the lecture's 0.98, 1.02
    assert "rate    0.2: w after updates 0..4 = [ 5.      2.6     1.16    0.296" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6
    assert list(tmp_path.iterdir()) == []  # train() writes no file
