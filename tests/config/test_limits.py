"""What a config's text may hold: arrays nested only so deep (the TOML reader recurses), and
numbers that stay themselves as the float32 training computes with."""

from __future__ import annotations

import math

import pytest

from nnopt.config import parse_grid
from nnopt.config.presets import load_config, read_run_config
from nnopt.errors import ConfigError, RunDirError
from tests.support.cli import run_cli

DEEP = "[" * 3000 + "]" * 3000  # past Python's recursion limit
TOO_DEEP = "[" * 17 + "]" * 17  # parses, but deeper than any nnopt file


def one_line(text: str) -> str:
    assert text and "\n" not in text.strip() and "Traceback" not in text
    return text


@pytest.mark.parametrize("nested", [DEEP, TOO_DEEP])
def test_deeply_nested_config_file_is_one_line(tmp_path, nested):
    path = tmp_path / "deep.toml"
    path.write_text(f'name = "deep"\n[model]\nlayers = {nested}\n')
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value) == f"{path} nests arrays or tables too deeply: at most 16 levels"


@pytest.mark.parametrize("nested", [DEEP, TOO_DEEP])
def test_deeply_nested_set_and_grid_are_one_line(nested):
    with pytest.raises(ConfigError) as err:
        load_config("circle-l2", [f"model.layers={nested}"])
    assert str(err.value) == (
        "--set model.layers nests arrays or tables too deeply: at most 16 levels"
    )
    with pytest.raises(ConfigError) as err:
        parse_grid([f"model.layers=[2,1],{nested}"])
    assert str(err.value) == (
        "--grid model.layers nests arrays or tables too deeply: at most 16 levels"
    )


def test_deeply_nested_run_folder_config_is_one_line(tmp_path):
    (tmp_path / "config.toml").write_text(f'name = "x"\n[train]\nsteps = {DEEP}\n')
    with pytest.raises(RunDirError) as err:
        read_run_config(tmp_path)
    assert "config.toml nests arrays or tables too deeply" in one_line(str(err.value))


def test_cli_deep_config_exits_2_and_creates_nothing(in_tmp, capsys):
    (in_tmp / "deep.toml").write_text(f'name = "deep"\n[model]\nlayers = {DEEP}\n')
    code, out, err = run_cli(capsys, "run", "deep.toml")
    assert code == 2 and out == ""
    assert (
        one_line(err)
        == "nnopt: error: deep.toml nests arrays or tables too deeply: at most 16 levels\n"
    )
    assert sorted(p.name for p in in_tmp.iterdir()) == ["deep.toml"]


def test_as_float32_rounds_and_overflows_like_numpy():
    from nnopt.core.numbers import as_float32

    assert as_float32(0.1) == 0.10000000149011612
    assert as_float32(0.99999999999) == 1.0
    assert as_float32(1e39) == math.inf and as_float32(-1e39) == -math.inf
    assert as_float32(1e-50) == 0.0


@pytest.mark.parametrize(
    "override, message",
    [
        # fields with no range of their own: only finiteness stood between them and training
        ("model.bias_init=nan", "model.bias_init = nan is not a float32 number"),
        ("model.init_value=inf", "model.init_value = inf is not a float32 number"),
        ("model.init_stddev=inf", "model.init_stddev = inf is not a float32 number"),
        ("regularizer.scale=1e39", "regularizer.scale = 1e+39 is not a float32 number"),
        ("schedule.decay_rate=-inf", "schedule.decay_rate = -inf is not a float32 number"),
        ("optimizer.learning_rate=1e308", "optimizer.learning_rate = 1e+308 is not a float32"),
        # in range as float64, out of it as the float32 it becomes
        ("ema.decay=0.99999999999",
         "ema.decay = 0.99999999999 is out of range: must be in [0, 1) "
         "(as the float32 training uses it is 1)"),
        ("optimizer.learning_rate=1e-50",
         "optimizer.learning_rate = 1e-50 is out of range: must be > 0 "
         "(as the float32 training uses it is 0)"),
        ("schedule.decay_rate=1e-50", "schedule.decay_rate = 1e-50 is out of range: must be > 0"),
        # counts the compiled step keeps as int32, or that only make sense up to train.steps
        ("schedule.decay_steps=3000000000", "schedule.decay_steps = 3000000000 is out of range"),
        ("train.log_every=1000000000000", "train.log_every = 1000000000000 is out of range"),
        ("train.checkpoint_every=200000000", "train.checkpoint_every = 200000000 is out of range"),
    ],
)  # fmt: skip
def test_every_number_is_checked_as_the_float32_it_becomes(override, message):
    with pytest.raises(ConfigError) as err:
        load_config("circle-l2", [override])
    assert one_line(str(err.value)).startswith(message)


def test_adam_b2_that_rounds_to_one_is_refused():
    sets = ["optimizer.name=adam", "optimizer.convention=optax", "optimizer.b2=0.99999999999"]
    with pytest.raises(ConfigError) as err:
        load_config("circle-l2", sets)
    assert str(err.value) == (
        "optimizer.b2 = 0.99999999999 is out of range: must be in [0, 1) "
        "(as the float32 training uses it is 1)"
    )
    # a value float32 keeps below 1 still trains
    assert load_config("circle-l2", [*sets[:2], "optimizer.b2=0.9999"]).optimizer.b2 == 0.9999


def test_cli_infinite_value_exits_2_before_any_folder(in_tmp, capsys):
    code, out, err = run_cli(capsys, "run", "circle-l2", "--set", "model.bias_init=inf")
    assert code == 2 and out == ""
    assert "model.bias_init = inf is not a float32 number" in one_line(err)
    assert list(in_tmp.iterdir()) == []


def test_playground_setup_with_infinity_is_refused():
    """The page's numbers are refused twice over: the message check names the lane's field,
    and the config validation behind it (for a setup built in Python) names the config's."""
    import json

    from nnopt.web import protocol

    for key, value, field in [
        ("decay_rate", "Infinity", "schedule.decay_rate"),
        ("reg_scale", "Infinity", "regularizer.scale"),
        ("learning_rate", "1e39", "optimizer.learning_rate"),
    ]:
        text = f'{{"type": "setup", "lanes": [{{"{key}": {value}}}]}}'
        with pytest.raises(protocol.ProtocolError) as err:
            protocol.parse_message(text)
        assert f"lanes[0].{key} = " in one_line(str(err.value))
        setup = protocol.parse_setup(json.loads(text))  # past the message check
        with pytest.raises(ConfigError) as err:
            protocol.lane_configs(setup)
        assert field in one_line(str(err.value))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_cli_sweep_threshold_must_be_finite(in_tmp, capsys, value):
    code, out, err = run_cli(capsys, "sweep", "gd-rate-0.2", "--grid",
                             "optimizer.learning_rate=0.1,0.2", f"--threshold={value}")  # fmt: skip
    assert code == 2 and out == ""
    assert err == f"nnopt: error: --threshold {value} is out of range: must be a finite loss\n"
    assert list(in_tmp.iterdir()) == []
