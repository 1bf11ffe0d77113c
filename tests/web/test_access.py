"""Who may use the playground: the Host a request names and, off loopback, the token.

DNS rebinding: a page of evil.example whose name now points at this machine reaches the
server with ``Host: evil.example`` and a matching ``Origin``. Each test drives the real app
(TestClient) and checks the answer before any route runs: pages, uploads and websockets.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from nnopt.web.access import LOOPBACK_NAMES, Access, host_name
from nnopt.web.server import bind_socket, create_app, url_of

EVIL = "http://evil.example"
LAB_WS = "ws://lab.school:8000/ws"


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8000", "127.0.0.1"),
        ("LocalHost", "localhost"),
        ("localhost.:80", "localhost"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("evil.example:8000", "evil.example"),
        ("evil.example:80x", "evil.example:80x"),
    ],
)
def test_host_name_drops_the_port_and_brackets(header, name):
    assert host_name(header) == name


def test_loopback_needs_no_token_and_other_hosts_do():
    assert Access.for_host("127.0.0.1") == Access(LOOPBACK_NAMES, None)
    assert Access.for_host("::1").token is None and Access.for_host("localhost").token is None
    lan = Access.for_host("192.168.1.5")
    assert lan.hosts == LOOPBACK_NAMES | {"192.168.1.5"} and len(lan.token) >= 32
    assert lan.token != Access.for_host("192.168.1.5").token  # random at each start
    anywhere = Access.for_host("0.0.0.0", token="t")
    assert anywhere == Access(None, "t")  # reached by any name: the token guards it


def test_a_foreign_host_gets_403_for_pages_uploads_and_websockets():
    with TestClient(create_app(workers=1), base_url=EVIL) as client:
        for method, path in [("GET", "/"), ("GET", "/api/choices"), ("GET", "/static/style.css"),
                             ("POST", "/api/upload/x"), ("GET", "/no-such-route")]:  # fmt: skip
            reply = client.request(method, path, headers={"origin": EVIL})
            assert reply.status_code == 403, (method, path)
            assert reply.text.startswith("Host 'evil.example' is not this server's name")
        with pytest.raises(WebSocketDenialResponse) as refused:
            with client.websocket_connect("ws://evil.example/ws", headers={"origin": EVIL}):
                pass
        assert refused.value.status_code == 403
        assert client.app.state.sessions.slots == {}


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "http://localhost", "http://[::1]:9"])
def test_the_servers_own_names_are_served(base):
    with TestClient(create_app(workers=1), base_url=base) as client:
        assert client.get("/").status_code == 200
        with client.websocket_connect(base.replace("http", "ws") + "/ws") as ws:
            assert ws.receive_json()["type"] == "hello"


def test_off_loopback_the_token_is_needed_once_then_a_cookie_carries_it():
    access = Access.for_host("0.0.0.0", token="s3cret-token")
    with TestClient(create_app(workers=1, access=access), base_url="http://lab.school:8000") as c:
        refused = c.get("/")
        assert refused.status_code == 403 and "needs its token" in refused.text
        assert c.get("/?token=wrong").status_code == 403
        with pytest.raises(WebSocketDenialResponse):
            with c.websocket_connect(LAB_WS):
                pass
        page = c.get("/?token=s3cret-token")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("nnopt-token-8000=s3cret-token;")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        # The page's own requests carry the cookie (the client keeps it like a browser).
        assert c.get("/api/choices").status_code == 200
        with c.websocket_connect(LAB_WS) as ws:
            assert ws.receive_json()["type"] == "hello"
        c.cookies.clear()
        assert c.get("/api/choices").status_code == 403


def test_a_foreign_origin_is_still_refused_on_the_servers_own_host():
    with TestClient(create_app(workers=1), base_url="http://127.0.0.1") as client:
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("ws://127.0.0.1/ws", headers={"origin": EVIL}) as ws:
                ws.receive_json()


def test_the_printed_address_carries_the_token_off_loopback():
    sock = bind_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert url_of(sock, Access.for_host("127.0.0.1")) == f"http://127.0.0.1:{port}/"
        lab = Access.for_host("0.0.0.0", token="abc")
        assert url_of(sock, lab) == f"http://127.0.0.1:{port}/?token=abc"
    finally:
        sock.close()
