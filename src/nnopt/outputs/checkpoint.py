"""Checkpoints: a training state in one safetensors file, written atomically, with a checksum.

Every array of the :class:`~nnopt.engine.step.TrainState` (step, parameters, optimizer
state, EMA shadow) is stored under its path in the state's tree, e.g.
``params`` or ``opt_state.inner_state[0].mu``. The file is written to a temporary
name, flushed to disk and renamed (:func:`~nnopt.outputs.serialize.write_bytes`), so a
crash leaves either the old file or the new one; a SHA-256 of the arrays is kept in the metadata and checked on load.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jax
import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from nnopt.config.documents import check_regular
from nnopt.errors import CheckpointError
from nnopt.outputs.serialize import write_bytes

FORMAT = "nnopt-checkpoint-1"


def state_arrays(state) -> dict[str, np.ndarray]:
    """Path name -> NumPy array of every leaf of a state tree."""
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of the arrays, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_checkpoint(path: Path, state, metadata: dict[str, str] | None = None) -> None:
    """Saves a training state atomically with its checksum."""
    arrays = state_arrays(state)
    meta = {"format": FORMAT, "sha256": digest(arrays), **(metadata or {})}
    write_bytes(Path(path), save(arrays, metadata=meta))


def checkpoint_metadata(path: Path) -> dict[str, str]:
    """The metadata of a checkpoint (format, checksum, step, the config it recorded), read
    from its header without its arrays.

    Raises:
      CheckpointError: the file is missing or not a safetensors file.
    """
    from safetensors import safe_open

    try:
        check_regular(Path(path), f"checkpoint {path}", CheckpointError)  # a FIFO would block
        with safe_open(Path(path), "np") as f:
            return f.metadata() or {}
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc})") from None


def load_checkpoint(path: Path, template):
    """Loads a state saved by :func:`save_checkpoint` into the shape of ``template``.

    Raises:
      CheckpointError: the file is missing, unreadable, corrupted (checksum), or holds
        arrays that do not fit the template.
    """
    path = Path(path)
    try:
        # Opening a FIFO for reading blocks until a writer comes: refuse anything not a file.
        check_regular(path, f"checkpoint {path}", CheckpointError)
        arrays = load_file(path)
        from safetensors import safe_open

        with safe_open(path, "np") as f:
            meta = f.metadata() or {}
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("sha256") != digest(arrays):
        raise CheckpointError(f"checkpoint {path} is corrupted (checksum mismatch)")
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    restored = []
    for key_path, leaf in leaves:
        name = jax.tree_util.keystr(key_path)
        if name not in arrays or arrays[name].shape != np.shape(leaf):
            raise CheckpointError(f"checkpoint {path} does not fit this config ({name})")
        restored.append(np.asarray(arrays[name], dtype=np.asarray(leaf).dtype))
    # One transfer (jnp.asarray would compile a program per shape).
    return jax.device_put(jax.tree_util.tree_unflatten(treedef, restored)), meta
