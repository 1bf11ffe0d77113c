"""What XLA compiles: a clock of the seconds spent compiling (all threads)."""

from __future__ import annotations

from collections.abc import Callable

import jax


def compile_clock() -> Callable[[], float]:
    """A function returning the seconds JAX has spent compiling since this call, summed over
    threads (tracing, lowering, XLA's compile and cache reads)."""
    total = [0.0]

    def listener(event: str, duration: float, **_) -> None:
        if event.startswith("/jax/core/compile/") or event.startswith("/jax/compilation_cache/"):
            total[0] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    return lambda: total[0]
