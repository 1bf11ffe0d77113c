"""Editing one weight or bias from the page (the network view's hover card): the checked
``edit`` message, where the number lands in the flat vector, and that training and Export
go on from it."""

from __future__ import annotations

import numpy as np
import pytest
from starlette.testclient import TestClient

from nnopt.engine.structure import flat_position, flatten, unflatten
from nnopt.engine.training import Training
from nnopt.web.protocol import CHUNK, LIMITS, ProtocolError, edit_of, lane_configs, parse_setup
from nnopt.web.server import create_app
from tests.web.test_server import LOCAL, error_of, receive, session, snapshot_at

SHAPES = {"b1": (11,), "b2": (1,), "w1": (2, 11), "w2": (11, 1)}


@pytest.fixture
def client():
    with TestClient(create_app(workers=2), base_url=LOCAL) as c:
        yield c


def test_an_edit_names_a_parameter_an_index_and_a_number():
    message = {"type": "edit", "lane": 0, "name": "w1", "index": [1, 10], "value": 0.25}
    assert edit_of(message, 1, SHAPES) == (0, "w1", (1, 10), 0.25)
    assert edit_of({**message, "name": "b2", "index": [0], "value": -3}, 1, SHAPES)[3] == -3.0
    bad = [
        ({"name": "w3"}, "edit.name = 'w3' is not a parameter of this network; choose one of b1"),
        ({"index": [2, 0]}, r"edit.index\[0\] of w1 = 2 must be an integer from 0 to 1"),
        ({"index": [0]}, r"edit.index = \[0\] must list 2 integer\(s\) for w1 of shape \[2, 11\]"),
        ({"value": "1"}, "edit.value = '1' must be a number from -1000 to 1000"),
        ({"value": LIMITS.edit_magnitude + 1}, "edit.value = 1001 must be a number"),
        ({"value": True}, "edit.value = true must be a number"),
        ({"lane": 1}, "edit.lane = 1 must be an integer from 0 to 0"),
    ]
    for change, expected in bad:
        with pytest.raises(ProtocolError, match=expected):
            edit_of({**message, **change}, 1, SHAPES)


def test_flat_position_is_where_flatten_puts_the_number():
    structure = Training(lane_configs(parse_setup({}))[0]).structure  # the default 2-11-1
    assert dict(structure.param_shapes) == SHAPES
    params = {
        n: np.arange(np.prod(s), dtype=np.float32).reshape(s) + 100 * k
        for k, (n, s) in enumerate(sorted(SHAPES.items()))
    }
    flat = flatten(params, structure)
    # sorted order b1 (11), b2 (1), w1 (22), w2 (11): w1[1, 10] is 11 + 1 + 1*11 + 10 = 33
    assert flat_position(structure, "w1", (1, 10)) == 33
    assert flat[33] == params["w1"][1, 10]
    flat[flat_position(structure, "w2", (4, 0))] = -7.0
    assert unflatten(flat, structure)["w2"][4, 0] == -7.0


def test_an_edited_weight_trains_on_and_exports(client):
    with session(client, data={}) as (ws, _, _, snap):
        ws.send_json({"type": "step", "chunks": 1})
        before = snapshot_at(ws, CHUNK)["network"]["weights"]
        ws.send_json({"type": "edit", "lane": 0, "name": "w2", "index": [3, 0], "value": 2.5})
        edited = receive(ws, "snapshot")["network"]["weights"]
        assert edited["w2"][3] == [2.5]
        assert edited["w1"] == before["w1"] and edited["b2"] == before["b2"]  # nothing else
        ws.send_json({"type": "export"})
        exported = receive(ws, "export")["weights"]
        assert exported["w2"][3][0] == 2.5 and exported["w1"][0][0] == pytest.approx(
            before["w1"][0][0], abs=1e-4
        )
        ws.send_json({"type": "step", "chunks": 1})
        trained = snapshot_at(ws, 2 * CHUNK)["network"]["weights"]
        assert trained["w2"][3][0] != 2.5 and abs(trained["w2"][3][0] - 2.5) < 0.5  # from 2.5 on
        reply = error_of(
            ws, {"type": "edit", "lane": 0, "name": "w2", "index": [11, 0], "value": 1}
        )
        assert reply["message"] == "edit.index[0] of w2 = 11 must be an integer from 0 to 10"
        ws.send_json({"type": "step", "chunks": 1})
        assert snapshot_at(ws, 3 * CHUNK)["step"] == 3 * CHUNK  # the session lives on
