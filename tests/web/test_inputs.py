"""The playground's feature inputs: the setup, the network's width, the plane the model
sees, and Export reproducing the page's weights with ``nnopt run``."""

from __future__ import annotations

import base64
import json
import tomllib

import numpy as np
import pytest
from starlette.testclient import TestClient

from nnopt.cli.main import main
from nnopt.core.features import FEATURES
from nnopt.web import protocol
from nnopt.web.protocol import CHUNK, ProtocolError
from nnopt.web.server import create_app
from tests.web.test_server import LOCAL, error_of, receive, session, snapshot_at

SQUARES = ["x0_squared", "x1_squared", "x0_x1"]


@pytest.fixture
def client():
    with TestClient(create_app(workers=2), base_url=LOCAL) as c:
        yield c


def test_inputs_set_the_first_layer_and_plain_inputs_are_the_default_config():
    setup = protocol.parse_setup({"data": {"inputs": SQUARES}, "lanes": [{"hidden": [3]}]})
    raw = protocol.lane_config_dict(setup.data, setup.lanes[0])
    assert raw["data"]["inputs"] == SQUARES and raw["model"]["layers"] == [3, 3, 1]
    plain = protocol.parse_setup({})
    raw = protocol.lane_config_dict(plain.data, plain.lanes[0])
    assert "inputs" not in raw["data"] and raw["model"]["layers"] == [2, 11, 1]
    names = [i["name"] for i in protocol.choices()["inputs"]]
    assert names == list(FEATURES)


@pytest.mark.parametrize(
    "inputs, message",
    [
        ([], "data.inputs = [] must be a list of 1 to 7 inputs from x0, x1, x0_squared"),
        ("x0", "data.inputs = 'x0' must be a list of 1 to 7 inputs"),
        ([1], "data.inputs = [1] must be a list of 1 to 7 inputs"),
    ],
)
def test_bad_inputs_are_refused(inputs, message):
    with pytest.raises(ProtocolError) as err:
        protocol.parse_setup({"data": {"inputs": inputs}})
    assert str(err.value).startswith(message)


def test_import_gives_the_inputs_back():
    text = '[data]\nname = "circle"\ninputs = ["x0_squared", "x1_squared"]\n[model]\nlayers = [2, 4, 1]\n'
    assert protocol.settings_from_toml(text)["data"]["inputs"] == ["x0_squared", "x1_squared"]
    text = '[data]\nname = "circle"\ninputs = ["x0", "x1"]\n'
    assert protocol.settings_from_toml(text)["data"]["inputs"] == ["x0", "x1"]


@pytest.mark.slow  # trains and compiles new shapes end to end
def test_the_heatmap_is_the_model_on_the_planes_inputs_and_export_reproduces_it(
    client, tmp_path, capsys
):
    lanes = [{"hidden": [3], "optimizer": "sgd", "learning_rate": 0.1}]
    with session(client, data={"inputs": SQUARES}, lanes=lanes) as (ws, _, ready, snap):
        assert ready["lanes"][0]["layers"] == [3, 3, 1]
        images = ready["data"]["input_images"]
        assert sorted(images) == sorted(FEATURES)
        # x0²'s image: the largest magnitude is at the plane's left or right edge, 0 in the middle
        square = np.frombuffer(base64.b64decode(images["x0_squared"]), np.uint8).reshape(32, 32)
        assert square[:, 0].min() == 255 or square[:, -1].min() == 255
        assert [len(layer) for layer in snap["network"]["neurons"]] == [3, 1]
        ws.send_json({"type": "step", "chunks": 2})
        snapshot_at(ws, 2 * CHUNK)
        ws.send_json({"type": "export"})
        export = receive(ws, "export")
        raw = tomllib.loads(export["toml"])
        assert raw["data"]["inputs"] == SQUARES and raw["model"]["layers"] == [3, 3, 1]
        (tmp_path / "playground.toml").write_text(export["toml"])
        argv = ["run", str(tmp_path / "playground.toml"), "--out", str(tmp_path / "run")]
        assert main([*argv, "--json", "--quiet", "--no-figures"]) == 0
        ran = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert ran["steps"] == 2 * CHUNK
        for name, value in export["weights"].items():
            np.testing.assert_allclose(ran["params"][name], value, rtol=1e-5, atol=1e-7)
        reply = error_of(ws, {"type": "setup", "data": {"inputs": ["x0", "cube"]}})
        assert "'cube' is unknown; choose from x0, x1, x0_squared" in reply["message"]


# ---------------------------------------------------------------- lecture mode


def test_lecture_mode_serves_each_experiment_with_its_passage_and_settings(client):
    experiments = client.get("/api/lecture").json()["experiments"]
    by_name = {e["preset"]: e for e in experiments}
    assert set(by_name) >= {"yogurt-mse", "circle-l2", "circle-modular", "gd-rate-1"}
    yogurt = by_name["yogurt-mse"]
    assert (
        yogurt["settings"]["lane"]["bias"] is False and yogurt["settings"]["lane"]["hidden"] == []
    )
    assert yogurt["settings"]["data"]["name"] == "yogurt" and yogurt["why"] is None
    modular = by_name["circle-modular"]["settings"]["lane"]
    assert modular["ema_order"] == "before_update" and modular["regularizer"] == "l2"
    scalar = by_name["gd-rate-1"]
    assert scalar["settings"] is None and "not a playground setup" in scalar["why"]
    assert scalar["command"] == "nnopt run gd-rate-1"
    for e in experiments:
        assert e["passages"] and all(p["zh"] and p["en"] for p in e["passages"])
        assert e["watch"]["zh"] and e["watch"]["en"]


# ---------------------------------------------------------------- raw and EMA side by side


@pytest.mark.slow  # trains and compiles new shapes end to end
def test_both_weights_send_the_raw_and_the_ema_heatmap(client):
    lanes = [{"ema": True, "ema_decay": 0.9}, {"ema": False}]
    with session(client, data={}, lanes=lanes) as (ws, *_):
        ws.send_json({"type": "step", "chunks": 1})
        snapshot_at(ws, CHUNK)
        shown = {}
        for which in ("raw", "ema", "both"):
            ws.send_json({"type": "view", "weights": which})
            receive(ws, "status")
            shown[which] = receive(ws, "snapshot")["lanes"]
        with_ema, without = shown["both"]
        assert with_ema["weights"] == "raw" and with_ema["heatmap"] == shown["raw"][0]["heatmap"]
        assert with_ema["heatmap_ema"] == shown["ema"][0]["heatmap"] != with_ema["heatmap"]
        assert "heatmap_ema" not in without and "heatmap_ema" not in shown["ema"][0]


# ---------------------------------------------------------------- the loss landscape


@pytest.mark.slow  # trains and compiles new shapes end to end
def test_a_two_number_model_gets_its_landscape_and_each_lane_its_point(client):
    yogurt = protocol.lecture_experiments()[0]["settings"]
    lanes = [yogurt["lane"], {**yogurt["lane"], "optimizer": "adam", "learning_rate": 0.05}]
    with session(client, data=yogurt["data"], lanes=lanes) as (ws, _, ready, snap):
        land = ready["landscape"]
        assert land["names"] == ["w1[0,0]", "w1[1,0]"] and len(land["a"]) == 41
        assert len(land["total"]) == 41 and all(len(row) == 41 for row in land["total"])
        start = snap["lanes"][0]["point"]
        assert land["a"][20] == pytest.approx(start[0], abs=1e-6)  # centred on the start
        assert land["b"][20] == pytest.approx(start[1], abs=1e-6)
        ws.send_json({"type": "step", "chunks": 2})
        snap = snapshot_at(ws, 2 * CHUNK)
        ws.send_json({"type": "export"})
        weights = receive(ws, "export")["weights"]
        assert snap["lanes"][0]["point"] == [weights["w1"][0][0], weights["w1"][1][0]]
        assert snap["lanes"][1]["point"] != snap["lanes"][0]["point"]
    with session(client, data={}) as (ws, _, ready, snap):  # 45 numbers: no landscape
        assert "landscape" not in ready and "point" not in snap["lanes"][0]
