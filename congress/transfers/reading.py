"""Reading an uploaded spreadsheet one row at a time: .xlsx through openpyxl's read-only mode,
.csv through the csv module (UTF-8, comma or semicolon). Nothing here holds the whole sheet:
rows are yielded as they are read, and the reader stops at the row limit.
"""
from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from congress.errors import Unprocessable
from congress.text import clean_text

from .columns import Column, heading_key, lookup
from .exporting import ESCAPE, needs_escape

#: the widest sheet read; cells past it are ignored
MAX_COLUMNS = 40
#: how far down the heading row may be (offices put a title above it)
HEADING_SEARCH_ROWS = 10
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls (Excel 97-2003)


class Formula(str):
    """A cell that holds a formula ("=SUM(B2:B9)") rather than a value."""


def unescape_text(value):
    """A text cell as it was before our exports escaped it (congress.transfers.exporting.
    spreadsheet_text): the apostrophe before text that would run as a formula is dropped; nothing
    else is touched."""
    if isinstance(value, str) and not isinstance(value, Formula) and value.startswith(ESCAPE) \
            and needs_escape(value[1:]):
        return value[1:]
    return value


@dataclass(frozen=True)
class Sheet:
    #: (row number as the spreadsheet shows it, cells) for each row under the heading
    rows: Iterator[tuple[int, list]]
    #: index of each recognised column
    columns: dict[int, Column]
    #: a rough count of the rows, for the progress bar (0 when unknown)
    estimate: int


def _is_xlsx(content: bytes) -> bool:
    return content.startswith(XLSX_MAGIC)


def _xlsx_rows(content: bytes) -> tuple[Iterator[list], int]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # read_only streams the sheet; data_only=False keeps formulas visible as formulas
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        sheet = workbook.worksheets[0]
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError):
        raise Unprocessable("import_not_spreadsheet") from None
    try:
        estimate = int(sheet.max_row or 0)
    except (TypeError, ValueError):
        estimate = 0

    def rows() -> Iterator[list]:
        try:
            for cells in sheet.iter_rows(max_col=MAX_COLUMNS):
                yield [Formula(str(c.value)) if getattr(c, "data_type", None) == "f" else unescape_text(c.value)
                       for c in cells]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise Unprocessable("import_not_spreadsheet", {"detail": type(exc).__name__}) from None
        finally:
            workbook.close()

    return rows(), estimate


def _csv_rows(content: bytes) -> tuple[Iterator[list], int]:
    if b"\x00" in content[:4096]:
        raise Unprocessable("import_not_spreadsheet")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("import_csv_encoding") from None
    first = text[:4096].split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if first.count("\t") > first.count(",") else ",")
    estimate = text.count("\n") + 1

    def rows() -> Iterator[list]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for cells in reader:
                yield [unescape_text(c) for c in cells[:MAX_COLUMNS]]
        except csv.Error as exc:
            raise Unprocessable("import_bad_csv", {"line": reader.line_num, "detail": str(exc)[:120]}) from None

    return rows(), estimate


def _blank(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def open_sheet(filename: str, content: bytes, kind: str, max_rows: int) -> Sheet:
    """Find the heading row and return the rows under it; refuse what is not a sheet of ``kind``."""
    if not content:
        raise Unprocessable("import_empty_file")
    if content.startswith(OLE_MAGIC):
        raise Unprocessable("import_old_excel")
    name = (filename or "").lower()
    if _is_xlsx(content):
        raw, estimate = _xlsx_rows(content)
    elif name.endswith((".xlsx", ".xlsm", ".xls")):
        raise Unprocessable("import_not_spreadsheet")
    else:
        raw, estimate = _csv_rows(content)
    known = lookup(kind)
    number = 0
    for cells in raw:
        number += 1
        if number > HEADING_SEARCH_ROWS:
            break
        found = {i: known[heading_key(c)] for i, c in enumerate(cells)
                 if isinstance(c, str) and heading_key(c) in known}
        if len(found) >= 2 or (found and all(col.required for col in found.values())
                               and {col.field for col in found.values()} >= _required(kind)):
            _check_columns(kind, found)
            return Sheet(_limited(raw, number, max_rows), found, max(0, estimate - number))
    raise Unprocessable("import_missing_columns", {"columns": [c.heading for c in _required_columns(kind)]})


def _required(kind: str) -> set[str]:
    return {c.field for c in _required_columns(kind)}


def _required_columns(kind: str) -> list[Column]:
    from .columns import COLUMNS

    return [c for c in COLUMNS[kind] if c.required]


def _check_columns(kind: str, found: dict[int, Column]) -> None:
    fields = [c.field for c in found.values()]
    twice = sorted({c.heading for c in found.values() if fields.count(c.field) > 1})
    if twice:
        raise Unprocessable("import_duplicate_columns", {"columns": twice})
    missing = [c.heading for c in _required_columns(kind) if c.field not in fields]
    if missing:
        raise Unprocessable("import_missing_columns", {"columns": missing})


def _limited(raw: Iterator[list], heading_row: int, max_rows: int) -> Iterator[tuple[int, list]]:
    """The rows under the heading, blank ones skipped; more than ``max_rows`` is refused."""
    number = heading_row
    for cells in raw:
        number += 1
        if number - heading_row > max_rows:
            raise Unprocessable("import_too_many_rows", {"limit": max_rows})
        if not _blank(cells):
            yield number, cells


# --- cell values ---------------------------------------------------------------------------

class CellProblem(Exception):
    def __init__(self, code: str, params: dict | None = None):
        super().__init__(code)
        self.code = code
        self.params = params or {}


DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y")
TEXT_LIMIT = 200


def cell_value(column: Column, value, warnings: list) -> object:
    """The cell as the column's type; None when empty. Raises CellProblem when it cannot be."""
    if isinstance(value, Formula):
        raise CellProblem("import_formula", {"column": column.heading, "value": str(value)[:60]})
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column.type == "date":
        return _date(column, value)
    if column.type == "int":
        return _int(column, value)
    if column.type == "code":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()[:20]
    return _text(column, value, warnings)


def _date(column: Column, value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellProblem("import_bad_date", {"column": column.heading, "value": text[:40]})


def _int(column: Column, value) -> int:
    if isinstance(value, bool):
        raise CellProblem("import_bad_number", {"column": column.heading, "value": str(value)})
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellProblem("import_bad_number", {"column": column.heading, "value": str(value)})
    original = str(value).strip()
    text = original.replace("\u00a0", "").replace(" ", "")
    digits = text.replace(".", "") if text.count(".") and all(len(p) == 3 for p in text.split(".")[1:]) else text
    if digits.isdigit() or (digits.startswith("-") and digits[1:].isdigit()):
        return int(digits)
    raise CellProblem("import_bad_number", {"column": column.heading, "value": original[:40]})


def _text(column: Column, value, warnings: list) -> str | None:
    raw = str(value)
    if isinstance(value, float) and value.is_integer():
        raw = str(int(value))
    if unicodedata.normalize("NFC", raw) != raw:
        warnings.append({"code": "import_not_nfc", "params": {"column": column.heading}})
    try:
        text = clean_text(raw, max_length=TEXT_LIMIT)
    except ValueError:
        raise CellProblem("import_text_too_long", {"column": column.heading, "limit": TEXT_LIMIT}) from None
    if text is not None and text != unicodedata.normalize("NFC", raw).strip():
        warnings.append({"code": "import_control_characters", "params": {"column": column.heading}})
    return text
