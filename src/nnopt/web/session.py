"""One tab of the playground: a race of trainings on shared data, and the frames it streams.

The server drives a :class:`Session` with checked messages (:mod:`nnopt.web.protocol`) and
asks it for frames. Everything here is synchronous and runs on a worker thread, one call at
a time per session (the server holds the session's lock), so it keeps no locks of its own.
The math is the engine's: :class:`~nnopt.train.Training` trains, and
:func:`~nnopt.evaluate.neuron_outputs` gives the heatmap and the neuron thumbnails.
"""

from __future__ import annotations

import base64
import functools
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnopt.config.schema import Config, resolve
from nnopt.core.data import DATASETS, Dataset, make_dataset, split
from nnopt.errors import DivergenceError
from nnopt.engine.evaluate import neuron_outputs, unflatten
from nnopt.core.model import OUTPUT_ACTIVATIONS
from nnopt.engine.training import Training, build_dataset, compiled_chunk
from nnopt.web import protocol
from nnopt.web.protocol import CHUNK, LIMITS, SPEEDS, UPLOAD, ProtocolError, Setup

GRID = 64  # the heatmap is GRID x GRID cells over the data's square
THUMB_STRIDE = 2  # neuron thumbnails take every 2nd cell: 32 x 32
FRAME_SECONDS = 0.02  # at max speed a frame trains this long: with the snapshot, ~35 frames/s
STEP_FRAME_SECONDS = 0.1  # a long Step request shows progress at least this often
COMPILED_PROGRAMS = 64  # compiled chunk programs kept in the process before the cache is cleared

# The numbers a lane reports each frame (the history's rows also hold parameter traces).
METRICS = tuple(
    f"{weights}{split}_{name}"
    for weights in ("", "ema_")
    for split in ("train", "test")
    for name in ("loss", "reg", "total", "accuracy")
) + ("step", "lr", "batch_loss", "batch_reg")


# ---------------------------------------------------------------- the race


class Lane:
    """One configuration of a race: its config, its training and the error that stopped it."""

    def __init__(self, config: Config, dataset: Dataset):
        self.config = config
        self.training = Training(config, dataset=dataset)
        self.error: str | None = None

    def advance(self) -> None:
        """One chunk of updates; a NaN or infinite loss stops this lane (the others go on)."""
        if self.error is not None:
            return
        try:
            self.training.advance()
        except DivergenceError as exc:
            self.error = str(exc)
        trim_history(self.training)

    def retune(self, config: Config) -> None:
        """Takes new numbers (rates, scales, decays) without starting over."""
        self.training.retune(config)
        self.config = config
        self.error = None  # new numbers (a lower rate) may well train on from the last good state


class Race:
    """Up to ``LIMITS.lanes`` trainings on one dataset, advanced together a chunk at a time.

    A small interface (``advance``, ``retune``, ``lanes``, ``step``, ``live``) so that the
    loop over lanes can later become one batched (vmap) program.
    """

    def __init__(self, configs: list[Config], dataset: Dataset):
        if compiled_chunk.cache_info().currsize > COMPILED_PROGRAMS:
            compiled_chunk.cache_clear()  # bounds memory when many structures were tried
        self.dataset = dataset
        self.lanes = [Lane(config, dataset) for config in configs]

    def advance(self, deadline: float | None = None) -> None:
        """One chunk for every live lane that is not ahead of the others.

        With a ``deadline`` (a ``time.perf_counter()`` value) it stops after the lane that
        passes it: a lane compiling its program (a second or so) then does not hold the
        others' frame, and the lanes left behind go first next time, so they stay in step.
        """
        live = [lane for lane in self.lanes if lane.error is None]
        if not live:
            return
        behind = min(lane.training.step for lane in live)
        for lane in live:
            if lane.training.step == behind:
                lane.advance()
                if deadline is not None and time.perf_counter() > deadline:
                    return

    def retune(self, configs: list[Config]) -> None:
        for lane, config in zip(self.lanes, configs):
            lane.retune(config)

    @property
    def step(self) -> int:
        return max(lane.training.step for lane in self.lanes)

    @property
    def live(self) -> bool:
        """Whether any lane can still train."""
        return any(lane.error is None for lane in self.lanes)


def trim_history(training: Training) -> None:
    """Keeps only the last log row: the page keeps its own bounded curves, and an endless
    playground run must not grow a history forever. (The last row stays so that the next
    chunk does not record a fresh "before" row.)"""
    history = training.history
    del history.rows[:-1]
    history.step_loss.clear()
    history.step_reg.clear()
    history.step_lr.clear()


# ---------------------------------------------------------------- the input plane


@dataclass(frozen=True)
class Plane:
    """The square of the input plane the page draws: its grid points and how to colour them."""

    extent: tuple[float, float, float, float]  # x0 min, x0 max, x1 min, x1 max
    points: np.ndarray  # [GRID*GRID, 2], row by row from the top (largest x1)
    task: str
    n_classes: int
    target_range: tuple[float, float]  # regression targets' min and max

    def output_bytes(self, y: np.ndarray, config: Config) -> str:
        """The model's output on the grid as base64 bytes, one per cell.

        Binary and regression: 0..255 along the class-1 probability or the target range.
        Multiclass: class * 64 + confidence * 63 (the page decodes ``b >> 6`` and ``b & 63``).
        """
        if self.task == "multiclass":
            if config.loss.name == "softmax_cross_entropy":  # the outputs are logits
                y = np.asarray(OUTPUT_ACTIVATIONS["softmax"](y))
            cls = np.argmax(y, axis=1)
            confidence = np.clip(np.max(y, axis=1), 0.0, 1.0)
            return _b64(cls * 64 + np.round(confidence * 63))
        lo, hi = self.target_range if self.task == "regression" else (0.0, 1.0)
        return _b64(np.round(np.clip((y[:, 0] - lo) / (hi - lo), 0.0, 1.0) * 255))

    def neuron_bytes(self, layer: np.ndarray) -> list[str]:
        """Each neuron's output on a coarser grid, scaled into -1..1 (by its largest magnitude
        when that exceeds 1) as bytes 0..255."""
        side = GRID // THUMB_STRIDE
        coarse = layer.reshape(GRID, GRID, -1)[::THUMB_STRIDE, ::THUMB_STRIDE].reshape(
            side * side, -1
        )
        scale = np.maximum(1.0, np.max(np.abs(coarse), axis=0))
        scaled = np.nan_to_num(coarse / scale, nan=0.0)
        return [_b64(np.round((scaled[:, j] + 1.0) * 127.5)) for j in range(coarse.shape[1])]


def plane_for(dataset: Dataset) -> Plane:
    """A square around every point (train and test) with a margin, and its grid."""
    x = np.concatenate([dataset.x_train, dataset.x_test])
    lo, hi = x.min(axis=0), x.max(axis=0)
    center = (lo + hi) / 2
    half = max(float(np.max(hi - lo)) / 2 * 1.1, 1e-3)
    x0 = np.linspace(center[0] - half, center[0] + half, GRID)
    x1 = np.linspace(center[1] + half, center[1] - half, GRID)  # top row first
    grid = np.stack(np.meshgrid(x0, x1), axis=-1).reshape(-1, 2).astype(np.float32)
    y = np.concatenate([dataset.y_train, dataset.y_test])[:, 0]
    extent = (x0[0], x0[-1], x1[-1], x1[0])
    return Plane(
        extent=tuple(float(v) for v in extent),
        points=grid,
        task=dataset.task,
        n_classes=dataset.n_classes,
        target_range=(float(y.min()), float(max(y.max(), y.min() + 1e-6))),
    )


@functools.cache
def dataset_previews(points: int = 300) -> dict[str, dict[str, Any]]:
    """A few points of every playground dataset, for the page's dataset tiles."""
    out = {}
    for name in protocol.playground_datasets():
        size = min(points, DATASETS[name].default_size)
        dataset = make_dataset(name, size, 0.0, protocol.DATA_DEFAULTS["seed"], 0.0)
        plane = plane_for(dataset)
        rows = np.concatenate([dataset.x_train, dataset.y_train], axis=1).astype(np.float64)
        out[name] = {
            "points": np.round(rows, 3).tolist(),
            "extent": list(plane.extent),
            "target_range": list(plane.target_range),
        }
    return out


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, np.uint8).tobytes()).decode("ascii")


# ---------------------------------------------------------------- the session


class RateMeter:
    """Updates per second (per lane) and frames per second over the last two seconds."""

    WINDOW = 2.0

    def __init__(self):
        self.marks: deque[tuple[float, int]] = deque()

    def tick(self, step: int) -> None:
        now = time.perf_counter()
        self.marks.append((now, step))
        while self.marks and now - self.marks[0][0] > self.WINDOW:
            self.marks.popleft()

    def reset(self) -> None:
        self.marks.clear()

    def rates(self) -> dict[str, float]:
        if len(self.marks) < 2:
            return {"steps_per_second": 0.0, "frames_per_second": 0.0}
        (t0, s0), (t1, s1) = self.marks[0], self.marks[-1]
        span = max(t1 - t0, 1e-9)
        return {
            "steps_per_second": round((s1 - s0) / span, 1),
            "frames_per_second": round((len(self.marks) - 1) / span, 1),
        }


class Session:
    """One tab: its setup, its race, what it shows, and whether it is training."""

    def __init__(self, session_id: str):
        self.id = session_id
        self.setup: Setup | None = None
        self.raw_configs: list[dict] = []
        self.configs: list[Config] = []
        self.race: Race | None = None
        self.plane: Plane | None = None
        self.uploaded: tuple[np.ndarray, np.ndarray] | None = None
        self.upload_version = 0  # a new upload with the same settings is new data
        self.data_key: Any = None
        self.playing = False
        self.speed = "fast"
        self.weights = "raw"
        self.selected = 0
        self.pending_chunks = 0
        self.meter = RateMeter()

    # -- driving

    @property
    def wants_frame(self) -> bool:
        """Whether the server should ask for another frame now."""
        busy = self.playing or self.pending_chunks > 0
        return self.race is not None and self.race.live and busy

    def frame_delay(self, elapsed: float) -> float:
        """Seconds to wait before the next frame so that a speed's target rate holds."""
        target = SPEEDS[self.speed]
        if target is None or self.pending_chunks:
            return 0.0
        return max(0.0, CHUNK / target - elapsed)

    def handle(self, message: dict) -> list[dict]:
        """Applies one checked message; returns the replies. Raises NnoptError for a bad one,
        leaving the session as it was."""
        kind = message["type"]
        if kind not in ("setup", "import", "speed") and self.race is None:
            raise ProtocolError(f"{kind}: nothing to {kind} yet; send a setup first")
        return getattr(self, f"_on_{kind}")(message)

    def frame(self) -> dict | None:
        """Trains for one frame (a chunk per lane at a set speed, ~25 ms at max speed, part of
        a Step request) and returns the snapshot to show."""
        if not self.wants_frame:
            return None
        race, start = self.race, time.perf_counter()
        if self.pending_chunks:
            target = race.step + self.pending_chunks * CHUNK
            deadline = start + STEP_FRAME_SECONDS
            while race.live and race.step < target and time.perf_counter() < deadline:
                race.advance(deadline)
            self.pending_chunks = max(0, -(-(target - race.step) // CHUNK))  # chunks still to run
        elif SPEEDS[self.speed] is None:
            deadline = start + FRAME_SECONDS
            race.advance(deadline)
            while race.live and time.perf_counter() < deadline:
                race.advance(deadline)
        else:
            race.advance(start + FRAME_SECONDS)
        if not race.live:
            self.playing, self.pending_chunks = False, 0
        self.meter.tick(race.step)
        return self.snapshot()

    def set_upload(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Keeps uploaded points for a setup with ``data.name = "upload"``."""
        self.uploaded = (x, y)
        self.upload_version += 1
        ones = int(np.sum(y))
        return {"points": len(x), "labels": {"0": len(x) - ones, "1": ones}}

    # -- messages

    def _on_setup(self, message: dict) -> list[dict]:
        setup = protocol.parse_setup(message)
        configs = protocol.lane_configs(setup)
        raws = [protocol.lane_config_dict(setup.data, lane) for lane in setup.lanes]
        data_key = (tuple(sorted(setup.data.items())), self._upload_key(setup))
        keep = (
            self.race is not None
            and data_key == self.data_key
            and len(raws) == len(self.raw_configs)
            and all(protocol.retunable(a, b) for a, b in zip(self.raw_configs, raws))
        )
        if keep:
            self.race.retune(configs)
        else:
            dataset = self._dataset(setup, configs[0])
            race = Race(configs, dataset)  # raises before anything changes
            self.race, self.plane, self.data_key = race, plane_for(dataset), data_key
            self.meter.reset()
        self.setup, self.configs, self.raw_configs = setup, configs, raws
        self.selected = setup.selected
        return [self._ready(reset=not keep), self.snapshot()]

    def _on_reset(self, message: dict) -> list[dict]:
        self.race = Race(self.configs, self.race.dataset)
        self.pending_chunks = 0
        self.meter.reset()
        return [self._ready(reset=True), self.snapshot()]

    def _on_play(self, message: dict) -> list[dict]:
        if not self.race.live:
            raise ProtocolError(
                "play: every lane has diverged; press Reset or lower the learning rate"
            )
        self.playing = True
        return [self._status()]

    def _on_pause(self, message: dict) -> list[dict]:
        self.playing, self.pending_chunks = False, 0
        return [self._status()]

    def _on_step(self, message: dict) -> list[dict]:
        if not self.race.live:
            raise ProtocolError(
                "step: every lane has diverged; press Reset or lower the learning rate"
            )
        chunks = protocol.step_chunks(message)
        self.pending_chunks = min(LIMITS.step_chunks, self.pending_chunks + chunks)
        return []

    def _on_speed(self, message: dict) -> list[dict]:
        self.speed = protocol.speed_of(message)
        return [self._status()]

    def _on_view(self, message: dict) -> list[dict]:
        weights, selected = protocol.view_of(message, len(self.race.lanes))
        self.weights = weights or self.weights
        self.selected = self.selected if selected is None else selected
        return [self._status(), self.snapshot()]

    def _on_export(self, message: dict) -> list[dict]:
        lane = self.race.lanes[self.selected]
        which = self._weights_of(lane)
        uploaded = len(self.race.dataset.x_train) + len(self.race.dataset.x_test)
        toml = protocol.export_toml(
            lane.config,  # as set, not resolved: the file keeps the defaults implicit
            lane.training.step,
            uploaded if self.setup.data["name"] == UPLOAD else 0,
        )
        weights = protocol.params_to_json(self._params(lane, which))
        return [
            {
                "type": "export",
                "lane": self.selected,
                "toml": toml,
                "weights": weights,
                "which": which,
            }
        ]

    def _on_import(self, message: dict) -> list[dict]:
        settings = protocol.settings_from_toml(protocol.import_text(message))
        return [{"type": "imported", "settings": settings}]

    # -- replies

    def _status(self) -> dict[str, Any]:
        return {
            "type": "status",
            "playing": self.playing,
            "speed": self.speed,
            "weights": self.weights,
            "selected": self.selected,
        }

    def _ready(self, reset: bool) -> dict[str, Any]:
        """The accepted setup, each lane's network, and (after a reset) the data points."""
        reply = {
            "type": "ready",
            "reset": reset,
            "setup": {
                "data": self.setup.data,
                "lanes": list(self.setup.lanes),
                "selected": self.selected,
            },
            "lanes": [protocol.lane_summary(c) for c in self.configs],
            "chunk": CHUNK,
        }
        if reset:
            reply["data"] = self._data_view()
        return reply

    def _data_view(self) -> dict[str, Any]:
        d, p = self.race.dataset, self.plane

        def rows(x, y):
            return np.round(np.concatenate([x, y], axis=1).astype(np.float64), 4).tolist()

        return {
            "task": p.task,
            "classes": p.n_classes,
            "extent": list(p.extent),
            "target_range": list(p.target_range),
            "train": rows(d.x_train, d.y_train),
            "test": rows(d.x_test, d.y_test),
        }

    def snapshot(self) -> dict[str, Any]:
        """What the page draws now: each lane's step, metrics and heatmap; the shown lane's
        neurons and weights; the speed."""
        lanes, network = [], None
        for index, lane in enumerate(self.race.lanes):
            which = self._weights_of(lane)
            params = self._params(lane, which)
            layers = neuron_outputs(lane.training.structure, params, self.plane.points)
            lanes.append(
                {
                    "step": lane.training.step,
                    "error": lane.error,
                    "weights": which,
                    "metrics": _metrics(lane.training),
                    "heatmap": self.plane.output_bytes(layers[-1], lane.config),
                }
            )
            if index == self.selected:
                network = {
                    "lane": index,
                    "neurons": [self.plane.neuron_bytes(h) for h in layers],
                    "weights": protocol.params_to_json(
                        {k: np.round(v, 4) for k, v in params.items()}
                    ),
                }
        return {
            "type": "snapshot",
            "playing": self.playing,
            "step": self.race.step,
            "rate": self.meter.rates(),
            "lanes": lanes,
            "network": network,
        }

    # -- helpers

    def _weights_of(self, lane: Lane) -> str:
        """The weights shown for a lane: EMA only where the lane keeps a moving average."""
        return "ema" if self.weights == "ema" and lane.config.ema.enabled else "raw"

    @staticmethod
    def _params(lane: Lane, which: str) -> dict[str, np.ndarray]:
        """Named parameters on the host (one copy of the flat vector, then numpy slices)."""
        state = lane.training.state
        flat = np.asarray(state.ema_params if which == "ema" else state.params)
        return unflatten(flat, lane.training.structure)

    def _upload_key(self, setup: Setup) -> int:
        return self.upload_version if setup.data["name"] == UPLOAD else 0

    def _dataset(self, setup: Setup, first: Config) -> Dataset:
        """The shared data: generated from the settings, or the uploaded points split."""
        if setup.data["name"] != UPLOAD:
            return build_dataset(resolve(first))
        if self.uploaded is None:
            raise ProtocolError(
                "data.name = 'upload': no CSV uploaded in this tab yet; upload one or choose a dataset"
            )
        x, y = self.uploaded
        x_tr, y_tr, x_te, y_te = split(x, y, setup.data["test_fraction"], setup.data["seed"])
        if len(x_tr) == 0:
            raise ProtocolError(
                "data.test_fraction leaves no uploaded points for training; lower it"
            )
        return Dataset(x_tr, y_tr, x_te, y_te, task="binary", n_classes=2)


def _metrics(training: Training) -> dict[str, float | None]:
    """The last log row's metrics, JSON-safe (a non-finite number becomes null)."""
    if not training.history.rows:
        return {}
    row = training.history.rows[-1]
    return {k: (v if np.isfinite(v) else None) for k, v in row.items() if k in METRICS}
