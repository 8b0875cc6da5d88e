"""The city's "Báo cáo tiến độ chuẩn bị đại hội" as of a chosen day, as .docx and .xlsx.

The figures come from congress.progress.queries.province_overview with the chosen day as
"today", the computation behind /api/v1/readiness, so both say the same for the same day. A past
day is that day's picture: the steps, branches and dates as they were at its end, rebuilt from
the audit log (congress.progress.history).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale

from congress.formatting import number, short_date
from congress.messages import RISK_LABELS, describe_reason
from congress.progress import queries
from congress.progress.queries import ProvinceOverview
from congress.units.models import Province
from workflows.readiness import Risk

from . import generate, layout, numbering, templates
from .context import place_name, province_words, term_words

KIND_WORDS = {"xa": "Xã", "phuong": "Phường", "dac_khu": "Đặc khu"}


@dataclass(frozen=True)
class Report:
    overview: ProvinceOverview
    values: dict
    tables: dict
    late: list


def _vi_risk(risk: Risk) -> str:
    with force_locale("vi"):
        return str(RISK_LABELS[risk])


def _vi_reasons(row) -> str:
    with force_locale("vi"):
        return " ".join(describe_reason(r) for r in row.readiness.reasons)


def tasks_text(overview: ProvinceOverview) -> str:
    from congress.api.serializers import tasks

    with force_locale("vi"):
        return tasks(overview.readiness.tasks)["text"]


def build(province: Province, as_of: date) -> Report:
    overview = queries.province_overview({province.code}, as_of=as_of)
    r = overview.readiness
    rows = overview.rows
    late = [row for row in rows if row.readiness.risk is Risk.LATE]
    campaign = overview.campaign
    values = {
        **province_words(province),
        "term": term_words(campaign.term) if campaign else "2025 - 2030",
        "campaign.name": campaign.name_vi if campaign else None,
        "campaign.deadline": _deadline(campaign),
        "campaign.deadline_basis": campaign.deadline_basis if campaign else None,
        "report.as_of": as_of,
        "report.units": r.units,
        "report.percent": r.percent,
        "report.done": r.by_risk[Risk.DONE],
        "report.on_track": r.by_risk[Risk.ON_TRACK],
        "report.at_risk": r.by_risk[Risk.AT_RISK],
        "report.late": r.by_risk[Risk.LATE],
        "report.branches_held": r.branches_held,
        "report.branches_total": r.branches_total,
        "report.congresses_held": sum(1 for row in rows if "congress" in
                                      {f.key for f in row.steps if f.state.value == "done"}),
        "tasks.text": tasks_text(overview),
        "tasks.assigned": r.tasks.assigned,
        "tasks.done": r.tasks.done,
        "tasks.in_progress": r.tasks.in_progress,
        "tasks.overdue": r.tasks.overdue,
        "signer.name": "",
        "today": as_of,
    }
    n = lambda v: number(v, locale="vi")  # noqa: E731
    unit_rows = [("TT", "Đơn vị", "Tiến độ", "Nhiệm vụ hoàn thành", "Chi bộ đã đại hội", "Ngày đại hội",
                  "Đánh giá")]
    for index, row in enumerate(rows, start=1):
        ready = row.readiness
        unit_rows.append((str(index), row.unit.name, f"{ready.percent}%",
                          f"{n(ready.steps_done)}/{n(ready.steps_total)}",
                          f"{n(ready.branches_held)}/{n(ready.branches_total)}",
                          short_date(row.preparation.congress_on, locale="vi") or "…",
                          _vi_risk(ready.risk)))
    late_rows = [("TT", "Đơn vị", "Lý do")]
    for index, row in enumerate(late, start=1):
        late_rows.append((str(index), row.unit.name, _vi_reasons(row)))
    if not late:
        late_rows.append(("", "Không có đơn vị chậm tiến độ.", ""))
    tables = {
        "units": layout.Table(tuple(unit_rows), widths=(0.8, 3.6, 1.4, 1.9, 1.9, 1.9, 2.0),
                              align=("center", "left", "center", "center", "center", "center", "left"),
                              font_pt=11),
        "late_units": layout.Table(tuple(late_rows), widths=(0.8, 3.4, 9.2), align=("center", "left", "left"),
                                   font_pt=11),
    }
    return Report(overview, values, tables, late)


def _deadline(campaign) -> str | None:
    if campaign is None:
        return None
    word = "trước" if campaign.deadline.kind.value == "before" else "chậm nhất"
    return f"{word} ngày {short_date(campaign.deadline.day, locale='vi')}"


def docx(province: Province, as_of: date, settings: layout.LayoutSettings | None = None) -> generate.Made:
    """The report in the Party's format, issued by the city's standing committee (a draft)."""
    settings = settings or layout.current_settings()
    report = build(province, as_of)
    template = templates.load_builtin(generate.PROGRESS_REPORT.key)
    superior, issuer_body = generate.heading_lines("city", None, province)
    document = generate.document_values(
        superior=superior, issuer_body=issuer_body, number=None, abbreviation=generate.PROGRESS_REPORT.abbreviation,
        issuer_symbol=numbering.ISSUER_SYMBOLS["city"], day=as_of, place=place_name(province.name), draft=True)
    papers = generate.compose(template, report.values, report.tables, [document] * len(template.parts))
    content = layout.render(papers, layout.DraftMark(), settings,
                            title=f"{generate.PROGRESS_REPORT.title_vi} – {province.name}", created=as_of)
    stem = f"{generate.PROGRESS_REPORT.title_vi} - {province.name} - {as_of:%d-%m-%Y}"
    from .names import safe_filename

    return generate.Made(safe_filename(stem, "docx"), content)


def xlsx(province: Province, as_of: date) -> generate.Made:
    """The same figures as a spreadsheet: one row per unit, the header frozen; a summary sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from congress.transfers.exporting import spreadsheet_text as escaped  # text never runs as a formula

    report = build(province, as_of)
    book = Workbook()
    sheet = book.active
    sheet.title = "Tiến độ"
    headers = ["Mã đơn vị", "Đơn vị", "Loại", "Tiến độ", "Nhiệm vụ hoàn thành", "Tổng số nhiệm vụ",
               "Nhiệm vụ quá hạn", "Chi bộ đã đại hội", "Tổng số chi bộ", "Ngày đại hội", "Hạn hoàn thành",
               "Số ngày còn lại", "Đánh giá", "Lý do"]
    sheet.append(headers)
    bold = Font(name="Times New Roman", bold=True)
    for cell in sheet[1]:
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for row in report.overview.rows:
        ready = row.readiness
        sheet.append([escaped(value) for value in (
            row.unit.code, row.unit.name, KIND_WORDS.get(row.unit.kind, row.unit.kind),
            ready.percent / 100, ready.steps_done, ready.steps_total, len(ready.overdue),
            ready.branches_held, ready.branches_total, row.preparation.congress_on,
            ready.deadline.last_allowed_day, ready.days_left, _vi_risk(ready.risk), _vi_reasons(row))])
    formats = {4: "0%", 5: "#,##0", 6: "#,##0", 7: "#,##0", 8: "#,##0", 9: "#,##0", 10: "dd/mm/yyyy",
               11: "dd/mm/yyyy", 12: "0"}
    for column, fmt in formats.items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = fmt
    widths = [10, 28, 9, 9, 12, 12, 11, 12, 11, 13, 13, 10, 14, 60]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{sheet.max_row}"

    summary = book.create_sheet("Tổng hợp")
    v = report.values
    t = report.overview.readiness.tasks
    lines = [("Báo cáo tiến độ chuẩn bị đại hội", v["province.name"]),
             ("Tính đến ngày", as_of),
             ("Số đơn vị", v["report.units"]),
             ("Tiến độ bình quân", v["report.percent"] / 100),
             ("Hoàn thành", v["report.done"]), ("Đúng tiến độ", v["report.on_track"]),
             ("Có nguy cơ chậm", v["report.at_risk"]), ("Chậm tiến độ", v["report.late"]),
             ("Chi bộ đã đại hội", v["report.branches_held"]), ("Tổng số chi bộ", v["report.branches_total"]),
             ("Nhiệm vụ được giao", t.assigned), ("Nhiệm vụ hoàn thành", t.done),
             ("Nhiệm vụ đang thực hiện", t.in_progress), ("Nhiệm vụ quá hạn", t.overdue),
             ("Tóm tắt", v["tasks.text"])]
    summary.append(["Chỉ tiêu", "Giá trị"])
    for cell in summary[1]:
        cell.font = bold
    for label, value in lines:
        summary.append([escaped(label), escaped(value)])
        cell = summary.cell(row=summary.max_row, column=2)
        if isinstance(value, date):
            cell.number_format = "dd/mm/yyyy"
        elif isinstance(value, float):
            cell.number_format = "0%"
        elif isinstance(value, int):
            cell.number_format = "#,##0"
    summary.column_dimensions["A"].width = 32
    summary.column_dimensions["B"].width = 90
    summary.freeze_panes = "A2"
    book.properties.title = "Báo cáo tiến độ chuẩn bị đại hội"
    buffer = io.BytesIO()
    book.save(buffer)
    from .names import safe_filename

    stem = f"{generate.PROGRESS_REPORT.title_vi} - {province.name} - {as_of:%d-%m-%Y}"
    return generate.Made(safe_filename(stem, "xlsx"), buffer.getvalue(), generate.XLSX)
