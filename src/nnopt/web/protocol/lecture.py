"""Lecture mode: every experiment of the lecture (its presets) with its passage in Chinese
and English, what to watch for, and the page settings that load it, when the playground
can train it (the 1-D demos of a single parameter run with ``nnopt run`` only)."""

from __future__ import annotations

import functools
from typing import Any

from nnopt.config.presets import preset_text
from nnopt.engine.passages import lecture_mode
from nnopt.errors import NnoptError
from nnopt.web.protocol.transfer import settings_from_toml


@functools.cache
def lecture_experiments() -> tuple[dict[str, Any], ...]:
    """:func:`~nnopt.engine.passages.lecture_mode`'s entries in the lecture's order, each
    with ``command`` (``nnopt run PRESET``), ``settings`` ({data, lane} for the page, or
    None) and ``why`` (None, or why the page cannot train it)."""
    out = []
    for entry in lecture_mode():
        try:
            settings, why = settings_from_toml(preset_text(entry["preset"])), None
        except NnoptError as exc:
            settings, why = None, str(exc).removeprefix("import: ")
        out.append({**entry, "command": f"nnopt run {entry['preset']}", "settings": settings,
                    "why": why})  # fmt: skip
    return tuple(out)
