"""A trained run, restored from its folder: the course's ``test.py``, and predictions.

``nnopt run`` leaves ``config.toml``, the checkpoints and ``inputs.json`` (what the
model's inputs are: feature names, the standardization fitted on the training rows,
the class names, the data file and its SHA-256). From those this module rebuilds the
model, restores the raw or the EMA (shadow) weights of any checkpoint, and
evaluates them on the run's test rows or predicts new rows, without training.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from nnopt.outputs.checkpoint import load_checkpoint
from nnopt.config.schema import Config
from nnopt.core.data import Columns, Dataset, columns_of, standardize, targets_for
from nnopt.errors import DataError, RunDirError
from nnopt.engine.evaluate import (
    Structure,
    class_probabilities,
    confusion_matrix,
    flatten,
    forward,
    metrics_of,
    predict,
    predicted_classes,
    unflatten,
)
from nnopt.outputs.run_dir import checkpoint_path, checkpoints, read_run_config, write_text
from nnopt.engine.training import (
    TrainState,
    build_dataset,
    initial_params,
    initial_state,
    make_numbers,
    make_structure,
)

INPUTS_FILE = "inputs.json"
INPUTS_FORMAT = "nnopt-inputs-1"
WEIGHTS = ("raw", "ema")


# ---------------------------------------------------------------- inputs.json


@dataclass(frozen=True)
class Inputs:
    """What a run's model takes and gives: its columns (with the standardization) and task."""

    columns: Columns
    task: str  # "binary", "multiclass", "regression" or "none"
    data_path: str = ""  # the data file it was trained on ("" for a built-in dataset)
    data_sha256: str = ""


def inputs_record(config: Config, dataset: Dataset) -> dict:
    """The JSON object of ``inputs.json`` for a run on ``dataset``."""
    c = columns_of(dataset)
    record = {
        "format": INPUTS_FORMAT,
        "task": dataset.task,
        "features": list(c.features),
        "label": c.label,
        "classes": list(c.classes),
        "standardization": {"mean": list(c.mean), "std": list(c.std)} if c.mean else None,
        "data": {"name": config.data.name},
    }
    if config.data.path:
        from nnopt.inputs.datafiles import file_digest

        record["data"] |= {"path": config.data.path, "sha256": file_digest(config.data.path)}
    return record


def write_inputs(run_dir: Path, config: Config, dataset: Dataset) -> None:
    """Writes ``inputs.json``: what ``nnopt predict`` needs to read new rows like the training rows."""
    record = inputs_record(config, dataset)
    lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in record.items()]
    write_text(Path(run_dir) / INPUTS_FILE, "{\n" + ",\n".join(lines) + "\n}\n")


def read_inputs(run_dir: Path) -> Inputs:
    """The run's :class:`Inputs` from ``inputs.json``.

    Raises:
      RunDirError: the file is missing or not one that ``nnopt run`` wrote.
    """
    path = Path(run_dir) / INPUTS_FILE
    try:
        raw = json.loads(path.read_text("utf-8"))
        if raw.get("format") != INPUTS_FORMAT:
            raise ValueError("format")
        scaling = raw["standardization"] or {"mean": [], "std": []}
        columns = Columns(
            features=tuple(raw["features"]),
            label=raw["label"],
            classes=tuple(raw["classes"]),
            mean=tuple(float(v) for v in scaling["mean"]),
            std=tuple(float(v) for v in scaling["std"]),
        )
        data = raw.get("data", {})
        return Inputs(columns, raw["task"], data.get("path", ""), data.get("sha256", ""))
    except FileNotFoundError:
        raise RunDirError(
            f"{path} is missing: the run predates inputs.json; run it again to predict with it"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise RunDirError(
            f"{path} cannot be read: not an inputs file written by nnopt run"
        ) from None


# ---------------------------------------------------------------- the run's model


@dataclass
class RunModel:
    """A run's model without its optimizer loop: the structure, numbers and a template state."""

    config: Config
    structure: Structure
    numbers: dict
    template: TrainState

    def restore(self, path: Path, weights: str) -> tuple[int, dict[str, np.ndarray]]:
        """(step, named parameters) of a checkpoint: ``raw`` or ``ema`` (the shadow) weights.

        Raises:
          CheckpointError: the file is missing, corrupted or does not fit the config.
        """
        state, _ = load_checkpoint(path, self.template)
        flat = np.asarray(state.ema_params if weights == "ema" else state.params)
        named = unflatten(flat, self.structure)
        return int(state.step), {k: np.array(v) for k, v in named.items()}


def run_model(config: Config, dataset: Dataset) -> RunModel:
    """The model of ``config`` for data shaped like ``dataset`` (only its shape and task count)."""
    params = initial_params(config)
    structure = make_structure(config, dataset, params)
    template = initial_state(config, structure, params)
    return RunModel(config, structure, make_numbers(config), template)


def shape_only(inputs: Inputs) -> Dataset:
    """A dataset of no rows with the run's columns and task: enough to rebuild the model
    without the data file (prediction needs only the run folder)."""
    f = len(inputs.columns.features)
    empty_x, empty_y = np.zeros((0, f), np.float32), np.zeros((0, 1), np.float32)
    n_classes = len(inputs.columns.classes)
    return Dataset(empty_x, empty_y, empty_x, empty_y, inputs.task, n_classes, inputs.columns)


def choose_weights(config: Config, weights: str | None) -> str:
    """``raw`` or ``ema``; by default the shadow weights when the run kept them, as the course
    tests with; ``ema`` for a run trained without EMA is an error."""
    if weights is None:
        return "ema" if config.ema.enabled else "raw"
    if weights not in WEIGHTS:
        raise RunDirError(f"--weights {weights!r} is unknown; choose raw or ema")
    if weights == "ema" and not config.ema.enabled:
        raise RunDirError(
            "--weights ema: this run was trained without a moving average (ema.enabled = false); "
            "use --weights raw"
        )
    return weights


def find_checkpoint(run_dir: Path, which: str = "latest") -> Path:
    """The newest checkpoint (``latest``) or the one of a step number.

    Raises:
      RunDirError: no checkpoint yet, or none of that step (the ones kept are listed).
    """
    found = checkpoints(run_dir)
    if not found:
        raise RunDirError(f"{run_dir} has no checkpoint yet")
    if which == "latest":
        return found[-1]
    try:
        step = int(which)
    except ValueError:
        raise RunDirError(f"--checkpoint {which!r}: give latest or a step number") from None
    path = checkpoint_path(run_dir, step)
    if path not in found:
        kept = ", ".join(str(checkpoint_step(p)) for p in found)
        raise RunDirError(f"{run_dir} has no checkpoint of step {step}; it keeps steps {kept}")
    return path


def checkpoint_step(path: Path) -> int:
    """The step in a checkpoint's name ``step-00001000.safetensors``."""
    return int(Path(path).stem.split("-", 1)[1])


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """Loss, accuracy and confusion matrix of one set of weights on one split."""

    step: int
    weights: str
    split: str
    rows: int
    loss: float  # the data loss of the run's loss function
    total_loss: float  # data loss + regularization
    accuracy: float | None = None  # classifiers only
    confusion: np.ndarray | None = None  # [true class, predicted class]
    predicted: np.ndarray | None = None  # each row's class (classifiers) or value

    def as_dict(self) -> dict:
        out = {
            "step": self.step,
            "weights": self.weights,
            "split": self.split,
            "rows": self.rows,
            "loss": self.loss,
            "total_loss": self.total_loss,
        }
        if self.accuracy is not None:
            out["accuracy"] = self.accuracy
            out["confusion_matrix"] = self.confusion.tolist()
        return out


def split_rows(dataset: Dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the ``test`` or ``train`` rows; an empty test split is an error."""
    if split == "train":
        return dataset.x_train, dataset.y_train
    if len(dataset.x_test) == 0:
        raise DataError(
            "this run has no test rows (data.test_fraction = 0); evaluate it with --split train"
        )
    return dataset.x_test, dataset.y_test


def evaluate_params(
    model: RunModel, dataset: Dataset, params: dict, split: str, step: int, weights: str
) -> Evaluation:
    """The metrics training logs (data loss, total loss, accuracy) of ``params`` on a split,
    and for classifiers the confusion matrix of true against predicted classes."""
    s = model.structure
    x, y = split_rows(dataset, split)
    targets = targets_for(y, dataset.task, s.layers[-1])
    metrics, outputs = _metrics_and_outputs(s)(model.numbers, flatten(params, s), x, targets)
    outputs = np.asarray(outputs)
    common = dict(
        step=step,
        weights=weights,
        split=split,
        rows=len(x),
        loss=float(metrics["loss"]),
        total_loss=float(metrics["total"]),
    )
    if not s.classifies:
        return Evaluation(**common, predicted=outputs[:, 0])
    predicted = predicted_classes(outputs)
    confusion = confusion_matrix(y[:, 0].astype(np.int64), predicted, max(dataset.n_classes, 2))
    return Evaluation(
        **common,
        accuracy=float(metrics["accuracy"]),
        confusion=confusion,
        predicted=predicted,
    )


@functools.cache
def _metrics_and_outputs(structure: Structure):
    """One compiled program for the metrics and the outputs (op-by-op would compile each op)."""

    def fn(numbers, flat, x, targets):
        metrics = metrics_of(structure, numbers, flat, x, targets)
        return metrics, forward(structure, unflatten(flat, structure), x)

    return jax.jit(fn)


@dataclass
class RestoredRun:
    """A run folder opened for evaluation: its config, data, model and notes for the user."""

    run_dir: Path
    config: Config
    dataset: Dataset
    model: RunModel
    warnings: list[str] = dataclasses.field(default_factory=list)

    def evaluate(self, checkpoint: Path, weights: str, split: str = "test") -> Evaluation:
        step, params = self.model.restore(checkpoint, weights)
        return evaluate_params(self.model, self.dataset, params, split, step, weights)


def open_run(run_dir: Path) -> RestoredRun:
    """A run folder's config, its data rebuilt from the config (the same split), and its model.

    A data file whose SHA-256 differs from the one the run recorded gives a warning: the
    test rows may not be the ones the run held out.
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    dataset = build_dataset(config)
    warnings = []
    if config.data.path and (run_dir / INPUTS_FILE).is_file():
        from nnopt.inputs.datafiles import display_name, file_digest

        recorded = read_inputs(run_dir).data_sha256
        if recorded and recorded != file_digest(config.data.path):
            warnings.append(
                f"the data file {display_name(config.data.path)} changed since the run; "
                "its test rows may differ from the ones the run held out"
            )
    return RestoredRun(run_dir, config, dataset, run_model(config, dataset), warnings)


# ---------------------------------------------------------------- prediction


@dataclass(frozen=True)
class Predictions:
    """Predictions for new rows: classes with their labels and probabilities, or values."""

    inputs: Inputs
    outputs: np.ndarray  # the model's outputs, one row per input row
    classes: np.ndarray | None  # class index of each row (classifiers)
    probabilities: np.ndarray | None  # [rows, classes], when the outputs imply them

    def table(self) -> tuple[list[str], list[list]]:
        """(header, rows) of the predictions file: ``row``, then ``class`` and ``p_<class>``
        per class, or ``output`` when the outputs are scores; ``prediction`` for a value."""
        names = self.inputs.columns.classes
        n = len(self.outputs)
        header, columns = ["row"], [list(range(1, n + 1))]
        if self.classes is None:
            header.append("prediction")
            columns.append([_num(v) for v in self.outputs[:, 0]])
        else:
            header.append("class")
            columns.append([names[c] if c < len(names) else str(c) for c in self.classes])
            if self.probabilities is not None:
                for j in range(self.probabilities.shape[1]):
                    header.append(f"p_{names[j] if j < len(names) else j}")
                    columns.append([_num(v) for v in self.probabilities[:, j]])
            else:
                for j in range(self.outputs.shape[1]):
                    header.append("output" if self.outputs.shape[1] == 1 else f"output_{j}")
                    columns.append([_num(v) for v in self.outputs[:, j]])
        return header, [list(r) for r in zip(*columns)]


def _num(v) -> str:
    return f"{float(v):.6g}"


@dataclass
class Predictor:
    """A run's model with the weights of one checkpoint, ready to predict raw rows."""

    inputs: Inputs
    model: RunModel
    params: dict[str, np.ndarray]
    step: int
    weights: str

    @classmethod
    def open(cls, run_dir: Path, weights: str | None = None, checkpoint: str = "latest"):
        """Reads the run folder alone (config, inputs.json, checkpoint): no data file needed."""
        run_dir = Path(run_dir)
        config = read_run_config(run_dir)
        inputs = read_inputs(run_dir)
        if inputs.task == "none":
            raise RunDirError(
                f"{run_dir} trained the 1-D demo's single parameter, which takes no inputs: "
                "nothing to predict"
            )
        weights = choose_weights(config, weights)
        model = run_model(config, shape_only(inputs))
        step, params = model.restore(find_checkpoint(run_dir, checkpoint), weights)
        return cls(inputs, model, params, step, weights)

    def predict(self, x_raw: np.ndarray) -> Predictions:
        """Outputs for raw feature rows, standardized first as the run's training rows were."""
        c = self.inputs.columns
        x = standardize(x_raw, c.mean, c.std) if c.mean else np.asarray(x_raw, np.float32)
        s = self.model.structure
        outputs = predict(s, self.params, x)
        if not s.classifies:
            return Predictions(self.inputs, outputs, None, None)
        probabilities = class_probabilities(s, outputs)
        return Predictions(self.inputs, outputs, predicted_classes(outputs), probabilities)

    def labelled_accuracy(self, table, predictions: Predictions) -> float | None:
        """Share of rows whose predicted class is the label in the input's label column, when
        the input has that column and the run is a classifier (else None)."""
        label, names = self.inputs.columns.label, self.inputs.columns.classes
        if predictions.classes is None or label not in table.cells or not names:
            return None
        from nnopt.inputs.datafiles import class_name

        truth = [class_name(v) for v in table.cells[label]]
        guessed = [names[c] for c in predictions.classes]
        return float(np.mean([t == g for t, g in zip(truth, guessed)]))
