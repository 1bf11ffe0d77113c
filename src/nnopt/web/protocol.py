"""The playground's messages, validated and turned into config dicts (pure: no I/O).

The page and the server speak JSON over one websocket. The page sends settings in its own
small vocabulary (``hidden``, ``optimizer``, ``learning_rate`` ...); this module checks the
shape of every message against :data:`LIMITS`, turns the settings into the TOML-shaped dict
of an ordinary config and lets :func:`nnopt.config.config_from_dict` check the values, so
the playground accepts exactly what ``nnopt run`` accepts, within the caps. Every problem is
a :class:`ProtocolError` (or a :class:`~nnopt.errors.ConfigError`) whose one-line message
names the bad field and what is allowed. Nothing from the page is ever executed.

Messages from the page (``type`` and its fields):

==========  ===================================================================
setup       ``data`` {name, noise, test_fraction, seed, n_samples},
            ``lanes`` [{hidden, activation, init, loss, cost, profit, optimizer,
            learning_rate, schedule, decay_rate, decay_steps, staircase, ema,
            ema_decay, num_updates, regularizer, reg_scale, batch_size, seed}],
            ``selected`` (the lane the network view shows); missing fields take
            :data:`DATA_DEFAULTS` / :data:`LANE_DEFAULTS`
play        train continuously; ``pause`` stops; ``reset`` restarts from step 0
step        ``chunks``: run that many chunks of :data:`CHUNK` updates, then stop
speed       ``value``: one of :data:`SPEEDS`
view        ``weights`` ("raw" or "ema") and/or ``selected`` (a lane index)
export      the selected lane as TOML and its weights as ``--init`` JSON
import      ``toml``: a config file's text, answered with the settings it holds
==========  ===================================================================
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import tomllib
from dataclasses import dataclass
from typing import Any

import numpy as np
import tomli_w

from nnopt.config.schema import Config, config_from_dict, config_to_dict, resolve
from nnopt.core.data import DATASETS
from nnopt.errors import NnoptError
from nnopt.core.losses import LOSSES
from nnopt.core.model import ACTIVATIONS, INITIALIZERS, parameter_count
from nnopt.core.optimizers import OPTIMIZERS
from nnopt.core.regularizers import REGULARIZERS
from nnopt.core.schedules import SCHEDULES


class ProtocolError(NnoptError):
    """A message, setting or upload from the page that cannot be used."""


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


LIMITS = Limits()

# Target updates per second of each speed; None trains as fast as the machine allows.
SPEEDS: dict[str, int | None] = {"slow": 100, "medium": 500, "fast": 2500, "max": None}

DATA_DEFAULTS: dict[str, Any] = {
    "name": "circle",  # the lecture's 300 points
    "noise": 0.0,
    "test_fraction": 0.3,  # a test set, so the test curve has something to show
    "seed": 2,  # the lecture's seed
    "n_samples": 0,  # 0 = the dataset's own size
}

LANE_DEFAULTS: dict[str, Any] = {
    "hidden": [11],  # the lecture's 2-11-1 network
    "activation": "relu",
    "init": "normal",
    "loss": "mse",
    "cost": 1.0,
    "profit": 9.0,
    "optimizer": "adam",
    "learning_rate": 0.01,  # the lecture's 0.0001 is too slow to watch
    "schedule": "constant",
    "decay_rate": 0.96,
    "decay_steps": 100,
    "staircase": True,
    "ema": False,
    "ema_decay": 0.99,
    "num_updates": True,
    "regularizer": "none",
    "reg_scale": 0.001,
    "batch_size": 30,  # the lecture's BATCH_SIZE
    "seed": 0,  # weight initialization
}

# Page setting -> (config section, field); ``hidden`` becomes model.layers.
DATA_FIELDS = {
    "name": ("data", "name"),
    "noise": ("data", "noise"),
    "test_fraction": ("data", "test_fraction"),
    "seed": ("data", "seed"),
    "n_samples": ("data", "n_samples"),
}
LANE_FIELDS = {
    "activation": ("model", "activation"),
    "init": ("model", "init"),
    "loss": ("loss", "name"),
    "cost": ("loss", "cost"),
    "profit": ("loss", "profit"),
    "optimizer": ("optimizer", "name"),
    "learning_rate": ("optimizer", "learning_rate"),
    "schedule": ("schedule", "name"),
    "decay_rate": ("schedule", "decay_rate"),
    "decay_steps": ("schedule", "decay_steps"),
    "staircase": ("schedule", "staircase"),
    "ema": ("ema", "enabled"),
    "ema_decay": ("ema", "decay"),
    "num_updates": ("ema", "num_updates"),
    "regularizer": ("regularizer", "name"),
    "reg_scale": ("regularizer", "scale"),
    "batch_size": ("train", "batch_size"),
    "seed": ("train", "seed"),
}

# Fields whose change only swaps a number the compiled step reads: training goes on.
RETUNABLE = {
    ("optimizer", "learning_rate"),
    ("schedule", "decay_rate"),
    ("schedule", "decay_steps"),
    ("regularizer", "scale"),
    ("ema", "decay"),
    ("loss", "cost"),
    ("loss", "profit"),
}

# Which losses the playground wires to which kind of data (the quadratic loss is the 1-D
# demos' and has no data).
LOSS_TASKS = {
    "mse": ("regression", "binary", "multiclass"),
    "cost_profit": ("regression", "binary"),
    "cross_entropy": ("binary", "multiclass"),
    "softmax_cross_entropy": ("multiclass",),
}

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
}


# ---------------------------------------------------------------- what the page may choose


def choices() -> dict[str, Any]:
    """The registries the page builds its menus from (one source of truth: the engine's)."""
    return {
        "datasets": [
            {
                "name": n,
                "task": DATASETS[n].task,
                "summary": DATASETS[n].summary,
                "size": DATASETS[n].default_size,
            }
            for n in playground_datasets()
        ],
        "activations": list(ACTIVATIONS),
        "initializers": list(INITIALIZERS),
        "losses": [
            {"name": n, "summary": LOSSES[n].summary, "tasks": list(tasks)}
            for n, tasks in LOSS_TASKS.items()
            if n in LOSSES
        ],
        "optimizers": [{"name": n, "summary": s.summary} for n, s in OPTIMIZERS.items()],
        "regularizers": list(REGULARIZERS),
        "schedules": list(SCHEDULES),
        "speeds": list(SPEEDS),
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
    if kind not in MESSAGE_FIELDS:
        raise ProtocolError(
            f"message type {_show(kind)} is unknown; types are {', '.join(MESSAGE_FIELDS)}"
        )
    allowed = MESSAGE_FIELDS[kind]
    for key in message:
        if key != "type" and key not in allowed:
            takes = ", ".join(allowed) if allowed else "no fields"
            raise ProtocolError(f"{kind}: unknown field {key!r}; {kind} takes {takes}")
    return message


def step_chunks(message: dict) -> int:
    """The chunk count of a ``step`` message (default 1), within the cap."""
    chunks = message.get("chunks", 1)
    return _int_in("step.chunks", chunks, 1, LIMITS.step_chunks)


def speed_of(message: dict) -> str:
    """The speed named by a ``speed`` message."""
    value = message.get("value")
    if value not in SPEEDS:
        raise ProtocolError(
            f"speed.value = {_show(value)} is unknown; choose one of {', '.join(SPEEDS)}"
        )
    return value


def view_of(message: dict, n_lanes: int) -> tuple[str | None, int | None]:
    """(weights, selected) of a ``view`` message; None where it leaves a value unchanged."""
    weights = message.get("weights")
    if weights is not None and weights not in ("raw", "ema"):
        raise ProtocolError(f"view.weights = {_show(weights)} is unknown; choose raw or ema")
    selected = message.get("selected")
    if selected is not None:
        selected = _int_in("view.selected", selected, 0, max(0, n_lanes - 1))
    return weights, selected


def import_text(message: dict) -> str:
    """The TOML text of an ``import`` message."""
    text = message.get("toml")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("import.toml must be the text of a config file")
    return text


# ---------------------------------------------------------------- setup


@dataclass(frozen=True)
class Setup:
    """A checked setup: the shared data settings, one settings dict per lane, the shown lane."""

    data: dict[str, Any]
    lanes: tuple[dict[str, Any], ...]
    selected: int = 0


def parse_setup(message: dict) -> Setup:
    """A ``setup`` message -> :class:`Setup`, defaults filled in and the caps checked.

    Raises:
      ProtocolError: unknown settings, too many lanes, layers, neurons, rows or a batch too large.
    """
    data = _with_defaults(message.get("data", {}), DATA_DEFAULTS, "data")
    names = [*playground_datasets(), UPLOAD]
    if data["name"] not in names:
        raise ProtocolError(
            f"data.name = {_show(data['name'])} is unknown; choose one of {', '.join(names)}"
        )
    _int_in("data.n_samples", data["n_samples"], 0, LIMITS.points)
    lanes = message.get("lanes", [{}])
    if not isinstance(lanes, list) or not 1 <= len(lanes) <= LIMITS.lanes:
        count = len(lanes) if isinstance(lanes, list) else _show(lanes)
        raise ProtocolError(f"setup.lanes has {count} lanes; a race has 1 to {LIMITS.lanes}")
    checked = tuple(_check_lane(lane, i) for i, lane in enumerate(lanes))
    selected = _int_in("setup.selected", message.get("selected", 0), 0, len(checked) - 1)
    return Setup(data, checked, selected)


def _check_lane(lane: Any, index: int) -> dict[str, Any]:
    where = f"lane {index + 1}"
    settings = _with_defaults(lane, LANE_DEFAULTS, where)
    hidden = settings["hidden"]
    if not isinstance(hidden, list) or not all(_is_int(n) for n in hidden):
        raise ProtocolError(f"{where}: hidden = {_show(hidden)} must be a list of layer sizes")
    if len(hidden) > LIMITS.hidden_layers:
        raise ProtocolError(
            f"{where}: hidden has {len(hidden)} layers; at most {LIMITS.hidden_layers}"
        )
    for n in hidden:
        _int_in(f"{where}: hidden layer size", n, 1, LIMITS.neurons)
    _int_in(f"{where}: batch_size", settings["batch_size"], 1, LIMITS.batch_size)
    return settings


def task_of(data_name: str) -> tuple[str, int]:
    """(task, classes) of a dataset name; uploaded points are binary."""
    if data_name == UPLOAD:
        return "binary", 2
    spec = DATASETS[data_name]
    return spec.task, spec.n_classes


def output_layer(loss: str, task: str, n_classes: int) -> tuple[int, str]:
    """(output units, output activation) that wire ``loss`` to data of ``task``.

    Regression and binary data get one output (a value; for cross entropy the sigmoid
    probability of class 1); multiclass data one output per class (softmax probabilities
    for cross entropy, logits for softmax cross entropy, one-hot targets for mse).
    """
    tasks = LOSS_TASKS.get(loss)
    if tasks is None:
        raise ProtocolError(
            f"loss = {_show(loss)} is not a playground loss; choose one of {', '.join(LOSS_TASKS)}"
        )
    if task not in tasks:
        fits = [n for n, t in LOSS_TASKS.items() if task in t]
        raise ProtocolError(
            f"loss = {loss!r} does not fit {task} data; choose one of {', '.join(fits)}"
        )
    units = n_classes if task == "multiclass" else 1
    if loss == "cross_entropy":
        return units, "softmax" if task == "multiclass" else "sigmoid"
    return units, "linear"


def lane_config_dict(data: dict[str, Any], lane: dict[str, Any]) -> dict[str, Any]:
    """The TOML-shaped config of one lane on the shared data: exactly what ``nnopt run`` reads."""
    task, n_classes = task_of(data["name"])
    units, out_activation = output_layer(lane["loss"], task, n_classes)
    raw: dict[str, Any] = {"name": "playground"}
    for key, (section, name) in DATA_FIELDS.items():
        raw.setdefault(section, {})[name] = data[key]
    if data["name"] == UPLOAD:  # the points come with the session; the name is a stand-in
        raw["data"]["name"] = "circle"
        raw["data"]["n_samples"] = 0
    for key, (section, name) in LANE_FIELDS.items():
        raw.setdefault(section, {})[name] = lane[key]
    raw["model"]["layers"] = [2, *lane["hidden"], units]
    raw["model"]["output_activation"] = out_activation
    raw["train"]["steps"] = ENDLESS_STEPS
    raw["train"]["log_every"] = CHUNK
    return raw


def lane_configs(setup: Setup) -> list[Config]:
    """Every lane's validated Config; an error names the lane (in a race) and the field."""
    configs = []
    for i, lane in enumerate(setup.lanes):
        try:
            configs.append(config_from_dict(lane_config_dict(setup.data, lane), "playground"))
        except NnoptError as exc:
            prefix = f"lane {i + 1}: " if len(setup.lanes) > 1 else ""
            raise type(exc)(f"{prefix}{exc}") from None
    return configs


def retunable(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two lane config dicts differ only in numbers the compiled step reads, so the
    running training can take the new numbers without starting over."""

    def frozen(raw: dict) -> dict:
        return {
            (section, name): value
            for section, fields in raw.items()
            if isinstance(fields, dict)
            for name, value in fields.items()
            if (section, name) not in RETUNABLE
        }

    return frozen(old) == frozen(new)


def lane_summary(config: Config) -> dict[str, Any]:
    """What the page shows of a lane's network: sizes and parameter count."""
    m = config.model
    return {
        "layers": list(m.layers),
        "output_activation": m.output_activation,
        "parameters": parameter_count(m.layers, m.bias),
        "ema": config.ema.enabled,
    }


# ---------------------------------------------------------------- export and import


def export_toml(config: Config, step: int, uploaded_points: int = 0) -> str:
    """A lane's config as TOML that ``nnopt run`` trains unchanged, for as many steps as shown."""
    raw = config_to_dict(config)
    raw["name"] = "playground"
    raw["description"] = f"exported from nnopt serve at step {step}"
    raw["train"]["steps"] = step if step > 0 else 1000
    raw["train"]["log_every"] = 0  # automatic: about 100 log points
    head = "# Exported from the nnopt playground. Run it with: nnopt run playground.toml\n"
    if uploaded_points:
        head += (
            f"# The playground trained on {uploaded_points} uploaded points; a config cannot name\n"
            "# a CSV file, so [data] below is a generated stand-in.\n"
        )
    return head + tomli_w.dumps(raw)


def params_to_json(params: dict[str, np.ndarray]) -> dict[str, Any]:
    """Named parameters as nested lists: the ``--init`` JSON format ({"w1": [[...]], "b1": [...]})."""
    return {name: np.asarray(value, np.float64).tolist() for name, value in sorted(params.items())}


def settings_from_toml(text: str) -> dict[str, Any]:
    """A config file's text -> ``{"data": ..., "lane": ...}`` page settings.

    Raises:
      ProtocolError: not TOML, not a playground network (2 inputs, the data's outputs), or
        a field the playground has no control for (so the page would silently drop it).
      ConfigError: a field the config layer rejects.
    """
    if len(text) > LIMITS.message_bytes:
        raise ProtocolError(
            f"import: the file is too long; at most {LIMITS.message_bytes} characters"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"import: not valid TOML ({exc})") from None
    try:
        config = config_from_dict(raw, "imported config")
    except NnoptError as exc:
        raise type(exc)(f"import: {exc}") from None
    if config.model.name != "mlp" or config.data.name not in playground_datasets():
        raise ProtocolError(
            f"import: data.name = {config.data.name!r} with model.name = {config.model.name!r} "
            "is not a playground setup; the playground trains an mlp on 2-D data"
        )
    data = {key: getattr(getattr(config, s), f) for key, (s, f) in DATA_FIELDS.items()}
    lane = {key: getattr(getattr(config, s), f) for key, (s, f) in LANE_FIELDS.items()}
    lane["hidden"] = list(config.model.layers[1:-1])
    setup = parse_setup({"data": data, "lanes": [lane]})
    rebuilt = config_from_dict(lane_config_dict(setup.data, setup.lanes[0]), "imported config")
    # Resolved on both sides: an exported file spells out the defaults the page leaves unset.
    _check_nothing_lost(config_to_dict(resolve(config)), config_to_dict(resolve(rebuilt)))
    return {"data": setup.data, "lane": setup.lanes[0]}


MAX_CLASSES = 4  # the heatmap packs class and confidence into one byte: class * 64 + ...


@functools.cache
def playground_datasets() -> tuple[str, ...]:
    """The registered datasets the playground can draw: 2-D inputs, at most 4 classes.

    The registry does not say how many features a generator makes, so each candidate is
    asked for a few rows, once (one that cannot run here, e.g. for want of an optional
    package, is left out).
    """
    names = []
    for name, spec in DATASETS.items():
        if spec.task == "none" or spec.n_classes > MAX_CLASSES or spec.n_features != 2:
            continue
        try:
            x, _ = spec.generate(8, 0.0, 0)
        except (NnoptError, ImportError, ValueError):
            continue
        if np.ndim(x) == 2 and np.shape(x)[1] == 2:
            names.append(name)
    return tuple(names)


# Fields an import may set freely: how long and how often to log is the page's business.
_IMPORT_FREE = {("train", "steps"), ("train", "log_every"), ("train", "checkpoint_every")}


def _check_nothing_lost(original: dict, rebuilt: dict) -> None:
    """Raises ProtocolError naming the first field the playground would not reproduce."""
    for section, fields in original.items():
        if not isinstance(fields, dict):
            continue
        for name, value in fields.items():
            if (section, name) in _IMPORT_FREE:
                continue
            mine = rebuilt.get(section, {}).get(name)
            if mine != value:
                shown = _show(mine) if mine is not None else "its default"
                raise ProtocolError(
                    f"import: {section}.{name} = {_show(value)} has no playground control "
                    f"(the playground uses {shown}); run this file with nnopt run"
                )


# ---------------------------------------------------------------- uploaded points


def parse_points_csv(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """CSV rows ``x0,x1,label`` (an optional header line naming them) -> (x [n, 2], y [n, 1]).

    Labels are 0 or 1; coordinates finite numbers within ±1e6; 4 to ``LIMITS.points`` rows.

    Raises:
      ProtocolError: naming the first bad row and what a row must be.
    """
    if len(body) > LIMITS.upload_bytes:
        raise ProtocolError(
            f"upload: {len(body)} bytes is too large; at most {LIMITS.upload_bytes}"
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProtocolError(
            "upload: the file is not UTF-8 text; expected CSV rows x0,x1,label"
        ) from None
    try:
        rows = [
            (i, r)
            for i, r in enumerate(csv.reader(io.StringIO(text)), start=1)
            if any(c.strip() for c in r)
        ]
    except csv.Error as exc:  # e.g. a NUL byte
        raise ProtocolError(f"upload: not a CSV file ({exc}); expected rows x0,x1,label") from None
    if rows and not _is_number(rows[0][1][0]):
        header = [c.strip().lower() for c in rows[0][1]]
        if header != ["x0", "x1", "label"]:
            raise ProtocolError(
                f"upload: the header must be x0,x1,label, not {','.join(rows[0][1])!r}"
            )
        rows = rows[1:]
    if len(rows) > LIMITS.points:
        raise ProtocolError(f"upload: {len(rows)} rows of points; expected 4 to {LIMITS.points}")
    points = np.array([_point(line, row) for line, row in rows], dtype=np.float64)
    if len(rows) < 4:
        raise ProtocolError(f"upload: {len(rows)} rows of points; expected 4 to {LIMITS.points}")
    if len(set(points[:, 2])) < 2:
        raise ProtocolError(
            "upload: every point has the same label; both labels 0 and 1 are needed"
        )
    return points[:, :2].astype(np.float32), points[:, 2:].astype(np.float32)


def _point(line: int, row: list[str]) -> tuple[float, float, float]:
    if len(row) != 3:
        raise ProtocolError(f"upload: line {line} has {len(row)} fields; each row is x0,x1,label")
    values = []
    for name, cell in zip(("x0", "x1", "label"), row):
        if not _is_number(cell):
            raise ProtocolError(f"upload: line {line}: {name} = {cell.strip()!r} is not a number")
        values.append(float(cell))
    x0, x1, label = values
    if not (abs(x0) <= 1e6 and abs(x1) <= 1e6):
        raise ProtocolError(f"upload: line {line}: coordinates must be finite, within ±1e6")
    if label not in (0.0, 1.0):
        raise ProtocolError(f"upload: line {line}: label = {row[2].strip()} must be 0 or 1")
    return x0, x1, label


# ---------------------------------------------------------------- helpers


def _with_defaults(given: Any, defaults: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise ProtocolError(f"{where} must be an object of settings")
    for key in given:
        if key not in defaults:
            raise ProtocolError(
                f"{where}: unknown setting {key!r}; settings are {', '.join(defaults)}"
            )
    return {**defaults, **given}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in(where: str, value: Any, lo: int, hi: int) -> int:
    if not _is_int(value) or not lo <= value <= hi:
        raise ProtocolError(f"{where} = {_show(value)} must be an integer from {lo} to {hi}")
    return value


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _show(value: Any) -> str:
    """A short rendering of a value from the page, for an error line."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
