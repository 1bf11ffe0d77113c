"""Playground throughput: updates on screen per second and training steps per second.

Starts ``nnopt serve`` on a free loopback port in this process, connects one websocket
client (as a tab would), sets up the default network, presses Play at max speed and counts
the snapshots that arrive and the steps they report, once with 1 configuration and once
with a race of 4. Compilation is left out: the clock starts when every lane has trained.

Then, in headless Chromium driven by Playwright (Debian's ``chromium``), the frames the
page draws per second while training at max speed, for the default net, the largest net
(16 neurons x 6 layers) and a race of 8, beside TensorFlow Playground's figures measured on
the same machine (issue 15), and the time from the first Play on a new server to the first
trained snapshot (compiling included). ``--no-browser`` skips this part.

    python bench/bench_playground.py [--seconds 5] [--json] [--no-browser]

Targets: websocket (issue 5) >= 30 updates/s while >= 2000 steps/s per configuration, for
1 and 4; browser (issue 15) 60 / >= 45 / >= 45 frames/s and a first Play <= 150 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from websockets.sync.client import connect

from nnopt.web.server import ServerThread

RACE_OF_4 = [{"optimizer": name} for name in ("sgd", "momentum", "adam", "rmsprop")]

# (name, URL hash, TensorFlow Playground's frames/s on this machine (issue 15), goal)
PAGES = [
    ("default net", "", "60", 60),
    ("largest net (16x6)", "#lane=hidden:16-16-16-16-16-16", "25 (8x6)", 45),
    (
        "race of 8",
        "#" + "&".join(f"lane=learning_rate:{r}" for r in (1, 2, 3, 5, 10, 20, 30, 50)),
        "(no races)",
        45,
    ),
]
FIRST_PLAY_GOAL_MS = 150  # TensorFlow Playground: 40 ms (it compiles nothing)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
READY = "window.nnopt && nnopt.snapshot && nnopt.data && nnopt.accepted"


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


def browser_frames(url: str, seconds: float) -> list[dict]:
    """Frames drawn per second by the page in headless Chromium for each of PAGES, and the
    first Play's wait (on this server's first page: nothing compiled yet)."""
    import shutil

    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium")
    if path is None:
        raise SystemExit("the browser part needs Debian's chromium (or pass --no-browser)")
    results = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        for index, (name, fragment, theirs, goal) in enumerate(PAGES):
            page = chromium.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            page.goto(url + fragment)
            page.wait_for_function(READY, timeout=60_000)
            page.select_option("#speed", "max")
            page.evaluate("window.playAt = performance.now()")
            page.click("#play")
            page.wait_for_function(
                "nnopt.snapshot.lanes.every(l => l.step > 0)", timeout=120_000, polling=5
            )
            first_play = page.evaluate("performance.now() - window.playAt")
            page.wait_for_timeout(1000)  # past the first frames
            probe = "[window.nnoptFrames, performance.now(), window.nnoptDrawMs || 0]"
            f0, t0, d0 = page.evaluate(probe)
            page.wait_for_timeout(seconds * 1000)
            f1, t1, d1 = page.evaluate(probe)
            results.append(
                {
                    "page": name,
                    "frames_per_second": round((f1 - f0) * 1000 / (t1 - t0), 1),
                    # main.js's draw() per frame (nothing with older pages: None)
                    "ms_per_draw": round((d1 - d0) / max(1, f1 - f0), 2) if d1 else None,
                    "tf_playground": theirs,
                    "goal": goal,
                    "first_play_ms": round(first_play) if index == 0 else None,
                }
            )
            page.context.close()
        chromium.close()
    return results


def print_browser(results: list[dict]) -> bool:
    print(
        f"\n{'in Chromium':<20}  {'frames/s':>8}  {'ms/draw':>7}  {'TF Playground':>13}  "
        f"{'goal':>5}"
    )
    for r in results:
        print(
            f"{r['page']:<20}  {r['frames_per_second']:>8}  {str(r['ms_per_draw']):>7}  "
            f"{r['tf_playground']:>13}  {'>= ' if r['goal'] < 60 else ''}{r['goal']:>2}"
        )
    first = results[0]["first_play_ms"]
    print(f"first Play on a new server: {first} ms (TF Playground 40 ms, goal <= 150 ms)")
    return first <= FIRST_PLAY_GOAL_MS and all(
        r["frames_per_second"] >= r["goal"] * 0.95 for r in results
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per setup")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium figures")
    args = parser.parse_args(argv)
    results, pages = [], []
    with ServerThread() as server:
        if not args.no_browser:  # first, so that its first Play meets a new server
            pages = browser_frames(server.url, args.seconds)
        with connect(server.url.replace("http", "ws") + "ws") as ws:
            receive_until(ws, lambda m: m["type"] == "hello", 10)
            for lanes in ([{}], RACE_OF_4):
                results.append(measure(ws, lanes, args.seconds))
    if args.json:
        print(json.dumps({"websocket": results, "browser": pages}))
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
    if pages:
        met = print_browser(pages)
        print("browser goals:", "met" if met else "NOT met")
        ok = ok and met
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
