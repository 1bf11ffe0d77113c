"""The whole lecture, run once per test session (several test modules read it), and a reader
for the report's HTML."""

from __future__ import annotations

import functools
from html.parser import HTMLParser


@functools.cache
def whole_lecture():
    """Every part of ``nnopt lecture``, as values (about 10 s on 2 cores)."""
    from nnopt.engine.lecture import run_lecture

    return run_lecture()


class ReportPage(HTMLParser):
    """What the tests read of the report: every element id, every in-page link, and for each
    check card (``article.check``) its quotes, command, code and verdict."""

    def __init__(self, text: str):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[dict] = []
        self.cards: dict[str, dict] = {}
        self.html_lang = None
        self._card: dict | None = None
        self._open: list[tuple[str, str]] = []  # (tag, what its text is for) inside a card
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        if tag == "img":
            self.images.append(a)
        classes = a.get("class", "").split()
        if tag == "article" and "check" in classes:
            self._card = self.cards[a["id"]] = {
                "kind": a.get("data-kind"), "verdict": a.get("data-verdict"),
                "zh": [], "en": [], "command": [], "code": [], "notes_zh": [], "notes_en": [],
            }  # fmt: skip
            return
        if self._card is None:
            return
        what = ""
        if tag == "blockquote":
            what = "zh" if a.get("lang") == "zh" else "en"
        elif tag == "pre" and "command" in classes:
            what = "command"
        elif tag == "code" and "language-python" in classes:
            what = "code"
        elif tag == "p" and a.get("lang") in ("zh", "en"):
            what = f"notes_{a['lang']}"
        self._open.append((tag, what))

    def handle_endtag(self, tag):
        if tag == "article" and self._card is not None:
            self._card, self._open = None, []
        elif self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data):
        if self._card is None:
            return
        for _, what in reversed(self._open):
            if what:
                self._card[what].append(data)
                break
