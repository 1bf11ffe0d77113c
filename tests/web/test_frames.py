"""The frame credit: a page that acknowledges each drawn snapshot ('{"type":"drawn"}') is
sent at most two it has not drawn, and training goes on meanwhile; a client that never
acknowledges is sent every frame."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from nnopt.web.server import DRAWN, FRAME_CREDIT


def next_of(ws, kind: str, timeout: float = 120) -> dict:
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] == "error":
            raise AssertionError(message["message"])
        if message["type"] == kind:
            return message


@pytest.mark.slow  # waits 1.5 s to see that nothing comes
def test_unacknowledged_snapshots_pause_the_stream_not_the_training(server):
    with connect(server.url.replace("http", "ws") + "ws") as ws:
        next_of(ws, "hello")
        ws.send(json.dumps({"type": "setup", "data": {}}))
        next_of(ws, "ready")
        next_of(ws, "snapshot")
        ws.send(DRAWN)  # from now on this client acknowledges: a credit of FRAME_CREDIT
        ws.send(json.dumps({"type": "speed", "value": "max"}))
        ws.send(json.dumps({"type": "play"}))
        frames = [next_of(ws, "snapshot") for _ in range(FRAME_CREDIT)]
        assert frames[-1]["step"] > frames[0]["step"] >= 0
        with pytest.raises(TimeoutError):  # nothing drawn: nothing more is sent
            next_of(ws, "snapshot", timeout=1.5)
        ws.send(DRAWN)
        after = next_of(ws, "snapshot")
        assert after["step"] > frames[-1]["step"] and after["playing"]
        ws.send(json.dumps({"type": "drawn"}, indent=1))  # another spelling: accepted, no credit
        ws.send(json.dumps({"type": "pause"}))
        assert next_of(ws, "status")["playing"] is False


def test_one_step_per_frame_shows_every_update(server):
    with connect(server.url.replace("http", "ws") + "ws") as ws:
        next_of(ws, "hello")
        ws.send(
            json.dumps({"type": "setup", "data": {"name": "yogurt"}, "lanes": [{"batch_size": 22}]})
        )
        next_of(ws, "ready")
        next_of(ws, "snapshot")
        ws.send(json.dumps({"type": "speed", "value": "one_step_per_frame"}))
        ws.send(json.dumps({"type": "play"}))
        steps = [next_of(ws, "snapshot")["step"] for _ in range(6)]
        ws.send(json.dumps({"type": "pause"}))
        assert steps == list(range(steps[0], steps[0] + 6))  # one update, one snapshot
        assert steps[0] <= 1
