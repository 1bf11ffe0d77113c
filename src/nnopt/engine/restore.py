"""A trained run's model without its training loop: the course's ``test.py`` and predictions.

From a run's config (and, for prediction, the columns its model was trained on) this module
rebuilds the model, takes the raw or the EMA (shadow) weights of a restored state, and
evaluates them on the run's rows or predicts new rows. Reading the run folder (config,
checkpoints, ``inputs.json``) is :mod:`nnopt.outputs.run_dir`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnopt.config import Config
from nnopt.core.data import Columns, Dataset, standardize
from nnopt.core.features import feature_inputs
from nnopt.engine.evaluate import (
    class_probabilities,
    confusion_matrix,
    predict,
    predicted_classes,
)
from nnopt.engine.setup import device_data, initial_params, initial_state
from nnopt.engine.step import WEIGHTS, TrainState, compiled_chunk, weights_of
from nnopt.engine.structure import (
    Structure,
    flatten,
    log_interval,
    make_numbers,
    make_structure,
    unflatten,
)
from nnopt.errors import DataError, RunDirError


@dataclass(frozen=True)
class Inputs:
    """What a run's model takes and gives: its columns (with the standardization) and task."""

    columns: Columns
    task: str  # "binary", "multiclass", "regression" or "none"
    data_path: str = ""  # the data file it was trained on ("" for a built-in dataset)
    data_sha256: str = ""


# ---------------------------------------------------------------- the run's model


@dataclass
class RunModel:
    """A run's model without its optimizer loop: the structure, numbers and a template state
    (the shapes a checkpoint is restored into)."""

    config: Config
    structure: Structure
    numbers: dict
    template: TrainState

    def named(self, state: TrainState, weights: str) -> dict[str, np.ndarray]:
        """The ``raw`` or ``ema`` (shadow) parameters of a restored state, named, on the host."""
        flat = np.asarray(weights_of(state, weights))
        return {k: np.array(v) for k, v in unflatten(flat, self.structure).items()}


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
        raise RunDirError(f"weights = {weights!r} is unknown; choose raw or ema")
    if weights == "ema" and not config.ema.enabled:
        raise RunDirError(
            "weights = 'ema': this run was trained without a moving average "
            "(ema.enabled = false); use the raw weights"
        )
    return weights


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
            "this run has no test rows (data.test_fraction = 0); evaluate it with split = train"
        )
    return dataset.x_test, dataset.y_test


def evaluate_params(
    model: RunModel, dataset: Dataset, params: dict, split: str, step: int, weights: str
) -> Evaluation:
    """The metrics training logs (data loss, total loss, accuracy) of ``params`` on a split,
    and for classifiers the confusion matrix of true against predicted classes.

    The metrics come from the run's own compiled chunk, with no updates: the program that
    logged them during training (kept in the compilation cache), so they are its numbers.
    """
    s = model.structure
    x, y = split_rows(dataset, split)
    metrics = _logged_metrics(model, dataset, flatten(params, s))
    outputs = predict(s, params, x)
    common = dict(
        step=step,
        weights=weights,
        split=split,
        rows=len(x),
        loss=float(metrics[f"{split}_loss"]),
        total_loss=float(metrics[f"{split}_total"]),
    )
    if not s.classifies:
        return Evaluation(**common, predicted=outputs[:, 0])
    predicted = predicted_classes(outputs)
    confusion = confusion_matrix(y[:, 0].astype(np.int64), predicted, max(dataset.n_classes, 2))
    return Evaluation(
        **common,
        accuracy=float(metrics[f"{split}_accuracy"]),
        confusion=confusion,
        predicted=predicted,
    )


def _logged_metrics(model: RunModel, dataset: Dataset, flat: np.ndarray) -> dict[str, float]:
    """The full-data metrics of flat parameters, as the run's chunk program logs them."""
    config, s = model.config, model.structure
    chunk = compiled_chunk(s, min(log_interval(config), config.train.steps))
    state = model.template._replace(params=flat, ema_params=flat)
    data = device_data(s, dataset)
    metrics = chunk(data, model.numbers, state, np.int32(0), np.False_)[2]
    return {k: float(v) for k, v in metrics.items() if not k.startswith("ema_")}


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

    def predict(self, x_raw: np.ndarray) -> Predictions:
        """Outputs for raw feature rows, turned into the run's inputs and standardized first
        as the run's training rows were."""
        c = self.inputs.columns
        s = self.model.structure
        with np.errstate(over="ignore", invalid="ignore"):  # checked below, row by row
            x = feature_inputs(x_raw, c.inputs) if c.inputs else np.asarray(x_raw, np.float32)
            x = standardize(x, c.mean, c.std) if c.mean else x
            outputs = predict(s, self.params, x)
        bad = ~np.all(np.isfinite(outputs), axis=1)
        if bad.any():  # an input so far out that float32 overflows: no class, no value
            i = int(np.argmax(bad))
            raise DataError(
                f"row {i + 1}: the model's output for it is not a finite number (its features "
                "are too far from the training rows for float32); check that row"
            )
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
