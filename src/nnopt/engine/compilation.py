"""What XLA compiles: the programs kept in memory, the persistent compilation cache, and
counts and clocks of compiling.

Every jitted program nnopt builds (a run's chunk, a sweep's batch, a race's lanes) is kept
in one :class:`ProgramCache` per process: least recently used first out past
:data:`PROGRAMS_KEPT` programs, so a server whose tabs try network after network holds a
bounded amount of compiled code (each program's code and buffers take about 5-7 MiB; an
evicted one that is needed again is read back from the persistent cache, not compiled).

A compiled program depends only on its shapes, its options and the JAX/XLA version, so
:func:`use_persistent_cache` keeps every program nnopt compiles in JAX's persistent
compilation cache, in the user's cache folder: a second run of any shape reads its
programs back instead of compiling them. The folder is ``$NNOPT_CACHE_DIR``, or
``$XDG_CACHE_HOME/nnopt`` (``~/.cache/nnopt`` by default), with one subfolder per JAX
version (``xla/jax-0.10.2-jaxlib-0.10.2``); least recently used programs are evicted past
:data:`CACHE_LIMIT_BYTES` per version.

A cache that cannot be used never stops a run: a folder that cannot be created or written
(or a file in its place) turns the cache off, an entry that cannot be read (corrupt,
truncated) is compiled again and the folder's entries are cleared so that they are written
anew, and a full disk only stops the writing. Each says so in one line on stderr, once per
process.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import jax

CACHE_ENV = "NNOPT_CACHE_DIR"
CACHE_LIMIT_BYTES = 256 * 2**20  # per JAX version; a lecture-sized program is ~0.1-0.3 MiB

PROGRAMS_KEPT = 32  # in memory, per process; ~5-7 MiB each (tests/web/test_load.py measures)

# JAX's own words for an entry it could not read or write (jax._src.compiler warns them).
_CACHE_TROUBLE = r"Error (reading|writing) persistent compilation cache"


# ------------------------------------------------------------------ where the cache lives


def cache_root() -> Path:
    """``$NNOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/nnopt``, else ``~/.cache/nnopt``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "nnopt"


def cache_folder(root: Path | None = None) -> Path:
    """The programs' folder of this JAX version: ``ROOT/xla/jax-V-jaxlib-V``. A cache
    written by another version sits beside it, untouched (its keys could never match)."""
    import jaxlib

    root = cache_root() if root is None else Path(root)
    return root / "xla" / f"jax-{jax.__version__}-jaxlib-{jaxlib.__version__}"


# ------------------------------------------------------------------ programs in memory


class ProgramCache:
    """Compiled programs by key, the least recently used evicted past ``limit`` entries.

    Thread-safe (the playground builds programs on a pool of threads). Evicting drops the
    only reference to a jitted function, and with it JAX's executables for it.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: OrderedDict[Hashable, Callable] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Callable]) -> Callable:
        """The program kept under ``key``, built by ``build()`` (and kept) if missing."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            program = self._entries[key] = build()
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)
            return program

    def keys(self) -> list[Hashable]:
        """The kept keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


programs = ProgramCache(PROGRAMS_KEPT)


def kept_program(fn: Callable[..., Callable]) -> Callable[..., Callable]:
    """Decorates ``fn(*key) -> jitted function`` so that its programs live in
    :data:`programs` under ``(fn's name, *key)``. Like ``functools.cache`` it offers
    ``cache_info().currsize`` (this function's programs kept now) and ``cache_clear()``."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def kept(*key):
        return programs.get((name, *key), lambda: fn(*key))

    def mine() -> list[Hashable]:
        return [k for k in programs.keys() if k[0] == name]

    def cache_info():
        return functools._CacheInfo(None, None, programs.limit, len(mine()))

    def cache_clear() -> None:
        with programs._lock:
            for key in [k for k in programs._entries if k[0] == name]:
                del programs._entries[key]

    kept.cache_info, kept.cache_clear = cache_info, cache_clear
    return kept


# ------------------------------------------------------------------ turning it on


@dataclass
class CacheState:
    """The cache this process uses: its folder (None: off) and what went wrong, if anything."""

    folder: Path | None = None
    trouble: str | None = None


_state = CacheState()
_lock = threading.Lock()
_said: set[str] = set()


def use_persistent_cache(enabled: bool = True, root: Path | None = None) -> CacheState:
    """Turns JAX's persistent compilation cache on (in :func:`cache_folder`) or off.

    Every program is kept, however fast it compiled (JAX's default keeps only those over a
    second). A folder that cannot be created or written turns the cache off with one line
    on stderr; the run compiles as it would without a cache.
    """
    from jax.experimental.compilation_cache import compilation_cache

    _watch_jax_warnings()
    folder = cache_folder(root) if enabled else None
    if folder is not None:
        problem = _unusable(folder)
        if problem:
            _say_once(
                f"nnopt: note: the compilation cache {folder} cannot be used ({problem}); "
                f"compiling without it (set {CACHE_ENV} to another folder, or pass --no-cache)"
            )
            folder = None
    with _lock:
        if folder != _state.folder:
            compilation_cache.reset_cache()  # JAX opens its cache once; a new folder needs this
        _state.folder, _state.trouble = folder, None
    jax.config.update("jax_enable_compilation_cache", folder is not None)
    jax.config.update("jax_compilation_cache_dir", str(folder) if folder is not None else None)
    if folder is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        jax.config.update("jax_compilation_cache_max_size", _size_limit())
    return _state


def _unusable(folder: Path) -> str | None:
    """Why ``folder`` cannot hold the cache (it cannot be made, or a file cannot be written
    in it), or None when it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _size_limit() -> int:
    """:data:`CACHE_LIMIT_BYTES`; JAX's eviction needs the ``filelock`` package (-1: no limit)."""
    try:
        import filelock  # noqa: F401
    except ImportError:
        return -1
    return CACHE_LIMIT_BYTES


# ------------------------------------------------------------------ a cache that fails


def _say_once(text: str) -> None:
    with _lock:
        if text in _said:
            return
        _said.add(text)
    print(text, file=sys.stderr, flush=True)


_watching = False


def _watch_jax_warnings() -> None:
    """Routes JAX's warnings about cache entries to :func:`_cache_trouble` (once installed).

    JAX warns once per program it could not read or write; the user gets one line. The
    filter also keeps ``-W error`` from turning a cache miss into a failed run.
    """
    global _watching
    with _lock:
        if _watching:
            return
        _watching = True
    warnings.filterwarnings("always", message=_CACHE_TROUBLE, category=UserWarning)
    shown = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if text.startswith(("Error reading persistent compilation cache",
                            "Error writing persistent compilation cache")):  # fmt: skip
            _cache_trouble(text)
            return
        shown(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning


def _cache_trouble(text: str) -> None:
    """One line for the first entry that could not be read or written. An entry that cannot
    be read stays unreadable (JAX never overwrites one), so the folder's entries are cleared:
    this run writes them anew."""
    folder = _state.folder
    reading = text.startswith("Error reading")
    with _lock:
        first = _state.trouble is None
        if first:
            _state.trouble = text
    if reading and folder is not None:
        _clear_entries(folder)
    if first:
        reason = text.rsplit(": ", 1)[-1][:120]
        what = "read" if reading else "written"
        then = "cleared, compiling as usual" if reading else "compiling as usual"
        _say_once(
            f"nnopt: note: the compilation cache {folder} could not be {what} ({reason}): {then}"
        )


def _clear_entries(folder: Path) -> None:
    for path in folder.glob("*-cache"):
        try:
            path.unlink()
        except OSError:
            pass


# ------------------------------------------------------------------ counting and clocking


class _Events:
    """Totals of JAX's compile events since the process started (every thread)."""

    def __init__(self):
        self.programs = 0  # programs handed to XLA's compiler or read from the cache
        self.cache_hits = 0  # of those, read from the persistent cache
        self.seconds = 0.0  # tracing, lowering, compiling and cache reads

    def on_duration(self, event: str, duration: float, **_) -> None:
        # Tracing, lowering, and XLA's compile or the cache's read (which the compile's
        # duration includes); the cache's "time saved" events are not time spent.
        if event.startswith("/jax/core/compile/"):
            self.seconds += duration
        if event == "/jax/core/compile/backend_compile_duration":
            self.programs += 1

    def on_event(self, event: str, **_) -> None:
        if event == "/jax/compilation_cache/cache_hits":
            self.cache_hits += 1


_events: _Events | None = None


def _listening() -> _Events:
    global _events
    with _lock:
        if _events is None:
            _events = _Events()
            jax.monitoring.register_event_duration_secs_listener(_events.on_duration)
            jax.monitoring.register_event_listener(_events.on_event)
        return _events


@dataclass(frozen=True)
class Compiled:
    """Programs JAX needed since a :func:`compile_counter` began: ``programs`` in all,
    ``cache_hits`` of them read from the persistent cache, ``compiled`` by XLA."""

    programs: int
    cache_hits: int

    @property
    def compiled(self) -> int:
        return self.programs - self.cache_hits


def compile_counter() -> Callable[[], Compiled]:
    """A function returning the programs JAX has compiled (or read from the cache) since
    this call, counted from JAX's monitoring events (not timed)."""
    events = _listening()
    start = (events.programs, events.cache_hits)
    return lambda: Compiled(events.programs - start[0], events.cache_hits - start[1])


def compile_clock() -> Callable[[], float]:
    """A function returning the seconds JAX has spent compiling since this call, summed over
    threads (tracing, lowering, XLA's compile and cache reads)."""
    events = _listening()
    start = events.seconds
    return lambda: events.seconds - start
