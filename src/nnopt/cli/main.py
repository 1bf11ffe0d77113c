"""The command line: ``nnopt presets | run | resume | lecture``.

A thin face over the library: it parses arguments, calls the engine and the
outputs, shows progress, and turns every :class:`~nnopt.errors.NnoptError` into
one line on stderr with exit code 2 (1 for a run that diverged, 130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()  # process start, as near as Python lets us see it

from nnopt.errors import DivergenceError, NnoptError  # noqa: E402 (after the clock starts)

EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line, without the usage block."""

    def error(self, message: str):  # noqa: D401 - argparse's API
        raise NnoptError(f"{message} (see {self.prog} --help)")


def _fmt(v: float) -> str:
    return f"{v:.6g}"


# ---------------------------------------------------------------- presets


def cmd_presets(args) -> int:
    from nnopt.config.presets import preset_descriptions, preset_text

    if args.show:
        sys.stdout.write(preset_text(args.show))
        return 0
    descriptions = preset_descriptions()
    if args.json:
        print(json.dumps(descriptions))
        return 0
    width = max(map(len, descriptions))
    for name, text in descriptions.items():
        print(f"{name:<{width}}  {text}")
    return 0


# ---------------------------------------------------------------- run


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


def _human_summary(result, payload: dict) -> list[str]:
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


def _train_in_folder(training, run_dir: Path, args, checkpoint_every: int) -> int:
    """Advances a Training to its end, writing history and checkpoints into ``run_dir``
    (and TensorBoard events with ``--tensorboard``)."""
    events = None
    if getattr(args, "tensorboard", False):
        from nnopt.outputs.tensorboard import EventLog

        events = EventLog(run_dir, rows_written=len(training.history.rows))
    try:
        return _train_and_write(training, run_dir, args, checkpoint_every, events)
    finally:
        if events is not None:
            events.close()


def _train_and_write(training, run_dir: Path, args, checkpoint_every: int, events) -> int:
    from nnopt.outputs.plots import save_run_figures
    from nnopt.outputs.run_dir import summary, write_checkpoint, write_history, write_steps, write_summary

    total = training.config.train.steps
    bar = _progress(total, training.step, args.json or args.quiet)
    try:
        while not training.done:
            until_ckpt = (
                checkpoint_every - training.step % checkpoint_every if checkpoint_every else None
            )
            done = training.advance(until_ckpt)
            bar.update(done)
            if events is not None:
                events.write_new(training.history.rows)
            row = training.history.rows[-1]
            bar.set_postfix(loss=_fmt(row["train_loss"]), lr=_fmt(row["lr"]), refresh=False)
            if checkpoint_every and training.step % checkpoint_every == 0 and not training.done:
                _save_progress(training, run_dir)
    except KeyboardInterrupt:
        bar.close()
        _save_progress(training, run_dir)
        print(
            f"nnopt: interrupted at step {training.step}; the run is saved in {run_dir}. "
            f"Continue it with: nnopt resume {run_dir}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except DivergenceError as exc:
        bar.close()
        _save_progress(training, run_dir)
        print(
            f"nnopt: error: {exc}. The run up to step {training.step} is kept in {run_dir}",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    bar.close()
    result = training.result()
    write_checkpoint(run_dir, result.state)
    write_history(run_dir, result.history)
    write_steps(run_dir, result.history)
    save_run_figures(result, run_dir)
    payload = summary(result, run_dir)
    write_summary(run_dir, payload)
    if not args.quiet or args.json:
        out = sys.stderr if args.json else sys.stdout
        print("\n".join(_human_summary(result, payload)), file=out)
    if args.json:
        print(json.dumps(payload))
    return 0


def _save_progress(training, run_dir: Path) -> None:
    from nnopt.outputs.run_dir import write_checkpoint, write_history, write_steps

    write_history(run_dir, training.history)
    write_steps(run_dir, training.history)
    write_checkpoint(run_dir, training.state)


def cmd_run(args) -> int:
    from nnopt.config.presets import load_config
    from nnopt.outputs.run_dir import create_run_dir, read_params_file, write_config
    from nnopt.engine.training import Training

    config = load_config(args.config, args.set or [])
    if getattr(args, "tensorboard", False):
        from nnopt.outputs.tensorboard import require_tensorboard

        require_tensorboard()
    init = read_params_file(args.init) if args.init else None
    training = Training(config, init, source=f"params file {args.init}")  # checks before writing
    run_dir = create_run_dir(
        Path(args.out) if args.out else Path("runs") / config.name, args.overwrite
    )
    # The starting state first (it may come from --init): `nnopt resume` can then always go
    # on from a checkpoint, however early the run is stopped.
    from nnopt.outputs.run_dir import write_checkpoint

    write_checkpoint(run_dir, training.state)
    write_config(run_dir, training.config)
    from nnopt.engine.restore import write_inputs

    write_inputs(run_dir, training.config, training.dataset)  # what predict needs
    return _train_in_folder(training, run_dir, args, training.config.train.checkpoint_every)


def cmd_resume(args) -> int:
    from nnopt.outputs.run_dir import resume_training

    run_dir = Path(args.run_dir)
    training = resume_training(run_dir)
    if training.done:
        print(f"nnopt: {run_dir} is already complete ({training.step} steps)", file=sys.stderr)
    return _train_in_folder(training, run_dir, args, training.config.train.checkpoint_every)


# ---------------------------------------------------------------- lecture


def cmd_lecture(args) -> int:
    from nnopt.engine.lecture import PARTS

    unknown = [n for n in args.only or [] if n not in PARTS]
    if unknown:
        raise NnoptError(f"unknown --only name {unknown[0]!r}; choose from {', '.join(PARTS)}")
    out = Path(args.out)
    from nnopt.outputs.report import check_writable

    check_writable(out)  # before any training
    compile_seconds = _compile_timer()
    from nnopt.engine.lecture import run_lecture
    from nnopt.outputs.report import terminal_table, write_report

    t_import = time.perf_counter()
    quiet = args.json or args.quiet

    def progress(label: str, done: int, total: int) -> None:
        if not quiet:
            print(f"[{done}/{total}] trained {label}", file=sys.stderr, flush=True)

    experiments = run_lecture(args.only, on_trained=progress)
    t_train = time.perf_counter()
    # Drawn after training: drawing beside the compiling threads was slower, as both need
    # Python's lock (tracing and lowering are Python).
    paths = write_report(
        out, experiments, {"import": t_import - _T0, "compile and train": t_train - t_import}
    )
    t_end = time.perf_counter()
    timing = {
        "import": t_import - _T0,
        "compile and train": t_train - t_import,
        "figures and report": t_end - t_train,
        "total": t_end - _T0,
        "compiling (summed over threads)": compile_seconds(),
    }
    write_report_timing(paths["results.json"], timing)
    if args.json:
        from nnopt.outputs.report import results

        print(
            json.dumps(
                results(experiments)
                | {"report": str(paths["report.html"]), "timing_seconds": timing}
            )
        )
    else:
        print(terminal_table(experiments))
        print(
            f"report: {paths['report.html']} (figures in {out / 'figures'}, values in {paths['results.json']})"
        )
        print("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in timing.items()))
    return 0


def _compile_timer():
    """A function returning the seconds JAX spent compiling since this call (all threads)."""
    import jax

    total = [0.0]

    def listener(event: str, duration: float, **_) -> None:
        if event.startswith("/jax/core/compile/") or event.startswith("/jax/compilation_cache/"):
            total[0] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    return lambda: total[0]


def write_report_timing(path: Path, timing: dict) -> None:
    from nnopt.outputs.run_dir import write_text

    payload = json.loads(path.read_text("utf-8"))
    payload["timing_seconds"] = timing
    write_text(path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- main


# Faces that live in their own modules: each has ``register(subparsers)``, which adds its
# sub-command with ``set_defaults(fn=...)``. Keep their module-level imports light.
COMMAND_MODULES = ("nnopt.cli.sweep", "nnopt.cli.serve", "nnopt.cli.evaluate")


def _register_extra_commands(sub) -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that face is not part of this install
            raise
        module.register(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nnopt", description="The neural-network optimization lecture, runnable.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("presets", help="list the built-in experiments")
    p.add_argument("--show", metavar="NAME", help="print one preset's TOML")
    p.add_argument("--json", action="store_true", help="print name -> description as JSON")
    p.set_defaults(fn=cmd_presets)

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
    p.add_argument("--json", action="store_true", help="end stdout with one JSON line of results")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard event files into the run folder (pip install 'nnopt[tensorboard]')",
    )
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("lecture", help="re-run the whole lecture and write a report")
    p.add_argument(
        "--out",
        metavar="DIR",
        default="lecture-report",
        help="report folder (default ./lecture-report)",
    )
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these parts of the lecture")
    p.add_argument("--json", action="store_true", help="print the checks as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(fn=cmd_lecture)

    p = sub.add_parser("resume", help="continue a run from its latest checkpoint")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--json", action="store_true", help="end stdout with one JSON line of results")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard event files")
    p.set_defaults(fn=cmd_resume)
    _register_extra_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.fn(args)
    except DivergenceError as exc:
        print(f"nnopt: error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except NnoptError as exc:
        print(f"nnopt: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("nnopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
