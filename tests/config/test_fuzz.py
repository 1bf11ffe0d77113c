"""Fuzzing every input surface with Hypothesis: each generated case either works or raises
nnopt's one-line error. Never another exception, never a traceback. The budget per surface
is CI-sized; set NNOPT_FUZZ_EXAMPLES for a larger run."""

from __future__ import annotations

import json
import os
import string
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnopt.config import SECTIONS, apply_overrides, config_from_dict, section_fields
from nnopt.config.presets import read_raw
from nnopt.errors import NnoptError

EXAMPLES = int(os.environ.get("NNOPT_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=6)
field_names = st.sampled_from([f for s in SECTIONS for f in section_fields(s)] + ["bogus", ""])
section_names = st.sampled_from([*SECTIONS, "sweep", "name", "bogus"])


def one_line(exc: NnoptError) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text


def _clean(value):
    """TOML has no null; turn generated None into a string so the dict is TOML-shaped."""
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return "none" if value is None else value


@FUZZ
@given(st.dictionaries(section_names, st.dictionaries(field_names, values, max_size=4), max_size=4))
def test_config_dicts(raw):
    raw = {
        k: ({f: _clean(v) for f, v in table.items()} if k != "name" else "x")
        for k, table in raw.items()
    }
    try:
        config_from_dict(raw, "fuzz")
    except NnoptError as exc:
        one_line(exc)


BASE = read_raw("circle-l2")[0]
override_text = st.one_of(
    st.text(max_size=40),
    st.builds(lambda s, f, v: f"{s}.{f}={v}", section_names, field_names,
              st.text(alphabet=string.printable, max_size=15)),
    st.builds(lambda s, f, v: f"{s}.{f}={json.dumps(v)}", section_names, field_names, values),
)  # fmt: skip


@FUZZ
@given(st.lists(override_text, max_size=4))
def test_set_overrides(texts):
    try:
        config_from_dict(apply_overrides(BASE, texts), "fuzz")
    except NnoptError as exc:
        one_line(exc)


@FUZZ
@given(st.text(max_size=300))
def test_toml_text_configs(text):
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # nnopt reports this as "is not valid TOML" (tested in test_cli)
    try:
        config_from_dict(raw, "fuzz")
    except NnoptError as exc:
        one_line(exc)


param_values = st.one_of(values, st.lists(st.lists(st.floats(width=32), max_size=3), max_size=3))


@FUZZ
@given(st.one_of(st.dictionaries(st.sampled_from(["w1", "b1", "w", "x"]), param_values, max_size=3),
                 values, st.text(max_size=30)))  # fmt: skip
def test_params_files(tmp_path_factory, payload):
    from nnopt.engine.setup import check_params, initial_params
    from nnopt.inputs.params_file import read_params_file

    path = tmp_path_factory.mktemp("p") / "params.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    template = initial_params(config_from_dict(read_raw("yogurt-mse")[0]))
    try:
        check_params(read_params_file(path), template, "fuzz")
    except NnoptError as exc:
        one_line(exc)


@FUZZ
@given(st.binary(max_size=400))
def test_npz_params_files(tmp_path_factory, blob):
    from nnopt.inputs.params_file import read_params_file

    path = tmp_path_factory.mktemp("p") / "params.npz"
    path.write_bytes(blob)
    try:
        read_params_file(path)
    except NnoptError as exc:
        one_line(exc)


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(["run", "sweep", "presets", "lecture", "resume", "--set",
                                           "--grid", "--json", "--out", "--only", "--seeds", "-h"]),
                          st.text(alphabet=string.printable, max_size=12)), max_size=5))  # fmt: skip
def test_cli_arguments_never_crash(tmp_path_factory, argv):
    """Arguments that would start real work are cut short: only parsing and validation run."""
    import nnopt.cli.main as cli

    if argv and argv[0] in ("run", "sweep", "lecture", "resume"):
        argv = (
            [*argv, "--set", "train.steps=abc"]
            if argv[0] in ("run", "sweep")
            else argv[:1] + ["--only", "nope"]
        )
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cli"))
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # --help exits 0 through argparse
        code = exc.code
    finally:
        os.chdir(cwd)
    assert code in (0, 2)


@FUZZ
@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(json.dumps, st.dictionaries(st.text(max_size=8), values, max_size=5)),
    )
)
def test_playground_messages(text):
    from nnopt.web import protocol

    try:
        message = protocol.parse_message(text)
        protocol.parse_setup(message)
    except NnoptError as exc:
        one_line(exc)


@FUZZ
@given(st.binary(max_size=600))
def test_playground_uploads(blob):
    from nnopt.web import protocol

    try:
        x, y = protocol.parse_points_csv(blob)
        assert x.shape[1] == 2 and len(x) == len(y) and np.all(np.isfinite(x))
    except NnoptError as exc:
        one_line(exc)


# ---------------------------------------------------------------- nested TOML (1000 cases each)

NESTED = settings(max_examples=max(EXAMPLES, 1000), deadline=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
# Arrays and inline tables nested to any depth, past the recursion limit too, with some
# brackets left open, doubled or swapped so that half the texts are not TOML at all.
nested_text = st.builds(
    lambda depth, opens, inner, closes: opens * depth + inner + closes * depth,
    st.one_of(st.integers(0, 40), st.integers(900, 4000)),
    st.sampled_from(["[", "{a = ", "[{b = [", "[[", "{"]),
    st.sampled_from(["", "1", "1.5", "nan", "inf", '"x"', "true", "[]", "{}", "1, 2"]),
    st.sampled_from(["]", "}", "]}]", "]]", ""]),
)


@pytest.mark.slow
@NESTED
@given(nested_text, st.sampled_from([f for s in SECTIONS for f in section_fields(s)]))
def test_nested_toml_in_a_config_file_set_and_grid(tmp_path_factory, text, field):
    from nnopt.config import parse_grid
    from nnopt.config.presets import load_config, read_run_config

    section = next(s for s in SECTIONS if field in section_fields(s))
    folder = tmp_path_factory.mktemp("nested")
    (folder / "c.toml").write_text(f'name = "x"\n[{section}]\n{field} = {text}\n')
    (folder / "config.toml").write_text(f'name = "x"\n[{section}]\n{field} = {text}\n')
    calls = [
        lambda: load_config(str(folder / "c.toml")),
        lambda: load_config("circle-l2", [f"{section}.{field}={text}"]),
        lambda: parse_grid([f"{section}.{field}=1,{text}"]),
        lambda: read_run_config(folder),
    ]
    for call in calls:
        try:
            call()
        except NnoptError as exc:
            one_line(exc)
