"""Run folders: what ``nnopt run`` leaves on disk, training into one, and reading one back.

A run folder holds ``config.toml`` (resolved, re-runnable as is), ``inputs.json`` (the
columns and standardization the model takes), ``history.csv`` (one row per log point),
``steps.npz`` (every update's batch loss, penalty and rate),
``checkpoints/step-N.safetensors``, ``summary.json`` (the object ``--json`` prints) and the
figures (PNG). :func:`train_in_folder` trains into one from Python as ``nnopt run`` does;
:func:`resume_training`, :func:`open_run`, :func:`open_predictor` and
:func:`watch_checkpoints` read one back.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tomli_w

from nnopt.config import Config, config_to_dict
from nnopt.config.documents import loads_json, read_regular_bytes, read_regular_text
from nnopt.config.presets import read_run_config
from nnopt.config.resume import check_resume_config
from nnopt.core.data import Columns, Dataset, columns_of
from nnopt.engine.restore import (
    Evaluation,
    Inputs,
    Predictor,
    RunModel,
    choose_weights,
    evaluate_params,
    run_model,
    shape_only,
    split_rows,
)
from nnopt.engine.setup import build_dataset
from nnopt.engine.training import History, Training, TrainResult
from nnopt.errors import CheckpointError, DivergenceError, RunDirError
from nnopt.outputs import serialize
from nnopt.outputs.checkpoint import checkpoint_metadata, load_checkpoint, save_checkpoint
from nnopt.outputs.serialize import (
    STALE_TMP_SECONDS,
    csv_text,
    jsonable,
    write_bytes,
    write_json,
    write_text,
)

INPUTS_FILE = "inputs.json"
INPUTS_FORMAT = "nnopt-inputs-1"
KEEP_CHECKPOINTS = 3  # the newest ones kept in a run folder
# The files a run writes at the folder's top, in the order --overwrite removes them: the
# summary first (it says the run is done), the config last (it says the folder is a run).
RUN_FILES = ("summary.json", "history.csv", "steps.npz", INPUTS_FILE, "config.toml")
RUN_FIGURES = ("loss", "learning_rate", "parameters", "boundary")  # plots.run_figures' stems
CHECKPOINT_NAME = re.compile(r"step-(\d+)\.safetensors")
EVENTS_PREFIX = "events.out.tfevents."  # TensorBoard's event files (run --tensorboard)


# ---------------------------------------------------------------- the folder


def create_run_dir(path: Path, overwrite: bool = False) -> Path:
    """Creates a new run folder at ``path``, or ``path-2``, ``path-3`` ... if it is taken.

    ``os.mkdir`` either creates the folder or fails, so two runs started at once never
    share one. With ``overwrite`` an existing folder is reused, cleared first of every file an
    earlier run wrote there (:func:`clear_run`), so two runs never mix.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if overwrite:
            path.mkdir(exist_ok=True)
            if not os.access(path, os.W_OK):
                raise RunDirError(f"the run folder {path} is not writable")
            clear_run(path)
            return path
        for n in range(1, 10_000):
            candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
    except PermissionError:
        raise RunDirError(f"cannot create the run folder {path}: permission denied") from None
    except OSError as exc:
        raise RunDirError(f"cannot create the run folder {path}: {exc.strerror}") from None
    raise RunDirError(f"cannot create the run folder {path}: too many folders with that name")


def written_by_run(run_dir: Path) -> list[Path]:
    """The files an nnopt run writes in its folder that are there, in the order to remove them:
    the summary, the checkpoints (newest first), the records, the figures, TensorBoard's
    event files, then ``config.toml``. Only nnopt's own names: anything else is the user's."""
    run_dir = Path(run_dir)
    top = [run_dir / name for name in RUN_FILES]
    figures = [run_dir / f"{stem}.png" for stem in RUN_FIGURES]
    try:
        events = sorted(p for p in run_dir.iterdir() if p.name.startswith(EVENTS_PREFIX))
    except OSError:
        events = []
    # A checkpoints/ that links elsewhere is not followed: what is there is not this run's.
    linked = (run_dir / "checkpoints").is_symlink()
    saved = [] if linked else list(reversed(checkpoints(run_dir)))
    found = [top[0], *saved, *top[1:-1], *figures, *events, top[-1]]
    return [p for p in found if p.is_file() or p.is_symlink()]


def clear_run(run_dir: Path) -> None:
    """Removes what an earlier run left in ``run_dir`` (:func:`written_by_run`, and temporary
    files of those names); every other file stays. A stop half-way leaves no config.toml
    beside old files sooner than it leaves old checkpoints beside a new config.

    Raises:
      RunDirError: a file cannot be removed.
    """
    run_dir = Path(run_dir)
    for path in [*written_by_run(run_dir), *stale_temporaries(run_dir, age=0.0)]:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot clear {path} for --overwrite: {exc.strerror}") from None


def stale_temporaries(run_dir: Path, age: float = STALE_TMP_SECONDS) -> list[Path]:
    """The temporary files of the run's own files (see serialize.stale_temporaries) in the
    folder and its ``checkpoints/``, older than ``age`` seconds."""
    own = {*RUN_FILES, *(f"{s}.png" for s in RUN_FIGURES)}
    return [
        *serialize.stale_temporaries(Path(run_dir), own.__contains__, age),
        *serialize.stale_temporaries(Path(run_dir) / "checkpoints", CHECKPOINT_NAME.fullmatch, age),
    ]


def remove_stale_temporaries(run_dir: Path) -> None:
    """Removes :func:`stale_temporaries` (best effort: one that cannot go stays)."""
    serialize.remove_files(stale_temporaries(run_dir))


def write_config(run_dir: Path, config: Config) -> None:
    """The resolved config as TOML."""
    write_text(run_dir / "config.toml", tomli_w.dumps(config_to_dict(config)))


# ---------------------------------------------------------------- history


def history_csv(history: History) -> str:
    """The log-point rows as CSV text (columns in order of first appearance)."""

    def cell(key, value):
        return int(value) if key == "step" else repr(float(value))

    return csv_text(history.rows, cell=cell)


def write_history(run_dir: Path, history: History) -> None:
    write_text(run_dir / "history.csv", history_csv(history))


def read_history(run_dir: Path) -> History:
    """The log-point rows of ``history.csv`` (per-step arrays are not stored there).

    Raises:
      RunDirError: the file is not one nnopt wrote: not UTF-8 CSV (a NUL byte), no ``step``
        column, a row with more or fewer cells than the header, or a cell not a number.
    """
    import csv

    path = Path(run_dir) / "history.csv"
    try:
        text = read_regular_text(path, str(path), RunDirError)
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path} cannot be read ({exc.__class__.__name__}){_MOVE_AWAY}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            rows.append(_history_row(row, path, reader.line_num))
    except csv.Error as exc:
        raise RunDirError(
            f"{path}, line {reader.line_num}: not valid CSV ({exc}){_MOVE_AWAY}"
        ) from None
    if any("step" not in row for row in rows):
        raise RunDirError(f"{path} has a row without a step; not a history nnopt wrote{_MOVE_AWAY}")
    return History(rows=rows)


# What to do about a history that cannot be read: resume can go on without it.
_MOVE_AWAY = "; move it away to resume without the rows logged so far"


def _history_row(row: dict, path: Path, line: int) -> dict[str, float]:
    """One CSV row as numbers; a RunDirError naming the line for anything else."""
    if None in row or None in row.values():
        raise RunDirError(
            f"{path}, line {line}: the row's cells do not match the header{_MOVE_AWAY}"
        )
    out = {}
    for key, cell in row.items():
        if cell == "":
            continue
        try:
            out[key] = float(cell)
        except ValueError:
            raise RunDirError(
                f"{path}, line {line}, column {key!r}: {cell[:20]!r} is not a number{_MOVE_AWAY}"
            ) from None
    return out


def write_steps(run_dir: Path, history: History) -> None:
    """Every update's batch loss, regularization and rate, as ``steps.npz``."""
    buf = io.BytesIO()
    np.savez(buf, **{name: history.per_step(name) for name in ("loss", "reg", "lr")})
    write_bytes(Path(run_dir) / "steps.npz", buf.getvalue())


def read_steps(run_dir: Path, upto: int) -> dict[str, np.ndarray]:
    """The first ``upto`` entries of each per-step array (empty if the file is missing)."""
    path = Path(run_dir) / "steps.npz"
    try:
        with np.load(io.BytesIO(read_regular_bytes(path, str(path), RunDirError)),
                     allow_pickle=False) as f:  # fmt: skip
            out = {k: np.asarray(f[k])[:upto] for k in ("loss", "reg", "lr")}
        if all(a.ndim == 1 and a.dtype.kind == "f" for a in out.values()):
            return out
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RunDirError):
        pass  # a FIFO, a folder or a damaged file: as if it were missing
    return {k: np.zeros((0,), np.float32) for k in ("loss", "reg", "lr")}


# ---------------------------------------------------------------- checkpoints


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:08d}.safetensors"


def checkpoint_step(path: Path) -> int:
    """The step in a checkpoint's name ``step-00001000.safetensors`` (a number: past 8 digits
    the names no longer sort as the steps do)."""
    return int(CHECKPOINT_NAME.fullmatch(Path(path).name).group(1))


def write_checkpoint(
    run_dir: Path, state, keep: int = KEEP_CHECKPOINTS, config: Config | None = None
) -> Path:
    """Saves the state as ``checkpoints/step-N.safetensors``, keeping the newest ``keep``; the
    config it was trained under goes into the metadata (resume checks an edited config.toml
    against it)."""
    folder = Path(run_dir) / "checkpoints"
    path = checkpoint_path(run_dir, int(state.step))
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"cannot write the checkpoint {path}: {exc.strerror}") from None
    meta = {"step": str(int(state.step))}
    if config is not None:
        meta["config"] = json.dumps(config_to_dict(config), sort_keys=True)
    save_checkpoint(path, state, meta)
    for old in checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first (by step number, not by name); other files in the
    folder (``step-00000900 (copy).safetensors``) are not checkpoints of the run."""
    found = (Path(run_dir) / "checkpoints").glob("step-*.safetensors")
    return sorted((p for p in found if CHECKPOINT_NAME.fullmatch(p.name)), key=checkpoint_step)


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
        raise RunDirError(f"checkpoint = {which!r}: give latest or a step number") from None
    path = checkpoint_path(run_dir, step)
    if path not in found:
        kept = ", ".join(str(checkpoint_step(p)) for p in found)
        raise RunDirError(f"{run_dir} has no checkpoint of step {step}; it keeps steps {kept}")
    return path


def restore_weights(model: RunModel, path: Path, weights: str) -> tuple[int, dict[str, np.ndarray]]:
    """(step, named parameters) of a checkpoint: ``raw`` or ``ema`` (the shadow) weights.

    Raises:
      CheckpointError: the file is missing, corrupted or does not fit the config.
    """
    state, _ = load_checkpoint(path, model.template)
    return int(state.step), model.named(state, weights)


# ---------------------------------------------------------------- inputs.json


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
        "inputs": list(c.inputs),
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
    """The run's :class:`~nnopt.engine.restore.Inputs` from ``inputs.json``.

    Raises:
      RunDirError: the file is missing or not one that ``nnopt run`` wrote.
    """
    path = Path(run_dir) / INPUTS_FILE
    try:
        raw = loads_json(read_regular_text(path, str(path), RunDirError), str(path), RunDirError)
        return _inputs_of(raw)
    except FileNotFoundError:
        raise RunDirError(
            f"{path} is missing (the run stopped before writing it, or predates it): "
            f"nnopt resume {Path(run_dir)} writes it"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError,
            RunDirError):  # fmt: skip
        raise RunDirError(
            f"{path} cannot be read: not an inputs file written by nnopt run"
        ) from None


INPUT_TASKS = ("binary", "multiclass", "regression", "none")


def _inputs_of(raw) -> Inputs:
    """The Inputs of a parsed ``inputs.json``; ValueError (or KeyError, TypeError) for
    anything ``write_inputs`` would not have written."""

    def strings(values) -> tuple[str, ...]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError("not a list of names")
        return tuple(values)

    def numbers(values, n: int) -> tuple[float, ...]:
        ok = isinstance(values, list) and len(values) == n
        if not ok or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise ValueError("not a list of numbers")
        out = tuple(float(v) for v in values)
        if not all(np.isfinite(np.float32(out))):
            raise ValueError("not finite")
        return out

    if raw.get("format") != INPUTS_FORMAT or raw["task"] not in INPUT_TASKS:
        raise ValueError("format")
    features = strings(raw["features"])
    if not isinstance(raw["label"], str):
        raise ValueError("label")
    scaling = raw["standardization"] or {"mean": [], "std": []}
    mean, std = scaling["mean"], scaling["std"]
    inputs = strings(raw.get("inputs", []))  # runs before data.inputs have none
    n = (len(inputs) or len(features)) if mean else 0  # standardized after the inputs
    columns = Columns(features=features, label=raw["label"], classes=strings(raw["classes"]),
                      mean=numbers(mean, n), std=numbers(std, n), inputs=inputs)  # fmt: skip
    if any(v <= 0 for v in columns.std):
        raise ValueError("std")
    data = raw.get("data", {})
    path, sha = data.get("path", ""), data.get("sha256", "")
    if not isinstance(path, str) or not isinstance(sha, str):
        raise ValueError("data")
    return Inputs(columns, raw["task"], path, sha)


# ---------------------------------------------------------------- summary


SUMMARY_METRICS = ("train_loss", "train_total", "train_accuracy", "test_loss", "test_accuracy")


def summary(result: TrainResult, run_dir: Path | None) -> dict:
    """What a run reports: final losses, accuracy, parameters (raw and EMA), steps, folder."""
    f = result.final
    out = {
        "name": result.config.name,
        "steps": result.steps,
        "final_loss": f["train_loss"],
        "final_total_loss": f["train_total"],
        "final_reg": f["train_reg"],
        "learning_rate": f["lr"],
        "params": jsonable(result.params),
        "run_dir": str(run_dir) if run_dir is not None else None,
    }
    if "train_accuracy" in f:
        out["accuracy"] = {"train": f["train_accuracy"]}
        if "test_accuracy" in f:
            out["accuracy"]["test"] = f["test_accuracy"]
    if "test_loss" in f:
        out["test_loss"] = f["test_loss"]
    if result.ema_params is not None:
        out["ema_params"] = jsonable(result.ema_params)
        out["ema"] = {m: f[f"ema_{m}"] for m in SUMMARY_METRICS if f"ema_{m}" in f}
    return out


def write_summary(run_dir: Path, payload: dict) -> None:
    write_json(run_dir / "summary.json", payload, indent=2)


# ---------------------------------------------------------------- training into a folder


def start_run_folder(training: Training, path: Path, overwrite: bool = False) -> Path:
    """Creates the run folder of a set-up training (``path``, or ``path-2`` ... when taken) and
    writes its starting state, inputs and config, in that order: a folder with a config.toml
    always has a checkpoint to resume from and the inputs ``predict`` reads, however early the
    run is stopped. Returns the folder."""
    run_dir = create_run_dir(path, overwrite)
    remove_stale_temporaries(run_dir)
    write_checkpoint(run_dir, training.state, config=training.config)
    write_inputs(run_dir, training.config, training.dataset)
    write_config(run_dir, training.config)
    return run_dir


def save_progress(training: Training, run_dir: Path) -> None:
    """The history so far, then the checkpoint of the current state."""
    write_history(run_dir, training.history)
    write_steps(run_dir, training.history)
    write_checkpoint(run_dir, training.state, config=training.config)


@dataclass
class FolderRun:
    """A run trained into its folder: the result and the summary written to ``summary.json``."""

    result: TrainResult
    summary: dict
    run_dir: Path
    figures: list[Path] = field(default_factory=list)


def train_in_folder(
    training: Training,
    run_dir: Path,
    on_chunk: Callable[[Training, int], None] | None = None,
    tensorboard: bool = False,
    figures: bool = True,
) -> FolderRun:
    """Trains to the end, writing into ``run_dir`` what ``nnopt run`` writes: the history and a
    checkpoint every ``train.checkpoint_every`` steps, and at the end the history, the per-step
    values, the final checkpoint, ``summary.json`` and (``figures``) the PNG figures.

    ``on_chunk(training, updates)`` is called after every chunk (a progress bar). On Ctrl-C
    or a diverged loss the progress so far is saved before the exception goes on. The final
    checkpoint, which says the run is complete, is written after every record it completes
    (history, per-step values, summary): a stop in between leaves a run ``resume`` finishes.

    Example (from a notebook)::

        from nnopt import load_config, Training, train_in_folder
        from nnopt.outputs.run_dir import start_run_folder
        training = Training(load_config("circle-l2"))
        done = train_in_folder(training, start_run_folder(training, "runs/circle-l2"))
        done.summary["final_loss"]
    """
    run_dir = Path(run_dir)
    events = None
    if tensorboard:
        from nnopt.outputs.tensorboard import EventLog

        events = EventLog(run_dir, rows_written=len(training.history.rows))
    every = training.config.train.checkpoint_every
    try:
        while not training.done:
            until_checkpoint = every - training.step % every if every else None
            updates = training.advance(until_checkpoint)
            if events is not None:
                events.write_new(training.history.rows)
            if on_chunk is not None:
                on_chunk(training, updates)
            if every and training.step % every == 0 and not training.done:
                save_progress(training, run_dir)
    except (KeyboardInterrupt, DivergenceError):
        save_progress(training, run_dir)
        raise
    finally:
        if events is not None:
            events.close()
    result = training.result()
    payload = summary(result, run_dir)
    write_history(run_dir, training.history)
    write_steps(run_dir, training.history)
    write_summary(run_dir, payload)
    write_checkpoint(run_dir, training.state, config=training.config)  # last: says "complete"
    done = FolderRun(result, payload, run_dir)
    if figures:
        done.figures = save_run_figures(result, run_dir)
    return done


def save_run_figures(result: TrainResult, run_dir: Path) -> list[Path]:
    """The run's figures as PNG files in its folder (matplotlib is imported only here)."""
    from nnopt.outputs.plots import save_run_figures as save

    return save(result, run_dir)


def saved_config(text: str, path: Path) -> Config:
    """The config a checkpoint's metadata recorded (resolved)."""
    from nnopt.config import config_from_dict, resolve

    try:
        return resolve(config_from_dict(json.loads(text), f"the config recorded in {path}"))
    except (ValueError, TypeError, AttributeError):
        raise CheckpointError(f"checkpoint {path} is corrupted (its config)") from None


def resume_training(run_dir: Path) -> Training:
    """A Training set to the latest good checkpoint of a run folder, with its history so far.

    A checkpoint that fails its checksum is skipped (with a warning) for the one before it.
    An edited ``config.toml`` may change what :data:`~nnopt.config.resume.RESUME_MAY_CHANGE`
    lists (the rate, more steps ...), checked against the config the checkpoint recorded.
    Temporary files a killed run left are removed, and a missing ``inputs.json`` is written.
    """
    run_dir = Path(run_dir)
    training = Training(read_run_config(run_dir))
    found = checkpoints(run_dir)
    remove_stale_temporaries(run_dir)
    if not found:
        raise RunDirError(f"{run_dir} has no checkpoint to resume from")
    for path in reversed(found):
        try:
            meta = checkpoint_metadata(path)
            edits = []
            if "config" in meta:  # (older checkpoints record none) the edits, before loading
                edits = check_resume_config(
                    saved_config(meta["config"], path), training.config, int(meta["step"])
                )
            state, _ = load_checkpoint(path, training.state)
            break
        except CheckpointError as exc:
            print(f"nnopt: warning: {exc}; trying the previous checkpoint", file=sys.stderr)
    else:
        raise RunDirError(f"{run_dir}: no readable checkpoint")
    step = int(state.step)
    history = read_history(run_dir) if (run_dir / "history.csv").is_file() else History()
    history.rows = [row for row in history.rows if row["step"] <= step]
    steps = read_steps(run_dir, step)
    if len(steps["loss"]) == step:
        history.add_steps(steps["loss"], steps["reg"], steps["lr"])
    training.restore(state, history)
    if edits:  # the state holds the numbers it was trained with: the edited ones count
        training.retune(training.config)
    if not (run_dir / INPUTS_FILE).is_file():  # stopped before it was written: predict needs it
        write_inputs(run_dir, training.config, training.dataset)
    return training


# ---------------------------------------------------------------- evaluating a folder


@dataclass
class RestoredRun:
    """A run folder opened for evaluation: its config, data, model and notes for the user."""

    run_dir: Path
    config: Config
    dataset: Dataset
    model: RunModel
    warnings: list[str] = field(default_factory=list)

    def evaluate(self, checkpoint: Path, weights: str, split: str = "test") -> Evaluation:
        step, params = restore_weights(self.model, checkpoint, weights)
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


def open_predictor(
    run_dir: Path, weights: str | None = None, checkpoint: str = "latest"
) -> Predictor:
    """A run's model with the weights of one checkpoint, from the run folder alone (config,
    ``inputs.json``, the checkpoint): no data file needed."""
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
    step, params = restore_weights(model, find_checkpoint(run_dir, checkpoint), weights)
    return Predictor(inputs, model, params, step, weights)


@dataclass(frozen=True)
class Watched:
    """What :func:`watch_checkpoints` saw: ``waiting`` (no run yet), ``opened`` (the run),
    ``evaluated`` (a checkpoint's evaluation; ``final`` at the run's last step) or
    ``timeout``."""

    kind: str
    run: RestoredRun | None = None
    evaluation: Evaluation | None = None
    final: bool = False
    last_step: int | None = None


def watch_checkpoints(
    run_dir: Path,
    weights: str | None = None,
    split: str = "test",
    interval: float = 2.0,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Watched]:
    """Evaluates every checkpoint of a run folder not seen yet, oldest first, as a run trains
    into it, until the run's last (``train.steps``) or ``timeout`` seconds.

    Yields ``waiting`` once while the folder holds no run yet, ``opened`` when it does, then
    one ``evaluated`` per checkpoint, ending with the final one or with ``timeout``.
    """
    if not (interval > 0 and np.isfinite(interval)):
        raise RunDirError(
            f"interval = {interval:g} is out of range: must be a finite number of seconds > 0"
        )
    if timeout is not None and not (timeout >= 0 and np.isfinite(timeout)):
        raise RunDirError(
            f"timeout = {timeout:g} is out of range: must be a finite number of seconds >= 0 "
            "(leave it out to wait for the run's last checkpoint)"
        )
    run_dir = Path(run_dir)
    deadline = None if timeout is None else time.monotonic() + timeout

    def out_of_time() -> bool:
        """Sleeps one interval (less if the deadline is nearer); True once it has passed."""
        if deadline is not None and time.monotonic() >= deadline:
            return True
        pause = (
            interval if deadline is None else min(interval, max(0.0, deadline - time.monotonic()))
        )
        sleep(pause)
        return deadline is not None and time.monotonic() >= deadline

    if not (run_dir / "config.toml").is_file():
        yield Watched("waiting")
        while not (run_dir / "config.toml").is_file():
            if out_of_time():
                yield Watched("timeout")
                return
    run = open_run(run_dir)
    weights = choose_weights(run.config, weights)
    split_rows(run.dataset, split)  # no test rows: say so now, not at the first checkpoint
    yield Watched("opened", run=run)
    final, seen, last = run.config.train.steps, set(), None
    while True:
        for path in checkpoints(run_dir):
            step = checkpoint_step(path)
            if step in seen:
                continue
            try:
                evaluation = run.evaluate(path, weights, split)
            except CheckpointError:
                continue  # removed (only the newest are kept) between listing and reading
            seen.add(step)
            last = step
            yield Watched("evaluated", run, evaluation, final=step >= final, last_step=step)
            if step >= final:
                return
        if out_of_time():
            yield Watched("timeout", run, last_step=last)
            return
