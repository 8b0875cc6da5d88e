"""Lists as spreadsheets: one helper writes any table as .xlsx (openpyxl, streamed: frozen
heading, autofilter, column widths, fills in the dashboard's colours) or .csv (UTF-8 with a BOM
so that Excel reads the diacritics). The city matrix, the dashboard's lists and a unit's
branches, steps and history are tables built here from the queries the pages use.

Text that a spreadsheet program would run as a formula (starting with = + - @, a tab or a carriage
return) is written behind an apostrophe, as a string cell in .xlsx and in .csv alike:
:func:`spreadsheet_text` is the one escape every .xlsx and .csv the app writes goes through (the
progress report's too), and congress.transfers.reading undoes exactly it when a file comes back.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from congress.papers.names import safe_filename
from workflows.deadlines import LOCAL_TZ

from .columns import BRANCH_COLUMNS, BRANCH_KIND_WORDS, PROGRESS_COLUMNS, STATE_WORDS, UNIT_COLUMNS, UNIT_KIND_WORDS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")

#: (text colour, fill) per state and risk, as in congress/static/congress.css
FILLS = {
    "not_started": ("555555", "EFEFEF"), "in_progress": ("5B4200", "FFF4C2"),
    "submitted": ("4B2A86", "EFE6FB"), "approved": ("1C6B2A", "E3F4E6"),
    "done": ("1F4E8C", "E4EEFA"), "not_applicable": ("555555", "FFFFFF"),
    "overdue": ("A50E0E", "FDE8E8"),
    "late": ("A50E0E", "FDE8E8"), "at_risk": ("8A4B00", "FFF1D6"), "on_track": ("1C6B2A", "E3F4E6"),
}
HEADING_FILL = ("FFFFFF", "A50E0E")
RISK_WORDS = {"late": "trễ hạn", "at_risk": "có nguy cơ", "on_track": "đúng tiến độ", "done": "hoàn thành"}
#: what makes a spreadsheet program read a text cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def needs_escape(text: str) -> bool:
    """Whether ``text`` is escaped: it starts like a formula, or it is an apostrophe before text
    that would be escaped ("'=x" becomes "''=x"), so that un-escaping gives back every text."""
    while text.startswith(ESCAPE):
        text = text[1:]
    return text.startswith(FORMULA_START)


def spreadsheet_text(value):
    """A cell's value as every export writes it: text that would run as a formula behind an
    apostrophe; any other value (numbers, dates, other text) as it is."""
    if isinstance(value, str) and needs_escape(value):
        return ESCAPE + value
    return value


@dataclass(frozen=True)
class Cell:
    """A value with a fill: the key of FILLS (a state or a risk)."""
    value: object
    fill: str | None = None


@dataclass
class Table:
    title: str
    headings: Sequence[str]
    rows: Iterable[Sequence]
    widths: Sequence[int] = field(default_factory=tuple)
    #: rows that show how to fill the table in, on a sheet of their own ("Ví dụ") that is never imported
    examples: Sequence[Sequence] = ()


@dataclass(frozen=True)
class Made:
    filename: str
    content: bytes
    mimetype: str


def write(table: Table, fmt: str, stem: str) -> Made:
    if fmt == "csv":
        return Made(safe_filename(stem, "csv"), _csv(table), CSV)
    return Made(safe_filename(stem, "xlsx"), _xlsx(table), XLSX)


def _plain(value) -> object:
    if isinstance(value, Cell):
        value = value.value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)  # Excel has no time zones
    return value


def _csv_text(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(spreadsheet_text(value))


def _csv(table: Table) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(table.headings)
    for row in table.rows:
        writer.writerow([_csv_text(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _styles():
    fills = {key: (Font(color=fg), PatternFill("solid", start_color=bg, end_color=bg))
             for key, (fg, bg) in FILLS.items()}
    heading = (Font(bold=True, color=HEADING_FILL[0]),
               PatternFill("solid", start_color=HEADING_FILL[1], end_color=HEADING_FILL[1]))
    return fills, heading


def _xlsx(table: Table) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.title[:31] or "Sheet1")
    sheet.freeze_panes = "A2"
    columns = len(table.headings)
    fills, heading_style = _styles()
    _heading(sheet, table, heading_style)
    count = 0
    for row in table.rows:
        count += 1
        cells = []
        for value in row:
            cell = _value_cell(sheet, value)
            if isinstance(value, Cell) and value.fill in fills:
                cell.font, cell.fill = fills[value.fill]
            cells.append(cell)
        sheet.append(cells)
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(columns, 1))}{count + 1}"
    if table.examples:
        _examples(workbook, table, heading_style)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _heading(sheet, table: Table, style) -> None:
    """A sheet's column widths and its heading row, in the exports' heading style."""
    font, fill = style
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, width in enumerate(table.widths or [18] * len(table.headings), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    cells = []
    for text in table.headings:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill, cell.alignment = font, fill, wrap
        cells.append(cell)
    sheet.append(cells)


def _value_cell(sheet, value) -> WriteOnlyCell:
    """One value as a cell: text stays text (never a formula), days and times read as such."""
    cell = WriteOnlyCell(sheet, value=spreadsheet_text(_plain(value)))
    if isinstance(cell.value, str):
        cell.data_type = "s"
    if isinstance(cell.value, (date, datetime)):
        cell.number_format = "DD/MM/YYYY" if not isinstance(cell.value, datetime) else "DD/MM/YYYY HH:MM"
    return cell


def _examples(workbook, table: Table, heading_style) -> None:
    """The template's example rows, on a second sheet: the import reads the first sheet only."""
    sheet = workbook.create_sheet(EXAMPLE_SHEET)
    _heading(sheet, table, heading_style)
    for row in table.examples:
        sheet.append([_value_cell(sheet, value) for value in row])


# --- importable layouts: the templates and the lists that can be imported back ---------------

EXAMPLE_SHEET = "Ví dụ"
TEMPLATE_TITLES = {"units": "Đơn vị", "branches": "Chi bộ", "progress": "Tiến độ"}
#: how a filled-in row looks, in the words the import reads (the template's "Ví dụ" sheet)
TEMPLATE_EXAMPLES = {
    "units": [["10891", "Phường Tứ Minh", UNIT_KIND_WORDS["phuong"], "31", 2150, date(2025, 8, 20)]],
    "branches": [
        ["10891", "", "Chi bộ Khu dân cư số 1", BRANCH_KIND_WORDS["chi_bo"], "Nguyễn Văn An", 35,
         date(2025, 7, 20), None, None, None],
        ["10891", "10891-003", "Chi bộ Khu dân cư số 3", BRANCH_KIND_WORDS["chi_bo"], "Trần Thị Bình", 42,
         date(2025, 7, 18), date(2025, 7, 18), 40, "Lê Văn Cường"],
    ],
    "progress": [
        ["10891", "", "plan", STATE_WORDS["done"], date(2025, 7, 1), None, None, date(2025, 7, 6),
         "Kế hoạch số 12-KH/ĐU"],
        ["10891", "10891-003", "congress", STATE_WORDS["done"], None, None, None, date(2025, 7, 18), None],
    ],
}


def template(kind: str) -> Table:
    from .columns import COLUMNS

    columns = COLUMNS[kind]
    return Table(TEMPLATE_TITLES[kind], [c.heading for c in columns], [], [c.width for c in columns],
                 examples=TEMPLATE_EXAMPLES[kind])


def template_name(kind: str) -> str:
    """The template's file name, without its extension: "Mẫu nhập chi bộ"."""
    return f"Mẫu nhập {TEMPLATE_TITLES[kind].lower()}"


def units_table(units: Iterable, congress_dates: dict[int, date]) -> Table:
    rows = ([u.code, u.name, UNIT_KIND_WORDS.get(u.kind, u.kind), u.province_code, u.members,
             congress_dates.get(u.id)] for u in units)
    return Table("Đơn vị", [c.heading for c in UNIT_COLUMNS], rows, [c.width for c in UNIT_COLUMNS])


def branches_table(unit, branches: Iterable) -> Table:
    rows = ([unit.code, b.code, b.name, BRANCH_KIND_WORDS.get(b.kind, b.kind), b.secretary, b.members,
             b.planned_on, b.held_on, b.delegates, b.new_secretary] for b in branches)
    return Table("Chi bộ", [c.heading for c in BRANCH_COLUMNS], rows, [c.width for c in BRANCH_COLUMNS])


def progress_table(unit, unit_steps: Sequence, branch_steps: dict[int, Sequence], branches: Sequence,
                   unit_titles: dict[str, str], branch_titles: dict[str, str]) -> Table:
    """A unit's steps, then each branch's, in the import's layout (the step by its key)."""
    def line(branch_code, step):
        return [unit.code, branch_code, step.key, Cell(STATE_WORDS[step.state], step.state), step.started_on,
                step.submitted_on, step.approved_on, step.completed_on, step.reason or step.note]

    def rows():
        for step in unit_steps:
            yield line(None, step)
        for branch in branches:
            for step in branch_steps.get(branch.id, []):
                yield line(branch.code, step)

    return Table("Tiến độ", [c.heading for c in PROGRESS_COLUMNS], rows(), [c.width for c in PROGRESS_COLUMNS])


# --- the city's matrix and lists ---------------------------------------------------------------

def matrix_table(matrix, facts_by_unit: dict[int, dict], today: date) -> Table:
    """Units × steps: each cell the state's word and its date (done on, or the last day)."""
    columns = matrix.columns
    headings = ["Mã đơn vị", "Đơn vị", "Loại", "Mức độ", "Tiến độ (%)", "Hạn cuối"] + [
        f"{c.number}. {c.step.title_vi}" for c in columns]
    widths = [11, 28, 10, 14, 11, 12] + [22] * len(columns)

    def cell(fact, matrix_cell) -> Cell:
        if matrix_cell.state is None:
            return Cell(None)
        state = matrix_cell.state.value
        words = STATE_WORDS[state]
        completed = getattr(fact, "completed_on", None)
        if completed and state == "done":
            return Cell(f"{words} {completed.strftime('%d/%m/%Y')}", state)
        if matrix_cell.due is not None and state not in ("done", "not_applicable"):
            day = matrix_cell.due.last_allowed_day.strftime("%d/%m/%Y")
            if matrix_cell.overdue:
                return Cell(f"quá hạn · {words} · hạn {day}", "overdue")
            return Cell(f"{words} · hạn {day}", state)
        return Cell(words, state)

    def rows():
        for row in matrix.rows:
            facts = facts_by_unit.get(row.unit.id, {})
            readiness = row.readiness
            yield [row.unit.code, row.unit.name, UNIT_KIND_WORDS.get(row.unit.kind, row.unit.kind),
                   Cell(RISK_WORDS.get(readiness.risk.value, readiness.risk.value), readiness.risk.value),
                   readiness.percent, readiness.deadline.last_allowed_day] + [
                cell(facts.get(c.key), c) for c in row.cells]

    return Table("Ma trận", headings, rows(), widths)


def overdue_table(items) -> Table:
    rows = ([i.unit.code, i.unit.name, i.step.title_vi, i.due.last_allowed_day, Cell(i.days, "overdue")]
            for i in items)
    return Table("Quá hạn", ["Mã đơn vị", "Đơn vị", "Bước", "Hạn cuối", "Số ngày quá hạn"], rows,
                 [11, 28, 40, 12, 14])


def due_soon_table(items) -> Table:
    rows = ([i.unit.code, i.unit.name, i.step.title_vi, i.due.last_allowed_day, i.days,
             Cell(STATE_WORDS[i.state.value], i.state.value)] for i in items)
    return Table("Đến hạn 7 ngày", ["Mã đơn vị", "Đơn vị", "Bước", "Hạn cuối", "Còn (ngày)", "Trạng thái"], rows,
                 [11, 28, 40, 12, 11, 18])


def approvals_table(pending) -> Table:
    rows = ([p.unit.code, p.unit.name, p.definition.title_vi, p.step.submitted_on, p.step.note] for p in pending)
    from congress.messages import current_approver

    # the sheet is named for the level the steps wait on, as the campaign's workflow names it
    return Table(f"Chờ {current_approver().words('vi')}"[:31], ["Mã đơn vị", "Đơn vị", "Bước", "Ngày trình", "Ghi chú"],
                 rows, [11, 28, 40, 12, 40])


def history_table(entries) -> Table:
    def changes(entry) -> str:
        return "; ".join(f"{label}: {old} → {new}" for label, old, new in entry.changes)

    rows = ([e.record.at, e.who, e.what, e.subject, changes(e), e.reason] for e in entries)
    return Table("Lịch sử", ["Thời điểm", "Người thực hiện", "Việc", "Nội dung", "Thay đổi", "Lý do"], rows,
                 [17, 26, 24, 30, 50, 30])
