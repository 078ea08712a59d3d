"""The files a report run writes beside its notebook: HTML, PDF, Excel annex, manifest.

- HTML: nbconvert with the project's ``templates/workbench_report`` template — no
  code, no script, no link to the network (checked by :func:`check_offline`).
- PDF: the HTML printed by the system Chromium (``/usr/bin/chromium``, from Debian),
  headless through playwright, with name resolution disabled; untagged (no structure
  ids that change between prints) and its creation dates set to the extraction date,
  so the same inputs give the same bytes.
- Excel: the indicator rows the report shows, one sheet per family in the report's language
  and order, trends, definitions and the legend; each withheld cell's mark as text
  (:func:`workbench.present.annex.annex_xlsx`, which refuses any unsuppressed small cell and
  writes no formula).
- Manifest: parameters, hashes of the input tables, versions, hashes of the outputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from workbench import resources
from workbench.exceptions import ReportError

TEMPLATES = resources.packaged("templates")
TEMPLATE = "workbench_report"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--mute-audio", "--no-pdf-header-footer", "--host-resolver-rules=MAP * ~NOTFOUND",
)
# Anything that would make a browser fetch from the network.
_REMOTE = re.compile(
    r"""<script\b[^>]*\bsrc\s*=|<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//"""
    r"""|<(?:img|iframe|source|video|audio|embed|object)\b[^>]*\b(?:src|data)\s*=\s*["']?(?:https?:)?//""",
    re.IGNORECASE)


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- HTML

def to_html(nb, title: str = "", language: str = "fr") -> str:
    """The report as one offline HTML page (no code, inline CSS, inline SVG charts)."""
    from nbconvert import HTMLExporter

    if not (TEMPLATES / TEMPLATE / "index.html.j2").exists():
        raise ReportError(f"The report template is missing: {TEMPLATES / TEMPLATE} (run from a checkout "
                          "of the workbench).")
    exporter = HTMLExporter(template_name=TEMPLATE, extra_template_basedirs=[str(TEMPLATES)], exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True, exclude_anchor_links=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}, "wb_title": title,
                                                         "wb_language": language})
    check_offline(body)
    return body


def check_offline(page: str) -> None:
    """Refuse a page that would load anything (script, style sheet, font, image) from elsewhere."""
    match = _REMOTE.search(page)
    if match:
        raise ReportError(f"The report HTML would load something from the network ({match.group(0)[:60]}…); "
                          "nothing was written.")


# --------------------------------------------------------------------------- PDF

CHROMIUM_SETTING = "WORKBENCH_CHROMIUM"


def find_chromium() -> str | None:
    """The browser that prints PDFs, or ``None``: ``WORKBENCH_CHROMIUM`` when set (and only it), else the
    system Chromium (``/usr/bin/chromium``, then ``chromium``, ``chromium-browser``, ``google-chrome`` on the PATH).
    Nothing is ever downloaded."""
    setting = os.environ.get(CHROMIUM_SETTING)
    if setting:
        return setting if Path(setting).is_file() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def chromium() -> str:
    """:func:`find_chromium`, or :class:`ReportError` saying how to get one."""
    found = find_chromium()
    if found:
        return found
    raise ReportError(f"{missing_chromium()} Install the Debian package (`apt-get install chromium`, or "
                      f"`make system-deps`), set {CHROMIUM_SETTING} to a Chromium, or leave pdf out "
                      "(`--set formats=[html,xlsx]`).")


def missing_chromium() -> str:
    """Why no Chromium was found, in one sentence."""
    setting = os.environ.get(CHROMIUM_SETTING)
    if setting:
        return f"No Chromium at {setting} ({CHROMIUM_SETTING})."
    return "No Chromium found (/usr/bin/chromium or on the PATH)."


def print_pdf(html_path: Path, pdf_path: Path, document_date: dt.date | None = None, timeout: int = 180,
              printer=None) -> Path:
    """Print an HTML file to PDF with headless Chromium; dates in the PDF become ``document_date``.

    Chromium is driven through playwright (``executable_path``: never a downloaded browser) and
    prints an untagged PDF without outline: a tagged PDF numbers its structure nodes differently
    from one print to the next, so two prints of the same page would differ. With the print time
    replaced by ``document_date``, the same page gives the same bytes. ``printer``: a
    :class:`~workbench.reports.printing.Printer` launched ahead (default: one launched now).
    """
    from playwright.sync_api import Error as PlaywrightError

    from workbench.reports.printing import Printer

    pdf_path = Path(pdf_path).absolute()
    printer = printer or Printer(CHROMIUM_FLAGS, timeout)
    try:
        printer.print(html_path, pdf_path)
    except PlaywrightError as exc:
        detail = " ".join(str(exc).strip().splitlines()[:2])[:300]
        raise ReportError(f"Chromium ({printer.browser_path}) could not print the PDF: {detail}") from None
    finally:
        printer.close()
    if not pdf_path.exists() or pdf_path.read_bytes()[:5] != b"%PDF-":
        raise ReportError(f"Chromium ({printer.browser_path}) wrote no PDF at {pdf_path}.")
    _fix_dates(pdf_path, document_date or dt.date(2000, 1, 1))
    return pdf_path


def _fix_dates(pdf_path: Path, day: dt.date) -> None:
    """Replace the printing time by a fixed date, keeping every byte offset unchanged."""
    data = pdf_path.read_bytes()
    stamp = f"D:{day:%Y%m%d}000000".encode()

    def fix(match: re.Match) -> bytes:
        return match.group(1) + stamp + match.group(3)

    fixed = re.sub(rb"(/(?:CreationDate|ModDate) \()(D:\d{14})([^)]*\))", fix, data)
    fixed = re.sub(rb"(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)(\d{4}-\d\d-\d\dT[\d:]{8})",
                   lambda m: m.group(1) + f"{day:%Y-%m-%d}T00:00:00".encode(), fixed)
    if len(fixed) != len(data):  # pragma: no cover - the patterns keep lengths
        raise ReportError("Internal error while normalising the PDF dates.")
    pdf_path.write_bytes(fixed)


# --------------------------------------------------------------------------- Excel

def to_xlsx(rows, path: Path, lang: str = "fr", k: int | None = None, period: str | None = None, meta=None,
            document_date: dt.date | None = None, catalogue=None) -> Path:
    """The annex (:func:`workbench.present.annex.annex_xlsx`): the report's figures, in its language and order."""
    from workbench.present.annex import annex_xlsx

    path.write_bytes(annex_xlsx(rows, lang, k, period=period, meta=meta, document_date=document_date,
                                catalogue=catalogue))
    return path


# --------------------------------------------------------------------------- manifest

def input_hashes(extract_path: Path) -> dict[str, str]:
    """sha256 of every file of the extract that is read (tables and ``extract.yaml``)."""
    from workbench.extract import files as readers

    found = readers.discover(extract_path)
    files = sorted({Path(p) for p in found.tables.values()} | (
        {Path(found.metadata_file)} if found.metadata_file and Path(found.metadata_file).exists() else set()))
    return {p.name: sha256(p) for p in files}


def versions() -> dict[str, str]:
    """Versions of what shapes the outputs (package, catalogue, rendering libraries)."""
    from importlib.metadata import PackageNotFoundError, version

    from workbench import __version__
    from workbench.indicators.catalogue import load_catalogue

    out = {"workbench": __version__, "catalogue": load_catalogue().version}
    for dist in ("polars", "altair", "vl-convert-python", "great-tables", "nbconvert", "papermill"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:  # pragma: no cover
            out[dist] = "not installed"
    return out


def write_manifest(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
