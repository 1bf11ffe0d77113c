"""The playground's settings: the page's vocabulary (``hidden``, ``optimizer``,
``learning_rate`` ...), its defaults, and the config dict of each lane of a race.

Every table here is derived from the core's registries where one exists: the losses the page
offers and how each is wired to the data (``LossSpec.tasks``), a loss's own numbers
(``LossSpec.numbers``) and the menus (:func:`choices`), so a new loss, optimizer, schedule or
dataset reaches the page without an edit here. The settings become the TOML-shaped dict of
an ordinary config, which :func:`nnopt.config.config_from_dict` checks, so the playground
accepts exactly what ``nnopt run`` accepts, within the caps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from nnopt.config import Config, config_from_dict
from nnopt.core.data import DATASETS
from nnopt.core.ema import EMA_ORDERS
from nnopt.core.features import FEATURES, PLAIN
from nnopt.core.losses import LOSSES
from nnopt.core.model import ACTIVATIONS, INITIALIZERS, parameter_count
from nnopt.core.optimizers import OPTIMIZERS
from nnopt.core.regularizers import REGULARIZERS
from nnopt.core.schedules import SCHEDULES
from nnopt.errors import NnoptError
from nnopt.web.protocol.messages import (
    CHUNK,
    ENDLESS_STEPS,
    LIMITS,
    SPEEDS,
    UPLOAD,
    ProtocolError,
    int_in,
    is_int,
    show,
)

MAX_CLASSES = 4  # the heatmap packs class and confidence into one byte: class * 64 + ...


@functools.cache
def playground_datasets() -> tuple[str, ...]:
    """The registered datasets the playground can draw: generated, 2-D, at most 4 classes."""
    return tuple(
        name
        for name, spec in DATASETS.items()
        if spec.generate is not None
        and spec.task != "none"
        and spec.n_features == 2
        and spec.n_classes <= MAX_CLASSES
    )


def playground_losses() -> tuple[str, ...]:
    """The registered losses that fit some kind of data (not the 1-D demos' quadratic)."""
    return tuple(name for name, spec in LOSSES.items() if spec.tasks and spec.model == "mlp")


def _loss_numbers() -> dict[str, float]:
    """Every playground loss's own numbers (cost, profit ...) with their defaults."""
    return {n.name: n.default for name in playground_losses() for n in LOSSES[name].numbers}


DATA_DEFAULTS: dict[str, Any] = {
    "name": "circle",  # the lecture's 300 points
    "noise": 0.0,
    "test_fraction": 0.3,  # a test set, so the test curve has something to show
    "seed": 2,  # the lecture's seed
    "n_samples": 0,  # 0 = the dataset's own size
    "inputs": list(PLAIN),  # the feature inputs (tiles); x0, x1 is data.inputs left empty
}

LANE_DEFAULTS: dict[str, Any] = {
    "hidden": [11],  # the lecture's 2-11-1 network
    "activation": "relu",
    "init": "normal",
    "loss": "mse",
    **_loss_numbers(),
    "optimizer": "adam",
    "learning_rate": 0.01,  # the lecture's 0.0001 is too slow to watch
    "schedule": "constant",
    "decay_rate": 0.96,
    "decay_steps": 100,
    "staircase": True,
    "ema": False,
    "ema_decay": 0.99,
    "num_updates": True,
    "ema_order": "after_update",  # which weights the shadow reads (the lecture's: before_update)
    "bias": True,  # the yogurt fit y = x @ w1 has none
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
    "inputs": ("data", "inputs"),
}
LANE_FIELDS = {
    "activation": ("model", "activation"),
    "init": ("model", "init"),
    "loss": ("loss", "name"),
    **{name: ("loss", name) for name in _loss_numbers()},
    "optimizer": ("optimizer", "name"),
    "learning_rate": ("optimizer", "learning_rate"),
    "schedule": ("schedule", "name"),
    "decay_rate": ("schedule", "decay_rate"),
    "decay_steps": ("schedule", "decay_steps"),
    "staircase": ("schedule", "staircase"),
    "ema": ("ema", "enabled"),
    "ema_decay": ("ema", "decay"),
    "num_updates": ("ema", "num_updates"),
    "ema_order": ("ema", "order"),
    "bias": ("model", "bias"),
    "regularizer": ("regularizer", "name"),
    "reg_scale": ("regularizer", "scale"),
    "batch_size": ("train", "batch_size"),
    "seed": ("train", "seed"),
}

# Settings whose change only swaps a number the compiled step reads (see
# nnopt.engine.structure.number_values): training goes on from where it is.
RETUNABLE = frozenset(
    {"learning_rate", "decay_rate", "decay_steps", "reg_scale", "ema_decay", *_loss_numbers()}
)

# What a race over one setting compares by default (the page's "vary" menu); ``also`` are
# settings the race needs for the values to matter.
RACE_SUGGESTIONS: dict[str, dict[str, Any]] = {
    "optimizer": {"values": "sgd, momentum, adam"},
    "learning_rate": {"values": "0.001, 0.01, 0.03, 0.1"},
    "activation": {"values": "relu, tanh, sigmoid"},
    "batch_size": {"values": "1, 10, 30, 100"},
    "reg_scale": {"values": "0, 0.001, 0.01, 0.1", "also": {"regularizer": "l2"}},
    "ema_decay": {"values": "0.9, 0.99, 0.999", "also": {"ema": True}},
    "loss": {"values": "mse, cost_profit, binary_cross_entropy"},
    "seed": {"values": "0, 1, 2, 3"},
}


# ---------------------------------------------------------------- what the page may choose


def choices() -> dict[str, Any]:
    """The registries the page builds its menus and inputs from (one source of truth)."""
    return {
        "datasets": [
            {
                "name": n,
                "task": DATASETS[n].task,
                "summary": DATASETS[n].summary,
                "size": DATASETS[n].default_size,
                "classes": DATASETS[n].n_classes,
            }
            for n in playground_datasets()
        ],
        "inputs": [
            {"name": n, "label": f.label, "formula": f.formula} for n, f in FEATURES.items()
        ],
        "activations": list(ACTIVATIONS),
        "initializers": list(INITIALIZERS),
        "ema_orders": list(EMA_ORDERS),
        "losses": [
            {
                "name": n,
                "label": LOSSES[n].shown(n),
                "summary": LOSSES[n].summary,
                "tasks": list(LOSSES[n].tasks),
                "numbers": [number.as_dict() for number in LOSSES[n].numbers],
            }
            for n in playground_losses()
        ],
        "optimizers": [
            {
                "name": n,
                "summary": s.summary,
                "source": s.tf1.source,
                "numbers": [x.as_dict() for x in s.tf1.settings],
            }
            for n, s in OPTIMIZERS.items()
        ],
        "regularizers": [
            {"name": n, "label": s.label, "summary": s.summary} for n, s in REGULARIZERS.items()
        ],
        "schedules": [
            {"name": n, "label": s.label, "summary": s.summary} for n, s in SCHEDULES.items()
        ],
        "speeds": list(SPEEDS),
        "retunable": sorted(RETUNABLE),
        "race": RACE_SUGGESTIONS,
    }


# ---------------------------------------------------------------- a lane's config


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
            f"data.name = {show(data['name'])} is unknown; choose one of {', '.join(names)}"
        )
    int_in("data.n_samples", data["n_samples"], 0, LIMITS.points)
    _check_inputs(data["inputs"])
    lanes = message.get("lanes", [{}])
    if not isinstance(lanes, list) or not 1 <= len(lanes) <= LIMITS.lanes:
        count = len(lanes) if isinstance(lanes, list) else show(lanes)
        raise ProtocolError(f"setup.lanes has {count} lanes; a race has 1 to {LIMITS.lanes}")
    checked = tuple(_check_lane(lane, i) for i, lane in enumerate(lanes))
    selected = int_in("setup.selected", message.get("selected", 0), 0, len(checked) - 1)
    return Setup(data, checked, selected)


def _check_inputs(inputs: Any) -> None:
    """The page's feature inputs: a list of 1 to len(FEATURES) names (the config checks the
    names themselves)."""
    if (
        not isinstance(inputs, list)
        or not 1 <= len(inputs) <= len(FEATURES)
        or not all(isinstance(n, str) for n in inputs)
    ):
        raise ProtocolError(
            f"data.inputs = {show(inputs)} must be a list of 1 to {len(FEATURES)} inputs "
            f"from {', '.join(FEATURES)}"
        )


def _check_lane(lane: Any, index: int) -> dict[str, Any]:
    where = f"lane {index + 1}"
    settings = _with_defaults(lane, LANE_DEFAULTS, where)
    hidden = settings["hidden"]
    if not isinstance(hidden, list) or not all(is_int(n) for n in hidden):
        raise ProtocolError(f"{where}: hidden = {show(hidden)} must be a list of layer sizes")
    if len(hidden) > LIMITS.hidden_layers:
        raise ProtocolError(
            f"{where}: hidden has {len(hidden)} layers; at most {LIMITS.hidden_layers}"
        )
    for n in hidden:
        int_in(f"{where}: hidden layer size", n, 1, LIMITS.neurons)
    int_in(f"{where}: batch_size", settings["batch_size"], 1, LIMITS.batch_size)
    return settings


def task_of(data_name: str) -> tuple[str, int]:
    """(task, classes) of a dataset name; uploaded points are binary."""
    if data_name == UPLOAD:
        return "binary", 2
    spec = DATASETS[data_name]
    return spec.task, spec.n_classes


def output_layer(loss: str, task: str, n_classes: int) -> tuple[int, str]:
    """(output units, output activation) that wire ``loss`` to data of ``task``: one output for
    regression and binary data, one per class for multiclass data, with the activation the
    loss's registry entry names for that task (for cross entropy: sigmoid for one class-1
    probability, softmax over the classes; logits for softmax cross entropy)."""
    spec = LOSSES.get(loss)
    if spec is None or not spec.tasks:
        raise ProtocolError(
            f"loss = {show(loss)} is not a playground loss; choose one of {', '.join(playground_losses())}"
        )
    if task not in spec.tasks:
        fits = [n for n in playground_losses() if task in LOSSES[n].tasks]
        raise ProtocolError(
            f"loss = {loss!r} does not fit {task} data; choose one of {', '.join(fits)}"
        )
    return (n_classes if task == "multiclass" else 1), spec.tasks[task]


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
    if list(data["inputs"]) == list(PLAIN):  # the columns as they are: the config's default
        del raw["data"]["inputs"]
    for key, (section, name) in LANE_FIELDS.items():
        raw.setdefault(section, {})[name] = lane[key]
    raw["model"]["layers"] = [len(data["inputs"]), *lane["hidden"], units]
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
    """Whether two lanes' page settings differ only in :data:`RETUNABLE` numbers, so the
    running training can take the new numbers without starting over."""
    keys = set(old) | set(new)
    return all(old.get(k) == new.get(k) for k in keys if k not in RETUNABLE)


def lane_summary(config: Config) -> dict[str, Any]:
    """What the page shows of a lane's network: sizes and parameter count."""
    m = config.model
    return {
        "layers": list(m.layers),
        "output_activation": m.output_activation,
        "parameters": parameter_count(m.layers, m.bias),
        "ema": config.ema.enabled,
    }


def _with_defaults(given: Any, defaults: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise ProtocolError(f"{where} must be an object of settings")
    for key in given:
        if key not in defaults:
            raise ProtocolError(
                f"{where}: unknown setting {key!r}; settings are {', '.join(defaults)}"
            )
    return {**defaults, **given}


__all__ = [
    "DATA_DEFAULTS", "DATA_FIELDS", "LANE_DEFAULTS", "LANE_FIELDS", "MAX_CLASSES",
    "RACE_SUGGESTIONS", "RETUNABLE", "Setup", "choices", "lane_config_dict", "lane_configs",
    "lane_summary", "output_layer", "parse_setup", "playground_datasets", "playground_losses",
    "retunable", "task_of",
]  # fmt: skip
