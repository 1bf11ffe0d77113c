"""The playground's web server: the page, one websocket per tab, and the CSV upload.

A Starlette app on uvicorn, inside the nnopt process. Each tab's websocket owns one
:class:`~nnopt.web.session.Session`; closing the tab closes the socket and frees it.
Training never runs on the event loop: every message and every frame is handled on a
shared thread pool (JAX releases the GIL while it computes), one call at a time per
session, and each session asks for one frame at a time; frames are turns handed out by
:class:`Turns` (the waiting session that used the least training time goes next), so a
big race cannot starve a small network and the server stays responsive. Every request
first passes :class:`nnopt.web.access.Guard` (its Host, and off loopback its token); one
client address holds at most ``LIMITS.sessions_per_address`` sessions, an idle tab is
closed after IDLE_SECONDS, and a request must arrive whole within REQUEST_SECONDS. Routes:

- ``GET /``: the page; ``/static/*``: its script and style (shipped in the package);
- ``GET /api/choices``: the registries and limits the page builds its menus from;
- ``GET /api/lecture``: the lecture's experiments with their passages (lecture mode);
- ``GET /api/health``: ``{"sessions": n}``, the open sessions (read-only; load tests, probes);
- ``POST /api/upload/{session}``: a CSV of points ``x0,x1,label`` for that tab;
- ``WS /ws``: the session (messages in :mod:`nnopt.web.protocol`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from threadpoolctl import threadpool_limits

from nnopt.errors import NnoptError
from nnopt.web import protocol
from nnopt.web.access import Access, Guard
from nnopt.web.plane import dataset_previews
from nnopt.web.protocol import CHUNK, LIMITS, frames
from nnopt.web.session import Session

log = logging.getLogger("nnopt.web")

# Above this size the websocket itself closes; between the protocol's cap and this one
# the page gets a readable error instead.
WEBSOCKET_MAX_BYTES = 1024 * 1024

# A tab may send MESSAGE_BURST messages at once, then MESSAGE_RATE a second (a token
# bucket per session). The page sends a few per click and at most one setup per 120 ms of
# slider drag, far below this. Messages beyond it are dropped unread, the tab is told so
# at most once a second, and it keeps its session. Found by tests/test_web_load.py: one
# socket read can hold thousands of small messages, and the receive loop handled them all
# (an error line each) without yielding, so one flooding script froze every other tab.
MESSAGE_RATE = 20.0
MESSAGE_BURST = 40
DROP_YIELD = 32  # dropped messages between yields to the loop (~1 ms of dropping)

# The page's acknowledgement of a drawn snapshot, up to once per display frame (60 a
# second): matched as this exact text, outside the message allowance above.
DRAWN = '{"type":"drawn"}'
FRAME_CREDIT = 4  # snapshots sent after a drawn frame before the page draws another
# A tab that sends nothing and trains nothing for this long is closed (its socket and
# session freed), with this close code and a reason the page shows.
IDLE_SECONDS = 15 * 60.0
TURN_GRACE = 0.02  # seconds a session's place is kept after its turn (see Turns)
TURN_RETURN = 1.0  # a session asking this long after its last turn has been away
IDLE_CLOSE_CODE = 4000


# ---------------------------------------------------------------- sessions


@dataclass
class Slot:
    """A session with what the server needs to drive it: a lock that serializes its work,
    an event that wakes its frame loop, and a lock that keeps its sends whole."""

    session: Session
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    allowance: float = MESSAGE_BURST  # messages the tab may send now (see MESSAGE_RATE)
    allowance_at: float = field(default_factory=time.monotonic)
    dropped: int = 0  # messages dropped since the tab was last told
    told_at: float = 0.0  # when it was last told
    # Frames the tab may be sent before it says it drew one ("drawn", see DRAWN): a page
    # that draws slower than the server trains gets fewer snapshots, not a backlog, and
    # training goes on in the frames it skips. A client that never acks gets every frame.
    credit: int = FRAME_CREDIT
    acks: bool = False
    binary: bool = False  # the page asked for binary frames (/ws?frames=binary)

    def drawn(self) -> None:
        """The page drew a frame: it may be sent FRAME_CREDIT more (a page that draws once
        for two snapshots that came in between acknowledges once)."""
        self.acks = True
        self.credit = FRAME_CREDIT

    def may_show(self) -> bool:
        """Whether the next frame may send a snapshot (the credit is spent only by one sent:
        a frame that shows nothing, a big race's between its snapshots, keeps it, or the
        stream would stop for good with the page waiting for a snapshot to acknowledge)."""
        return not self.acks or self.credit > 0

    def sent_frame(self) -> None:
        if self.acks:
            self.credit -= 1

    def allow_message(self) -> bool:
        """Takes one message from the allowance, refilled at MESSAGE_RATE; False if empty."""
        now = time.monotonic()
        refill = (now - self.allowance_at) * MESSAGE_RATE
        self.allowance, self.allowance_at = min(MESSAGE_BURST, self.allowance + refill), now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

    def update_wake(self) -> None:
        if self.session.wants_frame:
            self.wake.set()
        else:
            self.wake.clear()


class Sessions:
    """The open sessions: at most ``limit`` of them, ``per_address`` from one client address
    (one script's idle sockets cannot lock the other tabs out)."""

    def __init__(self, limit: int, per_address: int | None = None):
        self.limit = limit
        self.per_address = limit if per_address is None else per_address
        self.slots: dict[str, Slot] = {}
        self.addresses: dict[str, str] = {}  # session id -> client address

    def refusal(self, address: str = "") -> str | None:
        """Why a new session from ``address`` cannot open now, or None if it can."""
        if len(self.slots) >= self.limit:
            return f"the server is serving {self.limit} tabs already; close one and reload"
        if sum(a == address for a in self.addresses.values()) >= self.per_address:
            return (
                f"at most {self.per_address} tabs from one address ({address or 'unknown'}); "
                "close one and reload"
            )
        return None

    def open(self, address: str = "") -> Slot | None:
        if self.refusal(address) is not None:
            return None
        session_id = secrets.token_urlsafe(16)  # a secret: it authorizes uploads to the tab
        self.slots[session_id] = Slot(Session(session_id))
        self.addresses[session_id] = address
        return self.slots[session_id]

    def get(self, session_id: str) -> Slot | None:
        return self.slots.get(session_id)

    def close(self, session_id: str) -> None:
        self.slots.pop(session_id, None)
        self.addresses.pop(session_id, None)


@dataclass
class Turn:
    """One training turn: ``seconds`` is what its work took on the pool, once known."""

    seconds: float | None = None


class Turns:
    """Training turns on the pool, shared fairly: at most ``width`` run at once, and of the
    sessions waiting, the one that has used the least training time goes next.

    Each turn is bounded (a frame: about FRAME_SECONDS of updates, however big the lanes,
    and a snapshot drawn only as often as training takes longer), but turns differ in
    length; counting the time each used, not the turns, gives a small session as much of
    the pool as a big one while both train. A session ending its turn while it has used
    the least keeps its place for TURN_GRACE seconds (it sends its frame and asks again),
    so a waiting big one does not take every other turn. A session that comes (back) to
    train after TURN_RETURN seconds starts level with the least used one training, so time
    it left unused is no credit. A turn counts the seconds its work ran on the pool when
    the holder reports them (``turn.seconds``): a turn granted while the pool is still busy
    with other tabs' setups (compiling, outside any turn) must not charge that wait to it,
    or the session would fall behind every other and wait out their turns.
    """

    def __init__(self, width: int, grace: float = TURN_GRACE):
        self.width = width
        self.grace = grace
        self.running: set[str] = set()
        self.waiting: dict[str, asyncio.Future] = {}
        self.kept: dict[str, asyncio.TimerHandle] = {}  # places kept for a session's next turn
        self.used: dict[str, float] = {}  # session id -> seconds of training turns
        self.ended: dict[str, float] = {}  # session id -> when its last turn ended

    @contextlib.asynccontextmanager
    async def turn(self, session_id: str):
        """Waits for this session's turn; the block's duration is counted as its use."""
        now = time.perf_counter()
        if now - self.ended.get(session_id, -math.inf) > TURN_RETURN:  # new, or back
            others = (*self.running, *self.waiting, *self.kept)
            active = [self.used[k] for k in others if k in self.used and k != session_id]
            self.used[session_id] = max(self.used.get(session_id, 0.0), min(active, default=0.0))
        kept = self.kept.pop(session_id, None)
        if kept is not None:
            kept.cancel()
            self.running.add(session_id)
        elif len(self.running) + len(self.kept) >= self.width or self.waiting:
            self.waiting[session_id] = asyncio.get_running_loop().create_future()
            self._next()
            try:
                await self.waiting[session_id]
            except asyncio.CancelledError:
                if self.waiting.pop(session_id, None) is None:  # given the turn meanwhile
                    self.running.discard(session_id)
                    self._next()
                raise
        else:
            self.running.add(session_id)
        start = time.perf_counter()
        turn = Turn()
        try:
            yield turn
        finally:
            self.running.discard(session_id)
            gone = session_id not in self.used  # forgotten (its tab closed) during the turn
            if not gone:
                self.ended[session_id] = time.perf_counter()
                wall = self.ended[session_id] - start
                self.used[session_id] += wall if turn.seconds is None else turn.seconds
            waiting = [self.used.get(k, 0.0) for k in self.waiting]
            if not gone and waiting and self.used[session_id] < min(waiting):
                loop = asyncio.get_running_loop()
                self.kept[session_id] = loop.call_later(self.grace, self._release, session_id)
            self._next()

    def forget(self, session_id: str) -> None:
        self.used.pop(session_id, None)
        self.ended.pop(session_id, None)
        self._release(session_id)

    def _release(self, session_id: str) -> None:
        handle = self.kept.pop(session_id, None)
        if handle is not None:
            handle.cancel()
            self._next()

    def _next(self) -> None:
        while len(self.running) + len(self.kept) < self.width and self.waiting:
            chosen = min(self.waiting, key=lambda k: self.used.get(k, 0.0))
            future = self.waiting.pop(chosen)
            if future.done():  # cancelled (its tab closed): the task is going away
                continue
            self.running.add(chosen)
            future.set_result(None)


# ---------------------------------------------------------------- the app


def create_app(
    workers: int | None = None,
    access: Access | None = None,
    idle_seconds: float = IDLE_SECONDS,
) -> Starlette:
    """The playground app; training runs on a pool of ``workers`` threads (default: the
    cores). ``access``: the hosts and token it answers (default: loopback, no token);
    ``idle_seconds``: how long a tab that sends nothing and trains nothing stays open."""
    # The page's forward passes are small matrix products (4096 x 16 by 16 x 16): a
    # multithreaded BLAS spends far longer waking its threads than computing them (3.8 ms
    # against 0.08 ms a layer on a busy 2-core machine). JAX does not use this BLAS.
    threadpool_limits(1, user_api="blas")
    workers = workers or os.cpu_count() or 2
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nnopt-train")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        executor.submit(warm_up)  # while the first page loads
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    routes = [
        Route("/", index),
        Route("/api/choices", choices),
        Route("/api/health", health),
        Route("/api/lecture", lecture),
        Route("/api/upload/{session}", upload, methods=["POST"]),
        WebSocketRoute("/ws", playground),
        Mount("/static", StaticFiles(packages=[("nnopt.web", "static")]), name="static"),
    ]
    access = access or Access.for_host("127.0.0.1")
    middleware = [Middleware(Guard, access=access)]  # before any route: see nnopt.web.access
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.sessions = Sessions(LIMITS.sessions, LIMITS.sessions_per_address)
    app.state.executor = executor
    app.state.turns = Turns(workers)
    app.state.access = access
    app.state.idle_seconds = idle_seconds
    return app


def warm_up() -> None:
    """Compiles the default setup's programs (training chunk, first frame) on a pool thread
    as the server starts, so that the first Play on a new server does not wait for them
    (with the persistent compilation cache they are read back, not compiled)."""
    try:
        session = Session("warm-up")
        session.handle({"type": "setup", "data": {}, "lanes": [{}]})
        session.handle({"type": "step", "chunks": 1})
        session.frame()
    except Exception:  # a warm-up never stops the server; the first Play compiles instead
        log.debug("warm-up failed", exc_info=True)


async def _run(app, fn, *args):
    """``fn(*args)`` on the app's training pool, awaited (the event loop never trains)."""
    return await asyncio.get_running_loop().run_in_executor(app.state.executor, fn, *args)


# ---------------------------------------------------------------- routes


async def index(request: Request) -> HTMLResponse:
    page = resources.files("nnopt.web").joinpath("static", "index.html").read_text("utf-8")
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


async def choices(request: Request) -> JSONResponse:
    return JSONResponse(_hello(None))


async def lecture(request: Request) -> JSONResponse:
    # The lecture's experiments for lecture mode (read once, then cached).
    return JSONResponse({"experiments": list(protocol.lecture_experiments())})


async def health(request: Request) -> JSONResponse:
    # Read-only and cheap (no pool work): answers even while every worker trains.
    return JSONResponse({"sessions": len(request.app.state.sessions.slots)})


async def upload(request: Request) -> JSONResponse:
    slot = request.app.state.sessions.get(request.path_params["session"])
    if slot is None:
        return _error(404, "upload: this tab's session is closed; reload the page")
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > LIMITS.upload_bytes:
        return _error(413, f"upload: the file is larger than {LIMITS.upload_bytes} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > LIMITS.upload_bytes:
                return _error(413, f"upload: the file is larger than {LIMITS.upload_bytes} bytes")
    except ClientDisconnect:  # gone, or cut off by REQUEST_SECONDS: nobody to answer
        return _error(400, "upload: the file did not arrive whole")
    try:
        x, y = await _run(request.app, protocol.parse_points_csv, bytes(body))
    except NnoptError as exc:
        return _error(400, str(exc))
    async with slot.lock:
        summary = slot.session.set_upload(x, y)
    return JSONResponse({"ok": True, **summary})


async def playground(ws: WebSocket) -> None:
    """One tab's session: messages in, replies and frames out, until the tab closes."""
    if not _same_origin(ws):
        await ws.close(code=1008)  # before accept: the browser sees a refused handshake
        return
    await ws.accept()
    sessions = ws.app.state.sessions
    address = ws.client.host if ws.client else ""
    refusal = sessions.refusal(address)
    if refusal is not None:  # accepted first: the page can read why (1013: try again later)
        await ws.send_text(json.dumps({"type": "error", "about": None, "message": refusal}))
        await ws.close(code=1013, reason=refusal[:120])
        return
    slot = sessions.open(address)
    slot.binary = ws.query_params.get("frames") == "binary"
    idle = ws.app.state.idle_seconds

    async def run(fn, *args):
        return await _run(ws.app, fn, *args)

    frame_task = asyncio.create_task(_frame_loop(slot, ws, run, ws.app.state.turns))
    try:
        await _send(slot, ws, json.dumps(_hello(slot.session.id)))
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), idle)
            except TimeoutError:
                if slot.session.wants_frame:
                    continue  # a tab watching its training is not idle
                await _close_idle(slot, ws, idle)
                break
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") == DRAWN:
                slot.drawn()
                continue
            if not slot.allow_message():  # a flood: see MESSAGE_RATE
                await _drop(slot, ws)
                continue
            await _handle(slot, ws, message.get("text"), run)
    except Exception:  # a broken connection ends the session like a closed tab
        log.debug("websocket ended", exc_info=True)
    finally:
        frame_task.cancel()
        sessions.close(slot.session.id)
        ws.app.state.turns.forget(slot.session.id)


async def _close_idle(slot: Slot, ws: WebSocket, idle: float) -> None:
    """Closes a tab that sent nothing and trained nothing for ``idle`` seconds (4000 + why)."""
    reason = f"closed after {idle:g} s without use; reload the page to start again"
    await _send(slot, ws, json.dumps({"type": "error", "about": None, "message": reason}))
    async with slot.send_lock:
        await ws.close(code=IDLE_CLOSE_CODE, reason=reason[:120])


def _hello(session_id: str | None) -> dict:
    """The first message of a session: its id, the menus, the caps and the defaults."""
    return {
        "type": "hello",
        "session": session_id,
        "choices": protocol.choices(),
        "limits": protocol.limits_dict(),
        "defaults": {"data": protocol.DATA_DEFAULTS, "lane": protocol.LANE_DEFAULTS},
        "chunk": CHUNK,
        "previews": dataset_previews(),
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


def _same_origin(ws: WebSocket) -> bool:
    """A browser page from another site may not drive a session (CSRF; a rebound name is
    refused by its Host, see nnopt.web.access); clients that send no Origin (scripts,
    tests) are let in."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == ws.headers.get("host")


async def _send(slot: Slot, ws: WebSocket, text: str | bytes) -> None:
    async with slot.send_lock:
        if ws.application_state == WebSocketState.CONNECTED:
            await (ws.send_bytes(text) if isinstance(text, bytes) else ws.send_text(text))


async def _drop(slot: Slot, ws: WebSocket) -> None:
    """A message beyond the tab's allowance: dropped unread, the tab told at most once a
    second, and every DROP_YIELD drops the loop yields so the other tabs' frames and
    requests go first (yielding after each drop halves how fast a flood's backlog drains)."""
    slot.dropped += 1
    now = time.monotonic()
    if now - slot.told_at >= 1.0:
        error = (
            f"too many messages: at most {MESSAGE_RATE:g} a second after a burst of "
            f"{MESSAGE_BURST}; {slot.dropped} dropped (this is said at most once a second)"
        )
        slot.dropped, slot.told_at = 0, now
        await _send(slot, ws, json.dumps({"type": "error", "about": None, "message": error}))
    if slot.dropped % DROP_YIELD == 0:
        await asyncio.sleep(0)


async def _handle(slot: Slot, ws: WebSocket, text: str | None, run) -> None:
    """One message from the page: checked, applied on the pool, answered; a bad one is
    answered with an error line and changes nothing."""
    kind = None
    try:
        if text is None:
            raise protocol.ProtocolError("binary messages are not understood; send JSON text")
        message = protocol.parse_message(text)
        kind = message["type"]
        async with slot.lock:
            replies = await run(_apply, slot.session, message, slot.binary)
    except NnoptError as exc:
        about = kind or getattr(exc, "about", None)  # a refused setup resets the page's controls
        replies = [json.dumps({"type": "error", "about": about, "message": str(exc)})]
    except Exception:
        log.exception("playground: %s failed", kind)
        error = f"{kind}: the server failed on this request (see its log); the tab stays open"
        replies = [json.dumps({"type": "error", "about": kind, "message": error})]
    for reply in replies:
        await _send(slot, ws, reply)
    slot.update_wake()


def _apply(session: Session, message: dict, binary: bool) -> list[str | bytes]:
    """Runs on the pool: the message's replies, already encoded (so the loop only sends)."""
    return [frames.encode(reply, binary) for reply in session.handle(message)]


def _frame(session: Session, show: bool, binary: bool) -> tuple[str | bytes | None, float]:
    """Runs on the pool: one frame of training, its snapshot encoded if ``show``, and the
    seconds both took on the pool thread (what the frame's turn counts, see Turns)."""
    start = time.perf_counter()
    snapshot = session.frame(show)
    text = frames.encode(snapshot, binary) if snapshot else None
    return text, time.perf_counter() - start


async def _frame_loop(slot: Slot, ws: WebSocket, run, turns: Turns) -> None:
    """Trains and streams while the session wants frames, one frame (a turn) at a time: the
    send waits for the socket, so a slow tab slows only its own training."""
    loop = asyncio.get_running_loop()
    while True:
        await slot.wake.wait()
        start = loop.time()
        try:
            async with turns.turn(slot.session.id) as turn, slot.lock:
                text, turn.seconds = await run(_frame, slot.session, slot.may_show(), slot.binary)
            if text is not None:
                slot.sent_frame()
                await _send(slot, ws, text)
        except (asyncio.CancelledError, WebSocketDisconnect):
            return  # the tab is gone; the socket's handler frees the session
        except Exception:
            log.exception("playground: training failed")
            slot.session.playing, slot.session.pending_chunks = False, 0
            error = "training failed on the server (see its log); press Reset to start over"
            await _send(slot, ws, json.dumps({"type": "error", "about": "play", "message": error}))
        slot.update_wake()
        await asyncio.sleep(slot.session.frame_delay(loop.time() - start))


# ---------------------------------------------------------------- running it


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free one), or a one-line NnoptError."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise NnoptError(
            f"cannot listen on {host}:{port}: {reason}; choose another --host or --port"
        ) from None
    sock.listen(128)  # connections that arrive before uvicorn starts wait in the backlog
    sock.set_inheritable(True)
    return sock


# What one client may hold of the server's connections (uvicorn's own settings): a
# keep-alive connection idle this long is closed, past this many open connections uvicorn
# answers 503, and a request must arrive whole (headers and body) within REQUEST_SECONDS
# (uvicorn has no such timeout of its own: see RequestTimeoutH11).
KEEP_ALIVE_SECONDS = 5
CONNECTIONS = 512
REQUEST_SECONDS = 30.0


def request_timeout_protocol(seconds: float):
    """uvicorn's h11 protocol with a deadline: a request whose headers and body have not
    all arrived ``seconds`` after the connection opened (or after the previous response)
    is answered 408 and its connection closed. A websocket, once upgraded, is not timed."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class RequestTimeoutH11(H11Protocol):
        _request_timer = None

        def _arm(self) -> None:
            self._disarm()
            self._request_timer = self.loop.call_later(seconds, self._request_timed_out)

        def _disarm(self) -> None:
            if self._request_timer is not None:
                self._request_timer.cancel()
                self._request_timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.SEND_BODY and self.conn.their_state is not h11.IDLE:
                self._disarm()  # the request is whole (DONE), or the connection is over

        def handle_websocket_upgrade(self, event) -> None:
            self._disarm()
            super().handle_websocket_upgrade(event)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection gets its own deadline

        def _request_timed_out(self) -> None:
            self._request_timer = None
            if self.transport.is_closing() or self.conn.their_state is h11.DONE:
                return  # closed already, or a pipelined request that came whole
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(
                    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
                    b"connection: close\r\n\r\n"
                )
            self.transport.close()

    return RequestTimeoutH11


def make_server(app: Starlette | None = None, request_seconds: float = REQUEST_SECONDS):
    """A uvicorn server for the app (quiet: the command prints the address itself)."""
    import uvicorn

    config = uvicorn.Config(
        app or create_app(),
        log_level="warning",
        access_log=False,
        ws_max_size=WEBSOCKET_MAX_BYTES,
        lifespan="on",
        http=request_timeout_protocol(request_seconds),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=CONNECTIONS,
    )
    return uvicorn.Server(config)


def url_of(sock: socket.socket, access: Access | None = None) -> str:
    """The page's address for a bound socket (with ``?token=`` when ``access`` needs one)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    query = f"?token={access.token}" if access is not None and access.token else ""
    return f"http://{shown}:{port}/{query}"


class ServerThread:
    """The playground on a free loopback port in a background thread (tests, benchmarks).

    Example:
      >>> with ServerThread() as server:  # doctest: +SKIP
      ...     print(server.url)
      http://127.0.0.1:41234/
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int | None = None,
        request_seconds: float = REQUEST_SECONDS,
        **app_options,
    ):
        self.sock = bind_socket(host, port)
        self.access = Access.for_host(host)
        self.url = url_of(self.sock)  # without the token: tests add it where they mean to
        app = create_app(workers, access=self.access, **app_options)
        self.server = make_server(app, request_seconds)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            self.thread.join(0.05)
        raise RuntimeError("the playground server did not start within 10 s")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
