"""Names and notes carrying markup are shown as text: in the pages (a real browser runs no script
and loads no image from them) and in the generated documents (the text is in the Word file as
written, never as Word markup). Text typed decomposed (NFD) is kept composed (NFC)."""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import date

from docx import Document

from congress.extensions import db
from congress.units.models import Branch, Unit
from tests.browser.conftest import WIDE, login, screenshot

HONG_BANG = "11311"
HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
           '<a href="javascript:window.__pwned=3">bấm</a> “Chi bộ” & {{ 7*7 }} </textarea>')


def watch(page) -> list[str]:
    """Collect dialogs the page opens (an injected alert would show here)."""
    opened: list[str] = []

    def on_dialog(dialog):
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


def assert_inert(page, opened: list[str]) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert opened == []
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0


def test_markup_in_names_and_notes_is_shown_as_text(new_page, app):
    from congress.accounts.models import User
    from congress.drafts import operations as drafts
    from congress.units import operations as units

    staff_user = db.session.execute(db.select(User).filter_by(username="hongbang.vanphong")).scalar_one()
    unit = db.session.execute(db.select(Unit).filter_by(code=HONG_BANG)).scalar_one()
    branch = db.session.execute(db.select(Branch).filter_by(unit_id=unit.id).order_by(Branch.code)).scalars().first()
    units.update_branch(branch, {"name": "Chi bộ " + HOSTILE}, actor=staff_user, version=branch.version)
    document = Document()
    document.add_paragraph("BÁO CÁO CHÍNH TRỊ")
    buffer = io.BytesIO()
    document.save(buffer)
    version = drafts.upload_version(unit, "political_report", filename=HOSTILE + ".docx", content=buffer.getvalue(),
                                    note=HOSTILE, actor=staff_user)
    found = drafts.open_round(version, audiences=["cadres"], starts_on=date(2025, 8, 1), ends_on=date(2025, 8, 20),
                              actor=staff_user)
    drafts.add_comments(found, [drafts.CommentEntry(audience="cadres", count=3, text=HOSTILE)], actor=staff_user)
    db.session.commit()
    round_id, branch_code = found.id, branch.code

    page = new_page(WIDE)
    opened = watch(page)
    login(page, "hongbang.vanphong")

    # a note typed into the step form, decomposed as some keyboards send it
    card = page.locator("#step-personnel_plan")
    card.locator("details.action-complete summary").click()
    form = card.locator("details.action-complete form")
    form.get_by_label(re.compile("Ngày hoàn thành")).fill("4/8/2025")
    note = unicodedata.normalize("NFD", "Ghi chú của Văn phòng ") + HOSTILE
    form.get_by_label(re.compile("Ghi chú")).fill(note)
    form.get_by_role("button", name="Hoàn thành").click()
    page.wait_for_load_state("networkidle")
    assert "<script>window.__pwned=2</script>" in card.inner_text()
    assert_inert(page, opened)

    for path in (f"/units/{HONG_BANG}/branches", f"/units/{HONG_BANG}/history",
                 f"/units/{HONG_BANG}/drafts/political_report", f"/units/{HONG_BANG}/drafts/rounds/{round_id}"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        shown = page.locator("main").inner_text()
        assert "<script>window.__pwned=2</script>" in shown and "{{ 7*7 }}" in shown, path
        assert_inert(page, opened)
    page.goto(f"/units/{HONG_BANG}/history")
    screenshot(page, "hostile-text-history")

    # stored composed
    from congress.audit.models import AuditRecord

    db.session.expire_all()
    record = db.session.execute(db.select(AuditRecord).filter_by(action="step.complete", unit_id=unit.id)
                                .order_by(AuditRecord.id.desc())).scalars().first()
    stored = record.new.get("note") or ""
    assert stored.startswith("Ghi chú của Văn phòng") and unicodedata.is_normalized("NFC", stored)
    assert db.session.execute(db.select(Branch).filter_by(code=branch_code)).scalar_one().name.endswith("</textarea>")

    # the compiled summary of the round carries the comment as text
    response = page.request.get(f"/units/{HONG_BANG}/drafts/rounds/{round_id}/summary.docx")
    assert response.ok
    content = response.body()
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    text += "\n".join(cell.text for table in Document(io.BytesIO(content)).tables
                      for row in table.rows for cell in row.cells)
    assert "<script>window.__pwned=2</script>" in text
    xml = zipfile.ZipFile(io.BytesIO(content)).read("word/document.xml").decode()
    assert "&lt;script&gt;" in xml and "<script>" not in xml
