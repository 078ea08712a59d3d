"""Reading the raw export: the file (or the one matching a pattern in a folder), the sheet, the
header row (found below title rows), as a grid of text cells."""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.exceptions import MappingError
from workbench.extract import files as readers
from workbench.prepare.mapping.model import ROW, Mapping, Source
from workbench.prepare.mapping.parse import match_key, match_keys

HEADER_SEARCH_ROWS = 30


@dataclass
class RawSource:
    """A raw table as read: text cells under internal column names, with the headers as written."""

    name: str
    file: str
    frame: pl.DataFrame          # columns wb_c0, wb_c1… (text) and wb_row (1-based data row)
    headers: list[str]           # header cell of each wb_c column, trimmed ('' when empty)
    header_row: int              # the row the header was found on (1-based, among the rows read)
    blank_rows: list[int] = field(default_factory=list)


def _resolve_file(source: Source, raw: Path, mapping: Mapping) -> Path:
    if not raw.exists():
        raise MappingError(f"{raw}: no such file or folder (the raw export).")
    if raw.is_file():
        return raw
    if source.file is None:
        raise MappingError(f"{raw} is a folder: source '{source.name}' in {mapping.name} needs file: (the file "
                           "name or a pattern such as *.xlsx).")
    files = sorted(p for p in raw.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    hits = [p for p in files if fnmatch.fnmatch(p.name.lower(), source.file.lower())]
    if not hits:
        raise MappingError(f"{raw}: no file matches '{source.file}' (source '{source.name}' in {mapping.name}). "
                           f"Files there: {', '.join(p.name for p in files[:12]) or 'none'}.")
    if len(hits) > 1:
        raise MappingError(f"{raw}: several files match '{source.file}' ({', '.join(p.name for p in hits)}); "
                           f"make file: of source '{source.name}' in {mapping.name} name one of them.")
    return hits[0]


def _workbook_grid(path: Path, source: Source, mapping: Mapping, books: dict) -> tuple[str, pl.DataFrame]:
    import fastexcel

    if path not in books:
        if path.stat().st_size == 0:
            raise MappingError(f"{path.name}: the file is empty.")
        try:
            books[path] = fastexcel.read_excel(str(path))
        except Exception as exc:  # fastexcel raises its own error types
            raise MappingError(f"{path.name}: cannot be opened as a workbook ({readers._first_line(exc)}). "
                               "Save it again as .xlsx, or export the sheet as CSV.") from None
    book = books[path]
    names = list(book.sheet_names)
    if isinstance(source.sheet, int):
        if source.sheet > len(names):
            raise MappingError(f"{path.name} has {len(names)} sheet{'s' if len(names) > 1 else ''} "
                               f"({', '.join(names)}): there is no sheet {source.sheet} for source '{source.name}' "
                               f"in {mapping.name}.")
        sheet = names[source.sheet - 1]
    elif source.sheet is None:
        if len(names) != 1:
            raise MappingError(f"{path.name} has {len(names)} sheets ({', '.join(names)}): say which one source "
                               f"'{source.name}' reads with sheet: in {mapping.name}.")
        sheet = names[0]
    else:
        by_key = {match_key(n): n for n in names}
        sheet = source.sheet if source.sheet in names else by_key.get(match_key(source.sheet))
        if sheet is None:
            raise MappingError(f"{path.name}: no sheet '{source.sheet}' (sheets: {', '.join(names)}). Fix sheet: of "
                               f"source '{source.name}' in {mapping.name}.")
    try:
        grid = book.load_sheet_by_name(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:
        raise MappingError(f"{path.name}[{sheet}]: the sheet cannot be read ({readers._first_line(exc)}).") from None
    return f"{path.name}[{sheet}]", grid.with_columns(pl.all().cast(pl.String))


def _csv_grid(path: Path, source: Source, mapping: Mapping) -> tuple[str, pl.DataFrame, int]:
    """The CSV as a text grid from its header row on, and the number of lines skipped above it."""
    text, _ = readers.decode(path.read_bytes())
    if not text.strip():
        raise MappingError(f"{path.name}: the file is empty.")
    lines = text.splitlines(keepends=True)
    keys = {r.key for r in source.columns}
    required = {r.key for r in source.columns if r.field and not r.optional}
    if source.header_row is not None:
        index = source.header_row - 1
    else:
        rows = []
        for line in lines[:HEADER_SEARCH_ROWS]:
            sep = source.delimiter or readers.sniff_delimiter(line)
            rows.append([c.strip() for c in next(csv.reader([line], delimiter=sep, quotechar='"'), [])])
        index = _find_header(rows, keys, required)
        if index is None:
            raise _no_header(path.name, source, mapping, rows)
    if index >= len(lines):
        raise MappingError(f"{path.name}: header_row {index + 1} is beyond the end of the file.")
    body = "".join(lines[index:])
    sep = source.delimiter or readers.sniff_delimiter(lines[index])
    counts = readers._field_counts(body, sep)
    width = counts[0]
    long_rows = [i for i, n in enumerate(counts) if n > width]
    if long_rows:
        row = long_rows[0]
        raise MappingError(f"{path.name}: row {row} has {counts[row]} fields but the header has {width} (delimiter "
                           f"{sep!r}). A cell probably holds the delimiter without quotes; fix that row, or set "
                           f"delimiter: of source '{source.name}' in {mapping.name}.")
    try:
        grid = pl.read_csv(body.encode("utf-8"), separator=sep, has_header=False, infer_schema=False,
                           quote_char='"', raise_if_empty=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as exc:
        raise MappingError(f"{path.name}: cannot be read as CSV with delimiter {sep!r} "
                           f"({readers._first_line(exc)}). Check that quotes are closed.") from None
    return path.name, grid, index


def _find_header(rows: list[list[str | None]], keys: set[str], required: set[str]) -> int | None:
    """The first row holding every required column; else the row holding the most mapped columns."""
    best, best_score = None, 0
    cells = [c for row in rows for c in row if c is not None]
    key_of = dict(zip(cells, match_keys(cells)))
    for i, row in enumerate(rows):
        found = {key_of[c] for c in row if c is not None}
        if required and required <= found:
            return i
        score = len(keys & found)
        if score > best_score:
            best, best_score = i, score
    return best


def _no_header(file: str, source: Source, mapping: Mapping, rows) -> MappingError:
    shown = ", ".join(f"'{r.raw}'" for r in source.columns[:6])
    return MappingError(f"{file}: no header row found in the first {len(rows)} rows: none of the columns of source "
                        f"'{source.name}' in {mapping.name} ({shown}…) appear. Check the column names, or set "
                        "header_row:.")


def read_source(source: Source, raw: str | Path, mapping: Mapping, books: dict | None = None) -> RawSource:
    """Read one source of the raw export as text, from its header row on."""
    raw = Path(raw)
    path = _resolve_file(source, raw, mapping)
    suffix = path.suffix.lower()
    keys = {r.key for r in source.columns}
    required = {r.key for r in source.columns if r.field and not r.optional}
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        label, grid = _workbook_grid(path, source, mapping, {} if books is None else books)
        if grid.height == 0:
            raise MappingError(f"{label}: the sheet is empty.")
        if source.header_row is not None:
            index = source.header_row - 1
        else:
            head = grid.head(HEADER_SEARCH_ROWS).rows()
            index = _find_header([list(r) for r in head], keys, required)
            if index is None:
                raise _no_header(label, source, mapping, head)
        if index >= grid.height:
            raise MappingError(f"{label}: header_row {index + 1} is beyond the last row ({grid.height}).")
        headers = ["" if v is None else str(v).strip() for v in grid.row(index)]
        data = grid.slice(index + 1)
        header_row = index + 1
    elif suffix in (".csv", ".txt", ".tsv"):
        label, grid, skipped = _csv_grid(path, source, mapping)
        if grid.height == 0:
            raise MappingError(f"{label}: no header row could be read.")
        headers = ["" if v is None else str(v).strip() for v in grid.row(0)]
        data = grid.slice(1)
        header_row = skipped + 1
    else:
        raise MappingError(f"{path.name}: a raw export is read from .xlsx, .xls, .ods or .csv files, not "
                           f"'{path.suffix}'.")
    internal = [f"wb_c{i}" for i in range(len(headers))]
    data = data.rename(dict(zip(data.columns, internal)))
    data = data.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in internal)
    data = data.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    blank = pl.all_horizontal(pl.col(internal).is_null()) if internal else pl.lit(True)
    blank_rows = data.filter(blank)[ROW].to_list()
    data = data.filter(~blank)
    return RawSource(name=source.name, file=label, frame=data, headers=headers, header_row=header_row,
                     blank_rows=blank_rows)


def read_sources(mapping: Mapping, raw: str | Path) -> dict[str, RawSource]:
    """Read every source of the mapping from the raw export (a file or a folder)."""
    books: dict = {}
    return {name: read_source(source, raw, mapping, books) for name, source in mapping.sources.items()}
