"""``docs/indicators.md``, generated from the catalogue (``workbench catalogue --markdown``)."""

from __future__ import annotations

from workbench.indicators.catalogue import Catalogue, load_catalogue

HEADER = """# Indicator catalogue

Generated from `workbench/catalogue.yaml` by `workbench catalogue --markdown > docs/indicators.md`;
do not edit by hand. Catalogue version {version}.

Each indicator is computed for a period P = [start, end], both days included, on the accepted rows
of the extract. Conventions (see [indicator-conventions.md](indicator-conventions.md) for the full
reference and the choices we made where the reference was silent):

- a **count** is a whole number (numerator = value); a **rate** is a percentage to one decimal with
  its numerator and denominator; a **ratio** has two decimals; a **median** or **mean** is in days
  to one decimal, its denominator the number of records. Figures are rounded half away from zero.
- a rate, ratio, mean or median over an empty population has no value (flag `no_data`), never 0.
- in a breakdown, a value that is not recorded counts under `unknown`; booleans read `true`/`false`.
- **age** at a date is the year of the date minus the birth year; a **minor** is under 18; age groups
  `0-4`, `5-11`, `12-17`, `18-59`, `60+`, `unknown`.
- an indicator whose table is not in the extract is reported as **not available** (no rows), never 0.
"""


def render_markdown(cat: Catalogue | None = None) -> str:
    cat = cat or load_catalogue()
    out = [HEADER.format(version=cat.version)]
    if cat.organisations:
        own = ", ".join(f"`{ns}` (version {v})" for ns, v in cat.organisations.items())
        out.append(f"\nWith the organisation's own catalogue: {own}. Its ids start with its namespace.\n")
    for family, labels in cat.families.items():
        inds = cat.family(family)
        if not inds:
            continue
        out.append(f"\n## {labels['en']} — {labels['fr']}\n")
        for ind in inds:
            out.append(f"\n### `{ind.id}` — {ind.label['en']}\n")
            out.append(f"*{ind.label['fr']}* · unit: **{ind.unit}** · tables: {', '.join(ind.tables)}\n")
            out.append(f"\n{ind.definition['en']}\n\n> {ind.definition['fr']}\n")
            if ind.notes:
                out.append(f"\n{ind.notes.get('en', '')}\n")
            out.append(f"\nBreakdowns: {', '.join(f'`{d}`' for d in ind.breakdowns)}.")
            if ind.multi:
                out.append(f" A person counts in each category of {', '.join(f'`{d}`' for d in ind.multi)}, "
                           "so those breakdowns can add up to more than the total.")
            out.append("\n")
            if ind.audiences:
                out.append(f"\nShown to: {', '.join(ind.audiences)} only.\n")
            if ind.params:
                params = "; ".join(f"`{k}` = {v}" for k, v in ind.params.items())
                out.append(f"\nParameters (a report can change them): {params}.\n")
    declared = {d: s for d, s in cat.dimensions.items() if s.get("codes") or s.get("bands")}
    if declared:
        out.append("\n## Dimensions with declared categories\n")
        for dim, spec in declared.items():
            out.append(f"\n### `{dim}` — {spec['en']}\n\n*{spec['fr']}*")
            if spec.get("codes"):
                out.append(": " + ", ".join(f"`{c}` ({t['en']})" for c, t in spec["codes"].items()) + ".\n")
            else:
                band = spec["bands"]
                what = {"age": "age", "days": f"days from {' to '.join(band.get('between', []))}"}.get(
                    band["of"], band["of"])
                out.append(f": bands of {what}, edges {', '.join(map(str, band['edges']))}.\n")
    return "".join(out)
