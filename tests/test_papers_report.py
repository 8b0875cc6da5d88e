"""The city's progress report says what /api/v1/readiness says for the same day, as .docx and .xlsx."""
from __future__ import annotations

import io
import unicodedata
from datetime import date

from docx import Document
from openpyxl import load_workbook

from congress.extensions import db
from congress.papers import report
from congress.units.models import Province

EARLIER = date(2025, 7, 31)


def province() -> Province:
    return db.session.get(Province, "31")


def test_the_report_figures_equal_the_readiness_api(app, api_as):
    api = api_as("city_staff", province="31").get("/api/v1/readiness?province=31").json
    built = report.build(province(), date(2025, 8, 5))
    values = built.values
    assert values["tasks.text"] == api["tasks"]["text"]
    assert values["tasks.text"].split(" ", 1)[1].startswith("nhiệm vụ được giao; hoàn thành")
    assert values["report.units"] == api["unit_count"] == 114
    assert values["report.percent"] == api["percent"]
    assert {k: values[f"report.{k}"] for k in ("done", "on_track", "at_risk", "late")} == api["by_risk"]
    assert (values["report.branches_held"], values["report.branches_total"]) == (api["branches_held"],
                                                                                 api["branches_total"])
    api_units = {u["code"]: u["readiness"] for u in api["units"]}
    for row in built.overview.rows:
        ready = api_units[row.unit.code]
        assert (row.readiness.percent, row.readiness.risk.value) == (ready["percent"], ready["risk"])
    assert [r.unit.code for r in built.late] == [u["code"] for u in api["units"] if u["readiness"]["risk"] == "late"]


def test_as_of_an_earlier_day_equals_the_api_on_that_day(app, api_as):
    built = report.build(province(), EARLIER)
    api = api_as("city_staff", province="31").get(f"/api/v1/readiness?province=31&as_of={EARLIER}").json
    assert api["as_of"] == EARLIER.isoformat()
    assert built.values["tasks.text"] == api["tasks"]["text"]
    assert {k: built.values[f"report.{k}"] for k in ("done", "on_track", "at_risk", "late")} == api["by_risk"]
    assert built.values["tasks.text"] != report.build(province(), date(2025, 8, 5)).values["tasks.text"]


def test_the_report_document(app, api_as):
    made = report.docx(province(), date(2025, 8, 5))
    document = Document(io.BytesIO(made.content))
    left, right = document.tables[0].rows[0].cells
    assert [p.text for p in left.paragraphs] == ["THÀNH ỦY HẢI PHÒNG", "*", "Số    -BC/TU"]
    assert right.paragraphs[-1].text == "Hải Phòng, ngày 05 tháng 8 năm 2025"
    text = "\n".join(p.text for p in document.paragraphs)
    assert unicodedata.is_normalized("NFC", text)
    assert "BÁO CÁO" in text and "Tiến độ chuẩn bị đại hội" in text
    built = report.build(province(), date(2025, 8, 5))
    assert built.values["tasks.text"] in text
    units = next(t for t in document.tables if t.rows[0].cells[1].text == "Đơn vị")
    assert len(units.rows) == 1 + 114
    late = next(t for t in document.tables if [c.text for c in t.rows[0].cells] == ["TT", "Đơn vị", "Lý do"])
    assert [r.cells[1].text for r in late.rows[1:]] == [row.unit.name for row in built.late]
    assert made.filename == "Báo cáo tiến độ chuẩn bị đại hội - Thành phố Hải Phòng - 05-08-2025.docx"


def test_the_report_spreadsheet(app, api_as):
    api = api_as("city_staff", province="31").get("/api/v1/readiness?province=31").json
    made = report.xlsx(province(), date(2025, 8, 5))
    book = load_workbook(io.BytesIO(made.content))
    sheet = book["Tiến độ"]
    assert sheet.freeze_panes == "A2"
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["Mã đơn vị", "Đơn vị", "Loại", "Tiến độ"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 114
    api_units = {u["code"]: u for u in api["units"]}
    for row in rows:
        unit = api_units[row[0]]
        assert row[1] == unit["name"]
        assert round(row[3] * 100) == unit["readiness"]["percent"]
        assert (row[4], row[5]) == (unit["readiness"]["steps_done"], unit["readiness"]["steps_total"])
        assert (row[7], row[8]) == (unit["readiness"]["branches_held"], unit["readiness"]["branches_total"])
    assert sheet["D2"].number_format == "0%" and sheet["J2"].number_format == "dd/mm/yyyy"
    summary = {r[0]: r[1] for r in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Nhiệm vụ được giao"] == api["tasks"]["assigned"]
    assert summary["Tóm tắt"] == api["tasks"]["text"]


def test_the_report_downloads_need_the_province(app, api_as):
    from tests.test_papers import fresh

    city = api_as("city_staff", province="31")
    response = fresh(city).get("/provinces/31/progress-report.xlsx?as_of=2025-07-31")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "31-07-2025.xlsx" in response.headers["Content-Disposition"]
    assert fresh(city).get("/provinces/31/progress-report.docx").status_code == 200
    assert fresh(city).get("/provinces/31/progress-report.docx?as_of=2025-09-01").status_code == 422
    assert fresh(city).get("/provinces/31/progress-report.docx?as_of=tomorrow").status_code == 422
    typed = fresh(city).get("/provinces/31/progress-report.xlsx?as_of=31/7/2025")  # as the page's field takes it
    assert "31-07-2025.xlsx" in typed.headers["Content-Disposition"]
    assert fresh(city).get("/provinces/31/progress-report.xlsx?as_of=31/2/2025").status_code == 422
    unit_staff = api_as("unit_staff", unit="10645")
    assert fresh(unit_staff).get("/provinces/31/progress-report.docx").status_code == 403
