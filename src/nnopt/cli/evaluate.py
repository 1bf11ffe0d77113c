"""``nnopt evaluate`` and ``nnopt predict``: test a trained run, or use it on new rows.

``nnopt evaluate RUN_DIR`` is the course's ``test.py``: it restores the moving-average
(shadow) weights of the latest checkpoint and reports the test loss, accuracy and
confusion matrix; ``--watch`` does it again for every new checkpoint while the run trains
in another terminal (:func:`nnopt.outputs.run_dir.watch_checkpoints`). ``nnopt predict
RUN_DIR INPUT.csv`` writes a class (with its probabilities) or a value for each row.
Module-level imports stay light: the main command line imports this file for every command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nnopt.cli.main import add_cache_flag, start_cache
from nnopt.errors import NnoptError

DEFAULT_INTERVAL = 2.0  # seconds between looks at the run folder (--watch)
EXIT_TIMEOUT = 124  # --watch --timeout ran out before the run's last checkpoint (as timeout(1))

# The library's names for what these flags set (see cli.main.with_flags).
FLAGS = {
    "weights": "--weights",
    "checkpoint": "--checkpoint",
    "split": "--split",
    "interval": "--interval",
    "timeout": "--timeout",
}


def register(subparsers) -> None:
    """Adds the ``evaluate`` and ``predict`` sub-commands."""
    p = subparsers.add_parser(
        "evaluate",
        help="test a run's checkpoint: loss, accuracy and confusion matrix, without training",
        description="Restore a checkpoint of a run folder and evaluate it on the run's test rows.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    _weights_and_checkpoint(p)
    p.add_argument(
        "--split",
        choices=("test", "train"),
        default="test",
        help="rows to evaluate on (default test: the rows the run held out)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (per checkpoint)")
    p.add_argument(
        "--watch",
        action="store_true",
        help="evaluate every new checkpoint as a run trains; stops after its last (train.steps)",
    )
    p.add_argument(
        "--interval", type=float, metavar="S", help="--watch: seconds between looks (default 2)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help=f"--watch: give up after S seconds (exit code {EXIT_TIMEOUT})",
    )
    add_cache_flag(p)
    p.set_defaults(fn=cmd_evaluate, flags=FLAGS)

    p = subparsers.add_parser(
        "predict",
        help="predict new rows (CSV or NPZ) with a trained run",
        description="Write a class and its probabilities, or a value, for every row of INPUT.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("input", metavar="INPUT", help="a .csv (header row) or .npz file of new rows")
    p.add_argument("--out", metavar="FILE", help="write the predictions here (default stdout)")
    _weights_and_checkpoint(p)
    p.set_defaults(fn=cmd_predict, flags=FLAGS)


def _weights_and_checkpoint(p) -> None:
    p.add_argument(
        "--weights",
        choices=("raw", "ema"),
        help="raw or ema (shadow) weights; default ema when the run kept a moving average",
    )
    p.add_argument(
        "--checkpoint",
        default="latest",
        metavar="latest|STEP",
        help="which checkpoint (default latest)",
    )


# ---------------------------------------------------------------- evaluate


def cmd_evaluate(args) -> int:
    """Evaluates one checkpoint, or (``--watch``) each new one."""
    if args.watch:
        return _watch(args)
    if args.interval is not None or args.timeout is not None:
        raise NnoptError("--interval and --timeout go with --watch")
    from nnopt.config.presets import read_run_config

    read_run_config(Path(args.run_dir))  # not a run folder: said before JAX loads
    start_cache(args)
    from nnopt.engine.restore import choose_weights
    from nnopt.outputs.run_dir import find_checkpoint, open_run

    run = open_run(Path(args.run_dir))
    _warn(run.warnings)
    weights = choose_weights(run.config, args.weights)
    evaluation = run.evaluate(find_checkpoint(run.run_dir, args.checkpoint), weights, args.split)
    _show(run, evaluation, args.json, full=True)
    return 0


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _warn(warnings: list[str]) -> None:
    for text in warnings:
        print(f"nnopt: warning: {text}", file=sys.stderr)


def _show(run, evaluation, as_json: bool, full: bool) -> None:
    if as_json:
        payload = {"run_dir": str(run.run_dir), **evaluation.as_dict()}
        if evaluation.accuracy is not None:
            from nnopt.core.data import columns_of

            payload["classes"] = list(columns_of(run.dataset).classes)
        print(json.dumps(payload), flush=True)
    elif full:
        print("\n".join(evaluation_lines(run, evaluation)), flush=True)
    else:
        print(_one_line(run, evaluation), flush=True)


def _one_line(run, e) -> str:
    """The course's test line: after N steps, the test accuracy (and loss)."""
    text = f"after {e.step} steps ({e.weights} weights): {e.split} loss {e.loss:.6g}"
    return text + (f", accuracy {e.accuracy:.4f}" if e.accuracy is not None else "")


def evaluation_lines(run, e) -> list[str]:
    """A human report: where the weights come from, the metrics and the confusion matrix."""
    total = run.config.train.steps
    label = "EMA (shadow)" if e.weights == "ema" else "raw"
    lines = [
        f"{run.run_dir}: checkpoint of step {e.step} of {total}, {label} weights, "
        f"{e.split} split ({_rows(e.rows)})",
        f"  loss {e.loss:.6g}, total loss (with regularization) {e.total_loss:.6g}",
    ]
    if e.accuracy is None:
        return lines
    right = int(e.confusion.trace())
    lines.append(f"  accuracy {e.accuracy:.4f} ({right} of {e.rows} right)")
    lines.append("  confusion matrix (rows: true class, columns: predicted class):")
    from nnopt.core.data import columns_of

    names = list(columns_of(run.dataset).classes) or [str(i) for i in range(len(e.confusion))]
    width = max(max(len(n) for n in names), len(str(int(e.confusion.max())))) + 1
    pad = max(len(n) for n in names)
    lines.append("    " + " " * pad + "".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, e.confusion):
        lines.append(f"    {name:>{pad}}" + "".join(f"{int(v):>{width}}" for v in row))
    return lines


def _watch(args) -> int:
    """Prints each evaluation the library's watcher yields, until the run's last checkpoint."""
    from nnopt.outputs.run_dir import watch_checkpoints

    if args.checkpoint != "latest":
        raise NnoptError("--watch evaluates every new checkpoint; leave out --checkpoint")
    start_cache(args)
    run_dir = Path(args.run_dir)
    interval = DEFAULT_INTERVAL if args.interval is None else args.interval
    last = None
    try:
        for seen in watch_checkpoints(run_dir, args.weights, args.split, interval, args.timeout):
            if seen.kind == "waiting":
                print(f"nnopt: waiting for a run in {run_dir} (Ctrl-C stops)", file=sys.stderr)
            elif seen.kind == "opened":
                _warn(seen.run.warnings)
            elif seen.kind == "evaluated":
                last = seen.last_step
                _show(seen.run, seen.evaluation, args.json, full=seen.final)
            elif seen.kind == "timeout":
                final = seen.run.config.train.steps if seen.run else None
                where = (
                    f"the last step evaluated is {seen.last_step} of {final}"
                    if seen.last_step is not None
                    else "no checkpoint yet"
                )
                print(
                    f"nnopt: --timeout {args.timeout:g} s reached watching {run_dir}: {where}",
                    file=sys.stderr,
                )
                return EXIT_TIMEOUT
    except KeyboardInterrupt:
        at = f" after step {last}" if last is not None else ""
        print(f"nnopt: stopped watching {run_dir}{at}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- predict


def cmd_predict(args) -> int:
    """Predicts every row of the input file and writes one CSV row per input row."""
    import csv
    import io

    from nnopt.config.presets import read_run_config
    from nnopt.inputs.datafiles import read_feature_rows
    from nnopt.outputs.run_dir import open_predictor

    read_run_config(Path(args.run_dir))  # not a run folder: said before JAX loads
    predictor = open_predictor(Path(args.run_dir), args.weights, args.checkpoint)
    x, table = read_feature_rows(args.input, predictor.inputs.columns.features)
    predictions = predictor.predict(x)
    header, rows = predictions.table()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if args.out:
        from nnopt.outputs.serialize import write_text

        write_text(Path(args.out), text.getvalue())
    else:
        sys.stdout.write(text.getvalue())
    where = f" -> {args.out}" if args.out else ""
    label = "EMA (shadow)" if predictor.weights == "ema" else "raw"
    print(
        f"nnopt: predicted {_rows(len(x))} of {table.source} with the {label} weights "
        f"of step {predictor.step}{where}",
        file=sys.stderr,
    )
    accuracy = predictor.labelled_accuracy(table, predictions)
    if accuracy is not None:
        print(
            f"nnopt: the input has the label column {predictor.inputs.columns.label!r}: "
            f"accuracy {accuracy:.4f}",
            file=sys.stderr,
        )
    return 0
