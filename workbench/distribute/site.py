"""The publication folder: a static, offline website of the reports published for outside audiences.

:func:`build_site` copies the outputs of every run rendered for the site's audience or a
more protected one (read from each run's manifest) into ``reports/<report>/<period>/<name>/``,
writes static dashboards (:mod:`.static_dashboards`) when an extract is given, and an
``index.html`` listing the reports by period (newest first) and language. Nothing in it
needs a server, a kernel or the network: copy the folder to any web host or shared drive.

The folder is rebuilt byte for byte from the same inputs (sorted listings, no time
stamps), written beside the target and swapped in place, so readers never see half a site.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from workbench.distribute.contacts import allowed_audiences
from workbench.distribute.deliveries import RenderedRun, find_runs, verify_files, Delivery
from workbench.exceptions import DistributionError
from workbench.publish import publishing

SITE_FILES = (".html", ".pdf", ".xlsx")
_WORDS = {
    "fr": {"title": "Publications", "dashboard": "Tableau de bord interactif", "reports": "Rapports",
           "none": "Aucun rapport publié pour ce public."},
    "en": {"title": "Publications", "dashboard": "Interactive dashboard", "reports": "Reports",
           "none": "No report published for this audience."},
    "ar": {"title": "المنشورات", "dashboard": "لوحة القيادة التفاعلية", "reports": "التقارير",
           "none": "لا يوجد تقرير منشور لهذا الجمهور."},
    "nl": {"title": "Publicaties", "dashboard": "Interactief dashboard", "reports": "Verslagen",
           "none": "Geen verslag gepubliceerd voor dit publiek."},
}


#: The file that marks a publication folder as the workbench's (only such a folder is ever replaced).
SITE_MARKER = ".workbench-site"


def _title(run: RenderedRun) -> str:
    from workbench.distribute.mail import _title as title_of

    return title_of(Delivery(None, run, ()))  # type: ignore[arg-type]


def _copy_run(run: RenderedRun, root: Path, site: Path) -> list[Path]:
    files = [run.folder / name for name, _ in run.outputs if name.endswith(SITE_FILES)]
    verify_files(Delivery(None, run, tuple(files)))  # type: ignore[arg-type]
    target = site / "reports" / run.folder.relative_to(root)
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for f in files:
        shutil.copyfile(f, target / f.name)
        copied.append(target / f.name)
    return copied


def _index(entries: list[tuple[RenderedRun, str, list[Path]]], dashboards: list[tuple[str, str]], site: Path,
           audience: str) -> str:
    from workbench.periods import parse_period

    w = _WORDS["fr"]
    parts = [f"<h1>{w['title']} — {html.escape(audience)}</h1>"]
    if dashboards:
        parts.append("<ul class=\"dashboards\">" + "".join(
            f'<li lang="{lang}" dir="auto"><a href="{html.escape(href)}">{_WORDS[lang]["dashboard"]} ({lang})</a></li>'
            for lang, href in dashboards) + "</ul>")
    periods = sorted({r.period for r, _, _ in entries}, key=lambda p: (-parse_period(p).end.toordinal(), p))
    if not entries:
        parts.append(f"<p>{w['none']}</p>")
    for period in periods:
        parts.append(f'<section><h2>{html.escape(period)}</h2>')
        for lang in sorted({r.language for r, _, _ in entries if r.period == period}):
            parts.append(f'<h3 lang="{lang}" dir="auto">{_WORDS.get(lang, w)["reports"]} — {parse_period(period).label(lang)}'
                         f" ({lang})</h3><ul>")
            for run, title, files in sorted((e for e in entries if e[0].period == period and e[0].language == lang),
                                            key=lambda e: (e[0].report, e[0].name)):
                links = " · ".join(f'<a href="{html.escape(f.relative_to(site).as_posix())}">{f.suffix[1:].upper()}'
                                   "</a>" for f in sorted(files, key=lambda f: SITE_FILES.index(f.suffix)))
                parts.append(f'<li lang="{lang}" dir="auto">{html.escape(title)} — {links}</li>')
            parts.append("</ul>")
        parts.append("</section>")
    body = "\n".join(parts)
    return ("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{w['title']}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:50rem;"
            "margin:1.5rem auto}li{margin:.2rem 0}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


def build_site(output_dir: str | Path, site_dir: str | Path, *, audience: str = "public", extract=None,
               languages: Sequence[str] = ("fr", "en"), log: Callable[[str], None] | None = None) -> Path:
    """(Re)build the publication folder ``site_dir`` from the runs in ``output_dir``; returns its path.

    ``extract`` (a path or a loaded extract) adds one static dashboard per language.
    """
    say = log or (lambda m: None)
    if audience not in ("partner", "public"):
        raise DistributionError(f"A publication folder is for outside audiences (partner, public), not '{audience}'.")
    root = Path(output_dir)
    if not root.is_dir():
        raise DistributionError(f"{root}: no reports folder there; render reports first (`workbench due --run`).")
    site = Path(site_dir).absolute()
    with publishing(site, SITE_MARKER) as staged:
        runs = [r for r in find_runs(root) if r.audience in allowed_audiences(audience)]
        entries = [(run, _title(run), _copy_run(run, root, staged)) for run in runs]
        say(f"{len(runs)} report(s) for the {audience} audience")
        dashboards = []
        if extract is not None:
            from workbench.distribute.static_dashboards import calendar_figures, dashboard_html
            from workbench.extract.loading import Extract, load

            ex = extract if isinstance(extract, Extract) else load(extract)
            computed = calendar_figures(ex, audience)  # the figures once, for every language's page
            for lang in languages:
                name = f"dashboard-{lang}.html"
                (staged / name).write_text(dashboard_html(ex, audience, lang, computed=computed), encoding="utf-8")
                dashboards.append((lang, name))
                say(f"static dashboard ({lang}): {name}")
        (staged / "index.html").write_text(_index(entries, dashboards, staged, audience), encoding="utf-8")
        (staged / SITE_MARKER).write_text("A publication folder written by `workbench publish`.\n", encoding="utf-8")
    return site
