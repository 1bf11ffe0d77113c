"""The layers of the package, read from its imports: every import points down.

    errors, _aliases                      (below everything)
    core      the math: arrays in, arrays out
    config    the schema, read from core's registries
    inputs    the user's files, read into values
    engine    compiled training, evaluation, sweeps: values only
    outputs   files, figures, reports
    web       the playground (a face)
    cli       the command line (a face; ``nnopt serve`` starts the web face)

Every ``import`` and ``from ... import`` in every module counts, at module level or inside a
function: an import that points up fails here, naming the file, the line and both layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "nnopt"
RANK = {
    "errors": 0,
    "_aliases": 0,
    "core": 1,
    "config": 2,
    "inputs": 3,
    "engine": 4,
    "outputs": 5,
    "web": 6,
    "cli": 7,
    "__main__": 7,
}
# What the core may not touch: files, the terminal, plots, servers.
NOT_IN_CORE = {"os", "io", "sys", "pathlib", "csv", "json", "tomllib", "socket", "tempfile",
               "shutil", "matplotlib", "tqdm", "starlette", "uvicorn", "safetensors"}  # fmt: skip


def layer_of(module: str) -> str | None:
    """The layer of ``nnopt.x.y`` (x), None for the package itself and for other packages."""
    parts = module.split(".")
    return parts[1] if parts[0] == "nnopt" and len(parts) > 1 else None


def module_name(path: Path) -> str:
    return "nnopt." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def imports(source: str, here: str) -> list[tuple[int, str]]:
    """(line, module) of every import in the source of module ``here``, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here.split(".")[: -node.level] + ([base] if base else []))
            if base == "nnopt":  # from nnopt import errors: the module is nnopt.errors
                found += [(node.lineno, f"nnopt.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, base))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_layer():
    layers = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert layers <= set(RANK), f"modules outside the known layers: {layers - set(RANK)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    mine = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    for line, module in imports(path.read_text("utf-8"), module_name(path)):
        target = layer_of(module)
        if target is None:
            continue
        assert target in RANK, f"{path.name}:{line} imports {module}, in no known layer"
        assert RANK[target] <= RANK[mine], (
            f"{path.relative_to(PACKAGE)}:{line} imports {module}: {mine} (layer {RANK[mine]}) "
            f"may not import {target} (layer {RANK[target]})"
        )


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.parts[-2] == "core"], ids=lambda p: p.name
)
def test_the_core_touches_no_file_terminal_or_plot(path):
    for line, module in imports(path.read_text("utf-8"), module_name(path)):
        assert module.split(".")[0] not in NOT_IN_CORE, f"core/{path.name}:{line} imports {module}"
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("open", "print", "input"), (
                f"core/{path.name}:{node.lineno} calls {node.func.id}()"
            )


def test_the_check_sees_an_import_that_points_up():
    """The reader finds imports inside functions and relative ones (or the test above is empty)."""
    source = "def f():\n    from ..outputs import plots\n    import nnopt.cli.main\n"
    found = imports(source, "nnopt.core.probe")
    assert found == [(2, "nnopt.outputs"), (3, "nnopt.cli.main")]
    assert [RANK[layer_of(m)] > RANK["core"] for _, m in found] == [True, True]
