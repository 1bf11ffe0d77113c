"""Who may use the playground: the ``Host`` a request names and, off loopback, a token.

A page from another site can point its own name at this machine (DNS rebinding) and then
reach the server as if it were its own origin: the browser sends ``Host: evil.example``
and a matching ``Origin``. So every request (pages, uploads and websockets) must name one of
the server's own hosts, as Jupyter checks: 127.0.0.1, localhost, ::1 and the ``--host`` it
listens on, with any port. A server listening on all interfaces (0.0.0.0, ::) is reached by
names it cannot know, so it takes any ``Host``, but like every server on a non-loopback
address it asks for the random token it printed at start, in the address (``?token=...``)
once and in a cookie after that; a rebinding page can know neither.

:class:`Guard` is a plain ASGI middleware: it answers 403 before any route runs.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})
TOKEN_PARAM = "token"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address) is this machine only."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a ``Host`` header, lower case, without its port or an IPv6 address's
    brackets: ``[::1]:8000`` -> ``::1``, ``LocalHost.:80`` -> ``localhost``."""
    header = header.strip().lower()
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
        return name if rest == "" or (rest[:1] == ":" and rest[1:].isdigit()) else header
    name, colon, port = header.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        header = name
    return header.rstrip(".")


@dataclass(frozen=True)
class Access:
    """The hosts a request may name (None: any) and the token it must carry (None: none)."""

    hosts: frozenset[str] | None
    token: str | None

    @classmethod
    def for_host(cls, listen: str, token: str | None = None) -> Access:
        """The access of a server listening on ``listen``: loopback needs no token; any other
        address needs ``token`` (a fresh random one if not given)."""
        listen = listen.lower().strip("[]")
        hosts = None if listen in WILDCARDS else LOOPBACK_NAMES | {host_name(listen)}
        if is_loopback(listen):
            return cls(hosts, None)
        return cls(hosts, token or secrets.token_urlsafe(24))

    def host_allowed(self, header: str | None) -> bool:
        return self.hosts is None or (header is not None and host_name(header) in self.hosts)

    def cookie_name(self, port: int | None) -> str:
        """Cookies are shared between the ports of one host: the name holds the port."""
        return f"nnopt-token-{port or 0}"


class Guard:
    """ASGI middleware: 403 for a foreign ``Host`` or a missing token, before any route.

    A page loaded with the right ``?token=`` gets it as a cookie (HttpOnly, SameSite=Strict),
    so the page's own requests and websocket carry it without the page knowing it.
    """

    def __init__(self, app, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host")
        if not self.access.host_allowed(host):
            names = ", ".join(sorted(self.access.hosts or ()))
            shown = "no Host" if host is None else f"Host {host[:60]!r}"
            reason = f"{shown} is not this server's name; open it as one of {names}"
            return await self._refuse(scope, receive, send, reason)
        if self.access.token is None:
            return await self.app(scope, receive, send)
        port = (scope.get("server") or (None, None))[1]
        cookie_name = self.access.cookie_name(port)
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(TOKEN_PARAM, [])
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            cookie = SimpleCookie()
        from_cookie = cookie[cookie_name].value if cookie_name in cookie else ""
        if any(_same(t, self.access.token) for t in given):
            if scope["type"] == "http":
                send = _with_cookie(send, cookie_name, self.access.token)
            return await self.app(scope, receive, send)
        if _same(from_cookie, self.access.token):
            return await self.app(scope, receive, send)
        reason = (
            "this playground needs its token: open the address nnopt serve printed "
            "(it ends in ?token=...)"
        )
        return await self._refuse(scope, receive, send, reason)

    @staticmethod
    async def _refuse(scope, receive, send, reason: str) -> None:
        response = PlainTextResponse(reason + "\n", status_code=403)
        if scope["type"] == "http":
            return await response(scope, receive, send)
        ws = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            return await ws.send_denial_response(response)
        await ws.close(code=1008, reason=reason[:120])  # before accept: a 403 handshake


def _same(given: str, token: str) -> bool:
    return secrets.compare_digest(given.encode("utf-8", "replace"), token.encode())


def _with_cookie(send, name: str, token: str):
    """``send`` that adds the token's cookie to the response's headers."""
    value = f"{name}={token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

    async def sending(message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", value)]}
        await send(message)

    return sending
