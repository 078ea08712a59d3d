"""An organisation's own Excel return, filled in: the ministry's layout, the report's figures.

An organisation gives an Excel template (its cells, formats, formulas and sheet protection)
and a small map beside it, in YAML::

    template: detention_return.xlsx        # relative to the map's folder
    audience: public                       # optional: the more protective of it and the report's wins
    cells:
      Retour!B3: {text: centre}            # centre, site, period, organisation, extracted_on
      Retour!C6: {indicator: detention_placements}
      Retour!C7: {indicator: detention_placements, by: sex, category: female}
      Retour!D6: {indicator: detention_placements, period: -1}   # the previous period

``workbench render`` with ``template: map.yaml`` in the parameter file fills a copy of the
template for the run (once per centre or site with ``each: centre``, :mod:`workbench.reports.each`).
Figures come from :func:`workbench.disclosure.compute` with the report's selection and the
more protective of the map's and the report's audience (:func:`protective`), and a withheld
cell gets the report's mark ("< 10", "[c]"…), never its value. The template's formatting, formulas and protection are
kept (openpyxl); a mapped cell that holds a formula is refused rather than overwritten.
The map is checked first and every problem reported at once
(:class:`~workbench.exceptions.ParameterError`, exit 2).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.exceptions import ParameterError

TEXTS = ("centre", "site", "period", "organisation", "extracted_on", "audience")
_CELL = re.compile(r"^(?:'(?P<q>[^']+)'|(?P<s>[^!]+))!(?P<cell>\$?[A-Z]{1,3}\$?[0-9]{1,7})$")
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Entry:
    sheet: str
    cell: str
    indicator: str | None = None
    by: str | None = None
    category: str | None = None
    offset: int = 0
    text: str | None = None


@dataclass(frozen=True)
class TemplateMap:
    source: Path
    template: Path
    entries: tuple[Entry, ...]
    audience: str | None = None


def load_map(path: str | Path) -> TemplateMap:
    """Read and check a template map; every problem is collected and reported together."""
    from workbench.indicators.catalogue import load_catalogue

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: the template map cannot be read ({' '.join(str(exc).split())[:200]}).") \
            from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), dict) or not data.get("template"):
        raise ParameterError(f"{path}: a template map needs 'template: FILE.xlsx' and 'cells:' (SHEET!CELL: …).")
    problems: list[str] = []
    template = Path(str(data["template"])).expanduser()
    template = template if template.is_absolute() else path.parent / template
    book = None
    if not template.is_file():
        problems.append(f"template: {template} does not exist")
    else:
        book = _open(template, problems)
    audience = data.get("audience")
    if audience is not None and audience not in ("internal", "partner", "public"):
        problems.append(f"audience: '{audience}' is not one of internal, partner, public")
    cat = load_catalogue()
    entries = []
    for ref, spec in data["cells"].items():
        entry = _entry(str(ref), spec, cat, book, problems)
        if entry:
            entries.append(entry)
    if problems:
        raise ParameterError(f"{path}: {len(problems)} problem(s) in the template map:\n"
                             + "\n".join(f"  - {p}" for p in problems) + "\nFix the map and render again.")
    return TemplateMap(path, template, tuple(entries), audience)


def _open(template: Path, problems: list[str]):
    import openpyxl

    try:
        return openpyxl.load_workbook(template)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        problems.append(f"template: {template.name} is not an Excel workbook ({type(exc).__name__})")
        return None


def _entry(ref: str, spec: Any, cat, book, problems: list[str]) -> Entry | None:
    match = _CELL.match(ref)
    if not match:
        problems.append(f"{ref}: expected SHEET!CELL (e.g. Retour!C6)")
        return None
    sheet, cell = match.group("q") or match.group("s"), match.group("cell").replace("$", "")
    if not isinstance(spec, dict):
        problems.append(f"{ref}: expected {{indicator: …}} or {{text: …}}")
        return None
    unknown = set(spec) - {"indicator", "by", "category", "period", "text"}
    if unknown:
        problems.append(f"{ref}: unknown key(s) {', '.join(sorted(unknown))}")
    if book is not None:
        if sheet not in book.sheetnames:
            problems.append(f"{ref}: the template has no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)})")
        elif isinstance(book[sheet][cell].value, str) and book[sheet][cell].value.startswith("="):
            problems.append(f"{ref}: the template's cell holds a formula; map an input cell instead")
    if "text" in spec:
        if spec["text"] not in TEXTS:
            problems.append(f"{ref}: text must be one of {', '.join(TEXTS)}")
        return Entry(sheet, cell, text=spec["text"])
    ind, by, offset = spec.get("indicator"), spec.get("by"), spec.get("period", 0)
    if ind not in cat:
        problems.append(f"{ref}: unknown indicator '{ind}'")
        return None
    if by is not None and not cat[ind].allows((by,)):
        problems.append(f"{ref}: {ind} cannot be broken down by '{by}' ({', '.join(cat[ind].breakdowns)})")
    if (by is None) != (spec.get("category") is None):
        problems.append(f"{ref}: 'by' and 'category' go together")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset > 0:
        problems.append(f"{ref}: period must be 0 (the report's) or a negative offset (-1: the previous period)")
        offset = 0
    return Entry(sheet, cell, ind, by, None if spec.get("category") is None else str(spec["category"]), offset)


def fill(tmap: TemplateMap, extract, period, audience: str = "internal", threshold: int | None = None,
         selection=None, lang: str = "fr", organisation: str | None = None, params: dict | None = None) -> bytes:
    """A filled copy of the map's template (bytes of an .xlsx), for one selection and period."""
    import openpyxl

    from workbench import disclosure
    from workbench.disclosure.suppression import resolve_audience
    from workbench.periods import parse_period
    from workbench.present import cells
    from workbench.present.tables import GROUPING

    period = parse_period(period)
    aud = protective(resolve_audience(audience, threshold), tmap.audience)
    k = aud.k if aud.suppresses else None
    book = openpyxl.load_workbook(tmap.template)
    frames: dict[tuple, Any] = {}
    for e in tmap.entries:
        ws = book[e.sheet]
        if e.text:
            ws[e.cell].value = _text(e.text, extract, period, selection, lang, organisation, aud)
            continue
        key = (e.offset, e.by)
        if key not in frames:
            inds = sorted({x.indicator for x in tmap.entries if x.indicator and (x.offset, x.by) == key})
            frames[key] = disclosure.compute(extract, period.shift(e.offset), indicators=inds,
                                             by=[e.by] if e.by else [], audience=aud, params=params or None,
                                             selection=selection).frame
        row = _row(frames[key], e)
        unit = _unit(e.indicator)
        shown = cells.mark(row.get("flag"), k) if row else None
        if row is None and unit == "count" and e.by and aud.method in GROUPING:
            ws[e.cell].value = cells.mark("withheld", k)  # absent from a grouped breakdown: maybe in "Other"
        elif row is None:
            ws[e.cell].value = 0 if unit == "count" else cells.MARKS["no_data"]
        elif shown is not None or row.get("value") is None:
            ws[e.cell].value = shown or cells.MARKS["no_data"]
        else:
            value = row["value"]
            ws[e.cell].value = value / 100 if unit == "rate" and "%" in ws[e.cell].number_format else value
    when = dt.datetime.combine(extract.meta.extracted_on or dt.date(2000, 1, 1), dt.time())
    book.properties.created = book.properties.modified = when
    buf = io.BytesIO()
    book.save(buf)
    return _fixed_zip(buf.getvalue(), when)


#: From the least to the most protective.
_ORDER = ("internal", "partner", "public")


def protective(report, mapped: str | None):
    """The more protective of the report's audience (an ``Audience``, with its threshold) and the map's.

    The audience later in internal < partner < public wins, and the threshold is the larger of
    the two: a map can make a filled return stricter than its report, never looser.
    """
    from workbench.disclosure.audiences import resolve_audience

    if mapped is None:
        return report
    other = resolve_audience(mapped)
    rank = {name: i for i, name in enumerate(_ORDER)}
    winner = max((report, other), key=lambda a: rank.get(a.name, len(_ORDER)))
    ks = [a.k for a in (report, other) if a.k]
    k = max(ks) if ks else None
    # the winner keeps its method and calendar (grouping for outside audiences), with the larger threshold
    return winner if k == winner.k else resolve_audience(winner.name, threshold=k)


def _unit(indicator: str) -> str:
    from workbench.indicators.catalogue import load_catalogue

    return load_catalogue()[indicator].unit


def _row(frame, e: Entry) -> dict | None:
    import polars as pl

    rows = frame.filter(pl.col("indicator") == e.indicator)
    dims = [c for c in rows.columns if c not in ("indicator", "period", "value", "numerator", "denominator",
                                                  "flag")]
    if e.by:
        rows = rows.filter(pl.col(e.by).cast(pl.String) == e.category)
    for d in dims:
        if d != e.by:
            rows = rows.filter(pl.col(d).is_null())
    if e.by is None:
        rows = rows.filter(pl.all_horizontal([pl.col(d).is_null() for d in dims] or [pl.lit(True)]))
    return rows.row(0, named=True) if rows.height else None


def _text(kind: str, extract, period, selection, lang: str, organisation: str | None, aud) -> str:
    from workbench.present import labels
    from workbench.present.texts import text

    if kind == "period":
        return period.label(lang)
    if kind == "organisation":
        return organisation or extract.meta.organisation or ""
    if kind == "extracted_on":
        return labels.format_date(extract.meta.extracted_on, lang)
    if kind == "audience":
        return text(f"report.audiences.{aud.name if aud.name in ('internal', 'partner', 'public') else 'custom'}",
                    lang, k=aud.k, name=aud.name)
    codes = list((selection.centres if kind == "centre" else selection.sites) if selection else ())
    if not codes:
        return text("report.block.scope_all", lang)
    return ", ".join(labels.code_label(kind, c, lang, extract.meta) for c in codes)


def _fixed_zip(data: bytes, when: dt.datetime) -> bytes:
    """The workbook's zip with fixed member times and document dates (openpyxl stamps the saving
    time): the same figures give the same bytes."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type, fixed.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", lambda m: m.group(1) + stamp,
                                 content)
            dst.writestr(fixed, content)
    return out.getvalue()
