"""The document sets of the three workflows shipped as data (issue 17): the commune party congress
(today's), the province's party congress over its communes, and the Fatherland Front's
commune-level congress.

Each set is its workflow's ``documents`` list with a template for each kind: a kind comes from the
templates' own headers (no code), documents/<workflow>/<kind>.txt overrides the shared text for
that workflow's units, and an uploaded Word file serves one workflow's units only. Every kind of
every set is made for every unit it applies to (the 114 Hải Phòng communes in the party campaign
and in the Front's, the city's own committee in the province's campaign), as .docx and through
LibreOffice as PDF, and read: no placeholder left, the Party's heading (36-HD/VPTW) or the state
format's (Nghị định 30/2020/NĐ-CP) as the set says, the unit's name in the PDF's text (pypdf).
"""
from __future__ import annotations

import io
import re
import shutil
import time
import unicodedata
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document
from flask import Flask

from congress.extensions import db
from congress.papers import generate, layout, numbering, templates
from congress.papers.context import UNIT_PLACEHOLDERS, place_name, unit_values
from congress.progress.models import Campaign, Preparation, Step
from congress.units.models import UNIT_KINDS, Unit
from tests.conftest import BUILDERS, IN_CI, SUMMARY, TODAY, make_test_app, require_libreoffice
from workflows import documents as kinds_module
from workflows.documents import DOCUMENT_KINDS, DocumentKind, declared_kinds

PROVINCE = "31"
FRONT_TERM = "2026-2031"
NBSP = "\u00a0"
AN_PHU = "10645"
FRONT_KINDS = ["front_congress_plan", "front_report", "front_consultation_minutes", "front_personnel_submission",
               "front_congress_agenda", "front_congress_resolution", "front_result_report"]
#: the commune set's kinds with a template (comment_summary is made from the drafts' comment round;
#: delegate_allocation and action_programme have none yet: an uploaded Word file can give them one)
PARTY_KINDS = ["congress_plan", "subcommittee_decisions", "propaganda_plan", "political_report",
               "self_review_report", "personnel_submission", "congress_agenda", "working_regulations",
               "election_regulations", "congress_resolution", "congress_minutes", "result_report"]
CITY_CONGRESS_KINDS = {"congress_agenda", "working_regulations", "election_regulations", "congress_resolution",
                       "congress_minutes"}
FRONT_CONGRESS_KINDS = {"front_congress_agenda", "front_congress_resolution"}


# --- the campaigns -------------------------------------------------------------------------------

def communes() -> list[Unit]:
    return list(db.session.execute(db.select(Unit).where(
        Unit.province_code == PROVINCE, Unit.kind.in_(UNIT_KINDS)).order_by(Unit.code)).scalars())


def party_campaign() -> Campaign:
    return db.session.execute(db.select(Campaign).filter_by(province_code=PROVINCE, organisation="party",
                                                            level="commune")).scalar_one()


def add_front_campaign() -> Campaign:
    """The Fatherland Front's commune-level round over the province's communes (no branches)."""
    from congress.progress.operations import enrol_units

    campaign = Campaign(province_code=PROVINCE, organisation="fatherland_front", level="commune", term=FRONT_TERM,
                        name_vi="Đại hội Mặt trận Tổ quốc Việt Nam cấp xã, nhiệm kỳ 2026–2031",
                        name_en="Commune-level Fatherland Front congresses, term 2026–2031",
                        starts_on=date(2025, 7, 15), deadline_on=date(2026, 3, 31), deadline_kind="before",
                        deadline_basis="Kế hoạch của Ban Thường trực Ủy ban MTTQ Việt Nam thành phố",
                        unit_workflow="front_commune_congress", branch_workflow=None, status="open")
    db.session.add(campaign)
    db.session.flush()
    units = communes()
    enrol_units(campaign, units, {u.id: date(2025, 12, 10) for u in units}, actor="test")
    db.session.commit()
    return campaign


def add_province_campaign() -> tuple[Campaign, Unit]:
    """The city's own committee and its congress's campaign over the communes' round."""
    from congress.progress.operations import enrol_units

    city = Unit(code=PROVINCE, name="Thành phố Hải Phòng", kind="thanh_pho", province_code=PROVINCE)
    db.session.add(city)
    db.session.flush()
    campaign = Campaign(province_code=PROVINCE, organisation="party", level="province", term="2025–2030",
                        name_vi="Đại hội Đảng bộ thành phố, nhiệm kỳ 2025–2030",
                        name_en="City party congress, term 2025–2030", starts_on=date(2025, 7, 1),
                        deadline_on=date(2025, 10, 31), deadline_kind="before",
                        deadline_basis="Chỉ thị số 45-CT/TW ngày 14/4/2025", unit_workflow="province_congress",
                        branch_workflow=None, child_campaign_id=party_campaign().id, status="open")
    db.session.add(campaign)
    db.session.flush()
    enrol_units(campaign, [city], {city.id: date(2025, 9, 26)}, actor="test")
    db.session.commit()
    return campaign, city


def preparation(unit: Unit, campaign: Campaign) -> Preparation:
    return db.session.execute(db.select(Preparation).filter_by(unit_id=unit.id, campaign_id=campaign.id)).scalar_one()


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


@pytest.fixture
def three(app):
    """The demo with the Front's campaign and the city's campaign beside the communes' one."""
    front = add_front_campaign()
    province, city = add_province_campaign()
    return {"party": party_campaign(), "front": front, "province": province, "city": city}


# --- reading a made document ---------------------------------------------------------------------

def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    texts = [t.text or "" for t in document.element.body.iter(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t")]
    return unicodedata.normalize("NFC", "\n".join(texts))


def heading_of(content: bytes) -> tuple[list[str], list[str]]:
    """The heading's left and right cells, paragraph by paragraph (line breaks kept as \\n)."""
    document = Document(io.BytesIO(content))
    left, right = document.tables[0].rows[0].cells
    return [p.text for p in left.paragraphs], [p.text for p in right.paragraphs]


@dataclass
class Expected:
    style: str                 #: party or state
    issuer_lines: list[str]    #: the left cell's first lines
    number_line: str           #: a draft's number line
    place: str                 #: the date line's place


def expected(kind: str, found: Unit, prep: Preparation) -> Expected:
    info = DOCUMENT_KINDS[kind]
    workflow = prep.workflow_version.definition().key
    issuer = templates.load_builtin(kind, workflow).issuer
    name = found.name.upper()
    if workflow == "front_commune_congress":
        if kind in FRONT_CONGRESS_KINDS:
            ordinal = "\nLẦN THỨ I" if len(name) + 10 > 28 else " LẦN THỨ I"
            lines = [f"ĐẠI HỘI ĐẠI BIỂU MTTQ VIỆT NAM\n{name}{ordinal}"]
            symbol = "ĐH"
        else:
            lines, symbol = [f"ỦY BAN MTTQ VIỆT NAM\n{name}"], "MTTQ"
        assert issuer in templates.STATE_ISSUERS
        return Expected("state", lines, f"Số:    /{info.abbreviation}-{symbol}", place_name(found.name))
    if workflow == "province_congress":
        if kind in CITY_CONGRESS_KINDS:
            return Expected("party", ["ĐẠI HỘI ĐẠI BIỂU\nĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG\nLẦN THỨ I", "*"],
                            f"Số    -{info.abbreviation}/ĐH", "Hải Phòng")
        return Expected("party", ["THÀNH ỦY HẢI PHÒNG", "*"], f"Số    -{info.abbreviation}/TU", "Hải Phòng")
    if issuer == "congress":
        return Expected("party", [generate.body_line("Đảng bộ", found.name, 27), "ĐẠI HỘI ĐẠI BIỂU LẦN THỨ I"],
                        f"Số    -{info.abbreviation}/ĐH", "Hải Phòng")
    return Expected("party", ["ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG", generate.body_line("Đảng ủy", found.name, 27)],
                    f"Số    -{info.abbreviation}/ĐU", "Hải Phòng")


def docx_problems(label: str, content: bytes, want: Expected, found: Unit) -> list[str]:
    problems = []
    text = docx_text(content)
    if "{" in text or "}" in text:
        problems.append(f"{label}: a brace left: …{text[max(0, text.find('{') - 40):text.find('{') + 40]}…")
    if place_name(found.name) not in text:
        problems.append(f"{label}: the unit's name is missing")
    left, right = heading_of(content)
    if left[:len(want.issuer_lines)] != want.issuer_lines:
        problems.append(f"{label}: heading {left[:3]!r}, expected {want.issuer_lines!r}")
    if want.number_line not in left:
        problems.append(f"{label}: no number line {want.number_line!r} in {left!r}")
    if want.style == "state":
        if right[:2] != [layout.STATE_TITLE, layout.STATE_MOTTO] or layout.NATIONAL_TITLE in text:
            problems.append(f"{label}: not the state format's heading: {right[:2]!r}")
    elif right[0] != layout.NATIONAL_TITLE or layout.STATE_TITLE in text:
        problems.append(f"{label}: not the Party's heading: {right[:1]!r}")
    if not right[-1].startswith(want.place + ", ngày "):
        problems.append(f"{label}: date line {right[-1]!r}, expected it to begin with {want.place!r}")
    if not unicodedata.is_normalized("NFC", text):
        problems.append(f"{label}: not NFC")
    return problems


# --- every document of every set, made once for the module ---------------------------------------

@dataclass
class Sets:
    app: Flask
    #: (set, kind, unit code) -> (docx, Expected, unit name)
    made: dict[tuple[str, str, str], tuple[bytes, Expected, str]] = field(default_factory=dict)
    seconds: float = 0.0


@pytest.fixture(scope="module")
def sets(databases):
    """A demo database of its own with the three campaigns, and every document of every set."""
    url = databases.copy(databases.template("demo", BUILDERS["demo"]))
    app = make_test_app(url)
    started = time.monotonic()
    found = Sets(app)
    with app.app_context():
        front = add_front_campaign()
        province, city = add_province_campaign()
        party = party_campaign()
        for name, campaign in (("party", party), ("front", front), ("province", province)):
            preps = db.session.execute(db.select(Preparation).filter_by(campaign_id=campaign.id)).scalars().all()
            for prep in sorted(preps, key=lambda p: p.unit.code):
                for kind in generate.unit_kinds(prep):
                    content = generate.unit_paper(prep.unit, kind, prep=prep).content
                    found.made[(name, kind, prep.unit.code)] = (content, expected(kind, prep.unit, prep),
                                                               prep.unit.name)
        found.seconds = time.monotonic() - started
        db.session.remove()
    yield found
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    databases.drop(url)


def test_every_set_has_every_kind_for_every_unit(sets):
    counted: dict[str, set] = {}
    units: dict[str, set] = {}
    for name, kind, code in sets.made:
        counted.setdefault(name, set()).add(kind)
        units.setdefault(name, set()).add(code)
    assert counted["party"] == set(PARTY_KINDS)
    assert counted["front"] == set(FRONT_KINDS)
    assert counted["province"] == set(PARTY_KINDS)
    assert len(units["party"]) == len(units["front"]) == 114
    assert units["province"] == {PROVINCE}
    assert len(sets.made) == 114 * (len(PARTY_KINDS) + len(FRONT_KINDS)) + len(PARTY_KINDS)


def test_every_document_of_every_set_has_its_heading_and_no_placeholder_left(sets):
    problems = []
    for (name, kind, code), (content, want, unit_name) in sets.made.items():
        with sets.app.app_context():
            found = unit(code)
            problems += docx_problems(f"{name}/{kind}/{unit_name}", content, want, found)
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def page_layout_problems(label: str, pdf: bytes, kind: str, workflow: str) -> list[str]:
    """What tests/test_papers_every_unit.py checks of the commune set, for the other sets: each
    document of the file found, no empty page, page numbers from page 2, the signature block never
    alone on the last page (poppler's pdftotext reads the pages as printed)."""
    from tests.test_papers_every_unit import expected as expected_pages
    from tests.test_papers_every_unit import page_texts, problems_of

    # the reader splits a file into documents at the national title: the state format's is another
    pages = [page.replace(layout.STATE_TITLE, layout.NATIONAL_TITLE) for page in page_texts(pdf)]
    return problems_of(label, pages, expected_pages(kind, workflow))[1]


def pdf_first_page(pdf: bytes) -> tuple[int, str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text() or ""
    return len(reader.pages), " ".join(unicodedata.normalize("NFC", text).split())


def test_every_document_of_every_set_converts_to_pdf_with_the_units_name(sets, record_property):
    """All of them through LibreOffice (two runs side by side, as tests/test_papers_every_unit.py),
    then each PDF's first page read with pypdf: the heading of its format, the unit's name."""
    from congress.papers import convert

    with sets.app.app_context():
        require_libreoffice()
    poppler = shutil.which("pdftotext") is not None
    if not poppler and IN_CI:
        pytest.fail("pdftotext is not installed: apt-get install poppler-utils")
    started = time.monotonic()
    keys = {f"d{index:05d}": key for index, key in enumerate(sets.made)}
    workflows = {"front": "front_commune_congress", "province": "province_congress"}
    layout_problems: list[str] = []

    def convert_and_read(batch: dict[str, bytes]) -> dict[str, tuple[int, str]]:
        with sets.app.app_context():
            pdfs = convert.to_pdf_many(batch)
        read = {}
        for key, pdf in pdfs.items():
            read[key] = pdf_first_page(pdf)
            name, kind, code = keys[key]
            if poppler and name in workflows:  # the party's set: tests/test_papers_every_unit.py
                layout_problems.extend(page_layout_problems(f"{name}/{kind}/{sets.made[keys[key]][2]}", pdf,
                                                            kind, workflows[name]))
        return read

    results: dict[str, tuple[int, str]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        batch, futures = {}, []
        for short, key in keys.items():
            batch[short] = sets.made[key][0]
            if len(batch) >= convert.MAX_BATCH:
                futures.append(pool.submit(convert_and_read, batch))
                batch = {}
        if batch:
            futures.append(pool.submit(convert_and_read, batch))
        for future in futures:
            results.update(future.result())
    assert len(results) == len(sets.made)
    problems = []
    pages: dict[str, int] = {}
    for short, (count, text) in results.items():
        name, kind, code = keys[short]
        _, want, unit_name = sets.made[keys[short]]
        label = f"{name}/{kind}/{unit_name}"
        pages[f"{name}/{kind}"] = max(pages.get(f"{name}/{kind}", 0), count)
        title = layout.STATE_TITLE if want.style == "state" else layout.NATIONAL_TITLE
        if title not in text:
            problems.append(f"{label}: the first page has no {title!r}: {text[:120]!r}")
        if want.style == "state" and layout.STATE_MOTTO not in text:
            problems.append(f"{label}: no motto")
        if place_name(unit_name).upper() not in text.upper():
            problems.append(f"{label}: the unit's name is not on the first page: {text[:160]!r}")
        if "{" in text:
            problems.append(f"{label}: a brace on the first page")
    elapsed = time.monotonic() - started
    SUMMARY.append(f"document sets: {len(results)} documents made in {sets.seconds:.0f} s, converted and read "
                   f"in {elapsed:.0f} s; most pages: " + ", ".join(f"{k} {v}" for k, v in sorted(pages.items())
                                                                    if not k.startswith("party/")))
    record_property("seconds", round(elapsed))
    problems += layout_problems
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems[:40])


# --- kinds from the templates' headers -------------------------------------------------------------

def test_the_fronts_kinds_come_from_their_templates_headers():
    assert not any(kind.key.startswith("front_") for kind in kinds_module.BUILT_IN_KINDS)
    assert kinds_module.DECLARATION_PROBLEMS == []
    plan = DOCUMENT_KINDS["front_congress_plan"]
    assert (plan.abbreviation, plan.title_vi, plan.title_en, plan.dated) == (
        "KH", "Kế hoạch tổ chức đại hội Mặt trận Tổ quốc", "Fatherland Front congress plan", "issue")
    assert DOCUMENT_KINDS["front_congress_resolution"].dated == "session"
    assert DOCUMENT_KINDS["front_result_report"].dated == "after_session"
    assert DOCUMENT_KINDS["front_personnel_submission"].abbreviation == "TTr"
    # today's kinds are as they were
    assert DOCUMENT_KINDS["congress_resolution"] == DocumentKind("congress_resolution", "NQ", "Nghị quyết đại hội",
                                                                 "Congress resolution", "session")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_new_kind_is_a_template_with_a_declaration(tmp_path):
    write(tmp_path / "documents" / "congress_plan.txt", "---\ntype: KẾ HOẠCH\n---\nx\n")
    write(tmp_path / "documents" / "youth_commune_congress" / "youth_plan.txt",
          "%% a comment\n---\nabbreviation: KH\ntitle_vi: Kế hoạch đại hội Đoàn\ntitle_en: Youth Union congress plan\n"
          "dated: issue\ntype: KẾ HOẠCH\nissuer: committee\n---\nx\n")
    write(tmp_path / "documents" / "youth_commune_congress" / "youth_resolution.txt",
          "---\nabbreviation: NQ\ntitle_vi: Nghị quyết đại hội Đoàn\ndated: session\ntype: NGHỊ QUYẾT\n---\nx\n")
    found, problems = declared_kinds(tmp_path / "documents")
    assert problems == []
    assert found["youth_plan"] == DocumentKind("youth_plan", "KH", "Kế hoạch đại hội Đoàn",
                                               "Youth Union congress plan", "issue")
    # an English title falls back to the Vietnamese one; the built-in kinds stay
    resolution = found["youth_resolution"]
    assert (resolution.title_en, resolution.dated) == ("Nghị quyết đại hội Đoàn", "session")
    assert found["congress_plan"] == DOCUMENT_KINDS["congress_plan"]


def test_a_wrong_declaration_is_named_with_its_file(tmp_path):
    root = tmp_path / "documents"
    write(root / "a_kind.txt", "---\ntitle_vi: Không có ký hiệu\ntype: X\n---\n")
    write(root / "b_kind.txt", "---\nabbreviation: KH\ntitle_vi: Sai ngày\ndated: tomorrow\ntype: X\n---\n")
    write(root / "one" / "c_kind.txt", "---\nabbreviation: KH\ntitle_vi: Một\ntype: X\n---\n")
    write(root / "two" / "c_kind.txt", "---\nabbreviation: BC\ntitle_vi: Một\ntype: X\n---\n")
    write(root / "congress_plan.txt", "---\ntitle_vi: Kế hoạch đại hội (tên mới)\ntype: X\n---\n")
    found, problems = declared_kinds(root)
    assert "documents/a_kind.txt: a new document kind declares its 'abbreviation' and 'title_vi'" in problems
    assert any(p.startswith("documents/b_kind.txt: dated must be one of") for p in problems)
    assert "documents/two/c_kind.txt: declares 'c_kind' otherwise than documents/one/c_kind.txt" in problems
    assert "a_kind" not in found and found["c_kind"].abbreviation == "KH"
    # a template may rename a built-in kind; what it does not say stays
    plan = found["congress_plan"]
    assert (plan.title_vi, plan.abbreviation) == ("Kế hoạch đại hội (tên mới)", "KH")
    with pytest.raises(templates.TemplateError) as error:
        templates.parse("---\ntype: X\n---\nbody\n---\ntype: Y\nabbreviation: KH\n---\n", "documents/x.txt")
    assert any("'abbreviation' declares the kind, in the first header only" in p for p in error.value.problems)


def test_every_template_of_every_workflow_checks(app):
    assert generate.check_builtin() == []
    folders = templates.workflow_folders()
    assert folders == ["front_commune_congress", "province_congress"]
    for workflow, kind in templates.all_builtin():
        text = templates.builtin_path(kind, workflow).read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), (workflow, kind)
        assert '"' not in re.sub(r"^%%.*$", "", text, flags=re.M).replace("{{", ""), \
            f"{workflow}/{kind}: a straight quote in Vietnamese text (write “ ”)"


def test_a_workflow_folder_overrides_the_shared_template(three):
    city, province = three["city"], three["province"]
    prep = preparation(city, province)
    source = generate.source_for(PROVINCE, "congress_plan", "province_congress", prep)
    assert source.text.name == "documents/province_congress/congress_plan.txt" and source.issuer == "city"
    shared = generate.source_for(PROVINCE, "congress_plan", "commune_congress")
    assert shared.text.name == "documents/congress_plan.txt" and shared.issuer == "committee"
    assert templates.builtin_path("congress_plan", "front_commune_congress").name == "congress_plan.txt"


# --- sets per preparation --------------------------------------------------------------------------

def test_each_preparation_lists_its_workflows_set(three):
    an_phu = unit(AN_PHU)
    party, front = preparation(an_phu, three["party"]), preparation(an_phu, three["front"])
    city = preparation(three["city"], three["province"])
    assert generate.unit_kinds(party) == PARTY_KINDS
    assert generate.unit_kinds(front) == FRONT_KINDS
    assert generate.unit_kinds(city) == PARTY_KINDS
    # a kind outside the set is not made
    with pytest.raises(KeyError):
        generate.unit_paper(an_phu, "front_congress_plan", prep=party)
    with pytest.raises(KeyError):
        generate.unit_paper(an_phu, "congress_plan", campaign=three["front"])
    made = generate.unit_paper(an_phu, "front_congress_plan", campaign=three["front"])
    assert made.filename == "Kế hoạch tổ chức đại hội Mặt trận Tổ quốc - Xã An Phú (dự thảo).docx"


def test_the_province_committees_facts(three):
    city, province = three["city"], three["province"]
    prep = preparation(city, province)
    child = three["party"]
    held = db.session.execute(
        sa.select(sa.func.count(Step.id)).join(Preparation, Preparation.id == Step.preparation_id)
        .where(Preparation.campaign_id == child.id, Step.key == "congress", Step.branch_id.is_(None),
               Step.state == "done")).scalar_one()
    values, _ = unit_values(city, prep)
    assert set(values) | {k for k in UNIT_PLACEHOLDERS if k.startswith("document.")} == set(UNIT_PLACEHOLDERS)
    assert (values["communes.total"], values["communes.held"]) == (114, held)
    assert values["communes.kinds"] == "xã, phường, đặc khu"
    assert (values["committee.body"], values["committee.name"]) == ("Thành ủy Hải Phòng", "Đảng bộ thành phố Hải Phòng")
    assert values["congress.name"] == (f"Đại hội đại biểu Đảng bộ thành phố Hải Phòng lần thứ I, "
                                       f"nhiệm kỳ{NBSP}2025{NBSP}-{NBSP}2030")
    sentence = values["communes.status_sentence"]
    if held < 114:
        assert sentence.startswith(f"Đến nay đã có {held}/114 đảng bộ xã, phường, đặc khu tổ chức xong đại hội; "
                                   f"{114 - held} đảng bộ còn lại khẩn trương") or held == 0
    # every commune's congress done: the sentence says so, and nothing is left to hurry
    db.session.execute(sa.update(Step).where(Step.key == "congress", Step.branch_id.is_(None),
                                             Step.preparation_id.in_(sa.select(Preparation.id).filter_by(
                                                 campaign_id=child.id))).values(state="done"))
    values, _ = unit_values(city, prep)
    assert values["communes.status_sentence"] == ("Đến nay, tất cả 114 đảng bộ xã, phường, đặc khu đã tổ chức xong "
                                                  "đại hội.")
    assert values["communes.held_percent"] == 100
    # a commune has no communes
    commune, _ = unit_values(unit(AN_PHU), preparation(unit(AN_PHU), child))
    assert commune["communes.total"] is None and commune["communes.status_sentence"] is None


def test_the_fronts_facts_and_congress(three):
    an_phu = unit(AN_PHU)
    values, _ = unit_values(an_phu, preparation(an_phu, three["front"]))
    assert values["congress.name"] == (f"Đại hội đại biểu Mặt trận Tổ quốc Việt Nam xã An Phú lần thứ I, "
                                       f"nhiệm kỳ{NBSP}2026{NBSP}-{NBSP}2031")
    assert values["term"] == f"2026{NBSP}-{NBSP}2031"
    assert values["front.standing"] == "Ban Thường trực Ủy ban Mặt trận Tổ quốc Việt Nam xã An Phú"
    assert values["front.superior"] == "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố Hải Phòng"
    (paper,) = generate.unit_papers(an_phu, "front_congress_plan", campaign=three["front"], day=TODAY)
    assert paper.heading == layout.Heading("", "ỦY BAN MTTQ VIỆT NAM\nXÃ AN PHÚ", "Số:    /KH-MTTQ",
                                           "An Phú, ngày 05 tháng 8 năm 2025", "state")
    assert paper.signature.lines == ("TM. BAN THƯỜNG TRỰC", "CHỦ TỊCH")
    assert paper.recipients[-1] == "Lưu: VT."
    minutes = generate.unit_papers(an_phu, "front_consultation_minutes", campaign=three["front"], day=TODAY)
    assert [p.summary[0] for p in minutes] == [
        "Hội nghị hiệp thương lần thứ nhất về cơ cấu, thành phần, số lượng",
        "Hội nghị hiệp thương lần thứ hai về danh sách nhân sự dự kiến"]
    (resolution,) = generate.unit_papers(an_phu, "front_congress_resolution", campaign=three["front"])
    # dated the congress's day (planned 10/12/2025)
    assert resolution.heading.issuer == "ĐẠI HỘI ĐẠI BIỂU MTTQ VIỆT NAM\nXÃ AN PHÚ LẦN THỨ I"
    assert resolution.heading.place_date == "An Phú, ngày 10 tháng 12 năm 2025"


def test_the_province_committees_headings(three):
    city = three["city"]
    (plan,) = generate.unit_papers(city, "congress_plan", campaign=three["province"], day=TODAY)
    assert (plan.heading.superior, plan.heading.issuer, plan.heading.number_line) == ("", "THÀNH ỦY HẢI PHÒNG",
                                                                                     "Số    -KH/TU")
    assert "- Bộ Chính trị, Ban Bí thư (để báo cáo)," in [f"- {r}" for r in plan.recipients]
    (agenda,) = generate.unit_papers(city, "congress_agenda", campaign=three["province"], day=TODAY)
    assert agenda.heading.superior == "" and agenda.heading.number_line == "Số    -CTr/ĐH"
    assert agenda.heading.issuer == "ĐẠI HỘI ĐẠI BIỂU\nĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG\nLẦN THỨ I"
    (submission,) = generate.unit_papers(city, "personnel_submission", campaign=three["province"], day=TODAY)
    assert submission.addressee == "Kính gửi: Bộ Chính trị, Ban Bí thư"
    assert layout.issuer_name(agenda.heading) == "Đại hội đại biểu Đảng bộ thành phố Hải Phòng lần thứ I"
    assert layout.issuer_name(plan.heading) == "Thành ủy Hải Phòng"


# --- numbers ------------------------------------------------------------------------------------

def admin():
    from congress.accounts.models import User

    return db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()


def test_the_fronts_numbers_are_the_state_formats_and_its_own(three):
    from congress.papers.operations import issue_document

    an_phu = unit(AN_PHU)
    party_plan = issue_document(an_phu, "congress_plan", admin(), campaign=three["party"])
    front_plan = issue_document(an_phu, "front_congress_plan", admin(), campaign=three["front"])
    db.session.commit()
    assert [n.symbol for n in party_plan.numbers] == ["01-KH/ĐU"]
    assert [n.symbol for n in front_plan.numbers] == ["01/KH-MTTQ"]
    assert front_plan.preparation_id == preparation(an_phu, three["front"]).id
    minutes = issue_document(an_phu, "front_consultation_minutes", admin(), campaign=three["front"])
    assert [n.symbol for n in minutes.numbers] == ["01/BB-MTTQ", "02/BB-MTTQ"]
    # the Front congress's resolution and the party congress's count apart, even in one term
    front = preparation(an_phu, three["front"])
    party = preparation(an_phu, three["party"])
    front.campaign.term = party.campaign.term
    front.congress_on = party.congress_on = date(2025, 8, 1)
    db.session.flush()
    party_resolution = issue_document(an_phu, "congress_resolution", admin(), prep=party)
    front_resolution = issue_document(an_phu, "front_congress_resolution", admin(), prep=front)
    assert [n.symbol for n in party_resolution.numbers] == ["01-NQ/ĐH"]
    assert [n.symbol for n in front_resolution.numbers] == ["01/NQ-ĐH"]
    content = generate.unit_paper(an_phu, "front_congress_plan", prep=front).content
    left, _ = heading_of(content)
    assert "Số: 01/KH-MTTQ" in left
    assert generate.unit_paper(an_phu, "front_congress_plan", prep=front).filename.startswith(
        "01-KH-MTTQ Kế hoạch tổ chức đại hội Mặt trận Tổ quốc - Xã An Phú")


def test_the_city_numbers_its_documents_as_the_city(three):
    from congress.papers.operations import issue_document

    issued = issue_document(three["city"], "congress_plan", admin(), campaign=three["province"])
    assert [n.symbol for n in issued.numbers] == ["01-KH/TU"]


# --- the pages ------------------------------------------------------------------------------------

def fresh(client):
    client.client = client.client.application.test_client()
    return client


def test_a_kind_outside_the_set_is_a_404_that_says_so(three, api_as):
    city = api_as("city_staff", province=PROVINCE)
    front = three["front"].id
    ok = city.get(f"/units/{AN_PHU}/papers/front_congress_plan.docx?campaign={front}")
    assert ok.status_code == 200
    left, right = heading_of(ok.data)
    assert right[:2] == [layout.STATE_TITLE, layout.STATE_MOTTO] and left[0] == "ỦY BAN MTTQ VIỆT NAM\nXÃ AN PHÚ"
    refused = fresh(city).get(f"/units/{AN_PHU}/papers/front_congress_plan.docx?campaign={three['party'].id}")
    assert refused.status_code == 404
    assert "không thuộc" in refused.get_data(as_text=True)
    assert fresh(city).get(f"/units/{AN_PHU}/papers/congress_plan.docx?campaign={front}").status_code == 404
    assert fresh(city).get(f"/units/{AN_PHU}/papers/no_such_kind.docx?campaign={front}").status_code == 404
    # the unit's ZIP is its set in that campaign
    response = fresh(city).get(f"/units/{AN_PHU}/papers.zip?campaign={front}")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
    assert len(names) == len(FRONT_KINDS)
    assert "Nghị quyết đại hội Mặt trận Tổ quốc - Xã An Phú (dự thảo).docx" in names
    city_unit = fresh(city).get(f"/units/{PROVINCE}/papers/congress_plan.docx?campaign={three['province'].id}")
    assert city_unit.status_code == 200 and heading_of(city_unit.data)[0][0] == "THÀNH ỦY HẢI PHÒNG"


def test_the_province_page_and_its_zip_are_of_one_campaign(make_app, api_as, tmp_path):
    from congress.papers.models import PaperJob
    from tests.test_queries import count_queries

    app = make_app("demo", PAPERS_JOBS_INLINE=True, WTF_CSRF_ENABLED=False, PAPERS_FOLDER=str(tmp_path))
    with app.app_context():
        front = add_front_campaign()
        province, _ = add_province_campaign()
        city = api_as("city_staff", province=PROVINCE)
        page = city.get(f"/provinces/{PROVINCE}/papers?campaign={front.id}").get_data(as_text=True)
        assert "Biên bản hội nghị hiệp thương" in page and "Kế hoạch tổ chức đại hội Mặt trận Tổ quốc" in page
        assert 'value="congress_plan"' not in page
        page = fresh(city).get(f"/provinces/{PROVINCE}/papers?campaign={party_campaign().id}").get_data(as_text=True)
        assert 'value="congress_plan"' in page and 'value="front_congress_plan"' not in page
        response = fresh(city).post(f"/provinces/{PROVINCE}/papers/jobs",
                                    data={"kind": "front_report", "format": "docx", "campaign": front.id})
        assert response.status_code == 302
        job = db.session.execute(db.select(PaperJob).order_by(PaperJob.id.desc()).limit(1)).scalar_one()
        assert (job.state, job.campaign_id, job.done, job.total) == ("done", front.id, 114, 114)
        refused = fresh(city).post(f"/provinces/{PROVINCE}/papers/jobs",
                                   data={"kind": "congress_plan", "format": "docx", "campaign": front.id})
        assert refused.status_code == 404
        response = fresh(city).post(f"/provinces/{PROVINCE}/papers/jobs",
                                    data={"kind": "congress_plan", "format": "docx", "campaign": province.id})
        job = db.session.execute(db.select(PaperJob).order_by(PaperJob.id.desc()).limit(1)).scalar_one()
        assert (job.campaign_id, job.total) == (province.id, 1)
        with zipfile.ZipFile(tmp_path / job.path) as archive:
            assert archive.namelist() == ["Kế hoạch tổ chức đại hội - Thành phố Hải Phòng (dự thảo).docx"]
        # as many queries for one campaign's page as for another's
        counts = []
        for campaign in (front, province, party_campaign()):
            fresh(city).get(f"/provinces/{PROVINCE}/papers?campaign={campaign.id}")
            with count_queries() as statements:
                assert fresh(city).get(f"/provinces/{PROVINCE}/papers?campaign={campaign.id}").status_code == 200
            counts.append(len(statements))
        assert len(set(counts)) == 1, counts


def test_a_word_template_serves_one_workflows_units(three):
    from congress.papers.operations import remove_template, upload_template
    from tests.test_papers_templates import GOOD

    province_unit = db.session.get(Unit, three["city"].id)
    from congress.units.models import Province

    hai_phong = db.session.get(Province, PROVINCE)
    upload_template(hai_phong, "congress_plan", "tu.docx", GOOD, admin(), workflow="province_congress")
    db.session.commit()
    city_plan = Document(io.BytesIO(generate.unit_paper(province_unit, "congress_plan",
                                                        campaign=three["province"]).content))
    assert city_plan.paragraphs[0].text == "THÀNH ỦY HẢI PHÒNG"  # the Word file, filled for the city
    an_phu = unit(AN_PHU)
    commune_plan = heading_of(generate.unit_paper(an_phu, "congress_plan", campaign=three["party"]).content)
    assert commune_plan[0][:2] == ["ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG", "ĐẢNG ỦY XÃ AN PHÚ"]  # still the built-in text
    # a kind of the set without a text template gets one from a Word file, for its workflow only
    party = preparation(an_phu, three["party"])
    assert "action_programme" not in generate.unit_kinds(party)
    upload_template(hai_phong, "action_programme", "ctr.docx", GOOD, admin(), workflow="commune_congress")
    db.session.commit()
    assert "action_programme" in generate.unit_kinds(party)
    made = Document(io.BytesIO(generate.unit_paper(an_phu, "action_programme", prep=party).content))
    assert made.paragraphs[0].text == "ĐẢNG ỦY XÃ AN PHÚ"
    from congress.errors import NotFound

    with pytest.raises(NotFound):
        upload_template(hai_phong, "front_report", "x.docx", GOOD, admin(), workflow="commune_congress")
    remove_template(hai_phong, "action_programme", admin(), workflow="commune_congress")
    db.session.commit()
    assert "action_programme" not in generate.unit_kinds(party)
    assert numbering.style_of("front_committee") == "state"
