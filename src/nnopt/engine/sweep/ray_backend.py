"""The Ray backend of sweeps: each shard of a group of configurations becomes one Ray task.

A task receives plain data (TOML-shaped config dicts, indices, settings), rebuilds
the configurations in the worker, trains them with :func:`nnopt.engine.sweep.run.run_batch`
and returns plain results, so the same sweep gives the same numbers on either
backend. With no address a local Ray instance is started (and stopped); with one,
nnopt joins that cluster, whose workers need nnopt installed.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Callable
from contextlib import contextmanager

from nnopt.config import config_from_dict, config_to_dict
from nnopt.engine.sweep.grid import Point
from nnopt.engine.sweep.results import PointResult
from nnopt.engine.sweep.run import run_batch
from nnopt.errors import NnoptError


def _payload(points: list[Point]) -> list[tuple]:
    return [(p.index, p.settings, config_to_dict(p.config)) for p in points]


def run_payload(payload: list[tuple]) -> list[PointResult]:
    """What a Ray worker runs: rebuild the points, train them together, return the results.

    One thread: Ray gives a task one CPU and runs as many tasks as the cluster has CPUs.
    """
    points = [
        Point(i, settings, config_from_dict(raw, "sweep task")) for i, settings, raw in payload
    ]
    return run_batch(points, workers=1)


def parse_address(address: str) -> tuple[str, int]:
    """``host:port``, ``[v6 address]:port`` or either behind ``ray://`` -> (host, port).

    Example:
      >>> parse_address("[::1]:6379"), parse_address("ray://head:10001")
      (('::1', 6379), ('head', 10001))
    """
    text = address.removeprefix("ray://")
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise NnoptError(
            f"ray address = {address!r}: write an IPv6 address in brackets, e.g. [::1]:6379"
        )
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise NnoptError(
            f"ray address = {address!r}: expected host:port (port 1 to 65535), "
            "e.g. 127.0.0.1:6379 or [::1]:6379"
        )
    return host, int(port)


# An HTTP/2 client's opening (RFC 9113, 3.4) and an empty SETTINGS frame. Ray's head (and its
# ray:// client server) speaks gRPC, so it answers with a SETTINGS frame of its own.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_SETTINGS = 4  # the frame type in byte 3 of a frame's 9-byte header


def _answers_http2(sock: socket.socket) -> bool:
    """Whether the peer answers an HTTP/2 opening with a SETTINGS frame (within the socket's
    timeout)."""
    sock.sendall(_HTTP2_PREFACE)
    head = b""
    while len(head) < 9:
        chunk = sock.recv(9 - len(head))
        if not chunk:
            return False
        head += chunk
    return head[3] == _SETTINGS


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fails within about ``2 * timeout`` seconds when nothing listens at the address, or what
    listens is no Ray (it does not answer as a gRPC server does); Ray's own connection
    would wait minutes for either."""
    host, port = parse_address(address)
    hint = "start one with `ray start --head`, or give no address to start a local one"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            ray_like = _answers_http2(sock)
    except TimeoutError:
        ray_like = False
    except OSError as exc:
        raise NnoptError(
            f"ray address = {address}: no Ray cluster answers there ({exc.strerror or exc}); {hint}"
        ) from None
    if not ray_like:
        raise NnoptError(
            f"ray address = {address}: something listens there, but it is not a Ray cluster "
            f"(no gRPC answer within {timeout:g} s); {hint}"
        )


def _is_loopback(address: str) -> bool:
    host = parse_address(address)[0]
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _give_back_sigterm(previous) -> None:
    """Puts back the SIGTERM handler ray.init replaced (with one that exits at once, and its
    core's, which prints a C++ stack): the caller's own handling of SIGTERM (save, then end)
    stays in force."""
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


def _import_ray(address: str | None):
    """Ray, imported with the loopback setting it reads once, at its first import."""
    if not address or _is_loopback(address):
        # Ray would otherwise swap loopback for the host's routable address.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise NnoptError("the ray backend needs Ray: pip install 'nnopt[ray]'") from None
    return ray


@contextmanager
def ray_session(address: str | None, num_cpus: int | None = None):
    """Ray, joined at ``address`` (checked first) or started locally, for the ``with`` block;
    stopped after it when it was started here. Reuses a Ray already initialized.

    Start it before JAX computes anything: ``ray.init`` starts Ray's processes with
    ``fork`` + ``exec``, and once JAX's threads run, every fork warns that it may deadlock.
    """
    running = sys.modules.get("ray")
    if address and not (running is not None and running.is_initialized()):
        check_reachable(address)
    ray = _import_ray(address)
    started_here = not ray.is_initialized()
    previous = signal.getsignal(signal.SIGTERM)
    if started_here:
        if address:
            kwargs = {"address": address}
        else:
            # A new local instance ("local": never one already running here), with little
            # shared memory for these small results.
            kwargs = {
                "address": "local",
                "num_cpus": num_cpus or os.cpu_count() or 1,
                "object_store_memory": 256 * 2**20,
            }
        with warnings.catch_warnings():
            # JAX already running in this process (a notebook, a test) warns at every fork;
            # the fork here is subprocess's fork + exec, which runs no JAX code in the child.
            warnings.filterwarnings(
                "ignore", message=r"os\.fork\(\) was called", module="subprocess"
            )
            ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR", **kwargs)
        _give_back_sigterm(previous)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()


def run_on_ray(
    groups: list[list[Point]],
    address: str | None,
    on_done: Callable[[list[PointResult]], None],
    num_cpus: int | None = None,
) -> None:
    """Runs every group (or shard of one) as a Ray task and calls ``on_done`` with each task's
    results as it ends."""
    with ray_session(address, num_cpus) as ray:
        task = ray.remote(run_payload)
        pending = [task.remote(_payload(group)) for group in groups]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(ray.get(done[0]))
