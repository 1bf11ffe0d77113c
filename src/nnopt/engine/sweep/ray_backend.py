"""The Ray backend of sweeps: each shard of a group of configurations becomes one Ray task.

A task receives plain data (TOML-shaped config dicts, indices, settings), rebuilds
the configurations in the worker, trains them with :func:`nnopt.engine.sweep.run.run_batch`
and returns plain results, so the same sweep gives the same numbers on either
backend. With no address a local Ray instance is started (and stopped); with one,
nnopt joins that cluster, whose workers need nnopt installed.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable

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


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fails within ``timeout`` seconds when nothing listens at ``host:port``."""
    text = address.removeprefix("ray://")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise NnoptError(f"ray address = {address!r}: expected host:port, e.g. 127.0.0.1:6379")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise NnoptError(
            f"ray address = {address}: no Ray cluster answers there ({exc.strerror or exc}); "
            "start one with `ray start --head`, or give no address to start a local one"
        ) from None


def _is_loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rpartition(":")[0]
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


def _give_back_sigterm(previous) -> None:
    """Puts back the SIGTERM handler ray.init replaced (with one that exits at once, and its
    core's, which prints a C++ stack): the caller's own handling of SIGTERM (save, then end)
    stays in force."""
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


def run_on_ray(
    groups: list[list[Point]],
    address: str | None,
    on_done: Callable[[list[PointResult]], None],
    num_cpus: int | None = None,
) -> None:
    """Runs every group (or shard of one) as a Ray task and calls ``on_done`` with each task's
    results as it ends."""
    if address:
        check_reachable(address)
    if not address or _is_loopback(address):
        # Ray would otherwise swap loopback for the host's routable address; it reads this
        # once, when it is first imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise NnoptError("the ray backend needs Ray: pip install 'nnopt[ray]'") from None
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
        ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR", **kwargs)
        _give_back_sigterm(previous)
    try:
        task = ray.remote(run_payload)
        pending = [task.remote(_payload(group)) for group in groups]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(ray.get(done[0]))
    finally:
        if started_here:
            ray.shutdown()
