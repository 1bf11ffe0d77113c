"""Fuzzing a run folder's own files as resume, evaluate and predict read them (history.csv,
summary.json, inputs.json, config.toml, a sweep's points/*.json): each generated file either
works or gives nnopt's one-line error; never another exception, nothing written anywhere,
nothing in the folder changed. 1000 cases per file; the library is called in-process.
Set NNOPT_FUZZ_EXAMPLES for a larger run."""

from __future__ import annotations

import json
import os
import shutil
import string
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnopt.cli.main import main
from nnopt.errors import NnoptError

pytestmark = pytest.mark.slow  # 1000 cases per file

EXAMPLES = max(int(os.environ.get("NNOPT_FUZZ_EXAMPLES", "0")), 1000)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10,
)  # fmt: skip
deep = st.builds(lambda n, o, c: o * n + c * n, st.integers(20, 5000),
                 st.sampled_from(["[", '{"a": '] ), st.sampled_from(["]", "}"]))  # fmt: skip


def mutated(valid: dict) -> st.SearchStrategy[dict]:
    """The valid record with one field (at the top or one level down) replaced or removed."""

    def change(key_path, value, remove):
        out = json.loads(json.dumps(valid))
        target = out
        for k in key_path[:-1]:
            target = target[k]
        if remove:
            target.pop(key_path[-1], None)
        else:
            target[key_path[-1]] = value
        return out

    paths = [(k,) for k in valid] + [
        (k, j) for k, v in valid.items() if isinstance(v, dict) for j in v
    ]
    return st.builds(change, st.sampled_from(paths), json_values, st.booleans())


def json_files(valid: dict) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda v: json.dumps(v), mutated(valid)),
        st.builds(json.dumps, json_values),
        deep,
        st.text(max_size=60),
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished circle run with checkpoints 0, 20 and 40, and rows to predict."""
    root = tmp_path_factory.mktemp("fuzzed")
    run = root / "run"
    assert main(["run", "circle-l2", "--set", "train.steps=40", "--set", "train.log_every=10",
                 "--set", "train.checkpoint_every=20", "--quiet", "--no-figures",
                 "--out", str(run)]) == 0  # fmt: skip
    (root / "new.csv").write_text("x0,x1\n0.5,0.5\n-1,2\n")
    return run


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def read_as_the_commands_do(run: Path, name: str, text: str, calls) -> None:
    """Writes ``text`` as the run's file ``name``, makes every call, and puts the original back;
    asserts one-line errors only and nothing else under the folder's parent changed."""
    root = run.parent
    path = run / name
    assert root in path.parents
    original = path.read_bytes() if path.exists() else None
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, errors="surrogatepass")
    before = snapshot(root)
    try:
        for call in calls:
            try:
                call()
            except NnoptError as exc:
                message = str(exc)
                assert message and "\n" not in message and "Traceback" not in message
        assert snapshot(root) == before
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


def _resume(run):
    from nnopt.outputs.run_dir import resume_training

    return lambda: resume_training(run)


def _evaluate(run):
    from nnopt.outputs.run_dir import find_checkpoint, open_run

    def call():
        opened = open_run(run)
        opened.evaluate(find_checkpoint(run), "raw", "train")

    return call


def _predict(run):
    from nnopt.inputs.datafiles import read_feature_rows
    from nnopt.outputs.run_dir import open_predictor

    def call():
        predictor = open_predictor(run)
        x, _ = read_feature_rows(run.parent / "new.csv", predictor.inputs.columns.features)
        out = predictor.predict(x)
        assert np.all(np.isfinite(out.outputs))

    return call


csv_alphabet = string.digits + ',.\n\r"-+e' + "stepnaif_" + "\x00 "
history_texts = st.one_of(
    st.text(alphabet=csv_alphabet, max_size=200),
    st.builds(lambda header, rows: header + "\n" + "\n".join(rows),
              st.sampled_from(["step,train_loss,lr", "train_loss,lr", "step", "step,step", ""]),
              st.lists(st.text(alphabet=csv_alphabet.replace("\n", ""), max_size=30), max_size=6)),
)  # fmt: skip


@FUZZ
@given(history_texts)
def test_history_csv(trained, text):
    read_as_the_commands_do(trained, "history.csv", text, [_resume(trained)])


@FUZZ
@given(json_files({"name": "x", "steps": 40, "final_loss": 0.5, "params": {"w1": [[1.0]]}}))
def test_summary_json(trained, text):
    read_as_the_commands_do(trained, "summary.json", text, [_resume(trained), _evaluate(trained)])


INPUTS = {"format": "nnopt-inputs-1", "task": "binary", "features": ["x0", "x1"], "label": "y",
          "classes": ["0", "1"], "standardization": {"mean": [0.0, 0.0], "std": [1.0, 1.0]},
          "data": {"name": "circle"}}  # fmt: skip


@FUZZ
@given(json_files(INPUTS))
def test_inputs_json(trained, text):
    read_as_the_commands_do(trained, "inputs.json", text, [_predict(trained), _evaluate(trained)])


def _toml_files(valid: dict) -> st.SearchStrategy[str]:
    def dumped(raw):
        try:
            return tomli_w.dumps(raw)
        except (TypeError, ValueError):  # None, or a key TOML cannot hold
            return json.dumps(raw)

    return st.one_of(
        st.builds(dumped, mutated(valid)),
        st.builds(lambda d: f'name = "x"\n[train]\nsteps = {d}\n', deep),
        st.text(max_size=80),
    )


@pytest.fixture(scope="module")
def valid_config(trained):
    import tomllib

    return tomllib.loads((trained / "config.toml").read_text())


@FUZZ
@given(data=st.data())
def test_config_toml(trained, valid_config, data):
    text = data.draw(_toml_files(valid_config))
    read_as_the_commands_do(
        trained, "config.toml", text, [_resume(trained), _evaluate(trained), _predict(trained)]
    )


@pytest.fixture(scope="module")
def sweep_point(tmp_path_factory):
    """A sweep folder holding one configuration's saved result, as save_point writes it."""
    from nnopt.config.presets import read_raw
    from nnopt.engine.setup import initial_params
    from nnopt.engine.sweep.grid import grid_points, point_key
    from nnopt.engine.sweep.results import PointResult
    from nnopt.outputs.sweep_dir import save_point

    folder = tmp_path_factory.mktemp("sweep") / "sw"
    (folder / "points").mkdir(parents=True)
    point = grid_points(read_raw("circle-l2")[0], {"optimizer.learning_rate": [0.1]}, 1, "t")[0]
    params = {k: v.tolist() for k, v in initial_params(point.config).items()}
    result = PointResult(point.index, point.settings, [{"step": 10, "train_loss": 0.5}], None,
                         initial_params(point.config), None)  # fmt: skip
    save_point(folder, point, result)
    valid = {"index": 0, "settings": point.settings, "diverged_at": None,
             "rows": [{"step": 10, "train_loss": 0.5}], "params": params, "ema_params": None}  # fmt: skip
    return folder, point, f"points/{point_key(point)}.json", valid


@FUZZ
@given(data=st.data())
def test_sweep_points_json(sweep_point, data):
    from nnopt.outputs.sweep_dir import load_point

    folder, point, name, valid = sweep_point
    text = data.draw(json_files(valid))

    def call():
        result = load_point(folder, point)
        assert result is None or result.rows[-1]["step"] is not None

    read_as_the_commands_do(folder, name, text, [call])


def test_the_fuzzed_folder_still_works(trained, tmp_path):
    """After all the damage and repair, the run reads as it did: nothing was lost."""
    copy = Path(shutil.copytree(trained, tmp_path / "run"))
    _resume(copy)()
    _evaluate(copy)()
