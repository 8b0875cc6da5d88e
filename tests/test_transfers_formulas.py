"""No spreadsheet the app writes holds a live formula: text that a spreadsheet program would run
(starting with = + - @) is escaped the one way every export escapes it, and our own import reads
the escaped cell back as the original text."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from congress.extensions import db
from congress.progress import queries
from congress.progress.models import Step
from congress.transfers import exporting, reading
from congress.transfers.models import ImportBatch
from congress.units.models import Branch, Unit
from tests.test_transfers import Signed, staged, unit_of, user

TU_MINH = "10891"
HOSTILE = ('=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)")
FORMULA_START = ("=", "+", "-", "@")


@pytest.fixture
def hostile(app):
    """Every unit of Hải Phòng and four branches of Tứ Minh named like formulas."""
    units = db.session.execute(sa.select(Unit.id).order_by(Unit.code)).scalars().all()
    db.session.execute(sa.update(Unit.__table__).where(Unit.__table__.c.id == sa.bindparam("b_id"))
                       .values(name=sa.bindparam("name")),
                       [{"b_id": uid, "name": HOSTILE[i % len(HOSTILE)]} for i, uid in enumerate(units)])
    branches = queries.unit_branches(unit_of(TU_MINH))[:len(HOSTILE)]
    for branch, name in zip(branches, HOSTILE, strict=True):
        db.session.execute(sa.update(Branch.__table__).where(Branch.__table__.c.id == branch.id)
                           .values(name=name, secretary=name))
    steps = Step.__table__
    db.session.execute(sa.update(steps).where(steps.c.reason.is_(None)).values(note=HOSTILE[3]))  # step notes
    db.session.commit()
    db.session.expire_all()
    return app


def exports() -> list[tuple[str, str]]:
    """(user, address) of every .xlsx and .csv download that carries names."""
    found = []
    for fmt in ("xlsx", "csv"):
        found += [("thanhuy.vanphong", f"/dashboard/export/{name}.{fmt}")
                  for name in ("matrix", "overdue", "due-soon", "approvals")]
        found += [("thanhuy.lanhdao", f"/provinces/31/units.{fmt}")]
        found += [("tuminh.vanphong", f"/units/{TU_MINH}/export/{name}.{fmt}")
                  for name in ("branches", "progress", "history")]
    found.append(("thanhuy.vanphong", "/provinces/31/progress-report.xlsx"))
    return found


def text_cells(response) -> list[str]:
    assert response.status_code == 200, (response.request.path, response.status_code)
    if response.mimetype == "text/csv":
        return [cell for row in csv.reader(io.StringIO(response.data.decode("utf-8-sig"))) for cell in row]
    book = load_workbook(io.BytesIO(response.data))
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (response.request.path, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    cells.append(cell.value)
    return cells


def test_no_download_holds_a_formula(hostile):
    clients = {}
    for username, address in exports():
        client = clients.setdefault(username, Signed(hostile, username))
        cells = text_cells(client.get(address))
        live = [c for c in cells if c.startswith(FORMULA_START)]
        assert not live, (address, live[:5])
        assert any(c.startswith("'") and c[1:] in HOSTILE for c in cells), address  # and escaped


def test_one_escape_and_its_inverse():
    for text in (*HOSTILE, "\tTab", "'=already quoted", "''+x", "'plain", "plain", "", "—"):
        escaped = exporting.spreadsheet_text(text)
        assert not escaped.startswith(FORMULA_START)
        assert reading.unescape_text(escaped) == text
    assert exporting.spreadsheet_text("Phường Tứ Minh") == "Phường Tứ Minh"
    assert exporting.spreadsheet_text(-2) == -2  # a number is written as a number


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_exported_list_imports_back_unchanged(hostile, fmt):
    hostile.config["TRANSFERS_JOBS_INLINE"] = True
    staff = Signed(hostile, "tuminh.vanphong")
    exported = staff.get(f"/units/{TU_MINH}/export/branches.{fmt}").data
    batch = staged("branches", f"chi-bo.{fmt}", exported, user("tuminh.vanphong"))
    assert batch.state == "previewed", batch.error
    assert batch.counts["updated"] == batch.counts["error"] == batch.counts["new"] == 0, batch.counts
    assert batch.counts["unchanged"] == len(queries.unit_branches(unit_of(TU_MINH)))


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_exported_units_list_imports_back_unchanged(hostile, make_user, fmt):
    hostile.config["TRANSFERS_JOBS_INLINE"] = True
    admin = make_user("quantri", "admin")
    exported = Signed(hostile, "thanhuy.lanhdao").get(f"/provinces/31/units.{fmt}").data
    batch = staged("units", f"don-vi.{fmt}", exported, admin)
    assert isinstance(batch, ImportBatch) and batch.state == "previewed", batch.error
    assert batch.counts == {"new": 0, "updated": 0, "unchanged": 114, "warning": 0, "error": 0}
