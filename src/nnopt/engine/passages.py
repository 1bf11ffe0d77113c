"""The lecture's own words: its passages in Chinese with an English rendering, its TF1 code,
and what to watch for in each preset, read from ``passages.toml`` beside this module.

One home for the text, read by the lecture report (:mod:`nnopt.outputs.report`, through the
checks of :mod:`nnopt.engine.lecture`) and by any face that shows a preset with its passage
(the playground's lecture mode: :func:`lecture_mode`). Loads no JAX.

Example:
  >>> passage("gd-0.2.step1").zh.split()[-1]
  '2.6'
  >>> preset_text("gd-rate-1").part
  'gradient-descent'
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

LANGUAGES = ("zh", "en")
FRAGMENT_BREAK = "……"  # between two fragments of the notes that are not adjacent


@dataclass(frozen=True)
class Passage:
    """A passage of the notes: ``zh`` verbatim, ``en`` its rendering; ``part`` of the lecture."""

    id: str
    part: str
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Code:
    """TF1 code: ``source`` says whether it is the lecture's program, code from its text, or an
    equivalent written for the report (the notes give none)."""

    id: str
    source: str
    text: str


@dataclass(frozen=True)
class PartText:
    """A part of the lecture: its section (4.1 ... 4.5, exercise, beyond), title, first passage."""

    name: str
    section: str
    title_zh: str
    title_en: str
    intro: str  # a passage id

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


@dataclass(frozen=True)
class PresetText:
    """What a preset re-runs of the lecture: its part, passages, code and what to watch for."""

    preset: str
    part: str
    passages: tuple[str, ...]
    code: str
    watch_zh: str
    watch_en: str


@dataclass(frozen=True)
class LectureText:
    parts: dict[str, PartText]
    passages: dict[str, Passage]
    code: dict[str, Code]
    presets: dict[str, PresetText]


@functools.cache
def lecture_text() -> LectureText:
    """Everything in ``passages.toml``, parsed once."""
    raw = tomllib.loads(
        resources.files("nnopt.engine").joinpath("passages.toml").read_text("utf-8")
    )
    parts = {
        name: PartText(name, p["section"], p["title"]["zh"], p["title"]["en"], p["intro"])
        for name, p in raw["parts"].items()
    }
    passages = {
        pid: Passage(pid, p["part"], p["zh"].strip(), p["en"].strip())
        for pid, p in raw["passages"].items()
    }
    code = {cid: Code(cid, c["source"], c["text"].strip("\n")) for cid, c in raw["code"].items()}
    presets = {
        name: PresetText(
            name, p["part"], tuple(p["passages"]), p["code"], p["watch"]["zh"], p["watch"]["en"]
        )
        for name, p in raw["presets"].items()
    }
    return LectureText(parts, passages, code, presets)


def passage(pid: str) -> Passage:
    """The passage ``pid`` (KeyError names it when there is none)."""
    return lecture_text().passages[pid]


def code(cid: str) -> Code:
    return lecture_text().code[cid]


def part_text(name: str) -> PartText:
    return lecture_text().parts[name]


def passages_of_part(name: str) -> list[Passage]:
    """The passages of one part of the lecture, in the file's order."""
    return [p for p in lecture_text().passages.values() if p.part == name]


def preset_text(preset: str) -> PresetText | None:
    """What the lecture says about a preset's experiment (None: a preset beyond the lecture)."""
    return lecture_text().presets.get(preset)


def lecture_mode() -> list[dict]:
    """Every preset that re-runs an experiment of the lecture, one plain dict each (JSON-ready),
    in the lecture's order: ``preset``, ``section``, ``title`` {zh, en}, ``passages`` [{id, zh,
    en}], ``code`` {source, text} and ``watch`` {zh, en}: what a page needs to put the preset
    one click away with its passage in both languages and what to watch for."""
    text = lecture_text()
    order = list(text.parts)
    out = []
    for p in sorted(text.presets.values(), key=lambda p: order.index(p.part)):
        part = text.parts[p.part]
        out.append(
            {
                "preset": p.preset,
                "part": p.part,
                "section": part.section,
                "title": {"zh": part.title_zh, "en": part.title_en},
                "passages": [
                    {"id": q, "zh": text.passages[q].zh, "en": text.passages[q].en}
                    for q in p.passages
                ],
                "code": {"source": text.code[p.code].source, "text": text.code[p.code].text},
                "watch": {"zh": p.watch_zh, "en": p.watch_en},
            }
        )
    return out
