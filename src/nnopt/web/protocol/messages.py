"""The playground's messages: their fields, their caps, and the checks of each kind.

Every problem is a :class:`ProtocolError` whose one-line message names the bad field and
what is allowed. Nothing from the page is ever executed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nnopt.errors import NnoptError


class ProtocolError(NnoptError):
    """A message, setting or upload from the page that cannot be used.

    Attributes:
      about: the message type it is about, when the message got as far as naming one.
    """

    about: str | None = None


# The largest float32: every number of a message becomes one (a config's or a weight's),
# and JSON as Python reads it also takes NaN, Infinity and 1e400 (inf).
FLOAT32_MAX = 3.4028234663852886e38


# Updates per compiled chunk (``train.log_every``). Every chunk has this one length, so a
# structure compiles once; the Step button runs one chunk. 50 keeps the per-chunk host work
# (about 2 ms) small next to the updates while a frame still shows a few chunks.
CHUNK = 50
ENDLESS_STEPS = 100_000_000  # train.steps of a playground lane: it runs until paused

UPLOAD = "upload"  # data.name of the page's uploaded CSV points


@dataclass(frozen=True)
class Limits:
    """Caps on what one page may ask for; they bound each session's time and memory."""

    hidden_layers: int = 6
    neurons: int = 16  # per hidden layer (the lecture's 11 fits)
    batch_size: int = 512
    lanes: int = 8  # configurations in one race
    points: int = 5000  # generated or uploaded rows
    upload_bytes: int = 512 * 1024
    step_chunks: int = 200  # chunks one Step request may run (200 x 50 = 10000 updates)
    message_bytes: int = 64 * 1024
    sessions: int = 32  # open tabs served at once
    edit_magnitude: int = 1000  # an edited weight or bias lies in [-this, this]
    sessions_per_address: int = 8  # of those, from one client address


LIMITS = Limits()

# Target updates per second of each speed; None trains as fast as the machine allows.
# ONE_PER_FRAME trains a single update per frame at the page's 60 frames a second, so
# every step is seen (the other speeds train a chunk of CHUNK updates a frame).
ONE_PER_FRAME = "one_step_per_frame"
FRAME_RATE = 60
SPEEDS: dict[str, int | None] = {
    ONE_PER_FRAME: FRAME_RATE,
    "slow": 100,
    "medium": 500,
    "fast": 2500,
    "max": None,
}


def steps_per_frame(speed: str) -> int:
    """Updates a frame trains at ``speed``: one, or a chunk."""
    return 1 if speed == ONE_PER_FRAME else CHUNK


MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "setup": ("data", "lanes", "selected"),
    "play": (),
    "pause": (),
    "reset": (),
    "step": ("chunks",),
    "speed": ("value",),
    "view": ("weights", "selected"),
    "export": (),
    "import": ("toml",),
    "edit": ("lane", "name", "index", "value"),
    "drawn": (),
}


def limits_dict() -> dict[str, int]:
    """The caps, for the page to show and respect."""
    return {k: getattr(LIMITS, k) for k in Limits.__dataclass_fields__}


# ---------------------------------------------------------------- messages


def parse_message(text: str) -> dict[str, Any]:
    """One websocket text message -> a checked dict with a known ``type`` and known fields.

    Raises:
      ProtocolError: too long, not JSON, not an object, an unknown type or field.
    """
    if len(text) > LIMITS.message_bytes:
        raise ProtocolError(
            f"message of {len(text)} characters is too long; at most {LIMITS.message_bytes}"
        )
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"message is not JSON ({exc.msg} at character {exc.pos})") from None
    except (ValueError, RecursionError):
        # json.loads's own limits (an integer of over 4300 digits, arrays nested deeper than
        # the recursion limit) raise these rather than JSONDecodeError: bad input all the same.
        raise ProtocolError(
            "message is not JSON the server can read (a number too long or nesting too deep)"
        ) from None
    if not isinstance(message, dict):
        raise ProtocolError("message must be a JSON object with a 'type'")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_FIELDS:
        raise ProtocolError(
            f"message type {show(kind)} is unknown; types are {', '.join(MESSAGE_FIELDS)}"
        )
    allowed = MESSAGE_FIELDS[kind]
    for key in message:
        if key != "type" and key not in allowed:
            takes = ", ".join(allowed) if allowed else "no fields"
            raise ProtocolError(f"{kind}: unknown field {key!r}; {kind} takes {takes}")
    bad = unusable_number(message)
    if bad is not None:
        path, value = bad
        error = ProtocolError(
            f"{kind}: {path} = {show(value)} is not a usable number; numbers must be "
            f"finite and within ±{FLOAT32_MAX:.4g} (float32)"
        )
        error.about = kind
        raise error
    return message


def unusable_number(value: Any) -> tuple[str, float | int] | None:
    """The first number in a parsed message (depth first) that is NaN, infinite or beyond
    float32 (``|x| > FLOAT32_MAX``), with its path (``lanes[0].learning_rate``); None if
    every number is usable. Iterative: a message may nest as deep as the parser allows."""
    todo: list[tuple[str, Any]] = [("", value)]
    while todo:
        path, item = todo.pop()
        if isinstance(item, dict):
            todo.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            todo.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, float) and not -FLOAT32_MAX <= item <= FLOAT32_MAX:
            return path, item  # NaN fails both comparisons
        elif is_int(item) and abs(item) > FLOAT32_MAX:
            return path, item
    return None


def step_chunks(message: dict) -> int:
    """The chunk count of a ``step`` message (default 1), within the cap."""
    chunks = message.get("chunks", 1)
    return int_in("step.chunks", chunks, 1, LIMITS.step_chunks)


def speed_of(message: dict) -> str:
    """The speed named by a ``speed`` message."""
    value = message.get("value")
    if value not in SPEEDS:
        raise ProtocolError(
            f"speed.value = {show(value)} is unknown; choose one of {', '.join(SPEEDS)}"
        )
    return value


# Which weights the page shows: the trained ones, the moving average, or both side by side
# (a lane without EMA shows its raw weights).
WEIGHT_VIEWS = ("raw", "ema", "both")


def view_of(message: dict, n_lanes: int) -> tuple[str | None, int | None]:
    """(weights, selected) of a ``view`` message; None where it leaves a value unchanged."""
    weights = message.get("weights")
    if weights is not None and weights not in WEIGHT_VIEWS:
        raise ProtocolError(
            f"view.weights = {show(weights)} is unknown; choose {', '.join(WEIGHT_VIEWS)}"
        )
    selected = message.get("selected")
    if selected is not None:
        selected = int_in("view.selected", selected, 0, max(0, n_lanes - 1))
    return weights, selected


def edit_of(
    message: dict, n_lanes: int, shapes: dict[str, tuple[int, ...]]
) -> tuple[int, str, tuple[int, ...], float]:
    """(lane, name, index, value) of an ``edit`` message: a parameter of the lane's network
    (``w2`` or ``b1``), an index within its shape, and a finite number within the cap.

    ``shapes`` maps each parameter name to its shape; it is the lane's, so an edit that
    arrives after a setup changed the network is refused rather than misplaced.
    """
    lane = int_in("edit.lane", message.get("lane"), 0, max(0, n_lanes - 1))
    name = message.get("name")
    if not isinstance(name, str) or name not in shapes:
        raise ProtocolError(
            f"edit.name = {show(name)} is not a parameter of this network; "
            f"choose one of {', '.join(sorted(shapes))}"
        )
    shape = shapes[name]
    index = message.get("index")
    if not isinstance(index, list) or len(index) != len(shape):
        raise ProtocolError(
            f"edit.index = {show(index)} must list {len(shape)} integer(s) for {name} of shape "
            f"{list(shape)}"
        )
    for axis, (i, size) in enumerate(zip(index, shape)):
        int_in(f"edit.index[{axis}] of {name}", i, 0, size - 1)
    value = message.get("value")
    cap = LIMITS.edit_magnitude
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not -cap <= value <= cap:
        raise ProtocolError(f"edit.value = {show(value)} must be a number from {-cap} to {cap}")
    return lane, name, tuple(index), float(value)


def import_text(message: dict) -> str:
    """The TOML text of an ``import`` message."""
    text = message.get("toml")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("import.toml must be the text of a config file")
    return text


# ---------------------------------------------------------------- helpers


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_in(where: str, value: Any, lo: int, hi: int) -> int:
    """``value`` if it is an integer in [lo, hi], else a ProtocolError naming ``where``."""
    if not is_int(value) or not lo <= value <= hi:
        raise ProtocolError(f"{where} = {show(value)} must be an integer from {lo} to {hi}")
    return value


def show(value: Any) -> str:
    """A short rendering of a value from the page, for an error line."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


__all__ = [
    "CHUNK", "ENDLESS_STEPS", "FLOAT32_MAX", "FRAME_RATE", "LIMITS", "MESSAGE_FIELDS",
    "ONE_PER_FRAME", "SPEEDS", "UPLOAD", "Limits", "WEIGHT_VIEWS",
    "ProtocolError", "edit_of", "import_text", "int_in", "is_int", "limits_dict", "parse_message", "show",
    "speed_of", "step_chunks", "steps_per_frame", "unusable_number", "view_of",
]  # fmt: skip
