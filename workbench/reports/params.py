"""Report parameters: the parameter file, ``--set`` overrides and their validation.

A parameter file is plain YAML naming a report notebook and its parameters::

    report: activity_report
    extract: ../demo            # relative to this file's folder unless absolute
    period: 2025-Q4
    audience: partner
    language: fr
    sites: [tunis_centre, la_marsa]
    cadence: quarterly          # for `workbench due`
    lag_days: 15

:func:`load` reads a file, applies overrides and validates everything at once:
every problem is collected (unknown or misspelled keys with a suggestion, bad
values) and reported together in one :class:`~workbench.exceptions.ParameterError`.
The same rules run inside the notebooks (:func:`validate_namespace`), so a notebook
run by papermill directly refuses a misspelled parameter too.

>>> p = from_mapping({"report": "explore", "extract": "demo", "period": "2025-q4"})
>>> p.report, p.values["period"], p.values["audience"], p.name
('explore', '2025-Q4', 'internal', 'explore')
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from workbench import safeyaml

from workbench.exceptions import ParameterError, PeriodError

#: Parameters every report notebook takes, with the notebooks' defaults.
COMMON: dict[str, Any] = {
    "extract": "../demo",
    "period": "2025-Q4",
    "audience": "internal",
    "threshold": None,
    "language": "fr",
    "compare_to": None,
    "organisation": None,
    "title": None,
    "narrative": None,
}
#: Parameters of indicator reports (trend length).
INDICATOR_KEYS: dict[str, Any] = {"trend_periods": 8}
_DEADLINES = {"assessment_deadlines": None, "care_plan_deadline": None, "review_overdue_days": None}
_TRAFFICKING = {"trafficking_referral_days": None}

#: Report notebook -> its own parameters (beyond COMMON), with defaults. Catalogue parameters
#: (deadlines, overdue days) default to None: the catalogue's value.
REPORTS: dict[str, dict[str, Any]] = {
    "activity_report": {"sites": None, **INDICATOR_KEYS, **_TRAFFICKING},
    "detention_report": {"centres": None, **INDICATOR_KEYS},
    "case_management_report": {"sites": None, **INDICATOR_KEYS, **_DEADLINES},
    "data_quality_report": {},
    "network_report": {"sites": None, **INDICATOR_KEYS},
    "explore": {"sites": None, "centres": None, "catalogue": None, "indicators": None, "by": ["sex"], **INDICATOR_KEYS,
                **_DEADLINES, **_TRAFFICKING, "rendering": False},
}
#: Set to True by ``workbench render`` in the notebooks that take it: widgets have no live kernel in a
#: rendered report, so the explorer shows a note instead.
RENDERING_KEY = "rendering"
INDICATOR_REPORTS = ("activity_report", "detention_report", "case_management_report", "explore", "network_report")
#: Reports on a network-level extract (no persons): ``workbench demo`` renders them on its network extract.
NETWORK_REPORTS = ("network_report",)

#: Keys for the renderer and the scheduler (not passed to the notebook).
RENDER_KEYS: dict[str, Any] = {
    "report": None, "name": None, "output_dir": None, "formats": ["html", "pdf", "xlsx"],
    "cadence": None, "lag_days": 0, "since": None, "notebook": None, "resources": None, "template": None,
    "each": None,
}
#: ``each:`` → the notebook parameter it narrows (one report per centre or per site, :mod:`workbench.reports.each`).
EACH = {"centre": "centres", "site": "sites"}
FORMATS = ("html", "pdf", "xlsx")
AUDIENCES = ("internal", "partner", "public")
from workbench.periods import LANGUAGES  # noqa: E402
TREND_RANGE = (2, 12)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_CODE = re.compile(r"[a-z0-9][a-z0-9_]*")


def catalogue_params() -> dict[str, Any]:
    """Catalogue parameters (deadlines, overdue days…) with their defaults."""
    from workbench.indicators.catalogue import load_catalogue

    return load_catalogue().default_params()


def report_catalogue(values: Mapping[str, Any], base: Path = Path(".")):
    """The catalogue of a report's parameters (see :meth:`ReportParams.catalogue`)."""
    from workbench.indicators.organisation import catalogue_with

    given = values.get("catalogue")
    if given:
        path = Path(str(given)).expanduser()
        return catalogue_with(path if path.is_absolute() else base / path)
    folder = Path(str(values.get("extract") or ".")).expanduser()
    folder = folder if folder.is_absolute() else base / folder
    meta = folder / "extract.yaml"
    declared = safeyaml.load(meta.read_text(encoding="utf-8")) if folder.is_dir() and meta.is_file() else None
    declared = declared.get("catalogue") if isinstance(declared, dict) else None
    return catalogue_with(folder / str(declared) if declared else None)


def notebook_keys(report: str) -> dict[str, Any]:
    """Every parameter the notebook of ``report`` takes, with defaults."""
    return {**COMMON, **REPORTS[report]}


@dataclass(frozen=True)
class ReportParams:
    """A validated set of report parameters.

    ``values`` holds the notebook's parameters (JSON-able, normalised: periods in
    canonical form, lists for sites and centres); ``base`` is the folder relative
    paths are read from (the parameter file's folder).
    """

    report: str
    values: Mapping[str, Any]
    base: Path
    name: str
    source: Path | None = None
    output_dir: str | None = None
    formats: tuple[str, ...] = FORMATS
    cadence: str | None = None
    lag_days: int = 0
    since: str | None = None
    notebook: str | None = None
    resources: str | None = None
    #: A template map (:mod:`workbench.reports.templates`): the organisation's Excel return to fill in.
    template: str | None = None
    #: ``centre`` or ``site``: one report per centre or site (:mod:`workbench.reports.each`).
    each: str | None = None
    explicit: frozenset[str] = field(default_factory=frozenset)

    @property
    def period(self) -> str:
        return self.values["period"]

    def extract_path(self) -> Path:
        path = Path(self.values["extract"]).expanduser()
        return path if path.is_absolute() else (self.base / path)

    def catalogue(self):
        """The report's catalogue: its ``catalogue`` parameter (relative to the parameter file), else the
        one the extract's ``extract.yaml`` names, else the built-in one."""
        return report_catalogue(self.values, self.base)

    def resource_dirs(self) -> list[Path]:
        """The organisation's own resource folder, if the parameters name one (see :mod:`workbench.resources`)."""
        if not self.resources:
            return []
        path = Path(self.resources).expanduser()
        return [path if path.is_absolute() else self.base / path]

    def template_path(self) -> Path | None:
        if not self.template:
            return None
        path = Path(self.template).expanduser()
        return path if path.is_absolute() else self.base / path

    def notebook_path(self) -> Path:
        """The report's notebook: ``notebook:`` if given, else found on the resource path."""
        from workbench import resources

        if self.notebook:
            path = Path(self.notebook).expanduser()
            return path if path.is_absolute() else self.base / path
        return resources.find("notebooks", f"{self.report}.ipynb", self.resource_dirs())

    def run_dir(self, output_root: str | Path | None = None) -> Path:
        """``<output>/<report>/<period>/<name>``: where a run's outputs live."""
        root = Path(output_root) if output_root is not None else self.output_root()
        return root / self.report / self.period.replace("..", "_") / self.name

    def output_root(self) -> Path:
        if self.output_dir is None:
            return Path("reports")
        path = Path(self.output_dir).expanduser()
        return path if path.is_absolute() else self.base / path

    def with_period(self, period: str) -> ReportParams:
        """The same parameters for another period (comparison back to its default)."""
        values = dict(self.values)
        values["period"] = period
        values["compare_to"] = None
        return replace(self, values=values)

    def manifest(self) -> dict[str, Any]:
        """The parameters as recorded in a manifest (stable, JSON-able)."""
        out = {"report": self.report, **dict(self.values), "name": self.name, "formats": list(self.formats)}
        for key in ("cadence", "lag_days", "since", "notebook", "resources"):
            if getattr(self, key) not in (None, 0) or key in self.explicit:
                out[key] = getattr(self, key)
        return out


# --------------------------------------------------------------------------- reading

def read_file(path: str | Path) -> dict[str, Any]:
    """A parameter file's content as a mapping (YAML dates become ISO text)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Parameter file not found: {path}.")
    try:
        data = safeyaml.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ParameterError(f"{path}: not valid YAML ({detail}).") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: not UTF-8 text.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected keys such as report, extract, period (one per line).")
    return {str(k): _plain(v) for k, v in data.items()}


def parse_override(item: str) -> tuple[str, Any]:
    """``"period=2025-Q3"`` → ``("period", "2025-Q3")``; values read as YAML (``[a, b]``, ``null``, numbers).

    >>> parse_override("sites=[a, b]"), parse_override("assessment_deadlines.high=2")
    (('sites', ['a', 'b']), ('assessment_deadlines.high', 2))
    """
    if "=" not in item:
        raise ParameterError(f"--set '{item}': expected KEY=VALUE (e.g. --set period=2025-Q3).")
    key, text = (s.strip() for s in item.split("=", 1))
    if not key:
        raise ParameterError(f"--set '{item}': the key is empty.")
    try:
        value = safeyaml.load(text) if text else None
    except yaml.YAMLError:
        value = text
    if isinstance(value, dict) and not text.startswith("{"):
        value = text  # "title=Rapport: T4" is text, not a mapping
    return key, _plain(value)


def apply_overrides(data: Mapping[str, Any], overrides: list[str] | tuple[str, ...] | Mapping[str, Any],
                    cwd: Path | None = None, base: Path | None = None) -> dict[str, Any]:
    """``data`` with ``--set`` overrides applied (``a.b=1`` sets one entry of a mapping).

    An ``extract`` or ``output_dir`` given on the command line is relative to the current
    folder; it is rewritten relative to ``base`` (the parameter file's folder).
    """
    out = dict(data)
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    for key, value in items:
        if key in ("extract", "output_dir", "notebook") and isinstance(value, str) and base is not None:
            value = _relative_to(Path(cwd or Path.cwd()) / Path(value).expanduser(), base)
        if "." in key:
            top, sub = key.split(".", 1)
            current = out.get(top)
            current = dict(current) if isinstance(current, dict) else {}
            current[sub] = value
            out[top] = current
        else:
            out[key] = value
    return out


def _relative_to(path: Path, base: Path) -> str:
    import os

    try:
        return os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())


def _plain(value: Any) -> Any:
    """YAML values as JSON-able plain values (dates as ISO text)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load(path: str | Path, overrides: list[str] | tuple[str, ...] | Mapping[str, Any] = ()) -> ReportParams:
    """Read, override and validate a parameter file."""
    path = Path(path)
    data = read_file(path)
    data = apply_overrides(data, overrides, base=path.parent)
    return from_mapping(data, base=path.parent, source=path)


# --------------------------------------------------------------------------- validation

def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_key(key: str, report: str, valid: list[str]) -> str:
    elsewhere = [r for r, keys in REPORTS.items() if key in keys]
    if elsewhere:
        return f"{key!r} is a parameter of {', '.join(elsewhere)}, not of {report}."
    return f"unknown parameter {key!r}{_suggest(key, valid)}."


def _period(value: Any, key: str, problems: list[str], optional: bool = False) -> str | None:
    from workbench.periods import parse_period

    if value is None:
        if not optional:
            problems.append(f"'{key}' is required (e.g. {key}: 2025-Q4).")
        return None
    try:
        return parse_period(str(value)).code
    except PeriodError as exc:
        problems.append(f"'{key}': {exc}")
        return None


def _codes(value: Any, key: str, problems: list[str]) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and _CODE.fullmatch(v) for v in value):
        problems.append(f"'{key}' must be a list of codes such as [tunis_centre, sfax], got {value!r}.")
        return None
    return list(dict.fromkeys(value)) or None


def _whole(value: Any, key: str, problems: list[str], low: int, high: int | None = None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        problems.append(f"'{key}' must be a whole number {bound}, got {value!r}.")
        return None
    return value


def _validate_values(report: str, data: Mapping[str, Any], problems: list[str],
                     base: Path = Path(".")) -> dict[str, Any]:
    """Check and normalise the notebook parameters of ``report`` (missing keys get defaults)."""
    keys = notebook_keys(report)
    values = {k: data.get(k, default) for k, default in keys.items()}
    if not isinstance(values["extract"], str) or not values["extract"].strip():
        problems.append(f"'extract' must be the path of a case extract, got {values['extract']!r}.")
    values["period"] = _period(values["period"], "period", problems)
    values["compare_to"] = _period(values["compare_to"], "compare_to", problems, optional=True)
    if values["audience"] not in AUDIENCES:
        problems.append(f"'audience' must be one of {', '.join(AUDIENCES)}, got {values['audience']!r}"
                        f"{_suggest(str(values['audience']), list(AUDIENCES))}.")
    if values["threshold"] is not None:
        values["threshold"] = _whole(values["threshold"], "threshold", problems, 1, 1000)
    if values["language"] not in LANGUAGES:
        problems.append(f"'language' must be one of {', '.join(LANGUAGES)}, got {values['language']!r}.")
    for key in ("organisation", "title"):
        if values[key] is not None and not isinstance(values[key], str):
            problems.append(f"'{key}' must be text, got {values[key]!r}.")
    narrative = values.get("narrative")
    if narrative is not None and not isinstance(narrative, str) and not (
            isinstance(narrative, dict) and all(isinstance(v, str) for v in narrative.values())):
        problems.append("'narrative' must be the path of a Markdown file or a mapping of sections to text.")
    for key in ("sites", "centres"):
        if key in values:
            values[key] = _codes(values[key], key, problems)
    if "trend_periods" in values:
        values["trend_periods"] = _whole(values["trend_periods"], "trend_periods", problems, *TREND_RANGE)
    if report == "explore":
        _validate_explore(values, problems, base)
    if report in INDICATOR_REPORTS:
        _validate_catalogue_params(values, problems)
    return values


def _validate_explore(values: dict[str, Any], problems: list[str], base: Path = Path(".")) -> None:
    from workbench.exceptions import WorkbenchError
    from workbench.indicators.catalogue import load_catalogue

    if not isinstance(values.get(RENDERING_KEY), bool):
        problems.append(f"'{RENDERING_KEY}' must be true or false, got {values.get(RENDERING_KEY)!r}.")
    if values.get("catalogue") is not None and not isinstance(values["catalogue"], str):
        problems.append(f"'catalogue' must be the path of a catalogue file (.yaml or .xlsx), got "
                        f"{values['catalogue']!r}.")
        values["catalogue"] = None
    try:
        cat = report_catalogue(values, base)
    except WorkbenchError as exc:
        problems.append(f"'catalogue': {exc}")
        cat = load_catalogue()
    ids = values.get("indicators")
    if isinstance(ids, str):
        ids = [ids]
    if ids is not None:
        if not isinstance(ids, list):
            problems.append(f"'indicators' must be a list of indicator ids, got {ids!r}.")
        else:
            for i in ids:
                if i not in cat:
                    problems.append(f"'indicators': unknown indicator {i!r}{_suggest(str(i), list(cat.ids))}.")
        values["indicators"] = ids
    by = values.get("by")
    if isinstance(by, str):
        by = [by]
    if by is None:
        by = []
    if not isinstance(by, list) or not all(isinstance(b, str) for b in by):
        problems.append(f"'by' must be a list of breakdowns such as [sex, 'sex,age_group'], got {by!r}.")
        return
    from workbench.indicators.engine import DIMENSION_ALIASES

    for item in by:
        for dim in (d.strip() for d in item.split(",")):
            if dim not in cat.dimensions and dim not in DIMENSION_ALIASES:
                problems.append(f"'by': unknown dimension {dim!r}{_suggest(dim, list(cat.dimensions))}.")
    values["by"] = by


def _validate_catalogue_params(values: dict[str, Any], problems: list[str]) -> None:
    from workbench.indicators.engine import resolve_params

    given = {k: values[k] for k in catalogue_params() if k in values and values[k] is not None}
    try:
        resolve_params(given)
    except ParameterError as exc:
        problems.append(str(exc))


def _validate_render(data: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    from workbench.periods import CADENCES

    out = {k: data.get(k, default) for k, default in RENDER_KEYS.items()}
    formats = out["formats"]
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    if not isinstance(formats, list) or any(f not in FORMATS for f in formats):
        problems.append(f"'formats' must be a list among {', '.join(FORMATS)}, got {out['formats']!r}.")
        formats = list(FORMATS)
    out["formats"] = tuple(f for f in FORMATS if f in formats)
    if out["name"] is not None and not (isinstance(out["name"], str) and _NAME.fullmatch(out["name"])):
        problems.append(f"'name' must be a file name made of letters, digits, '.', '_' or '-', got {out['name']!r}.")
    if out["cadence"] is not None and out["cadence"] not in CADENCES:
        problems.append(f"'cadence' must be one of {', '.join(CADENCES)}, got {out['cadence']!r}"
                        f"{_suggest(str(out['cadence']), list(CADENCES))}.")
    out["lag_days"] = _whole(out["lag_days"], "lag_days", problems, 0, 366) or 0
    if out["since"] is not None:
        out["since"] = _period(out["since"], "since", problems)
    for key in ("output_dir", "notebook", "resources", "template"):
        if out[key] is not None and not isinstance(out[key], str):
            problems.append(f"'{key}' must be a path, got {out[key]!r}.")
    if out["each"] is not None and (not isinstance(out["each"], str) or out["each"] not in EACH):
        problems.append(f"'each' must be {' or '.join(EACH)} (one report per centre or per site), got "
                        f"{out['each']!r}{_suggest(str(out['each']), list(EACH))}.")
        out["each"] = None
    return out


def from_mapping(data: Mapping[str, Any], base: str | Path = ".", source: Path | None = None,
                 report: str | None = None) -> ReportParams:
    """Validate parameters given as a mapping (every problem is reported at once)."""
    data = {str(k): _plain(v) for k, v in data.items()}
    where = f"{source}: " if source else ""
    report = report or data.get("report")
    if report is None:
        raise ParameterError(f"{where}'report' is required: one of {', '.join(REPORTS)}.")
    if report not in REPORTS:
        raise ParameterError(f"{where}unknown report {report!r}{_suggest(str(report), list(REPORTS))}; "
                             f"reports: {', '.join(REPORTS)}.")
    problems: list[str] = []
    valid = list(notebook_keys(report)) + list(RENDER_KEYS)
    for key in data:
        if key not in valid:
            problems.append(_unknown_key(key, report, valid))
    values = _validate_values(report, data, problems, Path(base))
    render = _validate_render(data, problems)
    if render["each"] and EACH[render["each"]] not in REPORTS[report]:
        problems.append(f"'each: {render['each']}': {report} takes no '{EACH[render['each']]}' parameter "
                        f"(reports by {render['each']}: "
                        f"{', '.join(r for r in REPORTS if EACH[render['each']] in REPORTS[r])}).")
    if problems:
        raise ParameterError(_problems_message(where, report, problems, valid))
    name = render["name"] or (source.stem if source else report)
    return ReportParams(report=report, values=values, base=Path(base).absolute(), name=name, source=source,
                        output_dir=render["output_dir"], formats=render["formats"], cadence=render["cadence"],
                        lag_days=render["lag_days"], since=render["since"], notebook=render["notebook"],
                        resources=render["resources"], template=render["template"],
                        each=render["each"], explicit=frozenset(data))


def _problems_message(where: str, report: str, problems: list[str], valid: list[str]) -> str:
    head = f"{where}{len(problems)} problem{'s' if len(problems) > 1 else ''} with the parameters of {report}:"
    lines = "\n".join(f"  - {p}" for p in problems)
    tail = ""
    if any(p.startswith("unknown parameter") or " is a parameter of " in p for p in problems):
        tail = f"\n  Parameters of {report}: {', '.join(valid)}."
    return f"{head}\n{lines}{tail}"


# --------------------------------------------------------------------------- inside a notebook

_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
_SEEN: dict[int, frozenset[str]] = {}


def parameter_names(namespace: Mapping[str, Any]) -> frozenset[str]:
    """Names set by the parameters cell (and papermill's injected cell) in a notebook namespace.

    The first call in a kernel records them, so variables a reader defines later in
    JupyterLab are not taken for misspelled parameters when a cell is run again.
    """
    import types

    key = id(namespace)
    if key in _SEEN:
        return _SEEN[key]
    hidden: set[str] | None = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and shell.user_ns is namespace:
            hidden = set(shell.user_ns_hidden)
    except ImportError:  # pragma: no cover - IPython is installed with ipykernel
        pass
    names = frozenset(
        k for k, v in namespace.items()
        if not k.startswith("_") and k not in (hidden or ()) and k not in _IPYTHON_NAMES
        and not isinstance(v, (types.ModuleType, types.FunctionType, type)) and not callable(v))
    if hidden is not None:  # a kernel's namespace lives as long as the kernel: remember it
        _SEEN[key] = names
    return names


def validate_namespace(report: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a notebook's parameters (its global variables) the way a parameter file is.

    An unknown variable in the parameters (a misspelled ``perod`` injected by papermill)
    is an error that lists the valid names.
    """
    names = parameter_names(namespace)
    data = {k: namespace[k] for k in names if k in namespace}
    params = from_mapping(data, report=report)
    return dict(params.values)
