"""Playground throughput: updates on screen per second and training steps per second.

Starts ``nnopt serve`` on a free loopback port in this process, connects one websocket
client (as a tab would), sets up the default network, presses Play at max speed and counts
the snapshots that arrive and the steps they report, once with 1 configuration and once
with a race of 4. Compilation is left out: the clock starts when every lane has trained.

    python bench/bench_playground.py [--seconds 5] [--json]

Target (issue 5): >= 30 updates/s while >= 2000 steps/s per configuration, for 1 and 4.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from websockets.sync.client import connect

from nnopt.web.server import ServerThread

RACE_OF_4 = [{"optimizer": name} for name in ("sgd", "momentum", "adam", "rmsprop")]


def receive_until(ws, predicate, timeout: float) -> dict:
    """The first message that satisfies ``predicate``; errors from the server stop the bench."""
    deadline = time.perf_counter() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.perf_counter())))
        if message["type"] == "error":
            raise SystemExit(f"server error: {message['message']}")
        if predicate(message):
            return message


def measure(ws, lanes: list[dict], seconds: float) -> dict:
    """Updates/s and steps/s (per configuration) of one setup trained at max speed."""
    ws.send(json.dumps({"type": "setup", "lanes": lanes}))
    receive_until(ws, lambda m: m["type"] == "ready", 30)
    ws.send(json.dumps({"type": "speed", "value": "max"}))
    ws.send(json.dumps({"type": "play"}))

    def all_trained(m):
        return m["type"] == "snapshot" and min(lane["step"] for lane in m["lanes"]) > 0

    first = receive_until(ws, all_trained, 120)  # compiling happens before this
    start, frames = time.perf_counter(), 0
    start_steps = [lane["step"] for lane in first["lanes"]]
    last = first
    while time.perf_counter() - start < seconds:
        last = receive_until(ws, lambda m: m["type"] == "snapshot", 10)
        frames += 1
    elapsed = time.perf_counter() - start
    ws.send(json.dumps({"type": "pause"}))
    steps = [lane["step"] - s0 for lane, s0 in zip(last["lanes"], start_steps)]
    return {
        "configurations": len(lanes),
        "updates_per_second": round(frames / elapsed, 1),
        "steps_per_second_per_configuration": round(min(steps) / elapsed),
        "snapshot_bytes": len(json.dumps(last)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per setup")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line")
    args = parser.parse_args(argv)
    results = []
    with ServerThread() as server, connect(server.url.replace("http", "ws") + "ws") as ws:
        receive_until(ws, lambda m: m["type"] == "hello", 10)
        for lanes in ([{}], RACE_OF_4):
            results.append(measure(ws, lanes, args.seconds))
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{'configurations':>14}  {'updates/s':>9}  {'steps/s per configuration':>25}")
    for r in results:
        print(
            f"{r['configurations']:>14}  {r['updates_per_second']:>9}  "
            f"{r['steps_per_second_per_configuration']:>25}"
        )
    ok = all(
        r["updates_per_second"] >= 30 and r["steps_per_second_per_configuration"] >= 2000
        for r in results
    )
    print(
        "target (>= 30 updates/s, >= 2000 steps/s per configuration):", "met" if ok else "NOT met"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
