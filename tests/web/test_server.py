"""The playground server without a browser: messages, errors, uploads, sessions, limits.

Most tests drive the Starlette app in-process (TestClient); two start the real server on a
free loopback port. All use the default network where they can, so its program compiles once.
"""

from __future__ import annotations

import contextlib
import json
import time

import httpx2
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from nnopt.cli.main import main
from nnopt.web.protocol import CHUNK, LIMITS
from nnopt.web.server import ServerThread, Sessions, bind_socket, create_app

LOCAL = "http://127.0.0.1"  # the Host every request names (see nnopt.web.access)
WS = "ws://127.0.0.1/ws"  # TestClient joins a relative websocket path to ws://testserver

GOOD_CSV = b"x0,x1,label\n" + b"".join(
    f"{i % 7 - 3},{i % 5 - 2},{int((i % 7 - 3) * (i % 5 - 2) >= 0)}\n".encode() for i in range(60)
)


@pytest.fixture
def client():
    with TestClient(create_app(workers=2), base_url=LOCAL) as c:
        yield c


def receive(ws, kind: str, limit: int = 100) -> dict:
    """The next message of a type (an unexpected error fails the test)."""
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == kind:
            return message
        if message["type"] == "error":
            raise AssertionError(f"server error: {message['message']}")
    raise AssertionError(f"no {kind} message in {limit}")


@contextlib.contextmanager
def session(client, **setup):
    """A websocket after hello and (given a setup) the first ready and snapshot; yields
    (ws, hello, ready, snapshot)."""
    with client.websocket_connect(WS) as ws:
        hello = receive(ws, "hello")
        if not setup:
            yield ws, hello, None, None
            return
        ws.send_json({"type": "setup", **setup})
        ready = receive(ws, "ready")
        yield ws, hello, ready, receive(ws, "snapshot")


def snapshot_at(ws, step: int) -> dict:
    """The first snapshot whose lanes have all reached ``step`` (a Step request shows its
    progress in several frames when a program compiles)."""
    snap = receive(ws, "snapshot")
    while min(lane["step"] for lane in snap["lanes"]) < step:
        snap = receive(ws, "snapshot")
    return snap


def error_of(ws, message) -> dict:
    ws.send_text(message if isinstance(message, str) else json.dumps(message))
    reply = ws.receive_json()
    assert reply["type"] == "error", reply
    return reply


# ---------------------------------------------------------------- page and registries


def test_the_page_its_files_and_the_menus_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert '<script type="module" src="/static/js/main.js">' in page.text
    for name in ("js/main.js", "js/state.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "javascript" in client.get("/static/js/main.js").headers["content-type"]
    choices = client.get("/api/choices").json()
    assert "adam" in [o["name"] for o in choices["choices"]["optimizers"]]
    assert choices["limits"]["lanes"] == LIMITS.lanes and choices["chunk"] == CHUNK
    assert set(choices["previews"]) >= {"circle", "spiral", "yogurt"}


# ---------------------------------------------------------------- the session


def test_setup_step_and_snapshot(client):
    with session(client, data={}) as (ws, hello, ready, snap):
        assert hello["session"] and hello["defaults"]["lane"]["hidden"] == [11]
        assert ready["reset"] and ready["lanes"][0]["parameters"] == 45
        assert len(ready["data"]["train"]) == 210 and len(ready["data"]["test"]) == 90
        assert snap["step"] == 0 and snap["lanes"][0]["metrics"] == {}
        assert [len(layer) for layer in snap["network"]["neurons"]] == [11, 1]
        assert sorted(snap["network"]["weights"]) == ["b1", "b2", "w1", "w2"]
        ws.send_json({"type": "step", "chunks": 2})
        snap = snapshot_at(ws, 2 * CHUNK)
        metrics = snap["lanes"][0]["metrics"]
        assert snap["step"] == 2 * CHUNK and metrics["step"] == 2 * CHUNK
        assert (
            metrics["train_loss"] > 0
            and metrics["test_loss"] > 0
            and metrics["lr"] == pytest.approx(0.01)
        )
        (slot,) = client.app.state.sessions.slots.values()
        assert len(slot.session.race.racers[0].training.history.rows) == 1  # bounded memory


def test_bad_messages_get_one_line_errors_and_the_session_lives(client):
    with session(client) as (ws, *_):
        assert "not JSON" in error_of(ws, "{oops")["message"]
        assert "unknown; types are" in error_of(ws, {"type": "train"})["message"]
        assert "send a setup first" in error_of(ws, {"type": "play"})["message"]
        ws.send_bytes(b"\x00\x01")
        assert "binary messages" in ws.receive_json()["message"]
        reply = error_of(ws, {"type": "setup", "lanes": [{"hidden": [99]}]})
        assert reply["about"] == "setup" and "hidden layer size = 99" in reply["message"]
        ws.send_json({"type": "setup"})
        assert receive(ws, "ready")["reset"]


def test_infinite_and_huge_numbers_are_refused_and_the_session_lives(client):
    with session(client, data={}) as (ws, *_):
        for text in ['{"type": "setup", "lanes": [{"learning_rate": 1e39}]}',
                     '{"type": "setup", "data": {"noise": Infinity}}']:  # fmt: skip
            reply = error_of(ws, text)
            assert reply["about"] == "setup" and "is not a usable number" in reply["message"]
        ws.send_json({"type": "step"})
        snap = snapshot_at(ws, CHUNK)
        assert snap["lanes"][0]["metrics"]["lr"] == pytest.approx(0.01)  # the setup as it was


def test_a_bad_setup_changes_nothing_and_numbers_do_not_restart(client):
    with session(client, data={}) as (ws, *_):
        ws.send_json({"type": "step"})
        snapshot_at(ws, CHUNK)
        reply = error_of(ws, {"type": "setup", "lanes": [{"learning_rate": -1}]})
        assert "optimizer.learning_rate = -1.0 is out of range" in reply["message"]
        ws.send_json({"type": "setup", "lanes": [{"learning_rate": 0.05}]})  # a number: goes on
        assert not receive(ws, "ready")["reset"]
        assert receive(ws, "snapshot")["step"] == CHUNK
        ws.send_json({"type": "step"})
        snap = snapshot_at(ws, 2 * CHUNK)
        assert snap["lanes"][0]["metrics"]["lr"] == pytest.approx(0.05)
        ws.send_json({"type": "setup", "data": {"seed": 3}, "lanes": [{"learning_rate": 0.05}]})
        assert receive(ws, "ready")["reset"]  # new data: starts over
        assert receive(ws, "snapshot")["step"] == 0


def test_play_pause_speed_and_view(client):
    with session(client, lanes=[{"ema": True}]) as (ws, *_):
        ws.send_json({"type": "speed", "value": "max"})
        assert receive(ws, "status")["speed"] == "max"
        ws.send_json({"type": "view", "weights": "ema"})
        assert receive(ws, "status")["weights"] == "ema"
        assert receive(ws, "snapshot")["lanes"][0]["weights"] == "ema"
        ws.send_json({"type": "play"})
        assert receive(ws, "status")["playing"]
        snap = snapshot_at(ws, 4 * CHUNK)
        assert "ema_train_loss" in snap["lanes"][0]["metrics"]
        ws.send_json({"type": "pause"})
        assert not receive(ws, "status", limit=1000)["playing"]


def test_a_diverging_lane_is_shown_and_the_session_lives(client):
    with session(client, lanes=[{"optimizer": "sgd", "learning_rate": 1e5}]) as (ws, *_):
        ws.send_json({"type": "step", "chunks": 3})
        snap = receive(ws, "snapshot")
        assert "the loss became" in snap["lanes"][0]["error"] and not snap["playing"]
        assert "every lane has diverged" in error_of(ws, {"type": "play"})["message"]
        ws.send_json({"type": "setup", "lanes": [{"optimizer": "sgd", "learning_rate": 0.01}]})
        receive(ws, "ready")
        assert receive(ws, "snapshot")["lanes"][0]["error"] is None  # a lower rate trains on
        ws.send_json({"type": "step"})
        assert snapshot_at(ws, CHUNK)["step"] == CHUNK


def test_a_race_trains_every_lane(client):
    lanes = [{"optimizer": "sgd", "learning_rate": 0.1}, {"optimizer": "adam"}]
    with session(client, lanes=lanes, selected=1) as (ws, _, ready, snap):
        assert len(ready["lanes"]) == 2 and snap["network"]["lane"] == 1
        ws.send_json({"type": "step", "chunks": 1})
        snap = snapshot_at(ws, CHUNK)
        assert [lane["step"] for lane in snap["lanes"]] == [CHUNK, CHUNK]
        ws.send_json({"type": "view", "selected": 0})
        receive(ws, "status")
        assert receive(ws, "snapshot")["network"]["lane"] == 0


def test_export_runs_with_nnopt_run_and_imports_back(client, tmp_path, capsys):
    with session(client, data={}) as (ws, _, ready, _):
        ws.send_json({"type": "step"})
        snapshot_at(ws, CHUNK)
        ws.send_json({"type": "export"})
        export = receive(ws, "export")
        assert export["which"] == "raw" and sorted(export["weights"]) == ["b1", "b2", "w1", "w2"]
        (tmp_path / "playground.toml").write_text(export["toml"])
        (tmp_path / "weights.json").write_text(json.dumps(export["weights"]))
        run = ["run", str(tmp_path / "playground.toml"), "--init", str(tmp_path / "weights.json")]
        code = main([*run, "--out", str(tmp_path / "run"), "--quiet"])
        assert code == 0, capsys.readouterr().err
        ws.send_json({"type": "import", "toml": export["toml"]})
        settings = receive(ws, "imported")["settings"]
        assert settings["data"] == ready["setup"]["data"]
        assert settings["lane"] == ready["setup"]["lanes"][0]
        reply = error_of(ws, {"type": "import", "toml": "[model]\nname = 'scalar'\n"})
        assert reply["about"] == "import" and "import" in reply["message"]


# ---------------------------------------------------------------- uploads


def test_upload_good_and_bad_points(client):
    with session(client) as (ws, hello, *_):
        url = f"/api/upload/{hello['session']}"
        reply = client.post(url, content=GOOD_CSV)
        assert reply.status_code == 200 and reply.json()["points"] == 60
        data = {"name": "upload", "test_fraction": 0.25}
        ws.send_json({"type": "setup", "data": data, "lanes": [{"batch_size": 10}]})
        data = receive(ws, "ready")["data"]
        assert (len(data["train"]), len(data["test"])) == (45, 15)
        bad = client.post(url, content=b"x0,x1,label\n1,2,0\n3,4,7\n5,6,1\n7,8,0\n")
        assert bad.status_code == 400
        assert bad.json()["error"] == "upload: line 3: label = 7 must be 0 or 1"
        big = client.post(url, content=b"1,2,0\n" * (LIMITS.upload_bytes // 6 + 1))
        assert big.status_code == 413 and "larger than" in big.json()["error"]
        assert client.post("/api/upload/nobody", content=GOOD_CSV).status_code == 404


def test_upload_data_before_an_upload_is_an_error(client):
    with session(client) as (ws, *_):
        reply = error_of(ws, {"type": "setup", "data": {"name": "upload"}})
        assert "no CSV uploaded in this tab yet" in reply["message"]


# ---------------------------------------------------------------- sessions and limits


def test_a_closed_tab_frees_its_session(client):
    registry = client.app.state.sessions
    with session(client, data={}):
        assert len(registry.slots) == 1
    for _ in range(100):
        if not registry.slots:
            break
        time.sleep(0.02)
    assert not registry.slots


def test_sessions_are_capped():
    registry = Sessions(limit=2)
    first, second = registry.open(), registry.open()
    assert first.session.id != second.session.id and registry.open() is None
    registry.close(first.session.id)
    assert registry.open() is not None


def test_sessions_are_capped_per_address():
    registry = Sessions(limit=10, per_address=3)
    mine = [registry.open("10.0.0.7") for _ in range(3)]
    assert all(mine) and registry.open("10.0.0.7") is None
    assert registry.refusal("10.0.0.7") == (
        "at most 3 tabs from one address (10.0.0.7); close one and reload"
    )
    assert registry.open("10.0.0.8") is not None  # another address still gets in
    registry.close(mine[0].session.id)
    assert registry.open("10.0.0.7") is not None


def ws_from(server: ServerThread, source: str):
    """A websocket to the server from the loopback address ``source`` (127.0.0.0/8)."""
    import socket

    sock = socket.create_connection(server.sock.getsockname()[:2], 10, (source, 0))
    return connect(server.url.replace("http", "ws") + "ws", sock=sock, open_timeout=10)


def test_one_address_cannot_hold_every_session():
    per = LIMITS.sessions_per_address
    with ServerThread(workers=1) as server, contextlib.ExitStack() as held:
        for _ in range(per):
            ws = held.enter_context(ws_from(server, "127.0.0.1"))
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        for _ in range(3):  # every one past the cap: told why, then closed (1013: try later)
            with ws_from(server, "127.0.0.1") as refused:
                error = json.loads(refused.recv(timeout=30))
                with pytest.raises(ConnectionClosed) as closed:
                    refused.recv(timeout=30)
            why = f"at most {per} tabs from one address (127.0.0.1); close one and reload"
            assert error == {"type": "error", "about": None, "message": why}
            assert closed.value.rcvd.code == 1013 and closed.value.rcvd.reason == why
        with ws_from(server, "127.0.0.2") as other:  # a second address still gets in
            assert json.loads(other.recv(timeout=30))["type"] == "hello"
            health = httpx2.get(server.url + "api/health", timeout=30).json()
            assert health == {"sessions": per + 1}


def test_an_idle_tab_is_closed_and_told_why():
    with TestClient(create_app(workers=1, idle_seconds=0.3), base_url=LOCAL) as client:
        with client.websocket_connect(WS) as ws:
            assert ws.receive_json()["type"] == "hello"
            reply = ws.receive_json()  # nothing sent: closed after the idle time
            why = "closed after 0.3 s without use; reload the page to start again"
            assert reply == {"type": "error", "about": None, "message": why}
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4000 and closed.value.reason == why
        assert client.get("/api/health").json() == {"sessions": 0}


@pytest.mark.slow
def test_a_request_that_never_arrives_whole_is_cut_off():
    import socket

    with ServerThread(workers=1, request_seconds=0.5) as server, ws_from(server, "127.0.0.1") as ws:
        upload = f"/api/upload/{json.loads(ws.recv(timeout=30))['session']}"  # reads its body
        half_sent = [
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",  # headers never finished
            f"POST {upload} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
            "1,2,0\n".encode(),  # a body never finished
        ]
        for request in half_sent:
            with socket.create_connection(server.sock.getsockname()[:2], 30) as sock:
                sock.sendall(request)
                answer = b""
                while chunk := sock.recv(4096):  # until the server closes (30 s bound)
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
        # Whole requests on the same server are answered as ever, and the tab lives on.
        assert httpx2.get(server.url + "api/health", timeout=30).json() == {"sessions": 1}
        ws.send(json.dumps({"type": "speed", "value": "slow"}))
        assert json.loads(ws.recv(timeout=30))["type"] == "status"


def test_a_page_from_another_site_cannot_open_a_session(client):
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()


@pytest.mark.slow
def test_the_real_server_stays_responsive_while_tabs_train():
    with ServerThread() as server:
        url = server.url.replace("http", "ws") + "ws"
        with connect(url) as busy, connect(url) as other:
            for ws in (busy, other):
                json.loads(ws.recv(timeout=10))  # hello
            busy.send(json.dumps({"type": "setup"}))
            busy.send(json.dumps({"type": "speed", "value": "max"}))
            busy.send(json.dumps({"type": "play"}))
            step = 0
            while step < 10 * CHUNK:  # compiled and training flat out
                message = json.loads(busy.recv(timeout=60))
                step = message.get("step", step)
            # While one tab trains flat out, plain HTTP is answered and another tab gets its
            # setup trained (each within a generous bound; bench_playground.py times them).
            for _ in range(10):
                assert httpx2.get(server.url + "api/choices", timeout=60).status_code == 200
            other.send(json.dumps({"type": "setup"}))
            while json.loads(other.recv(timeout=120))["type"] != "snapshot":
                pass
            assert busy.recv(timeout=60)  # and the busy tab still streams


# ---------------------------------------------------------------- nnopt serve


def test_serve_rejects_a_bad_port(capsys):
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port 70000 is out of range: must be 0 to 65535" in capsys.readouterr().err


def test_serve_reports_a_port_in_use(capsys):
    taken = bind_socket("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        assert main(["serve", "--port", str(port)]) == 2
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "\n" == err[-1] and err.count("\n") == 1


def test_serve_help_names_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "--open" in out
