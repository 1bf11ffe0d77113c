"""The numbers a loss, an optimizer or a schedule reads: a default and the range it must lie in.

Each registry entry lists its numbers as :class:`Number` values (and an optimizer its on/off
options as :class:`Switch` values), so the config's validation, the command line's errors and
the playground's inputs all read one declaration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)  # about 3.4e38


def as_float32(value: float) -> float:
    """``value`` as the float32 training computes with: ±inf beyond ±3.4e38, 0 below about
    1.4e-45, and the nearest float32 in between (0.99999999999 becomes 1.0).

    Example:
      >>> as_float32(0.99999999999), as_float32(1e39)
      (1.0, inf)
    """
    with np.errstate(over="ignore"):
        return float(np.float32(value))


@dataclass(frozen=True)
class Number:
    """A named number with its default and allowed range.

    ``low < value`` (``low_open``) or ``low <= value``; ``value < high`` (``high_open``) or
    ``value <= high``; None is unbounded. Every number must also be finite.

    Example:
      >>> Number("momentum", 0.9, low=0.0, high=1.0).rule
      'in [0, 1)'
      >>> Number("eps", 1e-8, low=0.0, low_open=True).allows(0.0)
      False
      >>> Number("b2", 0.999, low=0.0, high=1.0).allows(0.99999999999)  # 1.0 as a float32
      False
    """

    name: str
    default: float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = True
    summary: str = ""

    def allows(self, value: float) -> bool:
        """Whether ``value``, as a float32, is finite and in the range."""
        return self.contains(as_float32(value))

    def contains(self, value: float) -> bool:
        """Whether ``value`` itself (not rounded) is finite and in the range."""
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    @property
    def rule(self) -> str:
        """The range in words: ``in [0, 1)``, ``> 0``, ``>= 0`` or ``any finite number``."""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{lo:g}, {hi:g}{right}"
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {lo:g}"
        if hi is not None:
            return f"{'<' if self.high_open else '<='} {hi:g}"
        return "any finite number"

    def as_dict(self) -> dict:
        """For the page: name, default, bounds and the rule in words."""
        return {
            "name": self.name,
            "default": self.default,
            "low": self.low,
            "high": self.high,
            "low_open": self.low_open,
            "high_open": self.high_open,
            "rule": self.rule,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Switch:
    """A named on/off option with its default, e.g. RMSProp's ``centered``.

    It reads like a :class:`Number` (``allows``, ``rule``, ``as_dict``), so the same checks
    and menus serve both; its value is ``true`` or ``false``.

    Example:
      >>> Switch("centered", False).rule
      'true or false'
    """

    name: str
    default: bool
    summary: str = ""

    def allows(self, value) -> bool:
        """Whether ``value`` is a boolean."""
        return isinstance(value, bool)

    @property
    def rule(self) -> str:
        return "true or false"

    def as_dict(self) -> dict:
        """For the page: name, default, the rule in words, summary."""
        return {"name": self.name, "default": self.default, "rule": self.rule,
                "summary": self.summary}  # fmt: skip


UNIT = dict(low=0.0, high=1.0)  # a decay or a momentum: in [0, 1)
POSITIVE = dict(low=0.0, low_open=True)  # > 0
NON_NEGATIVE = dict(low=0.0)  # >= 0
