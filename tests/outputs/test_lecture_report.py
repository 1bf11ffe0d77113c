"""The lecture report's page: every check a card with the lecture's Chinese words, an English
rendering, a command and the code; every in-page link resolves; the three languages; and the
page in Chromium with a CJK font (a screenshot kept in test-artifacts/)."""

from __future__ import annotations

import re
import shutil

import pytest

from nnopt.engine.lecture import run_lecture
from nnopt.outputs.report import figures, png_bytes, render_html, results
from tests.support.browser import ARTIFACTS, CHROMIUM_ARGS, INSTALL_CHROMIUM
from tests.support.lecture import ReportPage, whole_lecture

CJK = re.compile(r"[\u4e00-\u9fff]")
RUNLESS = ["network-size", "activations", "cross-entropy", "ema-decay"]


def check_names(experiments) -> list[str]:
    return [c.name for e in experiments for c in e.checks]


def assert_every_card_complete(page: ReportPage, names: list[str]) -> None:
    assert sorted(page.cards) == sorted(names)
    for name, card in page.cards.items():
        assert CJK.search("".join(card["zh"])), f"{name}: no Chinese quote"
        english = "".join(card["en"])
        assert english and not CJK.search(english.replace("“", "")), f"{name}: no English rendering"
        assert "".join(card["command"]).strip(), f"{name}: no command"
        assert "".join(card["code"]).strip(), f"{name}: no code"
        assert card["verdict"] in ("reproduced", "not reproduced", "answered"), name


def test_cards_links_and_languages_without_training():
    experiments = run_lecture(RUNLESS)
    page = ReportPage(render_html(experiments, {}, {"total": 1.0}))
    assert page.html_lang == "en"
    assert_every_card_complete(page, check_names(experiments))
    assert page.links and set(page.links) <= page.ids  # every in-page link lands somewhere
    for part in RUNLESS:
        assert part in page.ids
    zh = ReportPage(render_html(experiments, {}, {}, lang="zh"))
    assert zh.html_lang == "zh-Hans"
    for card in zh.cards.values():  # the lecture's words stay; no English rendering or notes
        assert card["zh"] and not card["en"] and not card["notes_en"]
    en = ReportPage(render_html(experiments, {}, {}, lang="en"))
    for card in en.cards.values():  # the quote is the lecture's own Chinese, with its rendering
        assert card["zh"] and card["en"] and not card["notes_zh"]
    both = render_html(experiments, {}, {})
    assert 'lang="zh"' in both and "0.2554" in both and "0.1116" in both
    with pytest.raises(ValueError):
        render_html(experiments, {}, {}, lang="fr")


@pytest.fixture(scope="module")
def full_page():
    experiments = whole_lecture()
    images = {stem: (part, png_bytes(fig)) for stem, (part, fig) in figures(experiments).items()}
    return experiments, images, render_html(experiments, images, {"total": 1.0})


@pytest.mark.slow
def test_the_whole_report(full_page):
    experiments, images, text = full_page
    page = ReportPage(text)
    assert_every_card_complete(page, check_names(experiments))
    summary = results(experiments)["summary"]
    for name in summary["not_reproduced"] + summary["answered"] + summary["slips"]:
        assert name in page.links  # the summary links each of them
    assert set(page.links) <= page.ids
    assert {e.name for e in experiments} <= page.ids
    assert len(page.images) == len(images) >= 12
    assert all(i["src"].startswith("data:image/png;base64,") for i in page.images)
    for stem in ("circle", "landscape", "optimizers", "circle-starts", "yogurt-band"):
        assert f"figure-{stem}" in page.ids


@pytest.mark.slow
def test_the_report_in_chromium_with_a_cjk_font(full_page, tmp_path):
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(INSTALL_CHROMIUM, pytrace=False)
    from playwright.sync_api import sync_playwright

    _, _, text = full_page
    report = tmp_path / "report.html"
    report.write_text(text, "utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.goto(report.as_uri())
            missing = page.evaluate(
                "[...document.querySelectorAll('a[href^=\"#\"]')]"
                ".map(a => a.getAttribute('href').slice(1))"
                ".filter(id => !document.getElementById(id))"
            )
            assert missing == []
            # The glyphs Chromium used for the lecture's Chinese words come from a CJK font.
            cdp = page.context.new_cdp_session(page)
            cdp.send("DOM.enable")
            cdp.send("CSS.enable")
            root = cdp.send("DOM.getDocument")["root"]["nodeId"]
            node = cdp.send(
                "DOM.querySelector", {"nodeId": root, "selector": 'blockquote[lang="zh"]'}
            )
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
            families = {f["familyName"] for f in fonts}
            assert any("CJK" in f or "Noto Sans SC" in f for f in families), (
                f"Chinese text drawn with {families}: install fonts-noto-cjk"
            )
            page.locator("#yogurt").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "lecture-report.png", full_page=True)
            page.goto(report.as_uri() + "#yogurt-cost1-profit9.w")
            page.screenshot(path=ARTIFACTS / "lecture-report-miss.png")
        finally:
            browser.close()
    assert (ARTIFACTS / "lecture-report.png").stat().st_size > 100_000
