"""The document set: every kind opened with python-docx and checked against the Party's format
(Hướng dẫn 36-HD/VPTW), the unit's facts, numbering, downloads and file names."""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from urllib.parse import unquote

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.papers import generate, templates
from congress.papers.context import UNIT_PLACEHOLDERS, formed_from, unit_values
from congress.papers.layout import LayoutSettings
from congress.progress.queries import unit_preparation
from congress.units.models import Branch, Unit, UnitOrigin

AN_PHU = "10645"      # Xã An Phú = xã An Phú + xã An Bình + part of xã Cộng Hòa
TU_MINH = "10891"     # Phường Tứ Minh
FONT = "Times New Roman"
SLOTS = ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")
CONGRESS_KINDS = {"congress_agenda", "working_regulations", "election_regulations", "congress_resolution",
                  "congress_minutes"}
REQUIRED_KINDS = {"congress_plan", "subcommittee_decisions", "propaganda_plan", "political_report",
                  "self_review_report", "personnel_submission", "congress_agenda", "working_regulations",
                  "election_regulations", "congress_resolution", "congress_minutes", "result_report"}


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def open_docx(content: bytes):
    return Document(io.BytesIO(content))


def all_runs(document):
    """Every run of the body, its tables and every header and footer, as XML elements."""
    parts = [document.element.body]
    for section in document.sections:
        for part in (section.header, section.first_page_header, section.footer, section.first_page_footer):
            parts.append(part._element)
    for part in parts:
        yield from part.iter(qn("w:r"))


def all_text(document) -> str:
    texts = [t.text or "" for part in [document.element.body] for t in part.iter(qn("w:t"))]
    for section in document.sections:
        texts += [t.text or "" for t in section.first_page_header._element.iter(qn("w:t"))]
    return "\n".join(texts)


def run_size(run) -> float | None:
    size = run.find(qn("w:rPr") + "/" + qn("w:sz"))
    return int(size.get(qn("w:val"))) / 2 if size is not None else None


def paragraph_size(paragraph) -> float | None:
    sizes = {run.font.size.pt for run in paragraph.runs if run.text.strip() and run.font.size}
    return sizes.pop() if len(sizes) == 1 else None


def heading_cells(document):
    table = document.tables[0]
    left, right = table.rows[0].cells
    return left, right


def test_every_required_kind_has_a_template_and_every_template_checks():
    assert REQUIRED_KINDS <= set(generate.unit_kinds())
    assert generate.check_builtin() == []
    for kind in templates.builtin_kinds():
        text = templates.builtin_path(kind).read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), kind


def test_the_context_gives_exactly_the_documented_placeholders(app):
    found = unit(AN_PHU)
    values, tables = unit_values(found, unit_preparation(found))
    document_keys = {k for k in UNIT_PLACEHOLDERS if k.startswith("document.")}
    assert set(values) | document_keys == set(UNIT_PLACEHOLDERS)
    assert set(tables) == {"branch_kinds"}


def test_unknown_placeholders_are_errors_with_template_and_line():
    text = "---\ntype: KẾ HOẠCH\nsummary:\n- {unit.nme}\n---\nĐoạn {unit.name} và {branches.hld|number}.\n" \
           "Dòng {unit.name|shout}.\n::table nowhere\n"
    template = templates.parse(text, "documents/test.txt")
    problems = templates.check(template, set(UNIT_PLACEHOLDERS), {"branch_kinds"})
    assert "documents/test.txt, line 4: unknown placeholder {unit.nme}" in problems
    assert "documents/test.txt, line 6: unknown placeholder {branches.hld}" in problems
    assert "documents/test.txt, line 7: unknown filter 'shout' in {unit.name}" in problems
    assert "documents/test.txt, line 8: unknown table 'nowhere'" in problems
    with pytest.raises(templates.TemplateError) as error:
        templates.parse("---\ntype: X\ncolour: red\n---\n::shout\n", "documents/bad.txt")
    assert any("line 3" in p and "colour" in p for p in error.value.problems)
    assert any("line 5" in p and "::shout" in p for p in error.value.problems)


@pytest.mark.parametrize("kind", sorted(REQUIRED_KINDS))
def test_every_kind_follows_the_party_format(app, kind):
    found = unit(AN_PHU)
    made = generate.unit_paper(found, kind)
    document = open_docx(made.content)
    info = generate.kind_info(kind)

    # A4 and the margins of the one setting
    settings = LayoutSettings()
    for section in document.sections:
        assert abs(section.page_width - Mm(210)) < Mm(0.5) and abs(section.page_height - Mm(297)) < Mm(0.5)
        assert abs(section.top_margin - Mm(settings.top_mm)) < Mm(0.1)
        assert abs(section.bottom_margin - Mm(settings.bottom_mm)) < Mm(0.1)
        assert abs(section.left_margin - Mm(settings.left_mm)) < Mm(0.1)
        assert abs(section.right_margin - Mm(settings.right_mm)) < Mm(0.1)
        # page numbers from page 2: a different first page, a PAGE field at the top centre
        assert section.different_first_page_header_footer
        header = section.header.paragraphs[0]
        assert header.alignment == 1  # centre
        assert " PAGE " in "".join(t.text for t in header._p.iter(qn("w:instrText")))
        assert "PAGE" not in section.first_page_header._element.xml
        # a draft says so at the top of its first page
        assert "DỰ THẢO" in section.first_page_header._element.xml

    # Times New Roman in all four slots on every run, in the defaults and in the styles
    for run in all_runs(document):
        fonts = run.find(qn("w:rPr") + "/" + qn("w:rFonts"))
        assert fonts is not None, run.xml[:200]
        assert [fonts.get(qn(slot)) for slot in SLOTS] == [FONT] * 4
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    assert [fonts.get(qn(slot)) for slot in SLOTS] == [FONT] * 4
    assert not any(fonts.get(qn(a)) for a in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"))
    normal = document.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert [normal.get(qn(slot)) for slot in SLOTS] == [FONT] * 4

    # the heading: superior and issuing body, "*", the number; the Party's name with its rule, place and date
    left, right = heading_cells(document)
    left_lines = [p.text for p in left.paragraphs]
    symbol = "ĐH" if kind in CONGRESS_KINDS else "ĐU"
    if kind in CONGRESS_KINDS:
        assert left_lines[:2] == ["ĐẢNG BỘ XÃ AN PHÚ", "ĐẠI HỘI ĐẠI BIỂU LẦN THỨ I"]
    else:
        assert left_lines[:2] == ["ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG", "ĐẢNG ỦY XÃ AN PHÚ"]
    assert left_lines[2] == "*"
    assert left_lines[3] == f"Số    -{info.abbreviation}/{symbol}"
    assert paragraph_size(left.paragraphs[0]) == 14 and not left.paragraphs[0].runs[0].bold
    assert paragraph_size(left.paragraphs[1]) == 14 and left.paragraphs[1].runs[0].bold
    title = right.paragraphs[0]
    assert title.text == "ĐẢNG CỘNG SẢN VIỆT NAM"
    assert title.runs[0].bold and title.runs[0].font.size == Pt(15)
    assert title._p.find(qn("w:pPr") + "/" + qn("w:pBdr") + "/" + qn("w:bottom")).get(qn("w:val")) == "single"
    date_line = right.paragraphs[-1]
    # a draft is dated today, what the congress adopts its planned day (An Phú: 13/8), its result
    # report in blanks until then (tests/test_papers_congress_dates.py)
    expected = {"session": "ngày 13 tháng 8 năm 2025", "after_session": "ngày …… tháng …… năm 2025"}
    assert date_line.text == "Hải Phòng, " + expected.get(info.dated, "ngày 05 tháng 8 năm 2025")
    assert date_line.runs[0].italic and date_line.runs[0].font.size == Pt(14)
    borders = document.tables[0]._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}

    # the type in capitals, bold, 15–16 pt, centred; the summary bold 14 pt, centred
    body = document.paragraphs
    type_paragraph = next(p for p in body if p.text.strip())
    assert type_paragraph.text == type_paragraph.text.upper()
    assert type_paragraph.runs[0].bold and 15 <= type_paragraph.runs[0].font.size.pt <= 16
    assert type_paragraph.alignment == 1
    index = [p._p for p in body].index(type_paragraph._p)
    summary = body[index + 1]
    assert summary.runs[0].bold and summary.runs[0].font.size == Pt(14) and summary.alignment == 1

    # the body: 14 pt, justified, first line indented
    texts = [p for p in body[index + 2:] if p.text.strip() and p.paragraph_format.first_line_indent]
    assert texts, "no body paragraph"
    for paragraph in texts:
        assert paragraph.alignment == 3  # justify
        assert paragraph_size(paragraph) in (14, None)
        assert all(r.font.size == Pt(14) for r in paragraph.runs if r.text.strip())

    # the signature block and "Nơi nhận"
    signature = document.tables[-1]
    sig_left, sig_right = signature.rows[0].cells
    right_lines = [p.text for p in sig_right.paragraphs if p.text]
    assert right_lines and right_lines[0].startswith("T/M ")
    assert all(p.runs[0].bold for p in sig_right.paragraphs if p.text)
    if sig_left.paragraphs[0].text == "Nơi nhận:":
        heading = sig_left.paragraphs[0].runs[0]
        assert heading.bold and heading.italic and heading.font.size == Pt(12)
        recipients = [p for p in sig_left.paragraphs[1:] if p.text]
        assert all(p.text.startswith("- ") and p.runs[0].font.size == Pt(12) for p in recipients)
        assert recipients[-1].text == "- Lưu Văn phòng Đảng ủy."
    else:
        assert kind in CONGRESS_KINDS

    # everything is NFC and names the unit
    text = all_text(document)
    assert unicodedata.is_normalized("NFC", text)
    assert "An Phú" in text
    assert "{" not in text and "}" not in text


def test_the_political_report_carries_the_units_facts(app):
    found = unit(AN_PHU)
    document = open_docx(generate.unit_paper(found, "political_report").content)
    text = all_text(document)
    assert ("hai cấp, xã An Phú được thành lập trên cơ sở hợp nhất xã An Phú, xã An Bình và một phần xã Cộng Hòa, "
            "hoạt động từ ngày 01 tháng 7 năm 2025.") in text
    members = f"{found.members:,}".replace(",", ".")
    assert found.members >= 1000 and f"tổng số {members} đảng viên" in text
    total = db.session.scalar(db.select(db.func.count(Branch.id)).filter_by(unit_id=found.id))
    held = db.session.scalar(db.select(db.func.count(Branch.held_on)).filter_by(unit_id=found.id))
    assert f"{held}/{total} tổ chức đảng trực thuộc đã tổ chức xong đại hội" in text
    assert "ngày 05 tháng 8 năm 2025" in text
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "Loại tổ chức đảng")
    assert [c.text for c in table.rows[-1].cells] == ["Cộng", str(total), str(held), str(total - held)]


def test_a_numbered_draft_says_which_draft(app):
    document = open_docx(generate.unit_paper(unit(AN_PHU), "political_report", draft_number=2).content)
    header = document.sections[0].first_page_header._element
    texts = [t.text for t in header.iter(qn("w:t"))]
    assert "DỰ THẢO" in texts and "Dự thảo lần 2" in texts


def test_the_formed_from_sentence(app):
    assert formed_from(unit(AN_PHU)) == ("được thành lập trên cơ sở hợp nhất xã An Phú, xã An Bình và một phần "
                                         "xã Cộng Hòa")
    assert formed_from(unit(TU_MINH)) == ("được thành lập trên cơ sở hợp nhất xã Cẩm Đoài, một phần phường Tứ Minh "
                                          "và một phần thị trấn Lai Cách")
    assert formed_from(unit("11948")) == "được thành lập trên cơ sở nguyên trạng huyện Bạch Long Vĩ"
    one_part = Unit(code="99998", name="Xã Thử", kind="xa", province_code="31")
    one_part.origins = [UnitOrigin(former_code="1", former_name="Xã Cũ", share="partial")]
    assert formed_from(one_part) == "được thành lập trên cơ sở một phần xã Cũ"
    two = Unit(code="99999", name="Phường Mới", kind="phuong", province_code="31")
    two.origins = [UnitOrigin(former_code="2", former_name="Phường Hai", share="full"),
                   UnitOrigin(former_code="3", former_name="Thị trấn Ba", share="full")]
    assert formed_from(two) == "được thành lập trên cơ sở hợp nhất phường Hai và thị trấn Ba"
    assert formed_from(Unit(code="99997", name="Xã Không", kind="xa", province_code="31")) == ""


def test_layout_settings_come_from_the_configuration(make_app):
    app = make_app("demo", PAPERS_LAYOUT={"left_mm": 35, "top_mm": 25})
    with app.app_context():
        document = open_docx(generate.unit_paper(unit(AN_PHU), "congress_plan").content)
        assert abs(document.sections[0].left_margin - Mm(35)) < Mm(0.1)
        assert abs(document.sections[0].top_margin - Mm(25)) < Mm(0.1)
    with pytest.raises(ValueError, match="unknown setting"):
        LayoutSettings.from_config({"gutter_mm": 3})


# --- downloads ---------------------------------------------------------------------------------

def test_download_one_document_with_a_safe_vietnamese_name(app, api_as):
    staff = api_as("unit_staff", unit=AN_PHU)
    response = staff.get(f"/units/{AN_PHU}/papers/congress_plan.docx")
    assert response.status_code == 200
    assert response.mimetype == generate.DOCX
    disposition = response.headers["Content-Disposition"]
    ascii_name = re.search(r'filename="([^"]+)"', disposition).group(1)
    assert ascii_name == "ke-hoach-to-chuc-dai-hoi-xa-an-phu-du-thao.docx"
    utf8_name = unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))
    assert utf8_name == "Kế hoạch tổ chức đại hội - Xã An Phú (dự thảo).docx"
    assert unicodedata.is_normalized("NFC", utf8_name)
    disposition.encode("latin-1")  # a header must be Latin-1
    open_docx(response.data)


def fresh(client):
    """A bearer client as a script uses it: a request of its own, without cookies."""
    client.client = client.client.application.test_client()
    return client


def test_reading_needs_the_unit_in_scope(app, api_as):
    other = api_as("unit_staff", unit=TU_MINH)
    assert fresh(other).get(f"/units/{AN_PHU}/papers/congress_plan.docx").status_code == 403
    assert fresh(other).get(f"/units/{AN_PHU}/papers.zip").status_code == 403
    city = api_as("city_staff", province="31")
    assert fresh(city).get(f"/units/{AN_PHU}/papers/congress_plan.docx").status_code == 200
    assert fresh(city).get(f"/units/{AN_PHU}/documents").status_code == 200
    assert fresh(other).get(f"/units/{AN_PHU}/documents").status_code == 403
    assert fresh(city).get(f"/units/{AN_PHU}/papers/no_such_kind.docx").status_code == 404
    assert fresh(city).get("/provinces/31/papers").status_code == 200
    assert app.test_client().get(f"/units/{AN_PHU}/papers/congress_plan.docx").status_code == 302


def test_a_units_zip_holds_every_document(app, api_as):
    staff = api_as("unit_staff", unit=AN_PHU)
    response = staff.get(f"/units/{AN_PHU}/papers.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "Văn kiện đại hội (Word) - Xã An Phú.zip" in unquote(response.headers["Content-Disposition"])
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        assert len(names) == len(generate.unit_kinds())
        assert "Kế hoạch tổ chức đại hội - Xã An Phú (dự thảo).docx" in names
        for info in archive.infolist():
            assert unicodedata.is_normalized("NFC", info.filename)
            assert info.flag_bits & 0x800  # UTF-8 names
            assert not re.search(r'[\\/:*?"<>|]', info.filename)
            open_docx(archive.read(info))


def test_a_province_zip_is_a_job_with_progress(make_app, api_as, tmp_path):
    app = make_app("demo", PAPERS_JOBS_INLINE=True, WTF_CSRF_ENABLED=False, PAPERS_FOLDER=str(tmp_path))
    with app.app_context():
        from congress.papers.models import PaperJob

        city = api_as("city_staff", province="31")
        response = city.post("/provinces/31/papers/jobs", data={"kind": "congress_plan", "format": "docx"})
        assert response.status_code == 302
        token = response.headers["Location"].rsplit("/", 1)[1]
        job = db.session.execute(db.select(PaperJob).filter_by(token=token)).scalar_one()
        assert job.state == "done" and job.done == job.total == 114
        status = fresh(city).get(f"/papers/jobs/{token}.json").json
        assert status["percent"] == 100 and status["download"]
        assert fresh(city).get(f"/papers/jobs/{token}").status_code == 200
        download = fresh(city).get(status["download"])
        assert download.status_code == 200
        with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
            names = archive.namelist()
        download.close()
        assert list(tmp_path.iterdir()) == [tmp_path / f"{token}.zip"]
        assert len(names) == 114 == len(set(names))
        assert "Kế hoạch tổ chức đại hội - Xã An Phú (dự thảo).docx" in names
        outsider = api_as("unit_staff", unit=AN_PHU)
        assert fresh(outsider).get(f"/papers/jobs/{token}.json").status_code == 404
        assert fresh(outsider).post("/provinces/31/papers/jobs", data={"kind": "congress_plan"}).status_code == 403


def test_a_province_job_runs_in_the_background(make_app, tmp_path):
    import time

    from congress.accounts.models import User
    from congress.papers import bundles, operations
    from congress.papers.models import PaperJob
    from congress.units.models import Province

    app = make_app("demo", PAPERS_FOLDER=str(tmp_path))
    with app.app_context():
        admin = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
        job = operations.start_province_job(db.session.get(Province, "31"), "result_report", "docx", admin)
        db.session.commit()
        assert job.state == "queued"
        bundles.start(app, job.id)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            db.session.expire_all()
            job = db.session.get(PaperJob, job.id)
            if job.state in ("done", "failed"):
                break
            time.sleep(0.2)
        assert (job.state, job.done, job.total) == ("done", 114, 114)
        assert (tmp_path / job.path).is_file()
        assert db.session.execute(db.select(AuditRecord).filter_by(action="paper_job.start")).scalar_one()
