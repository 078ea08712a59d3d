"""The ``workbench dashboard`` command: the Voilà dashboards on this machine."""

from __future__ import annotations

import click

from workbench.periods import LANGUAGES

from workbench.cli.common import handle_errors


def register(group: click.Group) -> None:
    group.add_command(dashboard_command)


@click.command("dashboard")
@click.option("--extract", "extract_path", type=click.Path(exists=True), default=None,
              help="The case extract to show (a folder or an .xlsx workbook); default: the demo extract.")
@click.option("--port", type=click.IntRange(0, 65535), default=8866, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--audience", "-a", type=click.Choice(["internal", "partner", "public"]), default="internal",
              show_default=True, help="Who will see the figures: partner (k=5) and public (k=10) suppress "
                                      "small cells and offer no filters.")
@click.option("--threshold", "-k", type=click.IntRange(min=1), default=None,
              help="Suppression threshold k (overrides the audience's).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="fr", show_default=True,
              help="Language of the pages (a page's address can ask for the other with &lang=).")
@click.option("--pool-size", type=click.IntRange(min=0), default=None,
              help="Kernels kept ready per dashboard (default: voila.json's, 1); 0 turns preheating off.")
@click.option("--resources", "resources_dir", type=click.Path(file_okay=False, exists=True), default=None,
              metavar="DIR", help="The organisation's own folder: dashboards in DIR/notebooks/dashboards/ and the "
                                  "page template in DIR/templates/voila/ replace the packaged ones (see "
                                  "docs/dashboards.md).")
@click.option("--max-viewers", type=click.IntRange(min=1), default=10, show_default=True,
              help="Pages open at once (each runs a kernel of about 150 MB); past it, a page asks to try "
                   "again in a minute.")
@click.option("--fork-kernels/--no-fork-kernels", default=True, show_default=True,
              help="Fork each page's kernel from a warm template process (a third of the CPU and memory a "
                   "viewer, see docs/dashboards.md); --no-fork-kernels: each kernel a new process. Kernels "
                   "start as new processes anyway when the template cannot start.")
@handle_errors
def dashboard_command(extract_path, port, audience, threshold, lang, pool_size, resources_dir, max_viewers,
                      fork_kernels) -> None:
    """Serve the dashboards (overview, detention, case management) with Voilà.

    The server listens on 127.0.0.1 only, asks for a token (printed in the addresses),
    never shows code or tracebacks, and needs nothing from the internet. The extract and
    the audience are fixed here; a page's address only chooses what to show, e.g.
    ...overview.ipynb?token=...&period=2025-Q3&site=sfax (see docs/dashboards.md).
    """
    import contextlib
    import sys
    import tempfile
    from pathlib import Path

    from workbench.dashboards import server as dashboard
    from workbench.cli.common import load_with_progress

    with contextlib.ExitStack() as stack:
        if extract_path is None:
            from workbench.extract import demo

            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="workbench-demo-"))) / "demo"
            extract_path = demo.write(folder)
            click.echo(f"No --extract given: serving the demo extract, written to {extract_path}")
        ex = load_with_progress(extract_path)  # refused here, with its message, rather than in every page
        if ex.quarantined:
            click.echo(f"note: {ex.quarantined:,} rows of the extract are quarantined; the dashboards count "
                       "accepted rows only (see `workbench validate`).", err=True)
        server = dashboard.Server(Path(extract_path).resolve(), port=port or dashboard.free_port(),
                                  audience=audience, threshold=threshold, lang=lang, pool_size=pool_size,
                                  resources=Path(resources_dir).resolve() if resources_dir else None,
                                  max_viewers=max_viewers, fork_kernels=fork_kernels)
        sys.exit(dashboard.serve(server, ex, echo=lambda line: click.echo(line)))
