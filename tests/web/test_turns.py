"""Fair training turns between sessions, and a big lane's turn cut to the slice.

Counted in turns and in steps; the sleeps below only make one session's turns long.
"""

from __future__ import annotations

import asyncio

import numpy as np

from nnopt.web import protocol
from nnopt.web.race import Race
from nnopt.web.server import Turns
from nnopt.web.session import Session


def test_a_short_session_gets_turns_while_a_long_one_waits():
    async def main():
        turns, order = Turns(width=1), []

        async def tab(name: str, seconds: float, count: int):
            for _ in range(count):
                async with turns.turn(name):
                    order.append(name)
                    await asyncio.sleep(seconds)

        await asyncio.gather(tab("big", 0.1, 3), tab("small", 0.005, 60))
        return order

    order = asyncio.run(main())
    # First come, first served would alternate (one small turn per big one); counting the
    # time used, the small tab catches up the big one's 0.1 s before it goes again.
    between = [len(run) for run in "".join("b" if n == "big" else "s" for n in order).split("b")]
    assert order[0] == "big" and len(between) == 4
    assert all(count >= 5 for count in between[1:3]), between


def test_a_turn_counts_the_pool_seconds_it_reports_not_its_wait():
    """A turn granted while the pool still compiles another tab's setup waits in the pool's
    queue; charging that wait made a small tab the most used and starved it beside big races
    (tests/web/test_load.py measured a share of 0 under load)."""

    async def main():
        turns = Turns(width=1)
        async with turns.turn("small") as turn:
            await asyncio.sleep(0.05)  # queued behind a setup on the pool
            turn.seconds = 0.002  # what its frame took once it ran
        async with turns.turn("unreported"):
            await asyncio.sleep(0.05)
        return turns.used

    used = asyncio.run(main())
    assert used["small"] == 0.002
    assert used["unreported"] >= 0.05  # no report: the turn's whole duration


def test_a_newcomer_starts_level_and_a_cancelled_wait_frees_its_place():
    async def main():
        turns = Turns(width=1)
        turns.used, turns.ended = {"old": 5.0}, {"new": 0.0}  # "new" last trained long ago
        async with turns.turn("old"):
            waiting = asyncio.create_task(_take(turns, "new"))
            await asyncio.sleep(0)
            assert turns.used["new"] == 5.0  # no credit for the time before it came
            waiting.cancel()
            await asyncio.sleep(0)
        assert not turns.waiting and not turns.running
        async with turns.turn("other"):
            assert turns.running == {"other"}

    async def _take(turns, name):
        async with turns.turn(name):
            pass

    asyncio.run(main())


def test_a_lane_cut_to_the_slice_trains_the_same_numbers():
    setup = protocol.parse_setup({"type": "setup"})
    whole, cut = (Race(protocol.lane_configs(setup), _dataset(setup)) for _ in range(2))
    whole.racers[0].advance()
    for steps in (7, 13, 30):
        cut.racers[0].advance(steps)
    assert whole.step == cut.step == protocol.CHUNK
    a, b = (np.asarray(r.racers[0].training.state.params) for r in (whole, cut))
    np.testing.assert_array_equal(a, b)


def test_a_slow_lane_runs_only_what_fits_its_slice():
    setup = protocol.parse_setup({"type": "setup"})
    race = Race(protocol.lane_configs(setup), _dataset(setup))
    racer = race.racers[0]
    assert racer.steps_within(0.02) is None  # not measured yet: a whole chunk
    racer.update_seconds = 0.004  # as if each update took 4 ms
    assert racer.steps_within(0.02) == 5 and racer.steps_within(0.0) == 1


def _dataset(setup):
    session = Session("t")
    return session._dataset(setup, protocol.lane_configs(setup)[0])


def test_a_wait_cancelled_while_another_turn_ends_is_skipped():
    async def main():
        turns, got = Turns(width=1), []

        async def take(name):
            async with turns.turn(name):
                got.append(name)

        async with turns.turn("a"):
            gone = asyncio.create_task(take("gone"))
            later = asyncio.create_task(take("later"))
            await asyncio.sleep(0)  # both wait
            gone.cancel()  # its future is cancelled now, its handler runs later
        await asyncio.gather(gone, later, return_exceptions=True)
        return got, turns

    got, turns = asyncio.run(main())
    assert got == ["later"] and not turns.running and not turns.waiting
