"""Finding and reading the files of a case extract.

The rules for real-world files (documented in ``docs/extract-contract.md``) are applied
per file, never guessed row by row:

* **Encoding**: a UTF-8 byte-order mark means UTF-8; otherwise the file is UTF-8 if all of
  it decodes as UTF-8, else Windows-1252 (which covers Latin-1's letters).
* **Delimiter**: whichever of comma, semicolon and tab occurs most often in the header
  line (comma on a tie).
* **Header names** are trimmed, lower-cased, and spaces or hyphens become ``_``.
* **Cells** are trimmed; an empty cell is "not recorded".
* **Workbooks**: one sheet per table, named after the table (any case); other sheets
  are listed as ignored. Cells are read as text, date cells as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .exceptions import ExtractError, UnreadableFileError
from .schema import TABLES

METADATA_FILE = "extract.yaml"
_SUFFIXES = (".parquet", ".csv", ".xlsx")


def normalise_header(name: str) -> str:
    """``" Person ID"`` → ``person_id``."""
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


def normalise_code(text: str) -> str:
    """``" Asylum Seeker "`` → ``asylum_seeker`` (the same rule as :func:`code_expr`)."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def code_expr(expr: pl.Expr) -> pl.Expr:
    """Trim, lower-case, and turn runs of spaces or hyphens into ``_``."""
    return expr.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s\-]+", "_")


@dataclass
class RawTable:
    name: str
    file: str
    frame: pl.DataFrame


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes by the file-level rule; returns (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def sniff_delimiter(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts.values())
    if best == 0:
        return ","
    for sep in (",", ";", "\t"):
        if counts[sep] == best:
            return sep
    return ","  # pragma: no cover


def _normalise_columns(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    names = [normalise_header(c) for c in frame.columns]
    seen: dict[str, str] = {}
    for original, name in zip(frame.columns, names):
        if name == "":
            raise UnreadableFileError(f"{file}: a column has an empty header; every column needs a name.",
                                      file=file)
        if name in seen:
            raise UnreadableFileError(
                f"{file}: columns '{seen[name]}' and '{original}' both read as '{name}'; rename one.",
                file=file, column=name)
        seen[name] = original
    return frame.rename(dict(zip(frame.columns, names)))


def read_csv(path: Path, table: str) -> RawTable:
    file = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"{file}: cannot be read ({exc.strerror}).", file=file, table=table) from None
    text, _encoding = decode(data)
    if not text.strip():
        raise UnreadableFileError(
            f"{file}: the file is empty. Expected a header row ({', '.join(TABLES[table].column_names)}) "
            "and one row per record.", file=file, table=table)
    header = text.lstrip("\r\n").split("\n", 1)[0]
    sep = sniff_delimiter(header)
    try:
        frame = pl.read_csv(text.encode("utf-8"), separator=sep, infer_schema=False, quote_char='"',
                            raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFileError(
            f"{file}: cannot be read as CSV with delimiter {sep!r}: {first}. Check that every row has as "
            "many fields as the header and that quotes are closed.", file=file, table=table) from None
    frame = _normalise_columns(frame, file)
    return RawTable(table, file, _clean_strings(frame))


def _clean_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """Trim text cells; an empty cell becomes null."""
    exprs = [
        pl.col(c).str.strip_chars().replace("", None).alias(c)
        for c, t in frame.schema.items() if t == pl.String
    ]
    return frame.with_columns(exprs) if exprs else frame


def read_parquet(path: Path, table: str) -> RawTable:
    file = path.name
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{file}: the file is empty.", file=file, table=table)
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFileError(f"{file}: not a readable Parquet file ({first}).", file=file,
                                  table=table) from None
    frame = _normalise_columns(frame, file)
    frame = frame.with_columns(
        pl.col(c).cast(pl.String) for c, t in frame.schema.items() if isinstance(t, (pl.Categorical, pl.Enum))
    )
    return RawTable(table, file, _clean_strings(frame))


class Workbook:
    """An ``.xlsx`` workbook read through fastexcel (calamine)."""

    def __init__(self, path: Path) -> None:
        import fastexcel

        self.path = path
        if path.stat().st_size == 0:
            raise UnreadableFileError(f"{path.name}: the workbook file is empty.", file=path.name)
        try:
            self._reader = fastexcel.read_excel(str(path))
        except Exception as exc:  # fastexcel raises its own error types
            raise UnreadableFileError(
                f"{path.name}: cannot be opened as an Excel workbook ({str(exc).splitlines()[0]}). "
                "Save it again as .xlsx, or export each table as CSV.", file=path.name) from None
        self.sheets = {normalise_header(s): s for s in self._reader.sheet_names}

    def read(self, table: str) -> RawTable:
        sheet = self.sheets[table]
        file = f"{self.path.name}[{sheet}]"
        try:
            frame = self._reader.load_sheet_by_name(sheet, dtypes="string").to_polars()
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UnreadableFileError(f"{file}: the sheet cannot be read ({message}).", file=file,
                                      table=table) from None
        if frame.width == 0:
            raise UnreadableFileError(f"{file}: the sheet is empty; expected a header row.", file=file,
                                      table=table)
        frame = _normalise_columns(frame, file)
        # Date cells come as 'YYYY-MM-DD 00:00:00'; whole numbers as '1990'.
        return RawTable(table, file, _clean_strings(frame.with_columns(pl.all().cast(pl.String))))


@dataclass
class Found:
    """What :func:`discover` found: table name → file, and the metadata file."""

    source: Path
    tables: dict[str, Path]
    metadata_file: Path
    workbook: Workbook | None = None
    warnings: list[str] = field(default_factory=list)

    def read(self, table: str) -> RawTable:
        if self.workbook is not None:
            return self.workbook.read(table)
        path = self.tables[table]
        if path.suffix.lower() == ".parquet":
            return read_parquet(path, table)
        return read_csv(path, table)


def discover(source: Path) -> Found:
    """Find the tables of an extract in a folder or workbook; refuse what cannot be an extract."""
    if not source.exists():
        raise ExtractError(f"{source}: no such file or folder.", file=str(source))
    if source.is_file():
        if source.suffix.lower() != ".xlsx":
            raise ExtractError(
                f"{source.name}: an extract is a folder of tables (Parquet or CSV) or one .xlsx workbook.",
                file=source.name)
        return _discover_workbook(source)
    files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    by_table: dict[str, list[Path]] = {}
    ignored: list[str] = []
    workbooks = [p for p in files if p.suffix.lower() == ".xlsx"]
    for p in files:
        stem = normalise_header(p.stem)
        if p.suffix.lower() in (".parquet", ".csv") and stem in TABLES:
            by_table.setdefault(stem, []).append(p)
        elif p.name != METADATA_FILE and p.suffix.lower() != ".xlsx":
            ignored.append(p.name)
    if not by_table and len(workbooks) == 1:
        return _discover_workbook(workbooks[0])
    for table, paths in by_table.items():
        if len(paths) > 1:
            raise ExtractError(
                f"{source}: table '{table}' is given twice ({', '.join(p.name for p in paths)}); keep one file.",
                file=paths[1].name, table=table)
    warnings = [f"{name}: not a table of the case extract, ignored." for name in ignored]
    if workbooks:
        warnings.append(f"{', '.join(p.name for p in workbooks)}: workbook ignored (the folder holds tables).")
    return Found(source, {t: ps[0] for t, ps in by_table.items()}, source / METADATA_FILE, warnings=warnings)


def _discover_workbook(path: Path) -> Found:
    book = Workbook(path)
    tables = {name: path for name in book.sheets if name in TABLES}
    warnings = [f"{path.name}: sheet '{sheet}' is not a table of the case extract, ignored."
                for name, sheet in book.sheets.items() if name not in TABLES]
    return Found(path, tables, path.parent / METADATA_FILE, workbook=book, warnings=warnings)
