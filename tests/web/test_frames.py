"""How frames travel: JSON or binary frames (a page's choice), the frame credit (a page that
acknowledges each drawn snapshot with '{"type":"drawn"}' is sent at most FRAME_CREDIT more
until it draws again, and training goes on meanwhile; a client that never acknowledges is
sent every frame), and the one-step-per-frame speed."""

from __future__ import annotations

import base64
import json
import struct
import time

import pytest
from starlette.testclient import TestClient
from websockets.sync.client import connect

from nnopt.web import session as session_module
from nnopt.web.protocol import CHUNK, frames
from nnopt.web.server import DRAWN, FRAME_CREDIT, create_app
from tests.web.test_server import LOCAL, WS


def test_bytes_are_base64_in_json_and_raw_in_a_binary_frame():
    message = {"type": "snapshot", "h": b"\x01\x02", "n": [b"\x03"], "step": 5}
    assert frames.encode(message) == ('{"type": "snapshot", "h": "AQI=", "n": ["Aw=="], "step": 5}')
    header = b'{"type": "snapshot", "h": {"blob": [0, 2]}, "n": [{"blob": [2, 1]}], "step": 5}'
    frame = frames.encode(message, binary=True)
    assert frame == b"NNF1" + struct.pack("<I", len(header)) + header + b"\x01\x02\x03"
    assert frames.decode(frame) == message
    assert frames.encode({"type": "status"}, binary=True) == '{"type": "status"}'  # no bytes
    with pytest.raises(ValueError, match="no NNF1 magic"):
        frames.decode(b"JSON" + frame[4:])


def test_a_page_that_asks_for_binary_frames_gets_the_same_snapshot():
    setup = {"type": "setup", "data": {}}
    with TestClient(create_app(workers=2), base_url=LOCAL) as client:
        with client.websocket_connect(WS) as text_ws:
            text_ws.receive_json()  # hello
            text_ws.send_json(setup)
            assert text_ws.receive_json()["type"] == "ready"
            as_text = text_ws.receive_json()
        with client.websocket_connect(WS + "?frames=binary") as binary_ws:
            assert binary_ws.receive_json()["type"] == "hello"  # no bytes: still text
            binary_ws.send_json(setup)
            # ready holds the feature inputs' images (bytes): a binary frame too
            assert frames.decode(binary_ws.receive_bytes())["type"] == "ready"
            as_binary = frames.decode(binary_ws.receive_bytes())
    assert as_binary["type"] == "snapshot" and len(as_binary["lanes"][0]["heatmap"]) == 64 * 64
    assert (
        base64.b64encode(as_binary["lanes"][0]["heatmap"]).decode()
        == as_text["lanes"][0]["heatmap"]
    )
    thumbs = as_binary["network"]["neurons"]
    assert [len(layer) for layer in thumbs] == [11, 1] and len(thumbs[0][0]) == 32 * 32
    assert [[base64.b64encode(t).decode() for t in layer] for layer in thumbs] == as_text[
        "network"
    ]["neurons"]


def next_of(ws, kind: str, timeout: float = 120) -> dict:
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] == "error":
            raise AssertionError(message["message"])
        if message["type"] == kind:
            return message


def play_acknowledging(ws) -> None:
    """Sets up the default network and plays it at max speed, as a client that acknowledges
    what it draws (from its first "drawn" on, a credit of FRAME_CREDIT snapshots)."""
    next_of(ws, "hello")
    ws.send(json.dumps({"type": "setup", "data": {}}))
    next_of(ws, "ready")
    next_of(ws, "snapshot")
    ws.send(DRAWN)
    ws.send(json.dumps({"type": "speed", "value": "max"}))
    ws.send(json.dumps({"type": "play"}))


@pytest.mark.slow  # waits 1.5 s to see that nothing comes
def test_unacknowledged_snapshots_pause_the_stream_not_the_training(server):
    with connect(server.url.replace("http", "ws") + "ws") as ws:
        play_acknowledging(ws)
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


def test_frames_that_show_nothing_spend_no_credit(server, monkeypatch):
    """A costly snapshot (here: 20 ms, beside frames of 0.2 ms) is shown only every few
    frames; the frames between send nothing and must keep the credit, or after FRAME_CREDIT
    of them the stream stops for good while the page waits for a snapshot to acknowledge
    (seen on a busy machine, where a small network's snapshot took over half a frame)."""
    snapshot = session_module.Session.snapshot

    def costly_snapshot(self):
        time.sleep(0.02)
        return snapshot(self)

    monkeypatch.setattr(session_module.Session, "snapshot", costly_snapshot)
    monkeypatch.setattr(session_module, "FRAME_SECONDS", 0.0002)
    with connect(server.url.replace("http", "ws") + "ws") as ws:
        play_acknowledging(ws)
        steps = []
        for _ in range(3 * FRAME_CREDIT):
            steps.append(next_of(ws, "snapshot", timeout=60)["step"])
            ws.send(DRAWN)
        ws.send(json.dumps({"type": "pause"}))
    assert steps == sorted(steps) and steps[-1] > steps[0]


def test_a_pause_shows_the_frames_trained_unseen_and_a_step_goes_on_from_there(server):
    """Without credit the frames train on unshown; the pause's snapshot is where training
    stopped, so the page's step and a Step's first chunk agree with the server's."""
    with connect(server.url.replace("http", "ws") + "ws") as ws:
        play_acknowledging(ws)
        shown = [next_of(ws, "snapshot") for _ in range(FRAME_CREDIT)][-1]
        ws.send(json.dumps({"type": "pause"}))
        assert next_of(ws, "status")["playing"] is False
        paused = next_of(ws, "snapshot")
        assert paused["playing"] is False and paused["step"] >= shown["step"]
        assert paused["lanes"][0]["step"] == paused["step"]
        ws.send(DRAWN)
        ws.send(json.dumps({"type": "step"}))
        assert next_of(ws, "snapshot")["step"] == paused["step"] + CHUNK


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


def test_a_max_speed_frame_trains_for_what_its_snapshot_leaves_of_the_frame():
    """The budget formula max(F / 2, F - snapshot) with F = FRAME_SECONDS, on given numbers (no
    clock is read): a frame whose snapshot takes 3 ms trains 3 ms less; never less than half
    a frame."""
    f = session_module.FRAME_SECONDS
    assert session_module.training_seconds(0.0) == f  # before any snapshot
    assert session_module.training_seconds(0.003) == pytest.approx(f - 0.003)
    assert session_module.training_seconds(0.05) == pytest.approx(f / 2)
