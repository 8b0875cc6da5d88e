"""Downloads of the lists as .xlsx and .csv: the city matrix, the dashboard's lists, a unit's
branches, steps and history, a province's units; who may download them; formulas never written."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from congress.extensions import db
from congress.progress import queries
from congress.units.models import Unit
from congress.units.operations import update_branch
from tests.test_queries import count_queries
from tests.test_transfers import Signed

TU_MINH, HONG_BANG = "10891", "11311"


def workbook(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return load_workbook(io.BytesIO(response.data)).active


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_matrix_xlsx_is_formatted_like_the_dashboard(app):
    city = Signed(app, "thanhuy.vanphong")
    sheet = workbook(city.get("/dashboard/export/matrix.xlsx"))
    headings = [c.value for c in sheet[1]]
    assert headings[:6] == ["Mã đơn vị", "Đơn vị", "Loại", "Mức độ", "Tiến độ (%)", "Hạn cuối"]
    assert headings[6].startswith("1. ") and len(headings) == 6 + 17
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:W{114 + 1}"
    assert sheet.column_dimensions["B"].width == 28
    assert sheet.max_row == 115
    fills = {}
    for row in sheet.iter_rows(min_row=2):
        for cell in row[6:]:
            if cell.value:
                fills.setdefault(cell.value.split(" ")[0], cell.fill.start_color.rgb)
    assert fills["hoàn"].endswith("E4EEFA")  # done: the dashboard's --done-bg
    assert fills["quá"].endswith("FDE8E8")  # overdue: --late-bg
    tu_minh = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == TU_MINH)
    assert tu_minh[1] == "Phường Tứ Minh" and tu_minh[6].startswith("hoàn thành ")


def test_matrix_csv_follows_the_filters_and_reads_a_fixed_number_of_queries(app):
    city = Signed(app, "thanhuy.vanphong")
    city.get("/dashboard/export/matrix.csv")  # warm the caches (workflow definitions)
    counts = {}
    for label, query in (("all", ""), ("zones", "?kind=dac_khu")):
        with count_queries() as statements:
            rows = csv_rows(city.get(f"/dashboard/export/matrix.csv{query}"))
        counts[label] = len(statements)
        assert rows[0][0] == "Mã đơn vị"
        assert len(rows) - 1 == (114 if label == "all" else 2)
    assert counts["all"] == counts["zones"] <= 12


@pytest.mark.parametrize("name", ["overdue", "due-soon", "approvals"])
def test_dashboard_lists_download_for_the_city_only(app, name):
    city = Signed(app, "thanhuy.vanphong")
    rows = csv_rows(city.get(f"/dashboard/export/{name}.csv"))
    assert rows[0][:2] == ["Mã đơn vị", "Đơn vị"]
    assert all(len(r[0]) == 5 for r in rows[1:])
    sheet = workbook(city.get(f"/dashboard/export/{name}.xlsx"))
    assert sheet.max_row == len(rows)
    assert Signed(app, "tuminh.vanphong").get(f"/dashboard/export/{name}.csv").status_code == 403


def test_overdue_download_lists_what_the_page_lists(app):
    from congress.dashboard.matrix import overdue_items
    from congress.progress.definitions import definitions

    overview = queries.province_overview({"31"})
    expected = overdue_items(overview.rows, definitions()[overview.campaign.unit_workflow], overview.as_of)
    rows = csv_rows(Signed(app, "thanhuy.vanphong").get("/dashboard/export/overdue.csv"))
    assert [(r[0], r[2]) for r in rows[1:]] == [(i.unit.code, i.step.title_vi) for i in expected]
    assert expected, "the demo has overdue steps"


def test_unit_lists_download_for_its_readers(app):
    staff = Signed(app, "tuminh.vanphong")
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    branches = csv_rows(staff.get(f"/units/{TU_MINH}/export/branches.csv"))
    assert branches[0][:3] == ["Mã đơn vị", "Mã chi bộ", "Tên chi bộ"]
    assert len(branches) - 1 == len(queries.unit_branches(unit))
    progress = workbook(staff.get(f"/units/{TU_MINH}/export/progress.xlsx"))
    assert [c.value for c in progress[1]][:4] == ["Mã đơn vị", "Mã chi bộ", "Bước", "Trạng thái"]
    history = csv_rows(staff.get(f"/units/{TU_MINH}/export/history.csv"))
    assert history[0][0] == "Thời điểm" and len(history) > 10
    assert staff.get(f"/units/{HONG_BANG}/export/branches.csv").status_code == 403
    assert Signed(app, "xem.tuminh").get(f"/units/{TU_MINH}/export/history.xlsx").status_code == 200
    assert staff.get(f"/units/{TU_MINH}/export/branches.pdf").status_code == 404
    assert staff.get(f"/units/{TU_MINH}/export/secrets.csv").status_code == 404


def test_province_units_download(app):
    rows = csv_rows(Signed(app, "thanhuy.lanhdao").get("/provinces/31/units.csv"))
    assert rows[0] == ["Mã đơn vị", "Tên đơn vị", "Loại", "Mã tỉnh", "Số đảng viên", "Ngày đại hội dự kiến"]
    assert len(rows) == 115 and {r[3] for r in rows[1:]} == {"31"}
    assert Signed(app, "tuminh.vanphong").get("/provinces/31/units.csv").status_code == 403


def test_text_that_looks_like_a_formula_is_written_as_text(app):
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    branch = queries.unit_branches(unit)[0]
    hostile = '=HYPERLINK("http://example.invalid","bấm")'
    from congress.accounts.models import User

    actor = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    update_branch(branch, {"secretary": hostile}, actor=actor, version=branch.version)
    db.session.commit()
    staff = Signed(app, "tuminh.vanphong")
    rows = csv_rows(staff.get(f"/units/{TU_MINH}/export/branches.csv"))
    assert rows[1][4] == "'" + hostile
    sheet = workbook(staff.get(f"/units/{TU_MINH}/export/branches.xlsx"))
    cell = sheet.cell(row=2, column=5)
    assert cell.value == "'" + hostile and cell.data_type == "s"  # the same escape as the .csv


def test_pages_link_to_their_downloads(app):
    city = Signed(app, "thanhuy.vanphong")
    html = city.get("/dashboard").get_data(as_text=True)
    for name in ("matrix", "overdue", "due-soon", "approvals"):
        assert f"/dashboard/export/{name}.xlsx" in html and f"/dashboard/export/{name}.csv" in html
    assert "Tải Excel / CSV" in html
    staff = Signed(app, "tuminh.vanphong")
    for page, name in (("branches", "branches"), ("history", "history"), ("", "progress")):
        html = staff.get(f"/units/{TU_MINH}/{page}".rstrip("/")).get_data(as_text=True)
        assert f"/units/{TU_MINH}/export/{name}.xlsx" in html
    assert "/transfers" in staff.get(f"/units/{TU_MINH}/branches").get_data(as_text=True)
    assert "/transfers\"" not in Signed(app, "xem.tuminh").get(f"/units/{TU_MINH}/branches").get_data(as_text=True)
