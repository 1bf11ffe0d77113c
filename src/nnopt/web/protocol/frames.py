"""How the server's messages travel: JSON text, or a binary frame for pages that ask.

A message may hold raw bytes (the heatmaps and the neuron thumbnails, one byte a pixel).
As JSON text they are base64 strings. A page that connects to ``/ws?frames=binary`` gets
every message that holds bytes as one binary websocket frame instead:

    b"NNF1"              magic and format version
    uint32, little end   n: the length of the header
    n bytes              the message as UTF-8 JSON, each bytes value replaced by
                         {"blob": [offset, length]} (offsets count from the end of the header)
    the blobs            back to back

which saves base64's third and the page's decoding of it.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

MAGIC = b"NNF1"
_LENGTH = struct.Struct("<I")


def encode(message: dict[str, Any], binary: bool = False) -> str | bytes:
    """The message as JSON text (bytes in base64) or, if ``binary`` and it holds bytes, as
    a binary frame (see the module's docstring)."""
    if not binary:
        return json.dumps(message, default=_base64)
    blobs: list[bytes] = []
    header = json.dumps(_replace_bytes(message, blobs, [0])).encode("utf-8")
    if not blobs:
        return header.decode("utf-8")
    return MAGIC + _LENGTH.pack(len(header)) + header + b"".join(blobs)


def decode(frame: str | bytes) -> dict[str, Any]:
    """A message from :func:`encode`, with its bytes values back (for clients and tests)."""
    if isinstance(frame, str):
        return json.loads(frame)
    if frame[:4] != MAGIC:
        raise ValueError("not an nnopt binary frame (no NNF1 magic)")
    (n,) = _LENGTH.unpack_from(frame, 4)
    body = memoryview(frame)[8 + n :]
    return _restore_bytes(json.loads(bytes(frame[8 : 8 + n])), body)


def _base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _replace_bytes(value: Any, blobs: list[bytes], offset: list[int]) -> Any:
    if isinstance(value, bytes):
        blobs.append(value)
        offset[0] += len(value)
        return {"blob": [offset[0] - len(value), len(value)]}
    if isinstance(value, dict):
        return {k: _replace_bytes(v, blobs, offset) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_bytes(v, blobs, offset) for v in value]
    return value


def _restore_bytes(value: Any, body: memoryview) -> Any:
    if isinstance(value, dict):
        if set(value) == {"blob"}:
            at, n = value["blob"]
            return bytes(body[at : at + n])
        return {k: _restore_bytes(v, body) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_bytes(v, body) for v in value]
    return value
