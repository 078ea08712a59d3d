"""Finding and reading the files of a case extract.

The rules for real-world files (documented in ``docs/extract-contract.md``) are applied
per file, never guessed row by row:

* **Encoding**: a UTF-8 byte-order mark means UTF-8 (a UTF-16 one, UTF-16); otherwise the
  file is UTF-8 if all of it decodes as UTF-8, else Windows-1252 (which covers Latin-1's
  letters).
* **Delimiter**: whichever of comma, semicolon and tab occurs most often in the header
  line (comma on a tie).
* **Header names** are trimmed, lower-cased, and spaces or hyphens become ``_``. Two
  columns that read as the same name refuse the file; a column without a header is
  dropped when it is empty (Excel's trailing ``;;;``) and refuses the file otherwise.
* **Rows**: a row with more fields than the header refuses the file, naming the row; a
  row with fewer fields is read with the missing cells empty, and named in a warning.
* **Cells** are trimmed; an empty cell is "not recorded".
* **Limits**, checked before a file is parsed: :data:`MAX_FILE_BYTES` (a workbook:
  :data:`MAX_WORKBOOK_BYTES`), :data:`MAX_COLUMNS` header cells, :data:`MAX_CELL_CHARS`
  characters in a cell.
* **Workbooks**: one sheet per table, named after the table (any case); other sheets
  are listed as ignored. Cells are read as text, date cells as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.exceptions import ExtractError, UnreadableFileError
from workbench.contract.schema import TABLES

METADATA_FILE = "extract.yaml"
_SUFFIXES = (".parquet", ".csv", ".xlsx")

# Limits checked before a file is parsed (module settings: a larger organisation may raise them).
#: Columns of one table (the contract has about 30; a few hundred leaves room for extra columns).
MAX_COLUMNS = 500
#: Size of one CSV or Parquet file, and of a workbook.
MAX_FILE_BYTES = 1 << 30
MAX_WORKBOOK_BYTES = 200 << 20
#: One CSV cell (the csv module's own limit, 128 KiB).
MAX_CELL_CHARS = csv.field_size_limit()


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
    warnings: list[str] = field(default_factory=list)
    #: The distinct non-null values of the text columns that repeat (codes), found while the
    #: cells were checked for trimming; validation works on them instead of every cell.
    distinct: dict[str, pl.Series] = field(default_factory=dict)


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes by the file-level rule; returns (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _normalise_columns(frame: pl.DataFrame, file: str, headers: list[str] | None = None) -> pl.DataFrame:
    """Normalise the header names; drop empty unnamed columns, refuse clashes and unnamed data.

    ``headers`` are the header cells as written (default: the frame's column names).
    """
    headers = list(frame.columns) if headers is None else headers
    seen: dict[str, str] = {}
    keep: dict[str, str] = {}
    for position, (column, original) in enumerate(zip(frame.columns, headers), start=1):
        name = "" if original.startswith("__UNNAMED__") else normalise_header(original)
        if name == "":
            values = frame[column]
            if values.dtype == pl.String:
                values = values.str.strip_chars().replace("", None)
            if values.null_count() == len(values):
                continue  # an empty column without a header (trailing delimiters): nothing to read
            raise UnreadableFileError(
                f"{file}: column {position} has values but no header; every column needs a name.", file=file)
        if name in seen:
            raise UnreadableFileError(
                f"{file}: columns '{seen[name]}' and '{original}' both read as '{name}'; rename one.",
                file=file, column=name)
        seen[name] = original
        keep[column] = name
    return frame.select(pl.col(c).alias(n) for c, n in keep.items())


def _apply_header(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """A frame read without a header: its first row names the columns."""
    headers = ["" if v is None else str(v) for v in frame.row(0)]
    return _normalise_columns(frame.slice(1), file, headers)


def _size(n: int) -> str:
    return next(f"{n / 1024**p:,.0f} {unit}" for p, unit in ((3, "GB"), (2, "MB"), (1, "KB"), (0, "bytes"))
                if n >= 1024**p or p == 0)


def _too_big(file: str, size: int, limit: int, table: str | None = None) -> UnreadableFileError:
    return UnreadableFileError(f"{file}: {_size(size)}, over the limit of {_size(limit)} for one file of an "
                               "extract; split it by period or site.", file=file, table=table)


def _check_size(path: Path, limit: int, table: str | None = None) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFileError(f"{path.name}: cannot be read ({exc.strerror}).", file=path.name,
                                  table=table) from None
    if size > limit:
        raise _too_big(path.name, size, limit, table)
    return size


def _check_width(width: int, file: str, table: str) -> None:
    if width > MAX_COLUMNS:
        raise UnreadableFileError(
            f"{file}: the header has {width:,} columns, over the limit of {MAX_COLUMNS:,} for one table; "
            "check the delimiter, or keep only the columns of the extract contract.", file=file, table=table)


def _opening_quote_row(text: str) -> int | None:
    """The row (header = 0) of a quote that is never closed, counting quoted line breaks as in the cell."""
    row, inside, opened = 0, False, None
    for m in re.finditer(r'["\n]', text):
        if m.group() == '"':
            inside = not inside
            opened = row if inside else None
        elif not inside:
            row += 1
    return opened if inside else None


def _big_cell(text: str, sep: str, row: int, offset: int, file: str, table: str) -> UnreadableFileError:
    """The error for a cell over :data:`MAX_CELL_CHARS` in the record of ``row`` starting at ``offset``."""
    opened = _opening_quote_row(text)
    if opened is not None:
        return UnreadableFileError(f"{file}: a quote opened in row {opened} is never closed; close it (or "
                                   "remove it) so that the rows can be told apart.", file=file, table=table,
                                   row=opened)
    column, length, inside = 1, 0, False
    for ch in text[offset:offset + MAX_CELL_CHARS + 1_000_000]:
        if ch == '"':
            inside = not inside
        elif ch == sep and not inside:
            column, length = column + 1, 0
        elif ch == "\n" and not inside:
            break
        length += 1
        if length > MAX_CELL_CHARS:
            break
    return UnreadableFileError(f"{file}: row {row}, column {column}: a cell longer than {MAX_CELL_CHARS:,} "
                               "characters; an extract holds codes and dates, not documents.", file=file,
                               table=table, row=row)


def _field_counts(text: str, sep: str, file: str = "", table: str = "") -> list[int]:
    """The number of fields of every record (the header first); a blank line counts as a full row."""
    counts = []
    lines = io.StringIO(text, newline="")
    offsets = [0]  # where the record being read starts
    reader = csv.reader(lines, delimiter=sep, quotechar='"')
    try:
        for record in reader:
            offsets[0] = lines.tell()
            blank = not any(cell.strip() for cell in record)
            counts.append(-1 if blank else len(record))
    except csv.Error as exc:
        if "field larger than field limit" not in str(exc):
            raise UnreadableFileError(f"{file}: row {len(counts)} cannot be read as CSV ({exc}).", file=file,
                                      table=table, row=len(counts)) from None
        raise _big_cell(text, sep, len(counts), offsets[0], file, table) from None
    if counts and counts[0] < 0:
        counts[0] = 0
    width = counts[0] if counts else 0
    return [width if n < 0 else n for n in counts]


def _unclosed_quote_row(text: str, sep: str) -> int | None:
    """The row (header = 0) whose quote runs to the end of the file, if there is one."""
    if text.count('"') % 2 == 0:
        return None
    last = None
    for last, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"')):
        pass
    return last


def _rows_text(rows: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit:,} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def read_csv(path: Path, table: str, codes: dict[str, pl.Enum] | None = None,
             later: str | None = None) -> RawTable:
    file = path.name
    _check_size(path, MAX_FILE_BYTES, table)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"{file}: cannot be read ({exc.strerror}).", file=file, table=table) from None
    text, _encoding = decode(data)
    if not text.strip():
        raise UnreadableFileError(
            f"{file}: the file is empty. Expected a header row ({', '.join(TABLES[table].column_names)}) "
            "and one row per record.", file=file, table=table)
    if "\r" in text and "\n" not in text:  # old Macintosh line endings (Excel's "CSV (Macintosh)")
        text = text.replace("\r", "\n")
    text = text.lstrip("\r\n")  # blank lines before the header
    header = text.split("\n", 1)[0]
    sep = sniff_delimiter(header)
    _check_width(header.count(sep) + 1, file, table)  # an upper bound: quoted delimiters count too
    counts = _field_counts(text, sep, file, table)
    width = counts[0]
    long_rows = [i for i, n in enumerate(counts) if n > width]
    if long_rows:
        row = long_rows[0]
        raise UnreadableFileError(
            f"{file}: row {row} has {counts[row]} fields but the header has {width} (delimiter {sep!r}). "
            "A cell probably holds the delimiter without quotes: quote that cell or remove the extra "
            "delimiter.", file=file, table=table, row=row)
    try:
        frame = pl.read_csv(text.encode("utf-8"), separator=sep, has_header=False, infer_schema=False,
                            quote_char='"', raise_if_empty=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as exc:
        row = _unclosed_quote_row(text, sep)
        where = (f"a quote opened in row {row} is never closed" if row is not None else
                 f"{_first_line(exc)}. Check that every row has as many fields as the header and that quotes "
                 "are closed")
        raise UnreadableFileError(f"{file}: cannot be read as CSV with delimiter {sep!r}: {where}.",
                                  file=file, table=table, row=row) from None
    if frame.height == 0:
        raise UnreadableFileError(f"{file}: no header row could be read.", file=file, table=table)
    if frame.height != len(counts):  # pragma: no cover - the two parsers disagree on the records
        raise UnreadableFileError(
            f"{file}: cannot be read as CSV with delimiter {sep!r}: the rows could not be told apart "
            "(check the quotes).", file=file, table=table)
    frame, distinct = _clean_strings(_apply_header(frame, file), codes, later)
    warnings = []
    short = [i for i, n in enumerate(counts) if 0 < i and n < width]
    if short:
        warnings.append(f"{file}: {_rows_text(short)} {'have' if len(short) > 1 else 'has'} fewer fields than "
                        "the header; the missing cells are read as empty.")
    return RawTable(table, file, frame, warnings, distinct)


#: A text column with at most this many different values in its first :data:`_HEAD_ROWS` rows is
#: worked on through its distinct values (codes repeat; identifiers do not).
_FEW_DISTINCT = 1_000
_HEAD_ROWS = 10_000


def _trimmed(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().replace("", None)


def _needs_trimming(expr: pl.Expr) -> pl.Expr:
    """Whether any cell has spaces around it or is empty (trimming shortens a cell that needs it)."""
    length = expr.str.len_bytes()
    return ((expr.str.strip_chars().str.len_bytes() < length) | (length == 0)).any()


def needs_trimming(values: pl.Series) -> bool:
    """Whether a text cell of ``values`` has spaces around it or is empty (reading trims it, or
    reads it as empty)."""
    return values.dtype == pl.String and bool(values.to_frame("v").select(_needs_trimming(pl.col("v"))).item())


def _as_codes(frame: pl.DataFrame, codes: dict[str, pl.Enum]) -> dict[str, pl.Series]:
    """The text columns of ``codes`` whose every cell is one of its codes as written, cast to it."""
    if not codes:
        return {}
    cast = frame.select(_as_code(c, dtype) for c, dtype in codes.items())
    return {c: cast[c] for c in codes if cast[c].null_count() == frame[c].null_count()}


#: A vocabulary of at most this many codes is matched code by code rather than cast: up to about six,
#: comparing every cell with each code costs less than the cast's look-up (contacts' channel, five
#: codes: 13 against 29 ms for 2.6M cells; topic, thirteen: 35 against 32).
_COMPARED_CODES = 6


def _as_code(column: str, dtype: pl.Enum) -> pl.Expr:
    """Column ``column`` as a code of ``dtype`` where it is one as written, else null."""
    if len(dtype.categories) > _COMPARED_CODES:
        return pl.col(column).cast(dtype, strict=False)
    return pl.coalesce([pl.when(pl.col(column) == code).then(pl.lit(code, dtype=dtype))
                        for code in dtype.categories]).alias(column)


def _clean_strings(frame: pl.DataFrame, codes: dict[str, pl.Enum] | None = None,
                   later: str | None = None) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Trim text cells; an empty cell becomes null. Returns the frame and the distinct non-null
    values of its text columns that repeat.

    Only the columns that need it are rewritten (a clean Parquet file is left as it is,
    which saves a copy of every text column). A column that repeats is checked through its
    distinct values rather than cell by cell. A column of ``codes`` (column → the Enum of its
    codes) whose every cell is one of its codes, as written, is cast to that Enum instead: nothing
    in it needs trimming, and validation reads its few categories (one pass instead of three).
    Column ``later`` is left as written: the caller checks it later (:func:`needs_trimming`).
    """
    text = [c for c, t in frame.schema.items() if t == pl.String and c != later]
    coded = _as_codes(frame, {c: dtype for c, dtype in (codes or {}).items() if c in text})
    if coded:
        frame = frame.with_columns(coded.values())
        text = [c for c in text if c not in coded]
    if not text:
        return frame, {}
    seen = frame.head(_HEAD_ROWS).select(pl.col(c).n_unique() for c in text).row(0)
    few = [c for c, n in zip(text, seen) if n <= _FEW_DISTINCT]
    many = [c for c in text if c not in few]
    lists = frame.select(pl.col(c).drop_nulls().unique().implode() for c in few) if few else None
    distinct = {c: lists[c][0] for c in few}
    dirty = {c for c, values in distinct.items() if values.to_frame(c).select(_needs_trimming(pl.col(c))).item()}
    if many:
        flags = frame.select(_needs_trimming(pl.col(c)).alias(c) for c in many).row(0)
        dirty |= {c for c, d in zip(many, flags) if d}
    if not dirty:
        return frame, distinct
    for c in dirty & set(few):
        distinct[c] = distinct[c].to_frame(c).select(_trimmed(pl.col(c)).drop_nulls().unique()).to_series()
    return frame.with_columns(_trimmed(pl.col(c)).alias(c) for c in text if c in dirty), distinct


def read_parquet(path: Path, table: str, codes: dict[str, pl.Enum] | None = None,
                 later: str | None = None) -> RawTable:
    file = path.name
    if _check_size(path, MAX_FILE_BYTES, table) == 0:
        raise UnreadableFileError(f"{file}: the file is empty.", file=file, table=table)
    try:
        _check_width(len(pl.read_parquet_schema(path)), file, table)
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UnreadableFileError(f"{file}: not a readable Parquet file ({_first_line(exc)}).", file=file,
                                  table=table) from None
    frame = _normalise_columns(frame, file)
    # Enum and categorical columns stay so: their few categories are checked, not every cell.
    frame, distinct = _clean_strings(frame, codes, later)
    return RawTable(table, file, frame, distinct=distinct)


class Workbook:
    """An ``.xlsx`` workbook read through fastexcel (calamine)."""

    def __init__(self, path: Path) -> None:
        import fastexcel

        self.path = path
        if _check_size(path, MAX_WORKBOOK_BYTES) == 0:
            raise UnreadableFileError(f"{path.name}: the workbook file is empty.", file=path.name)
        try:
            self._reader = fastexcel.read_excel(str(path))
        except Exception as exc:  # fastexcel raises its own error types
            raise UnreadableFileError(
                f"{path.name}: cannot be opened as an Excel workbook ({_first_line(exc)}). "
                "Save it again as .xlsx, or export each table as CSV.", file=path.name) from None
        self.sheets = {normalise_header(s): s for s in self._reader.sheet_names}

    def read(self, table: str, codes: dict[str, pl.Enum] | None = None, later: str | None = None) -> RawTable:
        sheet = self.sheets[table]
        file = f"{self.path.name}[{sheet}]"
        try:
            width = self._reader.load_sheet_by_name(sheet, header_row=None, n_rows=1).width
        except Exception as exc:
            raise UnreadableFileError(f"{file}: the sheet cannot be read ({_first_line(exc)}).", file=file,
                                      table=table) from None
        _check_width(width, file, table)
        try:
            frame = self._reader.load_sheet_by_name(sheet, dtypes="string", header_row=None).to_polars()
        except Exception as exc:
            raise UnreadableFileError(f"{file}: the sheet cannot be read ({_first_line(exc)}).", file=file,
                                      table=table) from None
        if frame.width == 0 or frame.height == 0:
            raise UnreadableFileError(f"{file}: the sheet is empty; expected a header row.", file=file,
                                      table=table)
        # The header row is read as data so that duplicate or empty header cells are seen as
        # written. Date cells come as 'YYYY-MM-DD 00:00:00'; whole numbers as '1990'.
        frame = _apply_header(frame.with_columns(pl.all().cast(pl.String)), file)
        frame, distinct = _clean_strings(frame, codes, later)
        return RawTable(table, file, frame, distinct=distinct)


@dataclass
class Found:
    """What :func:`discover` found: table name → file, and the metadata file."""

    source: Path
    tables: dict[str, Path]
    metadata_file: Path
    workbook: Workbook | None = None
    warnings: list[str] = field(default_factory=list)

    def read(self, table: str, codes: dict[str, pl.Enum] | None = None, later: str | None = None) -> RawTable:
        """Table ``table`` as read; ``codes``: columns expected to hold codes, ``later``: a column
        left untrimmed, checked later by the caller (:func:`_clean_strings`)."""
        if self.workbook is not None:
            return self.workbook.read(table, codes, later)
        path = self.tables[table]
        if path.suffix.lower() == ".parquet":
            return read_parquet(path, table, codes, later)
        return read_csv(path, table, codes, later)


def _declared_catalogue(folder: Path) -> str | None:
    """The file name ``catalogue:`` of the folder's ``extract.yaml`` names (``None``: none)."""
    from workbench import safeyaml

    meta = folder / METADATA_FILE
    try:
        data = safeyaml.load(meta.read_text(encoding="utf-8")) if meta.is_file() else None
    except Exception:  # a broken extract.yaml is reported where it is read as metadata
        return None
    declared = data.get("catalogue") if isinstance(data, dict) else None
    return Path(str(declared)).name if declared and Path(str(declared)).parent == Path(".") else None


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
    own = _declared_catalogue(source)  # the organisation's catalogue file is not a table
    files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))
                   and p.name != own)
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
