"""JAX and Optax for the core, imported on first use.

The core's registries (names, summaries, the ranges of every number) are read by the config
and the command line, which must start without loading JAX and Optax (about 1.5 s): a bad
``--set`` or ``nnopt presets`` answers at once. The math itself uses ``jnp``, ``jax`` and
``optax`` from here as usual; the first attribute looked up imports the library.
"""

from __future__ import annotations

import importlib


class _OnFirstUse:
    """A module, imported when one of its attributes is first read."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<{self._name}, imported on first use>"


jax = _OnFirstUse("jax")
jnp = _OnFirstUse("jax.numpy")
optax = _OnFirstUse("optax")
