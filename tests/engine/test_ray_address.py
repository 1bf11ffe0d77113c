"""A Ray address is checked before Ray is imported and before a sweep folder exists: parsed
(IPv6 in brackets), connected to, and asked to answer as a gRPC server does, all within a
bound. The fake servers are real sockets on loopback."""

from __future__ import annotations

import socket
import threading

import pytest

from nnopt.engine.sweep.ray_backend import check_reachable, parse_address
from nnopt.errors import NnoptError
from tests.support.cli import run_cli


@pytest.mark.parametrize(
    "address, parsed",
    [
        ("127.0.0.1:6379", ("127.0.0.1", 6379)),
        ("[::1]:6379", ("::1", 6379)),
        ("ray://[::1]:10001", ("::1", 10001)),
        ("ray://head.example:10001", ("head.example", 10001)),
    ],
)
def test_addresses_parse_ipv6_in_brackets(address, parsed):
    assert parse_address(address) == parsed


@pytest.mark.parametrize(
    "address, says",
    [
        ("::1:6379", "write an IPv6 address in brackets, e.g. [::1]:6379"),
        ("localhost", "expected host:port (port 1 to 65535)"),
        ("localhost:0", "expected host:port (port 1 to 65535)"),
        ("localhost:70000", "expected host:port (port 1 to 65535)"),
        (":6379", "expected host:port (port 1 to 65535)"),
    ],
)
def test_malformed_addresses_are_one_line(address, says):
    with pytest.raises(NnoptError) as err:
        parse_address(address)
    assert str(err.value) == f"ray address = {address!r}: " + says + (
        ", e.g. 127.0.0.1:6379 or [::1]:6379" if says.startswith("expected") else ""
    )


class FakeServer:
    """Accepts connections on loopback and answers each with ``reply`` (None: says nothing and
    keeps the connection open, as a service waiting for its own protocol does)."""

    def __init__(self, reply: bytes | None, family=socket.AF_INET, host="127.0.0.1"):
        self.sock = socket.socket(family)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reply, self.open = reply, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(conn)
            if self.reply is not None:
                conn.sendall(self.reply)

    def close(self):
        for conn in self.open:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize(
    "reply", [None, b"+OK redis-like\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n"]
)
def test_a_port_that_accepts_but_is_not_ray_is_refused(reply):
    server = FakeServer(reply)
    try:
        with pytest.raises(NnoptError) as err:
            check_reachable(f"127.0.0.1:{server.port}", timeout=0.5)
    finally:
        server.close()
    assert str(err.value) == (
        f"ray address = 127.0.0.1:{server.port}: something listens there, but it is not a Ray "
        "cluster (no gRPC answer within 0.5 s); start one with `ray start --head`, or give no "
        "address to start a local one"
    )


def test_a_grpc_like_answer_over_ipv6_passes():
    """An HTTP/2 server's first frame is SETTINGS: length 0, type 4, flags 0, stream 0."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = FakeServer(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]), socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        check_reachable(f"[::1]:{server.port}", timeout=5)
    finally:
        server.close()


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.mark.parametrize(
    "kind, says",
    [
        ("refused", "no Ray cluster answers there (Connection refused)"),
        ("malformed", "write an IPv6 address in brackets"),
        # the CLI's probe waits its full 3 s for an answer
        pytest.param("not ray", "something listens there, but it is not a Ray cluster",
                     marks=pytest.mark.slow),
    ],
)  # fmt: skip
def test_a_bad_address_leaves_no_sweep_folder(capsys, in_tmp, kind, says):
    server = FakeServer(None) if kind == "not ray" else None
    address = {"refused": f"127.0.0.1:{_refused_port()}", "malformed": "::1:6379",
               "not ray": f"127.0.0.1:{server.port if server else 0}"}[kind]  # fmt: skip
    try:
        code, out, err = run_cli(capsys, "sweep", "gd-rate-0.2", "--grid",
                                 "optimizer.learning_rate=0.1,0.2", "--backend", "ray",
                                 "--address", address, "--out", "sw")  # fmt: skip
    finally:
        if server:
            server.close()
    shown = repr(address) if kind == "malformed" else address
    assert code == 2 and err.startswith(f"nnopt: error: --address {shown}: {says}")
    assert len(err.splitlines()) == 1 and list(in_tmp.iterdir()) == []
