"""An organisation's catalogue as written: a YAML file or an Excel workbook, read into one shape.

Both forms give the same data (the shape of ``catalogue.yaml``, plus ``namespace``) and a map
from each place in it to where it was written, so that every problem names its file and line
(``my-indicators.yaml:14``) or its sheet and cell (``my-indicators.xlsx indicators!C7``).

The workbook has the sheets a coordinator fills in (header on row 1, one declaration a row):

=============  ====================================================================================
``catalogue``  ``key``, ``value``: ``namespace`` (the ids' prefix) and ``catalogue_version``
``families``   ``id``, ``fr``, ``en`` (optional sheet)
``dimensions`` ``id``, ``fr``, ``en``, ``table``, ``column``, ``bands_of``, ``edges``, ``between``
``codes``      ``dimension``, ``code``, ``fr``, ``en`` — a dimension's codes, in display order
``indicators`` ``id``, ``family``, ``unit``, ``label_fr``, ``label_en``, ``definition_fr``,
               ``definition_en``, ``tables``, ``records``, ``population``, ``numerator``,
               ``distinct``, ``days``, ``age_at``, ``breakdowns``, ``multi``, ``params``, ``audiences``
=============  ====================================================================================

Lists (``tables``, ``breakdowns``, ``edges``…) are written comma-separated; conditions and
parameters in the YAML flow form of the YAML file (``[{in_period: opened_on}]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.exceptions import CatalogueError
from workbench.indicators.catalogue import read_yaml

Where = dict[tuple, str]

LIST_FIELDS = ("tables", "breakdowns", "multi", "days", "audiences")
YAML_FIELDS = ("population", "numerator", "params", "age_at")
INDICATOR_COLUMNS = ("id", "family", "unit", "label_fr", "label_en", "definition_fr", "definition_en", "tables",
                     "records", "population", "numerator", "distinct", "days", "age_at", "breakdowns", "multi",
                     "params", "audiences")
DIMENSION_COLUMNS = ("id", "fr", "en", "table", "column", "bands_of", "edges", "between")


def read_declarations(path: str | Path) -> tuple[dict, Where, str]:
    """``(data, where, name)`` of an organisation's catalogue file (``.yaml``/``.yml`` or ``.xlsx``)."""
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"{path}: no such catalogue file. Give a .yaml or .xlsx file "
                             "(docs/organisation-catalogue.md).")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        data, where = _read_workbook(path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        data, where = _read_yaml_file(path)
    else:
        raise CatalogueError(f"{path.name}: a catalogue is a .yaml or .xlsx file, not '{path.suffix}'.")
    return data, where, path.name


# --------------------------------------------------------------------------- YAML

def _read_yaml_file(path: Path) -> tuple[dict, Where]:
    try:
        text = path.read_text(encoding="utf-8")
        data = read_yaml(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogueError(f"{path.name}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc}).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path.name}: cannot be read ({exc}).") from None
    if not isinstance(data, dict):
        raise CatalogueError(f"{path.name}: expected keys namespace, dimensions, indicators.")
    where: Where = {}
    _lines(node, (), path.name, where)
    return data, where


def _lines(node, at: tuple, name: str, where: Where) -> None:
    """Every path of the document → ``file:line`` of its node."""
    where[at] = f"{name}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            where[at + (key.value,)] = f"{name}:{key.start_mark.line + 1}"
            _lines(value, at + (key.value,), name, where)
            where[at + (key.value,)] = f"{name}:{key.start_mark.line + 1}"
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, at + (i,), name, where)


# --------------------------------------------------------------------------- workbook

def _cell(column: int, row: int) -> str:
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def _sheet(reader, name: str, file: str) -> list[tuple[int, dict[str, tuple[str, str]]]]:
    """Rows of a sheet: (Excel row, header → (text, cell)); empty rows skipped."""
    if name not in reader.sheet_names:
        return []
    frame = reader.load_sheet(name, header_row=0, dtypes="string").to_polars()
    headers = [str(c).strip().lower() for c in frame.columns]
    rows = []
    for i, values in enumerate(frame.iter_rows()):
        cells = {h: (str(v).strip(), f"{file} {name}!{_cell(j, i + 2)}")
                 for j, (h, v) in enumerate(zip(headers, values)) if v is not None and str(v).strip()}
        if cells:
            rows.append((i + 2, cells))
    return rows


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _flow(text: str, cell: str, problems: list[str]) -> Any:
    try:
        return read_yaml(text)
    except yaml.YAMLError as exc:
        problems.append(f"{cell}: cannot read '{text}' ({getattr(exc, 'problem', None) or 'not YAML'}); write "
                        "conditions as [{in_period: date}] and parameters as {name: value}")
        return None


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _read_workbook(path: Path) -> tuple[dict, Where]:
    import fastexcel

    name = path.name
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own classes for unreadable files
        raise CatalogueError(f"{name}: cannot be read as a workbook ({' '.join(str(exc).split())}).") from None
    where: Where = {(): f"{name}"}
    problems: list[str] = []
    data: dict[str, Any] = {"families": {}, "dimensions": {}, "indicators": []}
    for _row, cells in _sheet(reader, "catalogue", name):
        if "key" in cells and "value" in cells:
            key = cells["key"][0]
            data[key] = cells["value"][0]
            where[(key,)] = cells["value"][1]
    for _row, cells in _sheet(reader, "families", name):
        if "id" in cells:
            fid = cells["id"][0]
            data["families"][fid] = {lang: cells[lang][0] for lang in ("fr", "en") if lang in cells}
            where[("families", fid)] = cells["id"][1]
    for _row, cells in _sheet(reader, "dimensions", name):
        did = cells.get("id", ("", ""))[0]
        entry: dict[str, Any] = {k: cells[k][0] for k in ("fr", "en", "table", "column") if k in cells}
        where[("dimensions", did)] = cells.get("id", next(iter(cells.values())))[1]
        for k in ("fr", "en", "table", "column"):
            if k in cells:
                where[("dimensions", did, k)] = cells[k][1]
        if "bands_of" in cells:
            entry["bands"] = {"of": cells["bands_of"][0],
                              "edges": [_number(e) for e in _split(cells.get("edges", ("", ""))[0])]}
            where[("dimensions", did, "bands")] = cells["bands_of"][1]
            if "between" in cells:
                entry["bands"]["between"] = _split(cells["between"][0])
        data["dimensions"][did] = entry
    for _row, cells in _sheet(reader, "codes", name):
        did = cells.get("dimension", ("", ""))[0]
        code = {"code": cells.get("code", ("", ""))[0], **{lang: cells[lang][0] for lang in ("fr", "en")
                                                             if lang in cells}}
        dim = data["dimensions"].setdefault(did, {})
        codes = dim.setdefault("codes", [])
        where[("dimensions", did, "codes", len(codes))] = cells.get("code", next(iter(cells.values())))[1]
        codes.append(code)
    for _row, cells in _sheet(reader, "indicators", name):
        i = len(data["indicators"])
        entry = {}
        where[("indicators", i)] = cells.get("id", next(iter(cells.values())))[1]
        for key, (text, cell) in cells.items():
            target = {"label_fr": ("label", "fr"), "label_en": ("label", "en"),
                      "definition_fr": ("definition", "fr"), "definition_en": ("definition", "en")}.get(key)
            if target:
                entry.setdefault(target[0], {})[target[1]] = text
                where[("indicators", i, target[0])] = cell
                continue
            where[("indicators", i, key)] = cell
            if key in LIST_FIELDS:
                entry[key] = _split(text)
            elif key in YAML_FIELDS:
                entry[key] = _flow(text, cell, problems)
            else:
                entry[key] = text
        data["indicators"].append(entry)
    if problems:
        raise CatalogueError(f"The catalogue {name} has problems:\n- " + "\n- ".join(problems))
    return data, where


def locate(where: Where, path: tuple) -> str:
    """Where ``path`` (or its nearest written parent) was declared."""
    while path and path not in where:
        path = path[:-1]
    return where.get(path, "")
