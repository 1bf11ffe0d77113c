"""``nnopt lecture``: re-run the whole lecture and write the report.

The experiments are :func:`nnopt.engine.lecture.run_lecture`, the report
:func:`nnopt.outputs.report.write_report`; this module parses, shows progress and prints
the table of checks.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nnopt.cli.main import add_cache_flag, start_cache
from nnopt.errors import NnoptError


def register(sub) -> None:
    p = sub.add_parser("lecture", help="re-run the whole lecture and write a report")
    p.add_argument(
        "--out",
        metavar="DIR",
        default="lecture-report",
        help="report folder (default ./lecture-report)",
    )
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these parts of the lecture")
    p.add_argument(
        "--lang",
        choices=("zh", "en", "both"),
        default="both",
        help="the report's language: Chinese, English or both side by side (default both)",
    )
    p.add_argument("--json", action="store_true", help="print the checks as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_cache_flag(p)
    p.set_defaults(fn=cmd_lecture)


def cmd_lecture(args) -> int:
    from nnopt.cli.main import START
    from nnopt.engine.lecture import PARTS

    unknown = [n for n in args.only or [] if n not in PARTS]
    if unknown:
        raise NnoptError(f"unknown --only name {unknown[0]!r}; choose from {', '.join(PARTS)}")
    out = Path(args.out)
    from nnopt.outputs.report import add_timing, check_writable, results, write_report

    check_writable(out)  # before any training
    start_cache(args)
    from nnopt.engine.compilation import compile_clock, compile_counter
    from nnopt.engine.lecture import run_lecture

    compile_seconds, programs = compile_clock(), compile_counter()
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
        out,
        experiments,
        {"import": t_import - START, "compile and train": t_train - t_import},
        lang=args.lang,
    )
    t_end = time.perf_counter()
    timing = {
        "import": t_import - START,
        "compile and train": t_train - t_import,
        "figures and report": t_end - t_train,
        "total": t_end - START,
        "compiling (summed over threads)": compile_seconds(),
    }
    compiled = programs()
    counts = {"programs": compiled.programs, "read from the cache": compiled.cache_hits}
    add_timing(paths["results.json"], timing)
    if args.json:
        payload = results(experiments) | {"report": str(paths["report.html"])}
        print(json.dumps(payload | {"timing_seconds": timing, "compiled_programs": counts}))
    else:
        print(terminal_table(experiments))
        print(
            f"report: {paths['report.html']} (figures in {out / 'figures'}, values in {paths['results.json']})"
        )
        print("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in timing.items()))
        print(
            f"compiled programs: {counts['programs']} "
            f"({counts['read from the cache']} read from the cache)"
        )
    return 0


def show(value, width: int = 38) -> str:
    """A value as short text for the terminal table."""
    from nnopt.outputs.serialize import jsonable

    text = value if isinstance(value, str) else json.dumps(jsonable(value), ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


VERDICTS = {"reproduced": "ok", "not reproduced": "MISS", "answered": "answered",
            "not answered": "NOT ANSWERED"}  # fmt: skip


def terminal_table(experiments) -> str:
    """The checks as a fixed-width table: name, lecture, nnopt, tolerance, verdict (a slip of
    the text marked), then the three kinds apart: claims reproduced, not, exercises."""
    from nnopt.outputs.report import results

    rows = [("check", "lecture", "nnopt", "tol", "")]
    for e in experiments:
        for c in e.checks:
            tol = "" if c.tolerance is None else f"{c.tolerance:g}"
            verdict = VERDICTS[c.verdict] + (" (slip in the text)" if c.slip else "")
            rows.append((c.name, show(c.lecture), show(c.nnopt), tol, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    summary = results(experiments)["summary"]
    missed = summary["not_reproduced"]
    lines.append(
        f"claims: {summary['reproduced']} of {summary['claims']} reproduced"
        + (f"; not reproduced (cause in the report): {', '.join(missed)}" if missed else "")
    )
    if summary["exercises"]:
        lines.append(f"exercises: {len(summary['answered'])} of {summary['exercises']} answered")
    return "\n".join(lines)
