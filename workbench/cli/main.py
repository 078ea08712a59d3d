"""The ``workbench`` command line: a thin shell over the package's functions.

Exit codes: 0 success; 1 done, but some rows were quarantined (``validate``) or some
jobs failed; 2 refused (bad input, bad parameter). Errors are one clear message on
standard error, never a traceback.
"""

from __future__ import annotations

import json
import sys

import click

from workbench.periods import LANGUAGES

from workbench.cli.common import (  # re-exported: command modules written before cli_common import them from here
    QUARANTINE_LINES, _console, _optional_tables, handle_errors, load_with_progress, print_summary)

__all__ = ["QUARANTINE_LINES", "_console", "_optional_tables", "handle_errors", "load_with_progress", "main",
           "print_summary"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="workbench")
def main() -> None:
    """Research and reporting workbench for legal and social help to migrants.

    Reads a pseudonymised case extract, checks it against the contract, computes the
    indicator catalogue with disclosure control, and renders reports and dashboards.
    Start with `workbench demo`.
    """


@main.command()
@click.option("--output", "-o", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Folder to write the demo extract into.")
@click.option("--persons", type=click.IntRange(min=10), default=None,
              help="Number of persons to generate (default 3,000).")
@click.option("--seed", type=int, default=None, help="Random seed; the same seed gives the same files.")
@click.option("--profile", type=click.Choice(["all", "legal_aid", "detention", "child_protection", "network"]),
              default="all", show_default=True,
              help="Which kind of organisation to imitate (all three by default).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "xlsx"]), default="parquet",
              show_default=True, help="File format of the tables.")
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="Folder to render the demo reports into.")
@click.option("--site", "site_dir", type=click.Path(file_okay=False), default="site", show_default=True,
              help="Folder to build the public publication folder into (as `workbench publish`).")
@click.option("--no-reports", is_flag=True, help="Only write and validate the extract.")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Reports rendered at once.")
@handle_errors
def demo(output: str, persons: int | None, seed: int | None, profile: str, fmt: str, reports_dir: str,
         site_dir: str, no_reports: bool, jobs: int) -> None:
    """Write the synthetic demo extract, show its validation summary, render the demo reports and publish them.

    The demo extract imitates a legal-aid desk with several sites, a detention legal
    team with three centres and a child-protection day centre over two years. It is
    generated (no real person), deterministic for a given --seed and --persons. The
    reports go to --reports; the public publication folder (index, public reports,
    static dashboards in French and English) to --site.
    """
    from workbench.extract import demo as demo_data

    kwargs = {"profile": profile, "format": fmt}
    if persons is not None:
        kwargs["persons"] = persons
    if seed is not None:
        kwargs["seed"] = seed
    console = _console(stderr=False)
    folder = demo_data.write(output, **kwargs)
    console.print(f"Demo extract written to [bold]{folder}[/]")
    ex = load_with_progress(folder)
    print_summary(ex, console)
    if profile == "all":  # the network report's extract (no persons), beside it
        network = demo_data.network_beside(folder, **({"seed": seed} if seed is not None else {}))
        console.print(f"Network extract (no persons) written to [bold]{network}[/]")
    if no_reports or profile != "all":
        console.print(f"\nNext: `workbench validate {folder}`, `workbench indicators {folder} --period 2025-Q4`")
        return
    from workbench import reports
    from workbench.reports.outputs import find_chromium, missing_chromium

    pdf = find_chromium() is not None
    if not pdf:
        console.print(f"PDF skipped: {missing_chromium()} Rendering HTML and Excel only; for the PDF run "
                      "`make system-deps` (or `apt-get install chromium`) or set WORKBENCH_CHROMIUM.",
                      markup=False, highlight=False)
    console.print(f"\nRendering the demo reports into {reports_dir}/ (papermill, {jobs} at a time)…")
    html = reports.render_demo(folder, output_dir=reports_dir, jobs=jobs, pdf=pdf)
    for path in html:
        console.print(f"  {path}", markup=False)
    what = "a PDF, an Excel annex" if pdf else "an Excel annex"
    console.print(f"\nEach report folder also holds the executed notebook, {what} and a manifest.", markup=False)
    _demo_publication(ex, reports_dir, site_dir, console)
    console.print(f"Dashboard: `workbench dashboard --extract {folder}`", markup=False)


def _demo_publication(ex, reports_dir: str, site_dir: str, console) -> None:
    """The demo's public publication folder, and where its contact list is."""
    from workbench import resources
    from workbench.distribute.site import build_site

    site = build_site(reports_dir, site_dir, audience="public", extract=ex, languages=("fr", "en"))
    console.print(f"Publication folder (public reports, static dashboards fr/en) written to {site} "
                  f"(open {site / 'index.html'})", markup=False, highlight=False)
    contacts = resources.packaged("parameters") / "contacts.yaml"
    console.print(f"Demo contact list (fictitious): {contacts}; try `workbench send --dry-run --contacts "
                  f"{contacts} --output-dir {reports_dir}`", markup=False, highlight=False)


@main.command()
@click.argument("extract_path", metavar="EXTRACT", type=click.Path(exists=False))
@click.option("--quarantine", "quarantine_file", type=click.Path(dir_okay=False),
              help="Write refused rows to this CSV (table,file,row,column,value,rule,reason).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (for scheduled jobs).")
@handle_errors
def validate(extract_path: str, quarantine_file: str | None, as_json: bool) -> None:
    """Check a case extract against the contract and summarise it per table.

    EXTRACT is a folder of tables (Parquet or CSV, with an optional extract.yaml) or
    an .xlsx workbook with one sheet per table.

    Exit code 0: every row accepted; 1: some rows quarantined; 2: the extract is
    refused (a required table or column is missing, a file is unreadable, or a
    column holds direct identifiers).
    """
    ex = load_with_progress(extract_path)
    if quarantine_file:
        ex.write_quarantine(quarantine_file)
    if as_json:
        summary = ex.summary()
        if quarantine_file:
            summary["quarantine_file"] = str(quarantine_file)
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print_summary(ex)
        if ex.quarantined:
            where = f" (written to {quarantine_file})" if quarantine_file else \
                " (use --quarantine FILE to write them out)"
            _console(stderr=False).print(
                f"{ex.quarantined:,} row{'s' if ex.quarantined != 1 else ''} quarantined{where}.", markup=False)
    sys.exit(1 if ex.quarantined else 0)


@main.command("indicators")
@click.argument("extract_path", metavar="EXTRACT")
@click.option("--period", "-p", required=True, help="2024, 2024-H1, 2024-Q3, 2024-07 or 2024-01-15..2024-03-31.")
@click.option("--indicator", "-i", "ids", multiple=True,
              help="Indicator id (repeatable); default: the whole catalogue.")
@click.option("--by", "-b", "by", multiple=True, metavar="DIM[,DIM]",
              help="Breakdown (repeatable); DIM,DIM is a cross-breakdown. Each applies to the indicators "
                   "that allow it.")
@click.option("--audience", "-a", type=click.Choice(["internal", "partner", "public"]), default="internal",
              show_default=True, help="Who will see the figures: partner (k=5) and public (k=10) suppress "
                                      "small cells.")
@click.option("--threshold", "-k", type=int, default=None, help="Suppression threshold k (overrides the "
                                                                 "audience's).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Indicator parameter, e.g. care_plan_deadline=10 or assessment_deadlines.high=2.")
@click.option("--site", "sites", multiple=True, metavar="CODE",
              help="Only these sites (repeatable): what a report's sites parameter and a dashboard's site "
                   "filter keep (docs/selection.md).")
@click.option("--centre", "centres", multiple=True, metavar="CODE", help="Only these detention centres (repeatable).")
@click.option("--sex", "sex", multiple=True, metavar="CODE", help="Only persons of this sex (repeatable).")
@click.option("--age-group", "age_group", multiple=True, metavar="GROUP",
              help="Only persons of this age group in the year the period ends (repeatable), e.g. 18-59.")
@click.option("--nationality", "nationality", multiple=True, metavar="CODE",
              help="Only persons of this nationality (repeatable; 'unknown' for not recorded).")
@click.option("--legal-status", "legal_status", multiple=True, metavar="CODE",
              help="Only persons of this legal status (repeatable).")
@click.option("--format", "-f", "fmt", type=click.Choice(["csv", "json", "xlsx", "parquet"]), default="csv",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (required for xlsx and parquet); default: standard output.")
@click.option("--catalogue", "catalogue_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="The organisation's own catalogue (.yaml or .xlsx), merged with the built-in one; default: "
                   "the one extract.yaml names (docs/organisation-catalogue.md).")
@handle_errors
def indicators_command(extract_path, period, ids, by, audience, threshold, params, sites, centres, sex, age_group,
                       nationality, legal_status, fmt, output, catalogue_file) -> None:
    """Compute indicators for a period, as the tidy indicator table.

    Columns: indicator, period, one column per breakdown dimension asked for, value,
    numerator, denominator, flag (empty, no_data or suppressed). The total row of each
    indicator comes first, then its breakdown rows. Indicators whose table is not in the
    extract are listed as not available on standard error. --site, --centre and the
    person filters restrict the figures as a report's sites/centres and a dashboard's
    filters do: a restricted total equals the matching --by site / --by centre row.

    \b
    Examples:
      workbench indicators demo --period 2025-Q3
      workbench indicators demo -p 2025 -i new_persons --site sfax
      workbench indicators demo -p 2025 -i persons_received -b sex -b site -a partner
      workbench indicators demo -p 2025-H2 -b sex,age_group -f xlsx -o figures.xlsx
      workbench indicators demo -p 2025-W44 --catalogue my-indicators.yaml -i org.concern_cases
    """
    from workbench import disclosure
    from workbench.present import exports
    from workbench.indicators import engine
    from workbench.exceptions import ParameterError
    from workbench.periods import parse_period
    from workbench.selection import Selection

    if fmt in ("xlsx", "parquet") and not output:
        raise ParameterError(f"--format {fmt} writes a binary file: give --output FILE.")
    from workbench.indicators.organisation import catalogue_for, catalogue_with

    parse_period(period)  # a malformed period or catalogue is refused before the extract is read
    if catalogue_file:
        catalogue_with(catalogue_file)
    else:
        engine.select_indicators(list(ids) or None)
    selection = Selection(sites=sites, centres=centres, sex=sex, age_group=age_group, nationality=nationality,
                          legal_status=legal_status)
    ex = load_with_progress(extract_path)
    cat = catalogue_for(ex, catalogue_file)
    engine.select_indicators(list(ids) or None, cat)
    table = disclosure.compute(ex, period, indicators=list(ids) or None, by=list(by), audience=audience,
                               threshold=threshold, params=parse_params(params, cat.default_params()),
                               selection=selection, catalogue=cat)
    err = _console()
    data = exports.write(table, output, fmt)
    if output is None:
        sys.stdout.write(data if isinstance(data, str) else data.decode())
    else:
        err.print(f"written: {output} ({table.height} rows)", markup=False)
    # Notes once the table is written (a refused write is one line and nothing else).
    grouped: dict[str, list[str]] = {}
    for ind, why in (table.unavailable or {}).items():
        grouped.setdefault(why, []).append(ind)
    for why, inds in grouped.items():
        err.print(f"not available ({why}): {', '.join(inds)}", markup=False)
    if ex.quarantined:
        err.print(f"note: {ex.quarantined:,} rows of the extract were quarantined; figures count accepted rows "
                  "only (see `workbench validate`).", markup=False)


@main.command("catalogue")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option("--markdown", is_flag=True, help="Print the catalogue as the Markdown of docs/indicators.md.")
@click.option("--catalogue", "catalogue_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Check an organisation's catalogue (.yaml or .xlsx) and list it merged with the built-in one.")
@handle_errors
def catalogue_command(lang: str, markdown: bool, catalogue_file: str | None) -> None:
    """List the indicator catalogue: ids, units, labels and allowed breakdowns.

    With --catalogue FILE, the organisation's file is checked first (every problem, with its
    line or cell; exit code 2), then listed after the built-in indicators.
    """
    from workbench.indicators.docs import render_markdown
    from workbench.indicators.organisation import catalogue_with

    cat = catalogue_with(catalogue_file)
    if markdown:
        sys.stdout.write(render_markdown(cat))
        return
    for ind in cat:
        click.echo(f"{ind.id:36} {ind.unit:6} {ind.label[lang]}  [by: {', '.join(ind.breakdowns)}]")


@main.command("texts")
@click.option("--check", is_flag=True, help="List every text with no translation in a language; exit 1 when any.")
@click.option("--lang", "languages", multiple=True, type=click.Choice(LANGUAGES),
              help="The languages to check (default: all).")
@handle_errors
def texts_command(check: bool, languages: tuple[str, ...]) -> None:
    """The texts a reader sees: with --check, the keys of texts.yaml and catalogue.yaml that a
    language lacks (shown in French until translated in texts.<lang>.yaml or catalogue.<lang>.yaml)."""
    from workbench.present.texts import missing

    gaps = {lang: missing(lang) for lang in (languages or LANGUAGES)}
    for lang, keys in gaps.items():
        click.echo(f"{lang}: {len(keys)} missing" if keys else f"{lang}: complete")
        for key in keys:
            click.echo(f"  {key}")
    if check and any(gaps.values()):
        sys.exit(1)


def parse_params(items, known=()) -> dict:
    """``["care_plan_deadline=10", "assessment_deadlines.high=2"]`` → a params mapping.

    A name in ``known`` is kept whole (an organisation's ``org.max_days`` holds a dot)."""
    from workbench.exceptions import ParameterError

    out: dict = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"--param '{item}': expected NAME=VALUE.")
        key, value = (s.strip() for s in item.split("=", 1))
        if "." in key and key not in known:
            name, sub = key.split(".", 1)
            out.setdefault(name, {})[sub] = value
        else:
            out[key] = value
    return out


def _register_extensions() -> None:
    """Commands that live in their own modules (data preparation, reports, dashboards)."""
    import importlib

    for name in ("data", "reports", "dashboard", "distribute"):
        importlib.import_module(f"workbench.cli.{name}").register(main)


_register_extensions()

if __name__ == "__main__":  # pragma: no cover
    main()

