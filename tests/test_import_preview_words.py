"""The import's preview and templates as an office reads them: dates as 20/8/2025, the congress
dates named for what they are, a repeated code called repeated, notes shown, a confirmation
refused for a row marking that row (no second offer to confirm), a Vietnamese template name with
an example sheet, CSV served with one charset."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from congress.extensions import db
from congress.transfers import exporting
from congress.transfers.models import ImportBatch, ImportRow
from tests.test_transfers import (
    BRANCH_HEADINGS,
    TU_MINH,
    csv_bytes,
    rows_of,
    signed_in,
    token_of,
    unit_of,
    upload,
    web_app,  # noqa: F401 (the fixture)
)


def first_branch():
    from congress.units.models import Branch

    return db.session.execute(db.select(Branch).filter_by(unit_id=unit_of(TU_MINH).id)
                              .order_by(Branch.code)).scalars().first()


def test_the_preview_writes_dates_as_the_page_does(web_app):  # noqa: F811
    client = signed_in(web_app, "tuminh.vanphong")
    content = csv_bytes([BRANCH_HEADINGS,
                         [TU_MINH, "", "Chi bộ Tương Lai", "", "", "", "", "20/08/2025", "", ""],
                         [TU_MINH, "", "Chi bộ Khu dân cư số 98", "chi bộ", "", "12", "21/08/2025", "", "", ""]])
    token = token_of(upload(client, "branches", "b.csv", content))
    page = client.get(f"/transfers/{token}").get_data(as_text=True)
    assert "2025-08-20" not in page and "2025-08-21" not in page and "2025-08-05" not in page
    assert "20/8/2025" in page and "21/8/2025" in page  # the refusal's day and the change's


def test_the_template_names_which_congress_date_each_column_is(web_app):  # noqa: F811
    client = signed_in(web_app, "tuminh.vanphong")
    response = client.get("/transfers/templates/branches.xlsx")
    workbook = load_workbook(io.BytesIO(response.data))
    headings = [c.value for c in workbook.worksheets[0][1]]
    assert "Ngày đại hội dự kiến" in headings and "Ngày đã đại hội" in headings and "Ngày đại hội" not in headings
    # the preview names the held day as the template does
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, "", "Chi bộ Khu dân cư số 97", "chi bộ", "", "", "",
                                           "01/08/2025", "10", ""]])
    token = token_of(upload(client, "branches", "b.csv", content))
    page = client.get(f"/transfers/{token}").get_data(as_text=True)
    assert "Ngày đã đại hội: — → 1/8/2025" in page


def test_the_template_has_a_vietnamese_name_an_example_sheet_and_csv_has_one_charset(web_app):  # noqa: F811
    client = signed_in(web_app, "tuminh.vanphong")
    for kind in ("branches", "progress"):
        response = client.get(f"/transfers/templates/{kind}.xlsx")
        disposition = response.headers["Content-Disposition"]
        assert "branches" not in disposition and "progress" not in disposition
        workbook = load_workbook(io.BytesIO(response.data))
        assert workbook.sheetnames[1] == exporting.EXAMPLE_SHEET
        example = list(workbook[exporting.EXAMPLE_SHEET].iter_rows(min_row=2, values_only=True))
        assert example and example[0][0] == TU_MINH
        # the import reads the first sheet only: the template as downloaded has no rows to import
        assert upload(client, kind, "mau.xlsx", response.data).status_code == 302
    csv_response = client.get("/transfers/templates/branches.csv")
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "mau-nhap-chi-bo.csv" in csv_response.headers["Content-Disposition"]


def test_a_repeated_code_is_called_repeated_not_a_taken_name(app):
    from tests.test_transfers import staged, user

    first = first_branch()
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, first.code, "", "", "Bí thư A", "", "", "", "", ""],
                         [TU_MINH, first.code, "", "", "Bí thư B", "", "", "", "", ""]])
    found = rows_of(staged("branches", "b.csv", content, user("tuminh.vanphong")))
    assert found[3].status == "error"
    assert [p["code"] for p in found[3].problems] == ["import_duplicate_row"]
    assert found[3].problems[0]["params"] == {"key": first.code}


def test_notes_of_a_progress_file_are_shown(web_app):  # noqa: F811
    import csv as csv_module

    client = signed_in(web_app, "tuminh.vanphong")
    exported = client.get(f"/units/{TU_MINH}/export/progress.csv").data.decode("utf-8-sig")
    rows = list(csv_module.reader(io.StringIO(exported)))
    waiting = next(i for i, r in enumerate(rows) if r[1] == "" and r[3] == "chưa bắt đầu")
    rows[waiting][3] = "đang thực hiện"
    rows[waiting][8] = "Đã họp chi ủy ngày 4/8"
    token = token_of(upload(client, "progress", "p.csv", csv_bytes(rows)))
    page = client.get(f"/transfers/{token}?status=updated").get_data(as_text=True)
    assert "Đã họp chi ủy ngày 4/8" in page


def test_a_confirmation_refused_for_a_row_marks_it_and_offers_no_second_confirm(web_app):  # noqa: F811
    from congress.units.operations import update_branch
    from tests.test_transfers import user

    client = signed_in(web_app, "tuminh.vanphong")
    first = first_branch()
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, first.code, "", "", "Bí thư Mới Hơn", "", "", "", "", ""]])
    token = token_of(upload(client, "branches", "b.csv", content))
    branch = db.session.get(type(first), first.id)
    update_branch(branch, {"secretary": "Người khác sửa"}, actor=user("tuminh.bithu"), version=branch.version)
    db.session.commit()
    refused = client.post(f"/transfers/{token}/confirm")
    assert refused.status_code == 409
    batch = db.session.execute(db.select(ImportBatch).filter_by(token=token)).scalar_one()
    row = db.session.execute(db.select(ImportRow).filter_by(batch_id=batch.id, number=2)).scalar_one()
    assert row.status == "error" and row.problems[-1]["code"] == "import_stale"
    assert batch.counts["error"] == 1
    page = client.get(f"/transfers/{token}").get_data(as_text=True)
    assert f"/transfers/{token}/confirm" not in page
