"""A race: up to ``LIMITS.lanes`` trainings on one dataset, advanced together a chunk at a time.

Each :class:`Racer` is one configuration of the page's race (a "lane" on the page) with its
own :class:`~nnopt.engine.training.Training`, kept without history (the page keeps its own
bounded curves).
"""

from __future__ import annotations

import time

from nnopt.config import Config
from nnopt.core.data import Dataset
from nnopt.engine.training import Training
from nnopt.errors import DivergenceError


class Racer:
    """One configuration of a race: its config, its training and the error that stopped it."""

    def __init__(self, config: Config, dataset: Dataset):
        self.config = config
        self.training = Training(config, dataset=dataset, keep_history=False)
        self.error: str | None = None
        self.update_seconds = 0.0  # the last advance's seconds per update (0: not measured)

    def advance(self, max_steps: int | None = None) -> None:
        """Up to the next chunk's end (at most ``max_steps`` updates); a NaN or infinite loss
        stops this racer (the others go on)."""
        if self.error is not None:
            return
        start = time.perf_counter()
        try:
            ran = self.training.advance(max_steps)
        except DivergenceError as exc:
            self.error = str(exc)
            return
        self.update_seconds = (time.perf_counter() - start) / max(ran, 1)

    def steps_within(self, seconds: float) -> int | None:
        """The updates that fit in ``seconds`` at the last measured pace (at least 1; None
        before a measure). One program runs any length up to a chunk: a shorter call
        compiles nothing new, and the same updates give the same numbers however split."""
        if self.update_seconds <= 0:
            return None
        return max(1, int(seconds / self.update_seconds))

    def retune(self, config: Config) -> None:
        """Takes new numbers (rates, scales, decays) without starting over."""
        self.training.retune(config)
        self.config = config
        self.error = None  # new numbers (a lower rate) may well train on from the last good state


class Race:
    """Up to ``LIMITS.lanes`` trainings on one dataset, advanced together a chunk at a time.

    A small interface (``advance``, ``retune``, ``racers``, ``step``, ``live``) so that the
    loop over racers can later become one batched (vmap) program.
    """

    def __init__(self, configs: list[Config], dataset: Dataset):
        self.dataset = dataset
        self.racers = [Racer(config, dataset) for config in configs]

    def advance(self, deadline: float | None = None, steps: int | None = None) -> None:
        """One chunk (at most ``steps`` updates) for every live racer not ahead of the others.

        With a ``deadline`` (a ``time.perf_counter()`` value) it stops after the racer that
        passes it: a racer compiling its program (a second or so) then does not hold the
        others' frame, and the racers left behind go first next time, so they stay in step.
        A racer whose chunk would not fit before the deadline runs only the updates that do
        (at least one): a big network's turn stays about as long as a small one's.
        """
        live = [racer for racer in self.racers if racer.error is None]
        if not live:
            return
        behind = min(racer.training.step for racer in live)
        for racer in live:
            if racer.training.step == behind:
                left = None if deadline is None else deadline - time.perf_counter()
                fit = None if left is None else racer.steps_within(left)
                racer.advance(min((n for n in (steps, fit) if n is not None), default=None))
                if deadline is not None and time.perf_counter() > deadline:
                    return

    def retune(self, configs: list[Config]) -> None:
        for racer, config in zip(self.racers, configs):
            racer.retune(config)

    @property
    def step(self) -> int:
        return max(racer.training.step for racer in self.racers)

    @property
    def live(self) -> bool:
        """Whether any racer can still train."""
        return any(racer.error is None for racer in self.racers)
