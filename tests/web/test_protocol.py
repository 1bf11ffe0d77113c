"""The playground's messages: validation, conversion to configs, export/import, CSV points.

Pure functions only (no server, no training).
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from nnopt.config import config_from_dict
from nnopt.config.presets import preset_text
from nnopt.core.losses import LOSSES
from nnopt.core.optimizers import OPTIMIZERS
from nnopt.errors import ConfigError, NnoptError
from nnopt.web import protocol
from nnopt.web.protocol import LIMITS, ProtocolError


def setup_of(**lane) -> protocol.Setup:
    return protocol.parse_setup({"type": "setup", "lanes": [lane]})


# ---------------------------------------------------------------- messages


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "explode"}', "type 'explode' is unknown; types are setup, play"),
        ('{"type": "play", "now": true}', "play: unknown field 'now'; play takes no fields"),
        ('{"type": "step", "steps": 5}', "step: unknown field 'steps'; step takes chunks"),
    ],
)
def test_bad_messages_are_named(text, expected):
    with pytest.raises(ProtocolError, match=expected):
        protocol.parse_message(text)


@pytest.mark.parametrize(
    "text, path, shown",
    [
        ('{"type": "setup", "lanes": [{"learning_rate": Infinity}]}', "lanes[0].learning_rate", "Infinity"),
        ('{"type": "setup", "lanes": [{}, {"reg_scale": -Infinity}]}', "lanes[1].reg_scale", "-Infinity"),
        ('{"type": "setup", "data": {"noise": NaN}}', "data.noise", "NaN"),
        ('{"type": "setup", "lanes": [{"learning_rate": 1e39}]}', "lanes[0].learning_rate", "1e+39"),
        ('{"type": "setup", "lanes": [{"decay_rate": -1e39}]}', "lanes[0].decay_rate", "-1e+39"),
        ('{"type": "setup", "data": {"noise": 1e400}}', "data.noise", "Infinity"),
        ('{"type": "setup", "lanes": [{"hidden": [4, 1' + "0" * 39 + ']}]}', "lanes[0].hidden[1]", str(10**39)),
        ('{"type": "step", "chunks": Infinity}', "chunks", "Infinity"),
    ],
)  # fmt: skip
def test_numbers_that_are_not_float32_are_refused_naming_the_field(text, path, shown):
    kind = json.loads(text)["type"]
    with pytest.raises(ProtocolError) as refused:
        protocol.parse_message(text)
    assert str(refused.value) == (
        f"{kind}: {path} = {shown} is not a usable number; numbers must be finite and "
        "within ±3.403e+38 (float32)"
    )
    assert refused.value.about == kind


def test_numbers_within_float32_pass():
    text = '{"type": "setup", "lanes": [{"learning_rate": 3.4e38, "reg_scale": 1e-45}]}'
    assert protocol.parse_message(text)["lanes"][0]["learning_rate"] == 3.4e38
    assert protocol.unusable_number({"a": [1, 2.5, {"b": -3.4028234663852886e38}]}) is None


def test_a_message_too_long_is_refused_before_parsing():
    text = json.dumps({"type": "import", "toml": "x" * LIMITS.message_bytes})
    with pytest.raises(ProtocolError, match=f"at most {LIMITS.message_bytes}"):
        protocol.parse_message(text)


def test_step_speed_and_view_fields_are_checked():
    assert protocol.step_chunks({"type": "step"}) == 1
    with pytest.raises(
        ProtocolError, match=f"step.chunks = 0 must be an integer from 1 to {LIMITS.step_chunks}"
    ):
        protocol.step_chunks({"chunks": 0})
    with pytest.raises(ProtocolError, match="step.chunks"):
        protocol.step_chunks({"chunks": LIMITS.step_chunks + 1})
    with pytest.raises(
        ProtocolError,
        match="speed.value = 'warp' is unknown; choose one of one_step_per_frame, slow",
    ):
        protocol.speed_of({"value": "warp"})
    assert protocol.view_of({"weights": "ema"}, 3) == ("ema", None)
    with pytest.raises(
        ProtocolError, match="view.weights = 'best' is unknown; choose raw, ema, both"
    ):
        protocol.view_of({"weights": "best"}, 1)
    with pytest.raises(ProtocolError, match="view.selected = 3 must be an integer from 0 to 2"):
        protocol.view_of({"selected": 3}, 3)


# ---------------------------------------------------------------- setup


def test_an_empty_setup_is_the_lecture_network_on_circle():
    setup = protocol.parse_setup({"type": "setup"})
    (config,) = protocol.lane_configs(setup)
    assert config.data.name == "circle" and config.model.layers == (2, 11, 1)
    assert config.model.output_activation == "linear" and config.loss.name == "mse"
    assert config.train.log_every == protocol.CHUNK
    assert config.train.steps == protocol.ENDLESS_STEPS


@pytest.mark.parametrize(
    "message, expected",
    [
        ({"lanes": [{}] * (LIMITS.lanes + 1)}, f"a race has 1 to {LIMITS.lanes}"),
        ({"lanes": []}, "setup.lanes has 0 lanes"),
        ({"lanes": [{"hidden": [4] * 7}]}, f"hidden has 7 layers; at most {LIMITS.hidden_layers}"),
        (
            {"lanes": [{"hidden": [17]}]},
            f"hidden layer size = 17 must be an integer from 1 to {LIMITS.neurons}",
        ),
        ({"lanes": [{"hidden": "4,4"}]}, "hidden = '4,4' must be a list of layer sizes"),
        ({"lanes": [{"batch_size": 513}]}, "batch_size = 513 must be an integer from 1 to 512"),
        ({"lanes": [{"momentum": 0.9}]}, "lane 1: unknown setting 'momentum'; settings are hidden"),
        ({"data": {"name": "mnist"}}, "data.name = 'mnist' is unknown; choose one of yogurt"),
        ({"data": {"name": "none"}}, "data.name = 'none' is unknown"),
        (
            {"data": {"n_samples": 10**6}},
            f"data.n_samples = 1000000 must be an integer from 0 to {LIMITS.points}",
        ),
        ({"data": "circle"}, "data must be an object of settings"),
        ({"lanes": [{}, {}], "selected": 2}, "setup.selected = 2 must be an integer from 0 to 1"),
    ],
)
def test_setups_beyond_the_caps_are_refused(message, expected):
    with pytest.raises(ProtocolError, match=expected):
        protocol.parse_setup({"type": "setup", **message})


def test_values_are_checked_by_the_config_layer_and_name_the_field():
    with pytest.raises(
        ConfigError, match="optimizer.learning_rate = -1.0 is out of range: must be > 0"
    ):
        protocol.lane_configs(setup_of(learning_rate=-1))
    with pytest.raises(ConfigError, match="optimizer.learning_rate = 'fast' must be a number"):
        protocol.lane_configs(setup_of(learning_rate="fast"))
    with pytest.raises(
        ConfigError, match="model.activation = 'gelu' is unknown; choose one of relu"
    ):
        protocol.lane_configs(setup_of(activation="gelu"))
    race = protocol.parse_setup({"lanes": [{}, {"optimizer": "lion"}]})
    with pytest.raises(ConfigError, match="^lane 2: optimizer.name = 'lion' is unknown"):
        protocol.lane_configs(race)


@pytest.mark.parametrize(
    "data, loss, layers, output",
    [
        ("circle", "mse", (2, 11, 1), "linear"),
        ("circle", "binary_cross_entropy", (2, 11, 1), "sigmoid"),
        ("circle", "cost_profit", (2, 11, 1), "linear"),
        ("yogurt", "cost_profit", (2, 11, 1), "linear"),
        ("spiral3", "cross_entropy", (2, 11, 3), "softmax"),
        ("spiral3", "softmax_cross_entropy", (2, 11, 3), "linear"),
        ("spiral3", "mse", (2, 11, 3), "linear"),
        ("upload", "binary_cross_entropy", (2, 11, 1), "sigmoid"),
    ],
)
def test_the_output_layer_is_wired_to_the_loss_and_the_data(data, loss, layers, output):
    setup = protocol.parse_setup({"data": {"name": data}, "lanes": [{"loss": loss}]})
    (config,) = protocol.lane_configs(setup)
    assert config.model.layers == layers and config.model.output_activation == output


@pytest.mark.parametrize(
    "data, loss, allowed",
    [
        ("yogurt", "cross_entropy", "mse, cost_profit"),
        # The lecture's formula on one sigmoid output counts only label 1: binary data is
        # wired to the two-sided binary cross entropy instead.
        ("circle", "cross_entropy", "mse, cost_profit, binary_cross_entropy"),
        ("spiral3", "cost_profit", "mse, cross_entropy, softmax_cross_entropy"),
        ("circle", "quadratic", None),
    ],
)
def test_a_loss_that_does_not_fit_the_data_is_refused(data, loss, allowed):
    setup = protocol.parse_setup({"data": {"name": data}, "lanes": [{"loss": loss}]})
    with pytest.raises(ProtocolError) as err:
        protocol.lane_configs(setup)
    if allowed:
        assert f"choose one of {allowed}" in str(err.value)
    else:
        assert "is not a playground loss" in str(err.value)


def test_only_number_changes_keep_training_going():
    base = dict(protocol.LANE_DEFAULTS)
    for numbers in ({"learning_rate": 0.3}, {"reg_scale": 0.1}, {"ema_decay": 0.9}, {"cost": 3.0}):
        assert protocol.retunable(base, {**base, **numbers}), numbers
    for structure in ({"optimizer": "sgd"}, {"hidden": [4]}, {"ema": True}, {"batch_size": 10}):
        assert not protocol.retunable(base, {**base, **structure}), structure


def test_every_retunable_setting_leaves_the_compiled_program_alone():
    """The page's RETUNABLE settings are numbers of the engine: a changed value gives the same
    Structure (so Training.retune accepts it), and a changed value of any other setting that
    the engine compiles in gives another one."""
    from nnopt.engine.setup import build_dataset, initial_params
    from nnopt.engine.structure import make_structure

    def structure_of(lane):
        config = protocol.lane_configs(protocol.parse_setup({"lanes": [lane]}))[0]
        from nnopt.config import resolve

        config = resolve(config)
        return make_structure(config, build_dataset(config), initial_params(config))

    base = dict(protocol.LANE_DEFAULTS, loss="cost_profit", regularizer="l2", ema=True,
                schedule="exponential_decay")  # fmt: skip
    reference = structure_of(base)
    for key in protocol.RETUNABLE:
        value = base[key]
        other = value * 2 if key != "ema_decay" else 0.5
        assert structure_of({**base, key: other}) == reference, key


def test_choices_come_from_the_registries():
    c = protocol.choices()
    assert [o["name"] for o in c["optimizers"]] == list(OPTIMIZERS)
    assert {x["name"] for x in c["losses"]} == set(LOSSES) - {"quadratic"}
    assert "none" not in [d["name"] for d in c["datasets"]]
    assert c["speeds"] == list(protocol.SPEEDS)


# ---------------------------------------------------------------- export and import


def test_export_is_a_config_nnopt_run_reads_and_imports_back():
    setup = protocol.parse_setup(
        {
            "data": {"name": "xor", "noise": 0.2},
            "lanes": [{"hidden": [4, 2], "optimizer": "momentum", "regularizer": "l2"}],
        }
    )
    (config,) = protocol.lane_configs(setup)
    text = protocol.export_toml(config, step=1234)
    exported = config_from_dict(tomllib.loads(text), "export")
    assert exported.train.steps == 1234 and exported.model.layers == (2, 4, 2, 1)
    settings = protocol.settings_from_toml(text)
    assert settings["data"] == setup.data and settings["lane"] == setup.lanes[0]


def test_a_lecture_preset_imports():
    settings = protocol.settings_from_toml(preset_text("circle-l2"))
    lane = settings["lane"]
    assert (lane["optimizer"], lane["learning_rate"], lane["regularizer"], lane["reg_scale"]) == (
        "adam",
        0.0001,
        "l2",
        0.01,
    )
    assert lane["hidden"] == [11] and settings["data"]["test_fraction"] == 0.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[data\nname =", "import: not valid TOML"),
        (preset_text("gd-rate-0.2"), "is not a playground setup"),
        ("[model]\ninit_stddev = 0.5\n", "model.init_stddev = 0.5 has no playground control"),
        (
            '[optimizer]\nname = "momentum"\nmomentum = 0.5\n',
            "optimizer.momentum = 0.5 has no playground control",
        ),
        ("[train]\nbatch_size = 0\n", "train.batch_size = 0 is out of range"),
        ("[model]\nlayers = [2, 4, 4, 4, 4, 4, 4, 4, 1]\n", "hidden has 7 layers"),
    ],
)
def test_imports_that_the_playground_cannot_show_are_refused(text, expected):
    with pytest.raises(NnoptError, match=expected):
        protocol.settings_from_toml(text)


def test_params_json_is_the_init_format():
    from nnopt.outputs.serialize import jsonable

    out = jsonable({"w1": np.ones((2, 3), np.float32), "b1": np.zeros(3, np.float32)})
    assert out == {"w1": [[1.0] * 3, [1.0] * 3], "b1": [0.0, 0.0, 0.0]}
    json.dumps(out)


# ---------------------------------------------------------------- CSV points


def test_csv_points_with_or_without_a_header():
    x, y = protocol.parse_points_csv(b"x0,x1,label\n0,0,0\n1,1,1\n2,0.5,1\n-1,-2,0\n")
    assert x.shape == (4, 2) and x.dtype == np.float32 and y[:, 0].tolist() == [0, 1, 1, 0]
    x, y = protocol.parse_points_csv("\ufeff1,2,0\n3,4,1\n\n5,6,1\n7,8,0\n".encode())
    assert x[0].tolist() == [1, 2] and len(y) == 4


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"a,b,c\n1,2,0\n", "the header must be x0,x1,label, not 'a,b,c'"),
        (b"1,2\n3,4,1\n5,6,0\n7,8,1\n", "line 1 has 2 fields; each row is x0,x1,label"),
        (b"1,2,0\n3,x,1\n5,6,0\n7,8,1\n", "line 2: x1 = 'x' is not a number"),
        (b"1,2,0\n3,4,2\n5,6,0\n7,8,1\n", "line 2: label = 2 must be 0 or 1"),
        (b"1,2,0\n3,nan,1\n5,6,0\n7,8,1\n", "line 2: x1 = 'nan' is not a number"),
        (b"1,2,0\n3,4,1\n", "2 rows of points; expected 4 to"),
        (b"1,2,1\n3,4,1\n5,6,1\n7,8,1\n", "every point has the same label"),
        (b"\xff\xfe1,2,0", "not UTF-8 text"),
        (b"1,2,0\n" * (LIMITS.points + 1), f"expected 4 to {LIMITS.points}"),
        (b"0" * (LIMITS.upload_bytes + 1), f"at most {LIMITS.upload_bytes}"),
    ],
)
def test_bad_csv_points_name_the_line(body, expected):
    with pytest.raises(ProtocolError, match=expected):
        protocol.parse_points_csv(body)


def test_json_beyond_the_parsers_limits_is_a_protocol_error():
    # json.loads raises ValueError (over 4300 digits) or RecursionError (deep nesting) here,
    # not JSONDecodeError: parse_message answers both as bad messages.
    for text in ('{"type": "step", "chunks": ' + "9" * 5000 + "}", "[" * 30000 + "]" * 30000):
        with pytest.raises(protocol.ProtocolError, match="not JSON the server can read"):
            protocol.parse_message(text)


@pytest.mark.parametrize("kind", [[], {}, 5, None, True])
def test_a_type_that_is_not_a_name_is_a_plain_error(kind):
    with pytest.raises(ProtocolError, match="message type .* is unknown"):
        protocol.parse_message(json.dumps({"type": kind}))
