"""``nnopt run`` and ``nnopt resume``: train a config into a run folder, with a progress bar.

Training into the folder is the library's :func:`nnopt.outputs.run_dir.train_in_folder`; this
module parses the arguments, shows progress and prints the summary (before the figures are
drawn, so the numbers appear as soon as training ends).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nnopt.cli.main import (
    EXIT_TERMINATED,
    START,
    Stops,
    add_cache_flag,
    sigterm_as_ctrl_c,
    start_cache,
)
from nnopt.errors import DivergenceError, NnoptError

EXIT_DIVERGED = 1


def _add_output_flags(p) -> None:
    p.add_argument("--json", action="store_true", help="end stdout with one JSON line of results")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard event files into the run folder (pip install 'nnopt[tensorboard]')",
    )
    p.add_argument("--no-figures", action="store_true", help="do not draw the PNG figures")
    p.add_argument(
        "--timing", action="store_true", help="end with one line on stderr: where the time went"
    )
    add_cache_flag(p)


def register(sub) -> None:
    p = sub.add_parser("run", help="train a preset or a TOML config")
    p.add_argument("config", metavar="PRESET_OR_FILE")
    p.add_argument(
        "--set", action="append", metavar="SECTION.FIELD=VALUE", help="override one field"
    )
    p.add_argument(
        "--out", metavar="DIR", help="run folder (default runs/NAME; a new name if it exists)"
    )
    p.add_argument(
        "--init", metavar="PARAMS_FILE", help="start from these parameters (JSON or NPZ)"
    )
    p.add_argument("--overwrite", action="store_true", help="reuse an existing run folder")
    _add_output_flags(p)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("resume", help="continue a run from its latest checkpoint")
    p.add_argument("run_dir", metavar="RUN_DIR")
    _add_output_flags(p)
    p.set_defaults(fn=cmd_resume)


def cmd_run(args) -> int:
    from nnopt.config.presets import load_config
    from nnopt.inputs.params_file import read_params_file

    config = load_config(args.config, args.set or [])  # a bad config is said before JAX loads
    say_notices([config])
    if args.tensorboard:
        from nnopt.outputs.tensorboard import INSTALL_HINT, tensorboard_available

        if not tensorboard_available():
            raise NnoptError(f"--tensorboard needs the tensorboardX package: {INSTALL_HINT}")
    init = read_params_file(args.init) if args.init else None
    start_cache(args)
    from nnopt.engine.training import Training
    from nnopt.outputs.run_dir import start_run_folder

    clock = Phases()
    training = Training(config, init, source=f"params file {args.init}")  # checks before writing
    clock.mark("setup")
    out = Path(args.out) if args.out else Path("runs") / config.name
    run_dir = start_run_folder(training, out, args.overwrite)
    clock.mark("write")
    return _train(training, run_dir, args, clock)


def cmd_resume(args) -> int:
    from nnopt.outputs.run_dir import resume_training

    run_dir = Path(args.run_dir)
    start_cache(args)
    clock = Phases()
    training = resume_training(run_dir)
    clock.mark("setup")
    say_notices([training.config])
    if training.done:
        print(f"nnopt: {run_dir} is already complete ({training.step} steps)", file=sys.stderr)
    return _train(training, run_dir, args, clock)


def say_notices(configs) -> None:
    """Prints each distinct note of the configs once on stderr (see nnopt.config.notices)."""
    from nnopt.config.notices import notices_of

    for note in notices_of(configs):
        print(f"nnopt: note: {note}", file=sys.stderr)


class Phases:
    """Where a command's time goes: the seconds between marks, from the process's start, with
    the compiling JAX did within each phase counted apart (``--timing``)."""

    ORDER = ("import", "setup", "compile", "train", "write", "summary", "figures")

    def __init__(self):
        from nnopt.engine.compilation import compile_clock, compile_counter

        self.compiling, self.programs = compile_clock(), compile_counter()
        self.last, self.compiled = time.perf_counter(), 0.0
        self.seconds = {"import": self.last - START}

    def mark(self, phase: str, at: float | None = None) -> None:
        """Adds the time since the last mark (or until ``at``) to ``phase``, less its compiling."""
        now = time.perf_counter() if at is None else at
        compiled, self.compiled = self.compiling() - self.compiled, self.compiling()
        compiled = min(compiled, now - self.last)
        self.seconds["compile"] = self.seconds.get("compile", 0.0) + compiled
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self.last - compiled
        self.last = now

    def line(self) -> str:
        """``time: import 0.61 s, ..., total 1.52 s; 1 compiled program (1 from the cache)``."""
        shown = ", ".join(f"{k} {self.seconds[k]:.2f} s" for k in self.ORDER if k in self.seconds)
        n = self.programs()
        return (
            f"time: {shown}, total {time.perf_counter() - START:.2f} s; "
            f"{n.programs} compiled program{'s' if n.programs != 1 else ''} "
            f"({n.cache_hits} from the cache)"
        )


def _train(training, run_dir: Path, args, clock: Phases) -> int:
    """Trains into the folder with a progress bar; prints the summary, then draws the figures."""
    from nnopt.outputs.run_dir import save_run_figures, train_in_folder

    bar = _progress(training.config.train.steps, training.step, args.json or args.quiet)
    last_chunk = [time.perf_counter()]

    def on_chunk(training, updates: int) -> None:
        bar.update(updates)
        row = training.history.rows[-1]
        bar.set_postfix(loss=_fmt(row["train_loss"]), lr=_fmt(row["lr"]), refresh=False)
        last_chunk[0] = time.perf_counter()

    stops = Stops()
    try:
        with sigterm_as_ctrl_c() as stops:
            done = train_in_folder(training, run_dir, on_chunk, args.tensorboard, figures=False)
    except KeyboardInterrupt as stop:
        bar.close()
        code = stops.code(stop)
        how = "terminated (SIGTERM)" if code == EXIT_TERMINATED else "interrupted"
        print(
            f"nnopt: {how} at step {training.step}; the run is saved in {run_dir}. "
            f"Continue it with: nnopt resume {run_dir}",
            file=sys.stderr,
        )
        return code
    except DivergenceError as exc:
        bar.close()
        print(
            f"nnopt: error: {exc}. The run up to step {training.step} is kept in {run_dir}",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    bar.close()
    clock.mark("train", at=max(last_chunk[0], clock.last))  # then the final records
    clock.mark("write")
    if not args.quiet or args.json:
        out = sys.stderr if args.json else sys.stdout
        print("\n".join(summary_lines(done.result, done.summary)), file=out, flush=True)
    if args.json:
        print(json.dumps(done.summary), flush=True)
    clock.mark("summary")
    if not args.no_figures:
        save_run_figures(done.result, run_dir)
        clock.mark("figures")
    if args.timing:
        print(clock.line(), file=sys.stderr, flush=True)
    return 0


def _progress(total: int, start: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=start,
        unit="step",
        file=sys.stderr,
        disable=True if quiet else None,
        dynamic_ncols=True,
        leave=False,
    )


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def summary_lines(result, payload: dict) -> list[str]:
    """The human summary: network, final losses, accuracy, EMA, small models' parameters."""
    from nnopt.engine.training import summary_line

    f = result.final
    lines = [f"{result.config.name}: {summary_line(result.config)}, {result.steps} steps"]
    lines.append(
        f"  final data loss {_fmt(f['train_loss'])}, total loss {_fmt(f['train_total'])}"
        + (f", test loss {_fmt(f['test_loss'])}" if "test_loss" in f else "")
    )
    if "train_accuracy" in f:
        acc = f"  accuracy train {f['train_accuracy']:.4f}"
        acc += f", test {f['test_accuracy']:.4f}" if "test_accuracy" in f else ""
        lines.append(acc)
    if result.ema_params is not None:
        ema = f"  EMA weights: data loss {_fmt(f['ema_train_loss'])}"
        ema += f", accuracy {f['ema_train_accuracy']:.4f}" if "ema_train_accuracy" in f else ""
        ema += f", test {f['ema_test_accuracy']:.4f}" if "ema_test_accuracy" in f else ""
        lines.append(ema)
    if result.structure.n_params <= 16:
        for label, params in (("params", result.params), ("EMA params", result.ema_params)):
            if params is not None:
                shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
                lines.append(f"  {label}: {shown}")
    lines.append(f"  run folder: {payload['run_dir']}")
    return lines


def _short(value) -> str:
    import numpy as np

    return np.array2string(np.asarray(value).squeeze(), precision=4, separator=", ")
