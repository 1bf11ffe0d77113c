"""Run folders: what ``nnopt run`` leaves on disk, and the parameter files it reads.

A run folder holds ``config.toml`` (resolved, re-runnable as is), ``history.csv``
(one row per log point), ``checkpoints/step-NNNNNNNN.safetensors``, the figures
(PNG) and ``summary.json`` (the same object ``--json`` prints).
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import tomli_w

from nnopt.outputs.checkpoint import save_checkpoint, write_atomic
from nnopt.config.schema import Config, config_to_dict
from nnopt.errors import ParamsError, RunDirError
from nnopt.engine.training import History, TrainResult


def create_run_dir(path: Path, overwrite: bool = False) -> Path:
    """Creates a new run folder at ``path``, or ``path-2``, ``path-3`` ... if it is taken.

    ``os.mkdir`` either creates the folder or fails, so two runs started at once never
    share one. With ``overwrite`` an existing folder is reused as is.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if overwrite:
            path.mkdir(exist_ok=True)
            _check_writable(path)
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


def _check_writable(path: Path) -> None:
    if not os.access(path, os.W_OK):
        raise RunDirError(f"the run folder {path} is not writable")


def write_text(path: Path, text: str) -> None:
    """Writes a text file atomically, as a clear RunDirError when the disk refuses."""
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise RunDirError(f"cannot write {path}: {exc.strerror}") from None


def write_config(run_dir: Path, config: Config) -> None:
    """The resolved config as TOML."""
    write_text(run_dir / "config.toml", tomli_w.dumps(config_to_dict(config)))


def history_csv(history: History) -> str:
    """The log-point rows as CSV text (columns in order of first appearance)."""
    columns: list[str] = []
    for row in history.rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history.rows:
        writer.writerow({k: (int(v) if k == "step" else repr(float(v))) for k, v in row.items()})
    return out.getvalue()


def write_history(run_dir: Path, history: History) -> None:
    write_text(run_dir / "history.csv", history_csv(history))


def read_history(run_dir: Path) -> History:
    """The log-point rows of ``history.csv`` (per-step arrays are not stored)."""
    with open(Path(run_dir) / "history.csv", newline="") as f:
        rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
    return History(rows=rows)


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:08d}.safetensors"


def write_checkpoint(run_dir: Path, state, keep: int = 3) -> Path:
    """Saves the state as ``checkpoints/step-N.safetensors``, keeping the newest ``keep``."""
    folder = Path(run_dir) / "checkpoints"
    path = checkpoint_path(run_dir, int(state.step))
    try:
        folder.mkdir(exist_ok=True)
        save_checkpoint(path, state, {"step": str(int(state.step))})
    except OSError as exc:
        raise RunDirError(f"cannot write the checkpoint {path}: {exc.strerror}") from None
    for old in sorted(folder.glob("step-*.safetensors"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    return sorted((Path(run_dir) / "checkpoints").glob("step-*.safetensors"))


def _nested(value: np.ndarray):
    return value.tolist()


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
        "params": {k: _nested(v) for k, v in result.params.items()},
        "run_dir": str(run_dir) if run_dir is not None else None,
    }
    if "train_accuracy" in f:
        out["accuracy"] = {"train": f["train_accuracy"]}
        if "test_accuracy" in f:
            out["accuracy"]["test"] = f["test_accuracy"]
    if "test_loss" in f:
        out["test_loss"] = f["test_loss"]
    if result.ema_params is not None:
        out["ema_params"] = {k: _nested(v) for k, v in result.ema_params.items()}
        out["ema"] = {
            k[len("ema_") :]: v
            for k, v in f.items()
            if k.startswith("ema_")
            and "[" not in k
            and k[4:]
            in ("train_loss", "train_total", "train_accuracy", "test_loss", "test_accuracy")
        }
    return out


def write_summary(run_dir: Path, payload: dict) -> None:
    write_text(run_dir / "summary.json", json.dumps(payload, indent=2) + "\n")


def read_params_file(path: Path) -> dict[str, np.ndarray]:
    """Parameters from JSON (``{"w1": [[...]], ...}``) or NPZ, named as in the lecture.

    Raises:
      ParamsError: the file is missing, unreadable, or not a name -> array mapping.
    """
    path = Path(path)
    label = f"params file {path}"
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as f:
                return {k: np.asarray(f[k]) for k in f.files}
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{label} does not exist") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        kind = "NPZ" if path.suffix.lower() == ".npz" else "JSON"
        raise ParamsError(
            f"{label} is not a readable {kind} file ({exc.__class__.__name__})"
        ) from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{label}: expected an object mapping names (w1, b1, ...) to arrays")
    out = {}
    for name, value in raw.items():
        try:
            with np.errstate(over="ignore"):  # too large for float32: inf, refused by check_params
                out[name] = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError, OverflowError):
            raise ParamsError(f"{label}: {name} is not a (nested) list of numbers") from None
    return out


def write_steps(run_dir: Path, history: History) -> None:
    """Every update's batch loss, regularization and rate, as ``steps.npz``."""
    buf = io.BytesIO()
    np.savez(buf, **{name: history.per_step(name) for name in ("loss", "reg", "lr")})
    try:
        write_atomic(Path(run_dir) / "steps.npz", buf.getvalue())
    except OSError as exc:
        raise RunDirError(f"cannot write {run_dir}/steps.npz: {exc.strerror}") from None


def read_steps(run_dir: Path, upto: int) -> dict[str, np.ndarray]:
    """The first ``upto`` entries of each per-step array (empty if the file is missing)."""
    try:
        with np.load(Path(run_dir) / "steps.npz", allow_pickle=False) as f:
            return {k: np.asarray(f[k])[:upto] for k in ("loss", "reg", "lr")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return {k: np.zeros((0,), np.float32) for k in ("loss", "reg", "lr")}


def read_run_config(run_dir: Path) -> Config:
    """The resolved config a run folder was trained with (its config.toml)."""
    import tomllib

    from nnopt.config.schema import config_from_dict, resolve

    run_dir = Path(run_dir)
    path = run_dir / "config.toml"
    if not path.is_file():
        raise RunDirError(f"{run_dir} is not a run folder (no config.toml)")
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RunDirError(f"{path} cannot be read: {exc}") from None
    return resolve(config_from_dict(raw, str(path)))


def resume_training(run_dir: Path):
    """A Training set to the latest good checkpoint of a run folder, with its history so far.

    A checkpoint that fails its checksum is skipped (with a warning) for the one before it.
    """
    import sys

    from nnopt.outputs.checkpoint import load_checkpoint
    from nnopt.errors import CheckpointError
    from nnopt.engine.training import Training

    run_dir = Path(run_dir)
    training = Training(read_run_config(run_dir))
    found = checkpoints(run_dir)
    if not found:
        raise RunDirError(f"{run_dir} has no checkpoint to resume from")
    for path in reversed(found):
        try:
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
        history.step_loss, history.step_reg, history.step_lr = (
            [steps["loss"]],
            [steps["reg"]],
            [steps["lr"]],
        )
    training.restore(state, history)
    return training
