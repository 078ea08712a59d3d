"""Rendering recurring reports: a parameter file in, a finished report out.

:func:`render` validates the parameter file, runs the report notebook with papermill
(a fresh kernel, the ``workbench`` kernelspec pointing at this interpreter), and
writes under ``<output>/<report>/<period>/<name>/``:

- ``<name>_<period>.ipynb`` — the executed notebook, normalised for review;
- ``<name>_<period>.html`` — the report without code, fully offline;
- ``<name>_<period>.pdf`` — the same page printed by the system Chromium;
- ``<name>_<period>.xlsx`` — the (suppressed) indicator tables, one sheet per family;
- ``manifest.json`` — parameters, input hashes, versions, output hashes.

Outputs appear atomically (:func:`workbench.publish.publishing`): everything is written
to a temporary folder beside the target and swapped in at the end, so a run that fails
leaves the previous report as it was and raises :class:`~workbench.exceptions.ReportError` saying which cell failed
and why. A target folder that holds files but no ``manifest.json`` (not a report run)
is refused, never replaced. :func:`batch` renders several parameter files in parallel processes.

>>> from workbench import reports                                            # doctest: +SKIP
>>> run = reports.render("parameters/activity_report.yaml")                   # doctest: +SKIP
>>> run.html                                                                  # doctest: +SKIP
PosixPath('reports/activity_report/2025-Q4/activity_report/activity_report_2025-Q4.html')
"""

from __future__ import annotations

import contextlib
import os

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench import safeyaml
from workbench import resources
from workbench.exceptions import ParameterError, ReportError, WorkbenchError, from_os_error
from workbench.publish import REPORT_MARKER, publishing
from workbench.reports.kernel import ensure_kernel
from workbench.reports.params import RENDERING_KEY, ReportParams, load

MANIFEST = REPORT_MARKER


@dataclass(frozen=True)
class Run:
    """A finished run: its folder and files."""

    params: ReportParams
    folder: Path
    files: Mapping[str, Path]

    @property
    def html(self) -> Path | None:
        return self.files.get("html")

    @property
    def notebook(self) -> Path:
        return self.files["ipynb"]

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST


# --------------------------------------------------------------------------- helpers

def _stem(params: ReportParams) -> str:
    return f"{params.name}_{params.period.replace('..', '_')}"


def _warm_imports() -> None:
    """Import the HTML exporter while the kernel runs (the main process is idle then)."""
    try:
        import nbconvert  # noqa: F401
    except Exception:  # pragma: no cover - the real import reports the error later
        pass


def _check_inputs(params: ReportParams, notebook: Path) -> Path:
    where = f" (parameter file {params.source})" if params.source else ""
    if not notebook.exists():
        raise ReportError(f"The report notebook {notebook} does not exist{where}.")
    extract = params.extract_path()
    if not extract.exists():
        raise ReportError(f"The extract {params.values['extract']} was not found: looked for {extract}{where}. "
                          "Paths in a parameter file are relative to the file's folder.")
    return extract


def _execution_error(exc: Exception, notebook: Path, nb_path: Path | None) -> ReportError:
    """A papermill failure in plain words: which cell, which error, what it said."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        lines = [line.strip() for line in (exc.source or "").splitlines()
                 if line.strip() and not line.strip().startswith("#")]
        source = lines[-1] if lines else ""
        evalue = (exc.evalue or "").strip()
        msg = f"{notebook.name} stopped at cell [{exc.exec_count}] ({source[:80]}) with {exc.ename}: {evalue}"
    else:
        msg = f"{notebook.name} could not be run: {type(exc).__name__}: {str(exc).strip()[:500]}"
    return ReportError(msg)


def injected(params: ReportParams) -> dict[str, Any]:
    """The parameters papermill injects: those the file or ``--set`` gave (validated), plus extract and period.

    The others keep the notebook's own defaults, which are the validator's defaults.
    """
    keep = set(params.explicit) | {"extract", "period"}
    out = {k: v for k, v in params.values.items() if k in keep}
    if RENDERING_KEY in params.values:  # widgets have no live kernel in a rendered report
        out[RENDERING_KEY] = True
    return out


# --------------------------------------------------------------------------- render

def render(params_file: str | Path | ReportParams, overrides: Sequence[str] | Mapping[str, Any] = (),
           output_dir: str | Path | None = None, *, log: Callable[[str], None] | None = None) -> Run:
    """Render the report of a parameter file (see the module docstring for the outputs).

    Raises :class:`~workbench.exceptions.ParameterError` for bad parameters and
    :class:`~workbench.exceptions.ReportError` when the run fails; in both cases the
    previous outputs are left untouched.
    """
    params = params_file if isinstance(params_file, ReportParams) else load(params_file, overrides)
    if params.each:
        raise ParameterError(f"{params.source or params.report}: 'each: {params.each}' stands for one report per "
                             f"{params.each}: render each of workbench.reports.each.expand(params) (as `workbench render` "
                             "and `batch` do).")
    say = log or (lambda message: None)
    notebook = params.notebook_path()
    extract = _check_inputs(params, notebook)
    if params.template:  # a bad map stops the run before the notebook
        from workbench.reports.templates import load_map

        load_map(params.template_path())
    from workbench.periods import parse_period
    from workbench.reports import coverage

    where = f" (parameter file {params.source})" if params.source else ""
    coverage.check(parse_period(params.period), coverage.extraction_day(extract), where)
    target = params.run_dir(output_dir).absolute()
    with publishing(target, MANIFEST) as folder:
        files = _render_into(params, notebook, extract.absolute(), folder, say)
    return Run(params, target, {k: target / p.name for k, p in files.items()})


def _render_into(params: ReportParams, notebook: Path, extract: Path, folder: Path,
                 say: Callable[[str], None]) -> dict[str, Path]:
    from workbench.reports import kernel as kernels
    from workbench.reports import outputs as out
    from workbench.reports.printing import Printer

    stem = _stem(params)
    kernels.manager_class()  # imports jupyter_client before the thread below imports nbconvert (which uses it)
    threading.Thread(target=_warm_imports, daemon=True).start()
    # Chromium is launched while the kernel runs the notebook (the main process only waits then)
    with (Printer(out.CHROMIUM_FLAGS) if "pdf" in params.formats else contextlib.nullcontext()) as printer:
        return _run_and_write(params, notebook, extract, folder, say, stem, printer)


def _run_and_write(params: ReportParams, notebook: Path, extract: Path, folder: Path, say: Callable[[str], None],
                   stem: str, printer) -> dict[str, Path]:
    from workbench.reports import kernel as kernels
    from workbench.reports import notebooks as nbt
    from workbench.reports import outputs as out

    executed = folder / f"{stem}.ipynb"
    say(f"running {notebook.name} ({params.report}, {params.period})")
    try:
        kernels.execute(notebook, executed, injected(params), cwd=str(params.base), log_output=False,
                        record_timing=False, request_save_on_cell_execute=False)
    except WorkbenchError:
        raise
    except Exception as exc:  # papermill's and the kernel's own errors
        raise _execution_error(exc, notebook, executed) from None
    nb = nbt.read(executed)
    info = nbt.report_info(nb)
    lang = info.get("language", params.values.get("language", "fr"))
    title = info.get("title", params.report)
    nb = nbt.normalise(nb, {"report": params.report, "title": title, "language": lang, "period": params.period})
    nbt.write(nb, executed)
    files = {"ipynb": executed}
    rows = nbt.indicator_rows(nb)
    k = nbt.threshold(nb)
    if "html" in params.formats or "pdf" in params.formats:
        say("writing HTML")
        html_path = folder / f"{stem}.html"
        html_path.write_text(out.to_html(nb, title, lang), encoding="utf-8")
        files["html"] = html_path
        if printer is not None:  # printed while the annex is written
            printer.submit(html_path, folder / f"{stem}.pdf")
    from workbench.extract.files import discover
    from workbench.extract.loading import read_metadata

    found = discover(extract)
    meta = read_metadata(found.metadata_file) if found.metadata_file else None
    day = meta.extracted_on if meta else None
    if "xlsx" in params.formats:
        say("writing Excel annex")
        files["xlsx"] = out.to_xlsx(rows, folder / f"{stem}.xlsx", lang, k, params.period, meta, day,
                                    catalogue=params.catalogue())
    if params.template:
        say("filling the Excel template")
        files["template"] = _fill_template(params, extract, folder, stem, lang)
    if "pdf" in params.formats:
        say("printing PDF")
        files["pdf"] = out.print_pdf(files["html"], folder / f"{stem}.pdf", day, printer=printer)
        if "html" not in params.formats:
            files.pop("html").unlink()
    manifest = {
        "report": params.report,
        "parameters": params.manifest(),
        "notebook": {"file": notebook.name, "sha256": out.sha256(notebook)},
        "extract": {"path": params.values["extract"], "files": out.input_hashes(extract)},
        "versions": out.versions(),
        "indicator_rows": rows.height,
        "outputs": {p.name: out.sha256(p) for p in files.values()},
    }
    out.write_manifest(folder / MANIFEST, manifest)
    return files


def _fill_template(params: ReportParams, extract: Path, folder: Path, stem: str, lang: str) -> Path:
    """The organisation's template filled with the run's figures (:mod:`workbench.reports.templates`)."""
    from workbench import extract as extract_module
    from workbench.reports import templates
    from workbench.selection import Selection

    tmap = templates.load_map(params.template_path())
    values = params.values
    selection = Selection(sites=tuple(values.get("sites") or ()), centres=tuple(values.get("centres") or ()))
    data = templates.fill(tmap, extract_module.load(extract), params.period, values["audience"],
                          values.get("threshold"), selection, lang, values.get("organisation"))
    path = folder / f"{stem}_{tmap.template.stem}.xlsx"
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- batches

@dataclass(frozen=True)
class Outcome:
    """What happened to one report of a batch: a parameter file, or one centre or site of an ``each:`` file."""

    params_file: str
    folder: str | None = None
    error: str | None = None
    #: The centre or site code of a file with ``each:`` (:mod:`workbench.reports.each`).
    value: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def label(self) -> str:
        return self.params_file if self.value is None else f"{self.params_file} [{self.value}]"


def _failure(exc: Exception) -> str:
    if isinstance(exc, WorkbenchError):
        return str(exc)
    if isinstance(exc, OSError):
        return str(from_os_error(exc))
    return f"{type(exc).__name__}: {exc}"  # pragma: no cover - reported, never a traceback for the user


def _render_one(params_file: str, overrides: Sequence[str], output_dir: str | None,
                period: str | None = None, value: str | None = None) -> Outcome:
    try:
        params = load(params_file, overrides)
        if period:
            params = params.with_period(period)
        run = render(params, output_dir=output_dir)
        return Outcome(params_file, folder=str(run.folder), value=value)
    except Exception as exc:  # every failure is reported in the outcome
        return Outcome(params_file, error=_failure(exc), value=value)


def _jobs(files: Sequence[str], overrides: Sequence[str], periods: Sequence[str | None]) -> list:
    """``(file, overrides, period, value)`` per report, or an :class:`Outcome` for a file that cannot be
    read; a file with ``each:`` gives one job per centre or site."""
    from workbench.reports.each import narrowing

    out: list = []
    for f, p in zip(files, periods):
        try:
            items = narrowing(load(f, overrides))
        except Exception as exc:  # the file's own problem, reported like a failed render
            out.append(Outcome(f, error=_failure(exc)))
            continue
        out += [(f, [*overrides, *extra], p, value) for value, extra in items]
    return out


def batch(params_files: Sequence[str | Path], overrides: Sequence[str] = (), output_dir: str | Path | None = None,
          jobs: int = 1, on_done: Callable[[Outcome], None] | None = None,
          periods: Sequence[str | None] | None = None,
          on_start: Callable[[int], None] | None = None) -> list[Outcome]:
    """Render several parameter files, ``jobs`` at a time; failures are collected, not raised.

    A file with ``each: centre`` (or ``site``) is one report per centre (site), see
    :mod:`workbench.reports.each`. ``periods`` (one per file, or ``None``) renders a file for
    another period (used by ``workbench due``). Results come back in the order of
    ``params_files`` (then of the centres or sites); ``on_start`` is told how many reports there are.
    """
    files = [str(p) for p in params_files]
    periods = list(periods) if periods is not None else [None] * len(files)
    out_dir = str(output_dir) if output_dir is not None else None
    work = _jobs(files, list(overrides), periods)
    if on_start:
        on_start(len(work))
    results: list[Outcome | None] = [w if isinstance(w, Outcome) else None for w in work]
    done = on_done or (lambda outcome: None)
    for r in results:
        if r is not None:
            done(r)
    todo = [(i, w) for i, w in enumerate(work) if not isinstance(w, Outcome)]
    if jobs <= 1 or len(todo) <= 1:
        for i, (f, o, p, v) in todo:
            results[i] = _render_one(f, o, out_dir, p, v)
            done(results[i])
        return [r for r in results if r is not None]
    import multiprocessing

    from workbench.present.drawing import IN_KERNEL

    ensure_kernel()  # once, before the workers start
    context = multiprocessing.get_context("forkserver")
    saved = os.environ.get(IN_KERNEL)
    if jobs >= (os.cpu_count() or 1):  # every core busy with a report: charts drawn in its kernel, no process more
        os.environ[IN_KERNEL] = "1"  # the workers and their kernels inherit it
    try:
        return _pooled(todo, work, results, out_dir, jobs, context, done)
    finally:
        if saved is None:
            os.environ.pop(IN_KERNEL, None)
        else:
            os.environ[IN_KERNEL] = saved


def _pooled(todo, work, results, out_dir, jobs, context, done) -> list[Outcome]:
    """The renders of ``todo`` in ``jobs`` worker processes (:func:`batch`)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_render_one, f, o, out_dir, p, v): i for i, (f, o, p, v) in todo}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # a worker died
                f, _, _, v = work[i]
                results[i] = Outcome(f, error=f"the worker stopped: {type(exc).__name__}: {exc}", value=v)
            done(results[i])
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------- demo

def demo_parameter_files() -> list[Path]:
    """The example parameter files shipped in ``parameters/`` (those naming a report), one per report."""
    import yaml

    out = []
    for path in sorted(resources.packaged("parameters").glob("*.yaml")):
        data = safeyaml.load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("report"):
            out.append(path)
    return out


def _report_of(params_file: Path) -> str | None:
    data = safeyaml.load(params_file.read_text(encoding="utf-8"))
    return data.get("report") if isinstance(data, dict) else None


def render_demo(extract_dir: str | Path, output_dir: str | Path = "reports", jobs: int = 2,
                overrides: Sequence[str] = (), pdf: bool = True) -> list[Path]:
    """Render every example report of ``parameters/`` on the demo extract at ``extract_dir``
    (the network reports on the network extract beside it, ``<extract_dir>/network/``, written
    there when missing).

    Returns the HTML files written (one per report, in the order of the parameter
    files). ``overrides`` apply to every report (e.g. ``["audience=partner"]``);
    ``pdf=False`` renders HTML and Excel only (no browser needed). Raises
    :class:`~workbench.exceptions.ReportError` listing every report that failed, or when
    no example parameter file was found (an install without its package data).
    """
    files = demo_parameter_files()
    if not files:
        raise ReportError(f"No example parameter files in {resources.packaged('parameters')}: the package "
                          "was installed without its data files; reinstall workbench from its wheel or checkout.")
    from workbench.extract.demo import network_beside
    from workbench.reports.params import NETWORK_REPORTS

    extract = Path(extract_dir).resolve()
    extra = [] if pdf else ["formats=[html, xlsx]"]
    person_files = [f for f in files if _report_of(f) not in NETWORK_REPORTS]
    network_files = [f for f in files if _report_of(f) in NETWORK_REPORTS]
    out = Path(output_dir).resolve()
    outcomes = batch(person_files, [f"extract={extract}", *extra, *overrides], out, jobs=jobs)
    if network_files:  # network reports read the network extract beside the demo's (no persons)
        outcomes += batch(network_files, [f"extract={network_beside(extract)}", *extra, *overrides], out, jobs=jobs)
    outcomes.sort(key=lambda o: files.index(Path(o.params_file)))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise ReportError("Some demo reports failed:\n" + "\n".join(f"  - {o.params_file}: {o.error}"
                                                                   for o in failed))
    html = []
    for o in outcomes:
        folder = Path(o.folder or "")
        html += sorted(folder.glob("*.html"))
    if not html:
        raise ReportError(f"The demo reports were run but no HTML was written under {Path(output_dir).resolve()}.")
    return html
