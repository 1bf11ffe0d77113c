"""``nnopt presets``: the lecture's experiments, one line each, or one preset's TOML."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("presets", help="list the built-in experiments")
    p.add_argument("--show", metavar="NAME", help="print one preset's TOML")
    p.add_argument("--json", action="store_true", help="print name -> description as JSON")
    p.set_defaults(fn=cmd_presets)


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
