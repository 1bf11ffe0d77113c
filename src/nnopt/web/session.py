"""One tab of the playground: its setup, its race, what it shows, and the frames it streams.

The server drives a :class:`Session` with checked messages (:mod:`nnopt.web.protocol`) and
asks it for frames. Everything here is synchronous and runs on a worker thread, one call at
a time per session (the server holds the session's lock), so it keeps no locks of its own.
The math is the engine's: :class:`~nnopt.web.race.Race` trains, and
:func:`~nnopt.engine.evaluate.neuron_outputs` gives the heatmap and the neuron thumbnails.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import jax.numpy as jnp
import numpy as np

from nnopt.config import Config, resolve
from nnopt.core.data import Dataset, split
from nnopt.core.features import FEATURES, feature_inputs
from nnopt.engine.evaluate import neuron_outputs
from nnopt.engine.landscape import Landscape, has_landscape, loss_landscape
from nnopt.engine.setup import make_dataset
from nnopt.engine.step import weights_of
from nnopt.engine.structure import flat_position, unflatten
from nnopt.engine.training import Training
from nnopt.outputs.serialize import jsonable
from nnopt.web import protocol
from nnopt.web.plane import Plane, plane_for
from nnopt.web.protocol import CHUNK, LIMITS, SPEEDS, UPLOAD, ProtocolError, Setup
from nnopt.web.race import Race, Racer

FRAME_SECONDS = 0.014  # at max speed a frame trains this long less its snapshot: ~60 frames/s
STEP_FRAME_SECONDS = 0.1  # a long Step request shows progress at least this often

# The numbers a lane reports each frame (the history's rows also hold parameter traces).
METRICS = tuple(
    f"{weights}{split}_{name}"
    for weights in ("", "ema_")
    for split in ("train", "test")
    for name in ("loss", "reg", "total", "accuracy")
) + ("step", "lr", "batch_loss", "batch_reg")


def training_seconds(snapshot_seconds: float) -> float:
    """A max-speed frame's training budget, ``max(F / 2, F - snapshot_seconds)`` with
    ``F = FRAME_SECONDS``: a bigger network's frames (a 16 x 6 one's snapshot: ~3 ms) come as
    often as a small one's; at least half a frame (a costly snapshot is shown only every few
    frames)."""
    return max(FRAME_SECONDS / 2, FRAME_SECONDS - snapshot_seconds)


class RateMeter:
    """Updates per second (per lane) over the last two seconds."""

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
            return {"steps_per_second": 0.0}
        (t0, s0), (t1, s1) = self.marks[0], self.marks[-1]
        span = max(t1 - t0, 1e-9)
        return {"steps_per_second": round((s1 - s0) / span, 1)}


class Session:
    """One tab: its setup, its race, what it shows, and whether it is training."""

    def __init__(self, session_id: str):
        self.id = session_id
        self.setup: Setup | None = None
        self.configs: list[Config] = []
        self.race: Race | None = None
        self.plane: Plane | None = None
        self.plane_inputs: np.ndarray | None = None  # the plane's points as the model's inputs
        self.landscape: Landscape | None = None  # lane 1's loss over its two numbers, if it has two
        self.landscape_start: np.ndarray | None = None  # where the grid is centred
        self.upload: tuple[np.ndarray, np.ndarray] | None = None
        self.upload_version = 0  # a new upload with the same settings is new data
        self.data_key: Any = None
        self.playing = False
        self.speed = "fast"
        self.weights = "raw"
        self.selected = 0
        self.pending_chunks = 0
        self.meter = RateMeter()
        self.snapshot_seconds = 0.0  # what the last snapshot took to draw
        self.trained_unshown = 0.0  # seconds trained since the last snapshot

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
        return max(0.0, protocol.steps_per_frame(self.speed) / target - elapsed)

    def handle(self, message: dict) -> list[dict]:
        """Applies one checked message; returns the replies. Raises NnoptError for a bad one,
        leaving the session as it was."""
        kind = message["type"]
        if kind not in ("setup", "import", "speed", "drawn") and self.race is None:
            raise ProtocolError(f"{kind}: nothing to {kind} yet; send a setup first")
        return getattr(self, f"_on_{kind}")(message)

    def frame(self, show: bool = True) -> dict | None:
        """Trains for one frame (a chunk per lane at a set speed, ~15 ms at max speed, part of
        a Step request) and returns the snapshot to show; ``{}`` when not ``show`` (the
        page is still drawing an earlier one) and None when there was nothing to train."""
        if not self.wants_frame:
            return None
        race, start = self.race, time.perf_counter()
        if self.pending_chunks:
            target = race.step + self.pending_chunks * CHUNK
            deadline = start + STEP_FRAME_SECONDS
            while race.live and race.step < target and time.perf_counter() < deadline:
                race.advance(deadline, target - race.step)  # a paused race may stand mid-chunk
            self.pending_chunks = max(0, -(-(target - race.step) // CHUNK))  # chunks still to run
        elif SPEEDS[self.speed] is None:
            deadline = start + training_seconds(self.snapshot_seconds)
            race.advance(deadline)
            while race.live and time.perf_counter() < deadline:
                race.advance(deadline)
        else:
            race.advance(start + FRAME_SECONDS, protocol.steps_per_frame(self.speed))
        if not race.live:
            self.playing, self.pending_chunks = False, 0
        self.meter.tick(race.step)
        trained = time.perf_counter() - start
        if not show and race.live:  # the page is still drawing an earlier snapshot
            self.trained_unshown += trained
            return {}
        return self._snapshot_due(trained)

    def _snapshot_due(self, trained: float) -> dict | None:
        """The snapshot, unless drawing it would take more of this tab's turns than training
        does: a big race (eight deep lanes: ~30 ms or more to draw) then shows every few
        frames, so that each of its turns stays short and the other tabs wait less. The last
        frame of a run, a pause or a Step always shows."""
        self.trained_unshown += trained
        costly = self.snapshot_seconds > FRAME_SECONDS / 2  # a small network's takes ~2 ms
        if costly and self.wants_frame and self.trained_unshown < self.snapshot_seconds:
            return None
        start = time.perf_counter()
        snapshot = self.snapshot()
        self.snapshot_seconds = time.perf_counter() - start
        self.trained_unshown = 0.0
        return snapshot

    def set_upload(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Keeps uploaded points for a setup with ``data.name = "upload"``."""
        self.upload = (x, y)
        self.upload_version += 1
        ones = int(np.sum(y))
        return {"points": len(x), "labels": {"0": len(x) - ones, "1": ones}}

    # -- messages

    def _on_setup(self, message: dict) -> list[dict]:
        setup = protocol.parse_setup(message)
        configs = protocol.lane_configs(setup)
        data_key = (tuple(sorted(setup.data.items())), self._upload_key(setup))
        old = self.setup.lanes if self.setup is not None else ()
        keep = (
            self.race is not None
            and data_key == self.data_key
            and len(setup.lanes) == len(old)
            and all(protocol.retunable(a, b) for a, b in zip(old, setup.lanes))
        )
        if keep:
            self.race.retune(configs)
        else:
            dataset = self._dataset(setup, configs[0])  # the points; each lane adds its inputs
            race = Race(configs, dataset)  # raises before anything changes
            self.race, self.plane, self.data_key = race, plane_for(dataset), data_key
            self.plane_inputs = _inputs_of(self.plane.points, configs[0])
            first = race.racers[0].training
            self.landscape_start = (
                np.asarray(weights_of(first.state, "raw")) if has_landscape(first) else None
            )
            self.meter.reset()
        self.setup, self.configs = setup, configs
        self.selected = setup.selected
        self.landscape = self._landscape()  # again after a retune: the loss's numbers may differ
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
        """Stops, and shows where training stopped: the frames a slow page had no credit
        for trained on unseen, and a Step after the pause must start from what it shows."""
        self.playing, self.pending_chunks = False, 0
        return [self._status(), self._snapshot_due(0.0)]

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
        weights, selected = protocol.view_of(message, len(self.race.racers))
        self.weights = weights or self.weights
        self.selected = self.selected if selected is None else selected
        return [self._status(), self.snapshot()]

    def _on_export(self, message: dict) -> list[dict]:
        lane = self.race.racers[self.selected]
        which = self._weights_of(lane)
        uploaded = len(self.race.dataset.x_train) + len(self.race.dataset.x_test)
        toml = protocol.export_toml(
            lane.config,  # as set, not resolved: the file keeps the defaults implicit
            lane.training.step,
            uploaded if self.setup.data["name"] == UPLOAD else 0,
        )
        weights = jsonable(self._params(lane, which))
        return [
            {
                "type": "export",
                "lane": self.selected,
                "toml": toml,
                "weights": weights,
                "which": which,
            }
        ]

    def _on_edit(self, message: dict) -> list[dict]:
        """Sets one weight or bias of a lane's raw parameters; training and Export go on
        from the edited value (the optimizer's own state is left as it was)."""
        racers = self.race.racers
        lane = protocol.int_in("edit.lane", message.get("lane"), 0, len(racers) - 1)
        training = racers[lane].training
        shapes = dict(training.structure.param_shapes)
        lane, name, index, value = protocol.edit_of(message, len(racers), shapes)
        state = training.state
        flat = np.array(state.params, np.float32)
        flat[flat_position(training.structure, name, index)] = value
        training.state = state._replace(params=jnp.asarray(flat))
        return [self.snapshot()]

    def _on_drawn(self, message: dict) -> list[dict]:
        """The page drew a snapshot; the server counts these (its frame credit), nothing here."""
        return []

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
        if self.landscape is not None:
            land = self.landscape
            reply["landscape"] = {
                "names": list(land.names),
                "a": jsonable(np.round(land.a, 6)),
                "b": jsonable(np.round(land.b, 6)),
                # 5 significant digits are plenty for a colour; non-finite -> null
                "total": [[_digits(v) for v in row] for row in land.total.tolist()],
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
            # every registered input over the plane, for its tile and its input node
            "input_images": {
                name: p.neuron_bytes(feature_inputs(p.points, (name,)))[0] for name in FEATURES
            },
        }

    def snapshot(self) -> dict[str, Any]:
        """What the page draws now: each lane's step, metrics and heatmap; the shown lane's
        neurons and weights; the speed."""
        lanes, network = [], None
        for index, lane in enumerate(self.race.racers):
            which = self._weights_of(lane)
            params = self._params(lane, which)
            layers = neuron_outputs(lane.training.structure, params, self.plane_inputs)
            lanes.append(
                {
                    "step": lane.training.step,
                    "error": lane.error,
                    "weights": which,
                    "metrics": _metrics(lane.training),
                    "heatmap": self.plane.output_bytes(layers[-1], lane.config),
                }
            )
            if self.landscape is not None and lane.training.structure.n_params == 2:
                # the optimizer's path over the landscape: the raw numbers, unrounded
                flat = np.asarray(weights_of(lane.training.state, "raw"), np.float64)
                lanes[-1]["point"] = flat.tolist()
            if self.weights == "both" and lane.config.ema.enabled:  # raw and EMA side by side
                lanes[-1]["heatmap_ema"] = self._heatmap(lane, "ema")
            if index == self.selected:
                network = {
                    "lane": index,
                    "neurons": [self.plane.neuron_bytes(h) for h in layers],
                    "weights": {k: _rounded(v) for k, v in params.items()},
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

    def _landscape(self) -> Landscape | None:
        """Lane 1's total loss over its two numbers, around where it started (None: it has
        more or fewer numbers)."""
        if self.landscape_start is None:
            return None
        return loss_landscape(self.race.racers[0].training, self.landscape_start)

    def _heatmap(self, lane: Racer, which: str) -> str:
        """The lane's output over the plane with its raw or EMA weights, as heatmap bytes."""
        structure = lane.training.structure
        out = neuron_outputs(structure, self._params(lane, which), self.plane_inputs)[-1]
        return self.plane.output_bytes(out, lane.config)

    def _weights_of(self, lane: Racer) -> str:
        """The weights shown for a lane: EMA only where the lane keeps a moving average."""
        return "ema" if self.weights == "ema" and lane.config.ema.enabled else "raw"

    @staticmethod
    def _params(lane: Racer, which: str) -> dict[str, np.ndarray]:
        """Named parameters on the host (one copy of the flat vector, then numpy slices)."""
        flat = np.asarray(weights_of(lane.training.state, which))
        return unflatten(flat, lane.training.structure)

    def _upload_key(self, setup: Setup) -> int:
        return self.upload_version if setup.data["name"] == UPLOAD else 0

    def _dataset(self, setup: Setup, first: Config) -> Dataset:
        """The shared points (before any feature inputs): generated from the settings, or the
        uploaded points split."""
        if setup.data["name"] != UPLOAD:
            d = resolve(first).data
            return make_dataset(d.name, d.n_samples, d.noise, d.seed, d.test_fraction)
        if self.upload is None:
            raise ProtocolError(
                "data.name = 'upload': no CSV uploaded in this tab yet; upload one or choose a dataset"
            )
        x, y = self.upload
        x_tr, y_tr, x_te, y_te = split(x, y, setup.data["test_fraction"], setup.data["seed"])
        if len(x_tr) == 0:
            raise ProtocolError(
                "data.test_fraction leaves no uploaded points for training; lower it"
            )
        return Dataset(x_tr, y_tr, x_te, y_te, task="binary", n_classes=2)


def _digits(v: float) -> float | None:
    """``v`` to 5 significant digits (None when not finite: JSON has no NaN)."""
    return float(f"{v:.5g}") if np.isfinite(v) else None


def _inputs_of(points: np.ndarray, config: Config) -> np.ndarray:
    """The plane's points as the model's inputs (the config's feature inputs)."""
    return feature_inputs(points, config.data.inputs) if config.data.inputs else points


def _rounded(values: np.ndarray) -> list:
    """Weights for the page: four decimals, rounded in float64 (a float32 rounded prints as
    0.3926999866962433), as nested lists; a non-finite number becomes null."""
    rounded = np.round(np.asarray(values, np.float64), 4)
    return rounded.tolist() if np.isfinite(rounded).all() else jsonable(rounded)


def _metrics(training: Training) -> dict[str, float | None]:
    """The last log row's metrics, JSON-safe (a non-finite number becomes null)."""
    if not training.history.rows:
        return {}
    row = training.history.rows[-1]
    return {k: (v if np.isfinite(v) else None) for k, v in row.items() if k in METRICS}
