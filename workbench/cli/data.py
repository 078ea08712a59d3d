"""Command-line shells over :mod:`workbench.prepare.mapping`, :mod:`workbench.prepare.pseudonymise` and :mod:`workbench.prepare.combine`.

``workbench init-key``, ``workbench pseudonymise``, ``workbench combine`` and
``workbench mapping-check``. Exit codes: 0 done; 1 done, but some rows were quarantined;
2 refused (nothing written). Errors are one message on standard error, never a
traceback, and never show the key.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from rich.markup import escape

from workbench.cli.common import _console, handle_errors, print_summary


def _date(ctx, param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (use YYYY-MM-DD).") from None


def _print_sources(report: dict, console) -> None:
    for src in report["sources"]:
        # a sheet name in brackets (registre.xlsx[members]) is text, not terminal markup
        console.print(f"[bold]{escape(src['file'])}[/] (source {escape(src['source'])}, header on row "
                      f"{src['header_row']}): "
                      f"{src['read']:,} rows read, {src['mapped']:,} mapped, {src['quarantined']:,} quarantined",
                      highlight=False)
        for rule, n in src["by_rule"].items():
            console.print(f"  {rule}: {n:,}", markup=False)
        if src["dropped"]:
            console.print(f"  dropped: {', '.join(src['dropped'])}", markup=False)
        if src["unmapped"]:
            console.print(f"  [yellow]not in the mapping (dropped):[/] {escape(', '.join(src['unmapped']))}",
                          highlight=False)
        if src["absent"]:
            console.print(f"  optional columns absent: {', '.join(src['absent'])}", markup=False)
        for column, values in src["unmapped_values"].items():
            shown = ", ".join(f"{v!r} ×{n}" for v, n in values.items())
            console.print(f"  values of {column} not mapped or not read: {shown}", markup=False)


def _print_quarantine(frame, console, limit: int = 10) -> None:
    if frame.height == 0:
        return
    console.print(f"\nQuarantined rows (first {min(limit, frame.height)} of {frame.height:,}):")
    for row in frame.head(limit).iter_rows(named=True):
        where = f"{row['file']} row {row['row']}"
        if row.get("stage") == "load" and row.get("source_file"):
            where += f" (raw: {row['source_file']} row {row['source_row']})"
        console.print(f"  {where}, column {row['column']}: {row['reason']}", markup=False)


def _print_tables(result, console) -> None:
    """The extract as loaded: per table, rows written, accepted, quarantined by rule."""
    from rich.table import Table

    ex = result.extract
    title = f"{ex.source} — {ex.meta.organisation}"
    if ex.meta.extracted_on:
        title += f" (extracted on {ex.meta.extracted_on.isoformat()})"
    table = Table(title=escape(title), title_justify="left")
    for col, justify in (("table", "left"), ("from source", "left"), ("rows", "right"), ("accepted", "right"),
                         ("quarantined", "right"), ("by rule", "left")):
        table.add_column(col, justify=justify)
    for t in result.report["tables"]:
        rules = "\n".join(f"{rule}: {n:,}" for rule, n in t["by_rule"].items())
        table.add_row(t["table"], escape(str(t["source"])), f"{t['rows']:,}", f"{t['accepted']:,}",
                      f"{t['quarantined']:,}",
                      rules)
    console.print(table)
    for warning in result.report["warnings"]:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


@click.command("init-key")
@click.argument("key_file", metavar="KEY", type=click.Path(dir_okay=False))
@handle_errors
def init_key_command(key_file: str) -> None:
    """Create a pseudonymisation key file, readable by its owner only.

    The key (32 random bytes) makes the same person get the same pseudonym export after
    export. Keep it outside the shared folders, back it up where only the data
    controller can reach it, and never send it with an extract: see
    docs/pseudonymisation.md (key custody and rotation). Only its fingerprint is shown.
    """
    from workbench.prepare.pseudonymise import init_key

    fp = init_key(key_file)
    _console(stderr=False).print(f"Key written to {key_file} (owner read/write only). Fingerprint: {fp}",
                                 markup=False)


@click.command("pseudonymise")
@click.argument("raw", metavar="RAW", type=click.Path())
@click.option("--mapping", "-m", "mapping_file", required=True, type=click.Path(dir_okay=False),
              help="The mapping file (YAML) for this export: see docs/mappings.md.")
@click.option("--key-file", "-k", required=True, type=click.Path(dir_okay=False),
              help="The key file made by `workbench init-key`.")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="The extract folder to create.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--extracted-on", callback=_date, default=None, help="Extraction date (default: the mapping's).")
@click.option("--overwrite", is_flag=True, help="Replace the extract already in --output.")
@click.option("--json", "as_json", is_flag=True, help="Print the mapping report as JSON.")
@handle_errors
def pseudonymise_command(raw, mapping_file, key_file, output, fmt, extracted_on, overwrite, as_json) -> None:
    """Turn an organisation's raw export into a pseudonymised case extract.

    RAW is the export: a workbook, a CSV file, or a folder of them. Identifiers are
    replaced by keyed pseudonyms; names, phone numbers, e-mails, addresses and free text
    are dropped unless the mapping keeps a column. The extract is checked with the
    contract's rules before it is put in place; its reports are in OUTPUT/mapping/.

    Exit code 0: every raw row reached the extract; 1: some rows were quarantined (listed
    in OUTPUT/mapping/quarantine.csv); 2: refused, nothing written.
    """
    from workbench.prepare.pseudonymise import pseudonymise

    result = pseudonymise(raw, mapping_file, key_file, output, format=fmt, extracted_on=extracted_on,
                          overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(result.report, ensure_ascii=False, indent=2, default=str))
    else:
        console = _console(stderr=False)
        _print_sources(result.report, console)
        console.print()
        _print_tables(result, console)
        _print_quarantine(result.quarantine, console)
        console.print(f"\nExtract written to {result.output} (key fingerprint {result.fingerprint}); "
                      f"reports in {result.output / 'mapping'}.", markup=False)
    sys.exit(result.exit_code)


@click.command("mapping-check")
@click.argument("raw", metavar="RAW", type=click.Path())
@click.option("--mapping", "-m", "mapping_file", required=True, type=click.Path(dir_okay=False),
              help="The mapping file (YAML) to try.")
@click.option("--quarantine", "quarantine_file", type=click.Path(dir_okay=False),
              help="Write the rows the mapping refuses to this CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def mapping_check_command(raw, mapping_file, quarantine_file, as_json) -> None:
    """Try a mapping on a raw export without writing an extract (no key needed).

    Shows, per source, the rows read, mapped and quarantined, the columns dropped or not
    in the mapping, and values that are not mapped. Exit code 0, 1 (rows quarantined) or 2.
    """
    from workbench.prepare.mapping import apply, load_mapping

    mapped = apply(load_mapping(mapping_file), raw)
    report = {"sources": [s.to_dict() for s in mapped.sources.values()],
              "tables": {t: f.height for t, f in mapped.tables.items()}, "warnings": mapped.warnings}
    if quarantine_file:
        from workbench.publish import write_csv

        write_csv(mapped.quarantine, quarantine_file)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        console = _console(stderr=False)
        _print_sources(report, console)
        console.print("Rows made: " + ", ".join(f"{t} {n:,}" for t, n in report["tables"].items()), markup=False)
        for warning in mapped.warnings:
            console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        _print_quarantine(mapped.quarantine, console)
    sys.exit(1 if mapped.quarantined else 0)


@click.command("combine")
@click.argument("extracts", metavar="EXTRACT...", nargs=-1, required=True)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="The combined extract folder to create.")
@click.option("--name", default=None, help="Name of the combined extract (its organisation).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace the extract already in --output.")
@click.option("--json", "as_json", is_flag=True, help="Print the combine report as JSON.")
@handle_errors
def combine_command(extracts, output, name, fmt, overwrite, as_json) -> None:
    """Combine several organisations' extracts into one, with `organisation` as a breakdown.

    Each EXTRACT is a folder (its code is the organisation of its extract.yaml) or
    CODE=FOLDER. Ids are prefixed with the code, so persons of different organisations
    are never merged; they cannot be linked unless the extracts share a key
    (docs/pseudonymisation.md). Exit code 1 when some members had quarantined rows
    (they are not combined; see OUTPUT/combine/quarantine.csv).
    """
    from workbench.prepare.combine import combine

    result = combine(list(extracts), output, name=name, format=fmt, overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(result.report, ensure_ascii=False, indent=2, default=str))
    else:
        console = _console(stderr=False)
        for m in result.report["members"]:
            console.print(f"{m['organisation']}: {m['source']} — {m['accepted']:,} rows accepted, "
                          f"{m['quarantined']:,} quarantined (not combined)", markup=False)
        for warning in result.report["warnings"]:
            console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        console.print()

        print_summary(result.extract, console)
        console.print(f"\nCombined extract written to {result.output}.", markup=False)
    sys.exit(result.exit_code)


@click.command("form")
@click.argument("settings", metavar="SETTINGS.yaml", type=click.Path(dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="The folder to write the forms and their mapping into.")
@handle_errors
def form_command(settings, output) -> None:
    """Generate XLSForms (registration; visit and follow-up) and the mapping of their exports.

    SETTINGS.yaml gives the organisation's code, its sites (and partners), the languages
    of the labels and the questions that identify a person (see docs/forms.md). Upload the
    forms to KoboToolbox or ODK; `workbench pseudonymise EXPORT --mapping OUTPUT/mapping.yaml`
    then reads their export with no hand-written mapping.
    """
    from workbench.prepare.forms import load_spec, write_forms
    from workbench.present.labels import code_label

    paths = write_forms(load_spec(settings), output, code_label)
    _console(stderr=False).print("Written: " + ", ".join(str(p) for p in paths), markup=False)


COMMANDS = (form_command, init_key_command, pseudonymise_command, mapping_check_command, combine_command)


def register(group: click.Group) -> None:
    """Add the commands of this module to the ``workbench`` group."""
    for command in COMMANDS:
        group.add_command(command)
