"""Static dashboards for outside audiences: one self-contained HTML page, no kernel, no server.

The page offers an indicator, a breakdown and a period picker, and shows a chart and a
table. Every figure it can show is computed beforehand — with the audience's disclosure
control, by the same function as ``workbench indicators`` — and embedded as JSON; the
charting JavaScript (Vega, Vega-Lite, Vega-Embed, from ``vl_convert``) is inlined, so the
page works from ``file://`` with the network off and serves any number of viewers.

It offers only calendar periods — years, halves and quarters of the extract's span that
ended by its ``extracted_on`` date — never an arbitrary range: the figures of two
overlapping ranges could be subtracted to reveal a small cell.

>>> page = dashboard_html(extract.load("demo"), "public", "fr")                # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.exceptions import DistributionError
from workbench.periods import Period, parse_period

OUTSIDE = ("partner", "public")
PERIOD_KINDS = ("year", "half", "quarter")


def figures(extract, period: str, indicators: Sequence[str] | None, by: Sequence[str], audience: str):
    """The audience-aware indicator table: the one place this package computes figures."""
    from workbench.disclosure import compute

    return compute(extract, period, indicators, by=list(by), audience=audience)


def _activity_span(extract) -> tuple[dt.date, dt.date]:
    days = []
    for table, column in (("persons", "registered_on"), ("contacts", "date")):
        col = extract.table(table)[column]
        days += [d for d in (col.min(), col.max()) if d is not None]
    end = extract.meta.extracted_on or (max(days) if days else dt.date(2000, 1, 1))
    return (min(days) if days else end), end


def publication_periods(extract) -> list[Period]:
    """Years, halves and quarters that overlap the extract's activity and ended by ``extracted_on`` (newest first)."""
    first, end = _activity_span(extract)
    out = []
    for year in range(first.year, end.year + 1):
        codes = [str(year)] + [f"{year}-H{h}" for h in (1, 2)] + [f"{year}-Q{q}" for q in (1, 2, 3, 4)]
        for code in codes:
            p = parse_period(code)
            if p.end <= end and p.end >= first:
                out.append(p)
    return sorted(out, key=lambda p: (-p.end.toordinal(), PERIOD_KINDS.index(p.kind)))


@dataclass(frozen=True)
class CalendarFigures:
    """The figures of every publication period for one audience, computed once for every language's page."""

    audience: str
    periods: tuple[Period, ...]
    indicators: tuple[str, ...]
    dimensions: tuple[str, ...]
    tables: tuple  # one IndicatorTable per period


def calendar_figures(extract, audience: str, indicators: Sequence[str] | None = None) -> CalendarFigures:
    """Compute the audience's figures for every publication period (language-independent)."""
    from workbench.indicators.organisation import catalogue_for

    if audience not in OUTSIDE:
        raise DistributionError(f"Static dashboards are for outside audiences (partner, public), not '{audience}'; "
                                "internal users have `workbench dashboard`.")
    cat = catalogue_for(extract)  # the extract's catalogue: an organisation's own indicators included
    periods = publication_periods(extract)
    if not periods:
        raise DistributionError("The extract covers no whole quarter up to its extraction date: nothing to publish.")
    wanted = tuple(indicators) if indicators else tuple(i.id for i in cat)
    dims = tuple(sorted({d for i in wanted for d in cat[i].breakdowns}))
    tables = tuple(figures(extract, p.code, wanted, dims, audience) for p in periods)
    return CalendarFigures(audience, tuple(periods), wanted, dims, tables)


def dashboard_data(extract, audience: str, lang: str, indicators: Sequence[str] | None = None,
                   computed: CalendarFigures | None = None) -> dict:
    """Everything the page can show: periods, indicators with their breakdowns, and every figure.

    ``computed`` (from :func:`calendar_figures`, for the same extract and audience) saves computing
    the figures again for each language.
    """
    from workbench.indicators.organisation import catalogue_for
    from workbench.present import cells, labels
    from workbench.present.texts import text

    computed = computed if computed is not None else calendar_figures(extract, audience, indicators)
    if computed.audience != audience:
        raise DistributionError(f"Figures computed for the {computed.audience} audience cannot fill a page for "
                                f"the {audience} audience.")
    cat = catalogue_for(extract)
    dims = computed.dimensions
    rows: dict[str, dict] = {}
    available: set[str] = set()
    k = None
    for p, table_of_period in zip(computed.periods, computed.tables):
        table, k = table_of_period.frame, table_of_period.k
        per: dict[str, dict[str, list]] = {}
        for r in table.iter_rows(named=True):
            dim = next((d for d in dims if d in r and r[d] is not None), "")
            code = r[dim] if dim else None
            unit = cat[r["indicator"]].unit
            shown = cells.cell(r["value"], r["flag"], unit, lang, k)
            per.setdefault(r["indicator"], {}).setdefault(dim, []).append(
                [code, labels.code_label(dim, code, lang, extract.meta, cat) if dim else text("ui.total", lang),
                 r["value"], r["flag"], shown])
        available |= set(per)
        rows[p.code] = per
    inds = []
    for ind_id in computed.indicators:
        if ind_id not in available:
            continue
        ind = cat[ind_id]
        inds.append({"id": ind_id, "label": ind.label[lang], "unit": ind.unit,
                     "breakdowns": [{"id": d, "label": labels.dimension_label(d, lang, cat)} for d in ind.breakdowns]})
    return {"audience": audience, "k": k, "language": lang,
            "periods": [{"code": p.code, "label": p.label(lang)} for p in computed.periods],
            "indicators": inds, "rows": rows}


_WORDS = {
    "fr": {"title": "Tableau de bord", "indicator": "Indicateur", "breakdown": "Ventilation", "period": "Période",
           "none": "Aucune (total)", "category": "Catégorie", "value": "Valeur",
           "note": "Chiffres calculés à l'avance pour le public « {a} »."},
    "en": {"title": "Dashboard", "indicator": "Indicator", "breakdown": "Breakdown", "period": "Period",
           "none": "None (total)", "category": "Category", "value": "Value",
           "note": "Figures computed beforehand for the \u201c{a}\u201d audience."},
    "ar": {"title": "لوحة القيادة", "indicator": "المؤشر", "breakdown": "التوزيع", "period": "الفترة",
           "none": "دون توزيع (المجموع)", "category": "الفئة", "value": "القيمة",
           "note": "أرقام محسوبة مسبقًا لجمهور «{a}»."},
    "nl": {"title": "Dashboard", "indicator": "Indicator", "breakdown": "Uitsplitsing", "period": "Periode",
           "none": "Geen (totaal)", "category": "Categorie", "value": "Waarde",
           "note": "Vooraf berekende cijfers voor het publiek \u2018{a}\u2019."},
}

_SCRIPT = """(() => {  // its own scope: the inlined bundle declares short global names
const DATA = JSON.parse(document.getElementById('wb-data').textContent);
const W = JSON.parse(document.getElementById('wb-words').textContent);
const $ = (id) => document.getElementById(id);
function fill(select, items) {
  const keep = select.value;
  select.replaceChildren(...items.map(([v, t]) => { const o = document.createElement('option');
    o.value = v; o.textContent = t; return o; }));
  if (items.some(([v]) => v === keep)) select.value = keep;
}
function indicator() { return DATA.indicators.find((i) => i.id === $('indicator').value); }
function render() {
  const ind = indicator();
  fill($('breakdown'), [['', W.none], ...ind.breakdowns.map((b) => [b.id, b.label])]);
  const rows = ((DATA.rows[$('period').value] || {})[ind.id] || {})[$('breakdown').value] || [];
  const body = $('figures').tBodies[0];
  body.replaceChildren(...rows.map(([code, label, value, flag, text]) => {
    const tr = document.createElement('tr');
    tr.dataset.code = code === null ? '' : code; tr.dataset.value = value === null ? '' : String(value);
    tr.dataset.flag = flag || '';
    const a = document.createElement('td'); a.textContent = label;
    const b = document.createElement('td'); b.textContent = text; b.className = 'num';
    tr.append(a, b); return tr;
  }));
  const values = rows.map(([code, label, value, flag, text]) => ({label, value: value ?? 0, text}));
  const spec = {width: 'container',
    data: {values}, encoding: {y: {field: 'label', type: 'nominal', sort: null, title: null},
      x: {field: 'value', type: 'quantitative', title: ind.label}},
    layer: [{mark: {type: 'bar', color: '#3b6ea5'}},
            {mark: {type: 'text', align: 'left', dx: 3}, encoding: {text: {field: 'text'}}}]};
  document.body.dataset.ready = 'no';
  vegaEmbed('#chart', spec, {renderer: 'svg', actions: false}).then(() => {
    document.body.dataset.ready = 'yes'; });
}
fill($('indicator'), DATA.indicators.map((i) => [i.id, i.label]));
fill($('period'), DATA.periods.map((p) => [p.code, p.label]));
for (const id of ['indicator', 'breakdown', 'period']) $(id).addEventListener('change', render);
render();
})();
"""

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;color:#222}
label{margin-right:1rem}select{margin-left:.3rem}#chart{width:100%;margin:1rem 0}
table{border-collapse:collapse}td,th{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right}.note{font-size:.85rem;color:#555}
"""


def _json_script(element_id: str, data) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _protection(audience: str, lang: str) -> list[str]:
    """The audience's method, as the reports state it, and the legends of the marks it can show."""
    from workbench.disclosure.audiences import resolve_audience
    from workbench.present.cells import legend
    from workbench.present.texts import text

    aud = resolve_audience(audience)
    key = {"group": "report.text.about_group", "group_round": "report.text.about_group_round"}.get(aud.method)
    out = [text(key, lang, k=aud.k, k_minus=aud.k - 1, base=aud.base)] if key else []
    return out + [legend("withheld", lang, aud.k) + ".", legend("no_data", lang, aud.k) + "."]


def dashboard_html(extract, audience: str, lang: str, indicators: Sequence[str] | None = None,
                   title: str | None = None, computed: CalendarFigures | None = None) -> str:
    """The whole page as text: the same inputs give the same bytes (``computed``: see :func:`dashboard_data`)."""
    import vl_convert

    data = dashboard_data(extract, audience, lang, indicators, computed)
    words = _WORDS[lang]
    org = extract.meta.organisation if isinstance(getattr(extract.meta, "organisation", None), str) else None
    heading = title or " — ".join(x for x in (org, words["title"]) if x)
    bundle = vl_convert.javascript_bundle().replace("</script", "<\\/script")
    note = " ".join([words["note"].format(a=audience), *_protection(audience, lang)])
    return f"""<!DOCTYPE html>
<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(heading)}</title>
<style>{_STYLE}</style>
<script>{bundle}</script>
</head>
<body data-ready="no">
<h1>{html.escape(heading)}</h1>
<form onsubmit="return false">
<label>{words["indicator"]}<select id="indicator"></select></label>
<label>{words["breakdown"]}<select id="breakdown"></select></label>
<label>{words["period"]}<select id="period"></select></label>
</form>
<div id="chart"></div>
<table id="figures"><thead><tr><th>{words["category"]}</th><th>{words["value"]}</th></tr></thead><tbody></tbody></table>
<p class="note">{html.escape(note)}</p>
{_json_script("wb-data", data)}
{_json_script("wb-words", {"none": words["none"]})}
<script>{_SCRIPT}</script>
</body>
</html>
"""
