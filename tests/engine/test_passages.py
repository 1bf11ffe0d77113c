"""The lecture's text in one file: every part, check and preset finds its passage, code and
what to watch for, in Chinese and English, without JAX."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from nnopt.config.presets import preset_names
from nnopt.engine.passages import (
    FRAGMENT_BREAK,
    lecture_mode,
    lecture_text,
    passage,
    passages_of_part,
    preset_text,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_part_has_its_text_and_every_passage_both_languages():
    from nnopt.engine.lecture import PARTS  # the names only: no JAX until a part runs

    text = lecture_text()
    assert set(text.parts) == set(PARTS)
    for name, part in text.parts.items():
        assert CJK.search(part.title_zh) and part.title_en and part.intro in text.passages, name
        assert PARTS[name].section == part.section
    for pid, p in text.passages.items():
        assert CJK.search(p.zh), pid
        assert p.en and not CJK.search(p.en.replace("“", "")), pid
        assert p.zh.count(FRAGMENT_BREAK) == p.en.count(FRAGMENT_BREAK), pid  # fragments align
        assert p.part in text.parts, pid
    for cid, c in text.code.items():
        assert c.text.strip() and c.source in (
            "lecture", "lecture text", "lecture, changed as the exercise asks", "tf1 equivalent"
        ), cid  # fmt: skip
    assert passages_of_part("gradient-descent")[0].id == "learning-rate"
    assert "5 和-7 之间波动" in passage("gd-rate-1").zh  # the slip is quoted as the text has it


def test_lecture_mode_for_the_playground():
    modes = lecture_mode()
    json.dumps(modes, ensure_ascii=False)  # plain values, ready for a page
    names = [m["preset"] for m in modes]
    assert set(names) <= set(preset_names())
    assert {"yogurt-mse", "gd-rate-1", "circle-l2", "circle-modular", "ema-demo"} <= set(names)
    for m in modes:
        assert m["passages"] and all(CJK.search(p["zh"]) and p["en"] for p in m["passages"])
        assert CJK.search(m["watch"]["zh"]) and m["watch"]["en"] and m["code"]["text"]
        assert CJK.search(m["title"]["zh"]) and m["section"]
    sections = [m["section"] for m in modes]
    assert sections == sorted(sections)  # the lecture's order: 4.1 ... 4.5
    assert preset_text("digits") is None  # beyond the lecture: no passage


def test_reading_the_text_loads_no_jax():
    code = (
        "import sys; from nnopt.engine.passages import lecture_mode; lecture_mode(); "
        "print('jax' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
