"""The documents' wording, as a clerk reads it: every kind composed for every Hải Phòng unit (the
laid-out Paper blocks, no Word or PDF needed) and read line by line for what an office would
correct by hand: a capital kind word inside a sentence, a term that can break across lines, a plan
that contradicts its own figures, a directive cited without "số", counts written two ways, a space
before a comma; and the comment summary and the city's report, read the same way."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from congress.extensions import db
from congress.papers import generate, layout, numbering, report, templates
from congress.papers.context import place_name, unit_values
from congress.progress.queries import unit_preparation
from congress.text import vi_sort_key
from congress.units.models import Branch, Province, Unit

TODAY = date(2025, 8, 5)
AN_PHU = "10645"           # xã
TU_MINH = "10891"          # phường
CAT_HAI = "11914"          # đặc khu
BACH_LONG_VI = "11948"     # đặc khu formed from one whole former unit
NBSP = "\u00a0"

KIND_WORD = re.compile(r"(?<!\w)(Xã|Phường|Đặc khu)(?=[\s\u00a0])")
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \u00a0]+[,.;:!?)]")
DOUBLE_SPACE = re.compile(r"[ \u00a0]{2,}")
#: a count written with a leading zero; the day of a date ("ngày 05", "tháng 02") and a document's
#: number ("01-KH/ĐU") are the only places two digits belong
LEADING_ZERO = re.compile(r"(?<![\w/.])0\d(?![\d\w/-])")
TERM = re.compile(r"20\d\d[\s\u00a0]*[-–][\s\u00a0]*20\d\d")


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def compose_all(found: Unit, kinds: list[str] | None = None) -> dict[str, list[layout.Paper]]:
    """Every kind of a unit as generate.unit_paper lays it out (a draft of today), before Word."""
    prep = unit_preparation(found)
    values, tables = unit_values(found, prep)
    papers = {}
    for kind in kinds or generate.unit_kinds():
        template = templates.load_builtin(kind)
        info = generate.kind_info(kind)
        superior, issuer_body = generate.heading_lines(template.issuer, found, found.province,
                                                       values["congress.ordinal"])
        documents = [generate.document_values(
            superior=superior, issuer_body=issuer_body, number=None, abbreviation=info.abbreviation,
            issuer_symbol=numbering.ISSUER_SYMBOLS[template.issuer], day=TODAY, place="Hải Phòng", draft=True)
            for _ in template.parts]
        papers[kind] = generate.compose(template, values, tables, documents)
    return papers


def lines(paper: layout.Paper) -> list[str]:
    """What a reader reads, piece by piece (a paragraph, a table cell, a line of the header or the
    signature); the heading's number line is left out (a draft's number is blank on purpose)."""
    out = [paper.heading.superior, paper.heading.issuer, paper.heading.place_date, paper.type_name,
           *paper.summary, paper.addressee]
    for block in paper.blocks:
        if isinstance(block, layout.Paragraph):
            out.append("".join(span.text for span in block.spans))
        elif isinstance(block, layout.Table):
            out += [cell for row in block.rows for cell in row]
    for signature in (paper.signature, paper.left_signature):
        if signature is not None:
            out += [*signature.lines, signature.name]
    out += [f"- {line}" for line in paper.recipients]
    return [line.replace("**", "") for line in out if line]


def capital_kind_words_inside_sentences(text: str) -> list[str]:
    """"Xã", "Phường", "Đặc khu" in capitals where a sentence does not start: not at the start of a
    line, a list item ("- ", "+ ") or a cell, and not after ".", "!" or "?"."""
    found = []
    for match in KIND_WORD.finditer(text):
        before = text[:match.start()].rstrip(" \u00a0")
        if before in ("", "-", "+") or before[-1] in ".!?":
            continue
        found.append(text[max(0, match.start() - 40):match.end() + 20])
    return found


def problems_of(text: str, term: str = f"2025{NBSP}-{NBSP}2030") -> list[str]:
    problems = [f"capital kind word: …{s}…" for s in capital_kind_words_inside_sentences(text)]
    problems += [f"space before punctuation: …{text[max(0, m.start() - 30):m.end() + 10]}…"
                 for m in SPACE_BEFORE_PUNCTUATION.finditer(text)]
    problems += [f"double space: …{text[max(0, m.start() - 30):m.end() + 10]}…" for m in DOUBLE_SPACE.finditer(text)]
    problems += [f"count with a leading zero: …{text[max(0, m.start() - 30):m.end() + 10]}…"
                 for m in LEADING_ZERO.finditer(text)
                 if not re.search(r"(ngày|tháng)[ \u00a0]$", text[:m.start()])]
    problems += [f"a term that can break: {m.group(0)!r}" for m in TERM.finditer(text)
                 if m.group(0) != term]
    problems += [f"directive without 'số': …{text[max(0, m.start() - 10):m.end() + 10]}…"
                 for m in re.finditer(r"Chỉ thị[ \u00a0]+(?!số[ \u00a0])\d", text)]
    return problems


def test_every_kind_for_every_unit_reads_as_a_clerk_would_sign_it(app):
    units = db.session.execute(db.select(Unit).filter_by(province_code="31")).scalars().all()
    assert len(units) == 114
    assert {"xa", "phuong", "dac_khu"} == {u.kind for u in units}
    problems = set()
    for found in units:
        for kind, papers in compose_all(found).items():
            for paper in papers:
                for text in lines(paper):
                    problems |= {f"{kind}: {p}" for p in problems_of(text)}
    assert sorted(problems) == []


def test_the_fronts_and_the_citys_sets_read_as_a_clerk_would_sign_them(app):
    """The same rules for the two sets added with campaigns as data: the Fatherland Front's
    commune-level congress (every kind, every unit; its term is the campaign's) and the city's own
    party congress (every kind of the city's committee)."""
    from tests.test_document_sets import add_front_campaign, add_province_campaign, communes, preparation

    front = add_front_campaign()
    province, city = add_province_campaign()
    problems = set()
    for found in communes():
        prep = preparation(found, front)
        for kind in generate.unit_kinds(prep):
            for paper in generate.unit_papers(found, kind, prep=prep, day=TODAY):
                for text in lines(paper):
                    problems |= {f"{kind} {found.name}: {p}" for p in problems_of(text, f"2026{NBSP}-{NBSP}2031")}
    prep = preparation(city, province)
    kinds = generate.unit_kinds(prep)
    assert len(kinds) == 12
    for kind in kinds:
        for paper in generate.unit_papers(city, kind, prep=prep, day=TODAY):
            for text in lines(paper):
                problems |= {f"city {kind}: {p}" for p in problems_of(text)}
    assert sorted(problems) == []


@pytest.mark.parametrize("code", [AN_PHU, TU_MINH, CAT_HAI, BACH_LONG_VI])
def test_the_kind_word_is_lower_case_inside_a_sentence(app, code):
    found = unit(code)
    kind_word = {"xa": "xã", "phuong": "phường", "dac_khu": "đặc khu"}[found.kind]
    papers = compose_all(found, ["political_report", "propaganda_plan", "personnel_submission"])
    political = "\n".join(lines(papers["political_report"][0]))
    assert f"hai cấp, {kind_word} {place_name(found.name)} " in political
    propaganda = "\n".join(lines(papers["propaganda_plan"][0]))
    assert f"của địa phương: {kind_word} " in propaganda
    # at the start of a sentence the name keeps its capital
    personnel = "\n".join(lines(papers["personnel_submission"][0]))
    assert f"\n{found.name} " in personnel


def test_the_term_never_breaks_across_lines(app):
    papers = compose_all(unit(AN_PHU))
    plan = papers["congress_plan"][0]
    assert plan.summary[-1] == f"nhiệm kỳ 2025{NBSP}-{NBSP}2030"
    text = "\n".join(line for ps in papers.values() for p in ps for line in lines(p))
    assert "2025 - 2030" not in text and "2025 -" not in text and "- 2030" not in text
    assert text.count(f"2025{NBSP}-{NBSP}2030") > 20
    # the congress's name keeps "kỳ" with the years too
    assert f"lần thứ I, nhiệm kỳ{NBSP}2025{NBSP}-{NBSP}2030" in text


def test_the_city_report_keeps_the_term_whole_and_its_spreadsheet_has_no_layout_spaces(app):
    province = db.session.get(Province, "31")
    built = report.build(province, TODAY)
    assert built.values["term"] == f"2025{NBSP}-{NBSP}2030"
    template = templates.load_builtin(generate.PROGRESS_REPORT.key)
    superior, issuer_body = generate.heading_lines("city", None, province)
    document = generate.document_values(superior=superior, issuer_body=issuer_body, number=None,
                                        abbreviation="BC", issuer_symbol="TU", day=TODAY, place="Hải Phòng",
                                        draft=True)
    (paper,) = generate.compose(template, built.values, built.tables, [document])
    assert paper.summary[1].startswith(f"nhiệm kỳ 2025{NBSP}-{NBSP}2030")
    problems = sorted({p for text in lines(paper) for p in problems_of(text)})
    assert problems == []
    book = load_workbook(io.BytesIO(report.xlsx(province, TODAY).content))
    cells = [c for sheet in book for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert cells and not any(NBSP in c for c in cells)


def test_the_city_report_lists_the_units_in_vietnamese_order(app):
    built = report.build(db.session.get(Province, "31"), TODAY)
    names = [row[1] for row in built.tables["units"].rows[1:]]
    assert len(names) == 114 and names == sorted(names, key=vi_sort_key)
    assert names.index("Phường Ái Quốc") < names.index("Phường Việt Hòa")
    assert names.index("Phường Dương Kinh") < names.index("Phường Đồ Sơn") < names.index("Phường Gia Viên")


def set_branches_held(found: Unit, held: int) -> None:
    branches = db.session.execute(db.select(Branch).filter_by(unit_id=found.id).order_by(Branch.code)).scalars().all()
    for index, branch in enumerate(branches):
        branch.held_on = date(2025, 7, 1) if index < held else None
    db.session.flush()


def plan_text(found: Unit) -> str:
    (paper,) = compose_all(found, ["congress_plan"])["congress_plan"]
    return "\n".join(lines(paper))


def test_the_plan_says_what_the_branch_congresses_are(app):
    found = unit(AN_PHU)
    total = db.session.scalar(db.select(db.func.count(Branch.id)).filter_by(unit_id=found.id))
    assert total > 1

    set_branches_held(found, total)
    text = plan_text(found)
    assert f"Đến nay, tất cả {total} tổ chức đảng trực thuộc đã tổ chức xong đại hội." in text
    assert "còn lại" not in text and "khẩn trương hoàn thành" not in text

    set_branches_held(found, total - 3)
    text = plan_text(found)
    assert (f"Đến nay đã có {total - 3}/{total} tổ chức đảng tổ chức xong đại hội; 3 tổ chức đảng còn lại "
            "khẩn trương hoàn thành đại hội trước khi tổ chức Đại hội Đảng bộ.") in text

    set_branches_held(found, 0)
    text = plan_text(found)
    assert "Đến nay chưa có tổ chức đảng trực thuộc nào tổ chức xong đại hội" in text
    assert "còn lại" not in text


def test_directives_are_cited_with_so(app):
    from congress.progress.models import Campaign
    from congress.seeding.seed import CAMPAIGN_DEADLINE_BASIS

    assert CAMPAIGN_DEADLINE_BASIS.startswith("Chỉ thị số 45-CT/TW")
    campaign = db.session.execute(db.select(Campaign).filter_by(province_code="31")).scalar_one()
    assert campaign.deadline_basis == CAMPAIGN_DEADLINE_BASIS
    for kind in templates.builtin_kinds():
        source = templates.builtin_path(kind).read_text(encoding="utf-8")
        assert not re.search(r"Chỉ thị (?!số )\d", source), kind


def test_counts_follow_one_rule(app):
    from congress.formatting import count

    assert [count(n) for n in (1, 2, 9, 27, 1250)] == ["1", "2", "9", "27", "1.250"]
    text = "\n".join(lines(compose_all(unit(AN_PHU), ["personnel_submission"])["personnel_submission"][0]))
    assert "Bí thư: 1 đồng chí; Phó Bí thư: 2 đồng chí." in text
    assert "Chủ nhiệm: 1 đồng chí." in text
    plan = plan_text(unit(AN_PHU))
    assert "không quá 2 ngày (kể cả phiên trù bị)" in plan and "2 Phó Bí thư" in plan


# --- the comment summary ----------------------------------------------------------------------

def summary_paper(app, make_user, code: str, audiences: list[str]):
    from congress.drafts import operations
    from congress.drafts.summary import paper

    staff = make_user(f"staff-{code}", "unit_staff", unit=code)
    from tests.test_drafts import REPORT_1

    version = operations.upload_version(unit(code), "political_report", filename="a.docx", content=REPORT_1,
                                        note=None, actor=staff)
    found = operations.open_round(version, audiences=audiences, starts_on=date(2025, 7, 20),
                                  ends_on=date(2025, 7, 30), actor=staff)
    operations.add_comments(found, [operations.CommentEntry(audiences[0], 12, "Cần nêu rõ khâu đột phá"),
                                    operations.CommentEntry(audiences[-1], 3, "Bổ sung chỉ tiêu chuyển đổi số")],
                            actor=staff)
    operations.close_round(found, actor=staff)
    db.session.commit()
    return found, paper(found, layout.LayoutSettings())


def test_the_comment_summary_reads_as_a_party_report(app, make_user, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path)
    found, paper = summary_paper(app, make_user, AN_PHU, ["cadres", "members", "fatherland_front", "residents"])
    text = "\n".join(lines(paper))
    assert "Ban Thường vụ Đảng ủy xã An Phú đã tổ chức lấy ý kiến" in text
    assert ("của cán bộ, đảng viên, Ủy ban Mặt trận Tổ quốc Việt Nam xã An Phú và nhân dân. "
            "Kết quả tổng hợp như sau:") in text
    assert "1. Ý kiến của cán bộ" in text and "2. Ý kiến của nhân dân" in text
    assert "trước khi trình Ban Thường vụ Thành ủy Hải Phòng cho ý kiến." in text
    assert "- Ban Thường vụ Thành ủy Hải Phòng (để báo cáo)," in text
    assert paper.heading.number_line == "Số    -BC/ĐU"
    assert sorted({p for line in lines(paper) for p in problems_of(line)}) == []

    from docx import Document

    from congress.drafts.summary import summary_docx

    _, content = summary_docx(found)
    header = Document(io.BytesIO(content)).sections[0].first_page_header._element
    marks = [t.text for t in header.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t")]
    # a draft until signed; its "lần" is the commented document's, so the mark carries no number
    assert "DỰ THẢO" in marks and not any(m.startswith("Dự thảo lần") for m in marks)


def test_the_comment_summary_of_a_ward_and_a_special_zone(app, make_user, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path)
    for code, body in ((TU_MINH, "Đảng ủy phường Tứ Minh"), (CAT_HAI, "Đảng ủy đặc khu Cát Hải")):
        _, paper = summary_paper(app, make_user, code, ["branch_secretaries", "members"])
        text = "\n".join(lines(paper))
        assert f"Ban Thường vụ {body} đã tổ chức" in text
        assert "của đảng viên và bí thư chi bộ. Kết quả" in text
        assert sorted({p for line in lines(paper) for p in problems_of(line)}) == []
