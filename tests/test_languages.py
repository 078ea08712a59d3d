"""Arabic and Dutch: every text has its translation, numbers and dates follow ar_TN and nl_BE,
every demo report renders in both languages, an Arabic report reads right to left and its PDF
embeds a font with Arabic glyphs."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from workbench.periods import LANGUAGES, parse_period
from workbench.present import cells, labels, texts

NEW = ("ar", "nl")
ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.mark.parametrize("lang", NEW)
def test_no_text_misses_a_translation(lang):
    """The check behind ``workbench texts --check``: every key of texts.yaml and of the catalogue
    has its ``lang`` version, and no translation names a key that does not exist."""
    assert texts.missing(lang) == []


def test_a_missing_translation_shows_french_and_is_recorded():
    entry = {"fr": "Bonjour", "en": "Hello"}
    assert texts.pick(entry, "nl", "test.greeting") == "Bonjour"
    assert "test.greeting" in texts.fallbacks("nl")
    assert "test.greeting" not in texts.fallbacks("ar")


def test_translation_files_only_name_existing_keys(tmp_path):
    tree = {"ui": {"total": {"fr": "Total", "en": "Total"}}}
    assert texts._merge(tree, {"ui.total": "Totaal", "ui.nothing": "x", "ui": "y"}, "nl") == ["ui.nothing", "ui"]
    assert tree["ui"]["total"]["nl"] == "Totaal"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_is_accepted(lang):
    assert texts.check_language(lang) == lang
    assert labels.indicator_label("persons_received", lang)
    assert parse_period("2025-Q3").label(lang)


def test_numbers_and_dates_follow_the_tunisian_and_belgian_locales():
    # ar_TN: Latin digits (CLDR's default numbering system for Tunisia), comma decimal, dot grouping
    assert cells.number(1234.5, "mean", "ar") == "1.234,5"
    assert cells.number(12.25, "rate", "ar") == "12,2%"
    assert cells.number(1234, "count", "nl") == "1.234"
    assert labels.format_date(dt.date(2025, 10, 1), "ar") == "1 أكتوبر 2025"
    assert labels.format_date(dt.date(2025, 10, 1), "nl") == "1 oktober 2025"
    assert parse_period("2024-07").label("ar") == "جويلية 2024"  # Tunisian month names
    assert parse_period("2024-Q3").label("nl") == "K3 2024"


def test_labels_of_codes_and_countries():
    assert labels.code_label("legal_status", "asylum_seeker", "nl") == "Verzoeker om internationale bescherming"
    assert labels.code_label("outcome", "house_arrest", "ar") == "الإقامة الجبرية"
    assert labels.country_name("TUN", "ar") == "تونس" and labels.country_name("SYR", "nl") == "Syrië"
    assert labels.country_name("SYR", "ar") == "سوريا"  # the short name, not ISO's official one


def test_values_inside_an_arabic_sentence_are_isolated():
    shown = texts.text("dashboard.vs", "ar", period="Q3 2025")
    assert "\u2068Q3 2025\u2069" in shown
    assert texts.text("dashboard.vs", "en", period="Q3 2025") == "vs Q3 2025"


def test_categories_sort_by_their_label_in_the_reports_language():
    codes = ["SYR", "TUN", "AFG", "ERI"]
    assert labels.sort_codes("nationality", codes, "nl") == ["AFG", "ERI", "SYR", "TUN"]
    by_ar = labels.sort_codes("nationality", codes, "ar")
    assert [labels.country_name(c, "ar") for c in by_ar] == sorted((labels.country_name(c, "ar") for c in codes),
                                                                          key=labels.collation_key)


# --------------------------------------------------------------------------- rendered reports

@pytest.fixture(scope="module", params=NEW)
def runs(request, report_extract, tmp_path_factory) -> tuple[str, list[Path]]:
    from workbench import reports

    lang = request.param
    out = tmp_path_factory.mktemp(f"reports-{lang}")
    html = reports.render_demo(report_extract, out, jobs=2, overrides=["audience=partner", f"language={lang}"])
    return lang, html


@pytest.mark.slow
def test_every_demo_report_renders_in_arabic_and_dutch(runs):
    from workbench.resources import packaged

    lang, html = runs
    demos = sorted(p.stem for p in packaged("parameters").iterdir()
                   if p.suffix == ".yaml" and p.read_text(encoding="utf-8").count("\nreport: "))
    assert sorted(p.parts[-2] for p in html) == demos  # the run folder is named after its parameter file
    for page in html:
        source = page.read_text(encoding="utf-8")
        head = re.search(r"<html[^>]*>", source).group(0)
        assert f'lang="{lang}"' in head
        assert f'dir="{"rtl" if lang == "ar" else "ltr"}"' in head
        title = re.search(r"<title>(.*?)</title>", source).group(1)
        own_title = "\ntitle: " in (packaged("parameters") / f"{page.parts[-2]}.yaml").read_text(encoding="utf-8")
        if not own_title:  # a title written in the parameter file is shown as written, in every language
            assert ARABIC.search(title) if lang == "ar" else not ARABIC.search(title)
        assert "Rapport" not in title and "Report" not in title


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler-utils not installed (.ci/system-deps)")
def test_an_arabic_pdf_embeds_a_font_with_arabic_glyphs(runs, tmp_path):
    lang, html = runs
    if lang != "ar":
        pytest.skip("Arabic only")
    pdf = next(p for p in html if "activity_report" in p.name).with_suffix(".pdf")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded = [line.split()[0] for line in fonts.splitlines()[2:] if " yes " in line]
    assert embedded and all("DejaVuSans" in name for name in embedded), fonts
    # that font has Arabic glyphs (fontconfig's coverage), so nothing fell back to a missing-glyph box
    arabic_fonts = subprocess.run(["fc-list", ":lang=ar", "family"], capture_output=True, text=True).stdout
    assert "DejaVu Sans" in arabic_fonts
    # the text drawn is Arabic, shaped with real glyphs: pdftotext reads Arabic back
    shown = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert "تقرير النشاط" in shown or "النشاط" in shown
