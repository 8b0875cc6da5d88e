"""Every kind for every Hải Phòng unit, as PDF, read page by page: no empty page, no page that holds
only a signature, the three subcommittee decisions on their own pages, the font Times New Roman
(or its metric twin Liberation Serif); and the file properties a document carries.

The documents are made in-process and converted in batches by two LibreOffice runs side by side
(each isolated and timed by convert.py) while the next batch is made. Without LibreOffice or
poppler's pdftotext these tests are skipped locally, and fail under CI=true.
"""
from __future__ import annotations

import io
import re
import subprocess
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from flask import current_app

from congress.extensions import db
from congress.papers import convert, generate, layout, report, templates
from congress.units.models import Province, Unit
from tests.conftest import SUMMARY, TODAY

PROVINCE = "31"
#: documents per LibreOffice run, and runs side by side (the machine has two cores)
BATCH = 60
RUNS = 2
#: fonts a document may embed: Times New Roman itself, or Liberation Serif (metric-compatible)
FONTS = re.compile(r"(TimesNewRoman|Times-?New-?Roman|LiberationSerif)(PS)?(MT)?(-[A-Za-z]+)?")
BASE_FONT = re.compile(rb"/BaseFont\s*/(?:[A-Z]{6}\+)?([^\s/\[\]<>()]+)")
PAGE_NUMBER = re.compile(r"\s*\d+\s*")


@dataclass(frozen=True)
class Expected:
    """What a kind's PDF must show: how many documents, and the lines a signature block begins
    with (its first line, or "Nơi nhận:" beside it)."""
    parts: int
    markers: tuple[str, ...]


def expected(kind: str, workflow: str | None = None) -> Expected:
    """What a kind's PDF must show: its documents, and the lines its signatures begin with (a
    workflow's own template when it has one)."""
    template = templates.load_builtin(kind, workflow) if workflow else templates.load_builtin(kind)
    markers = set()
    for part in template.parts:
        for key in ("signature", "left_signature"):
            lines = part.meta.get(key) or []
            if lines and "{" not in lines[0]:
                markers.add(lines[0].strip())
        if part.meta.get("recipients"):
            markers.add("Nơi nhận:")
    return Expected(len(template.parts), tuple(sorted(markers)))


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, laid out as printed (poppler's pdftotext -layout)."""
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True,
                          timeout=60, check=True)
    return done.stdout.decode("utf-8").split("\f")[:-1]


def lines_of(page: str, index_in_document: int) -> list[str]:
    """The page's lines of text, without the page number at its head (from page 2 on)."""
    lines = [line.strip() for line in page.splitlines() if line.strip()]
    if index_in_document > 0 and lines and PAGE_NUMBER.fullmatch(lines[0]):
        lines = lines[1:]
    return lines


def problems_of(label: str, pages: list[str], want: Expected) -> tuple[tuple[int, ...], list[str]]:
    """(pages of each document, what is wrong) for one PDF."""
    documents: list[list[str]] = []
    for page in pages:
        if layout.NATIONAL_TITLE in page or not documents:
            documents.append([])
        documents[-1].append(page)
    counts = tuple(len(d) for d in documents)
    problems = []
    if len(documents) != want.parts:
        problems.append(f"{label}: {len(documents)} documents, expected {want.parts} (pages {counts})")
    for number, document in enumerate(documents, start=1):
        where = f"{label} document {number}" if want.parts > 1 else label
        for index, page in enumerate(document):
            lines = lines_of(page, index)
            if not lines:
                problems.append(f"{where}: page {index + 1} of {len(document)} is empty")
            head = page.strip().splitlines()[0].strip() if page.strip() else ""
            if index and head != str(index + 1):
                problems.append(f"{where}: page {index + 1} does not show its number at its head: {head!r}")
        last = lines_of(document[-1], len(document) - 1)
        at = next((i for i, line in enumerate(last) if line.startswith(want.markers)), None)
        if at is None:
            problems.append(f"{where}: the last page (of {len(document)}) does not begin the signature block "
                            f"({' / '.join(want.markers)}): {last[:3]}")
        elif at == 0:
            problems.append(f"{where}: the last page (of {len(document)}) holds only the signature block")
    return counts, problems


def fonts_of(pdf: bytes) -> set[str]:
    """The fonts a PDF embeds, by PostScript name without the subset tag ("LiberationSerif-Bold")."""
    return {name.decode("latin-1").replace("#20", "") for name in BASE_FONT.findall(pdf)}


def test_every_kind_of_every_unit_prints_without_a_lone_signature_or_an_empty_page(app, databases, libreoffice,
                                                                                   poppler, record_property):
    if databases.backend == "postgresql":
        pytest.skip("the layout does not depend on the database: the SQLite pass carries this test")
    started = time.monotonic()
    units = db.session.execute(db.select(Unit).filter_by(province_code=PROVINCE).order_by(Unit.code)).scalars().all()
    assert len(units) == 114
    kinds = generate.unit_kinds()
    wants = {kind: expected(kind) for kind in [*kinds, generate.PROGRESS_REPORT.key]}
    names = {unit.code: unit.name for unit in units}
    flask_app = current_app._get_current_object()

    def convert_and_read(batch: dict[str, bytes]) -> dict[str, tuple[list[str], set[str]]]:
        with flask_app.app_context():
            pdfs = convert.to_pdf_many(batch)
        return {key: (page_texts(pdf), fonts_of(pdf)) for key, pdf in pdfs.items()}

    def documents():
        """(key, docx) of every kind of every unit, then the city's report."""
        for kind in kinds:
            for unit in units:
                yield f"{kind}/{unit.code}", generate.unit_paper(unit, kind).content
        province = db.session.get(Province, PROVINCE)
        yield f"{generate.PROGRESS_REPORT.key}/{PROVINCE}", report.docx(province, TODAY).content

    futures, batch, made = [], {}, 0
    with ThreadPoolExecutor(max_workers=RUNS) as pool:
        for key, content in documents():
            batch[key] = content
            made += 1
            if len(batch) >= BATCH:
                futures.append(pool.submit(convert_and_read, batch))
                batch = {}
        if batch:
            futures.append(pool.submit(convert_and_read, batch))
        made_in = time.monotonic() - started
        results = {}
        for future in futures:
            results.update(future.result())
    assert len(results) == made == len(kinds) * len(units) + 1

    pages: dict[str, Counter] = {}
    problems: list[str] = []
    fonts: set[str] = set()
    for key, (texts, embedded) in results.items():
        kind, code = key.split("/")
        label = f"{kind} {names.get(code, code)}"
        counts, found = problems_of(label, texts, wants[kind])
        pages.setdefault(kind, Counter())[counts] += 1
        problems += found
        fonts |= embedded
    elapsed = time.monotonic() - started

    report_lines = [f"{len(results)} documents ({len(kinds)} kinds × {len(units)} units + the city's report) "
                    f"made in {made_in:.0f} s, converted and read in {elapsed:.0f} s",
                    "pages per kind (pages of each document: how many units):"]
    for kind in [*kinds, generate.PROGRESS_REPORT.key]:
        spread = ", ".join(f"{'+'.join(map(str, c))}: {n}" for c, n in sorted(pages[kind].items()))
        report_lines.append(f"  {kind}: {spread}")
    report_lines.append(f"embedded fonts: {', '.join(sorted(fonts))}")
    SUMMARY.extend(report_lines)
    print("\n".join(report_lines))
    record_property("pages", {kind: {"+".join(map(str, c)): n for c, n in spread.items()}
                              for kind, spread in pages.items()})
    record_property("fonts", sorted(fonts))
    record_property("seconds", round(elapsed))

    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    subcommittee = pages["subcommittee_decisions"]
    assert all(len(counts) == 3 for counts in subcommittee), subcommittee
    assert fonts and all(FONTS.fullmatch(name) for name in fonts), \
        f"fonts other than Times New Roman or Liberation Serif embedded: {sorted(fonts)}"


def test_a_layout_that_breaks_a_page_badly_is_caught():
    """The reader itself: an empty page, a page with only the signature, a missing document."""
    want = Expected(1, ("Nơi nhận:", "T/M BAN THƯỜNG VỤ"))
    first = f"{layout.NATIONAL_TITLE}\nKẾ HOẠCH\nNội dung.\n"
    assert problems_of("ok", [first, "2\nĐoạn cuối.\nNơi nhận:   T/M BAN THƯỜNG VỤ\n"], want) == ((2,), [])
    _, found = problems_of("lone", [first, "2\nNơi nhận:   T/M BAN THƯỜNG VỤ\n- Lưu.\n"], want)
    assert found == ["lone: the last page (of 2) holds only the signature block"]
    _, found = problems_of("blank", [first + "Nơi nhận:   T/M BAN THƯỜNG VỤ\n", "2\n"], want)
    assert "blank: page 2 of 2 is empty" in found
    counts, found = problems_of("three", [first + "Nơi nhận:  T/M BAN THƯỜNG VỤ"] * 2, Expected(3, want.markers))
    assert counts == (1, 1) and found == ["three: 2 documents, expected 3 (pages (1, 1))"]


# --- file properties ---------------------------------------------------------------------------

def paper(issuer: str = "ĐẢNG ỦY PHƯỜNG\nLÊ THANH NGHỊ") -> layout.Paper:
    heading = layout.Heading("ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG", issuer, "Số 01-KH/ĐU",
                             "Hải Phòng, ngày 05 tháng 8 năm 2025")
    return layout.Paper(heading, "KẾ HOẠCH", ("Tổ chức Đại hội đại biểu Đảng bộ lần thứ I,", "nhiệm kỳ 2025 - 2030"),
                        blocks=(layout.Paragraph((layout.Span("Nội dung."),)),),
                        signature=layout.Signature(("T/M BAN THƯỜNG VỤ", "BÍ THƯ")), recipients=("Lưu.",))


def package(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()}


def test_a_document_carries_its_own_file_properties():
    from docx import Document

    content = layout.render([paper()], settings=layout.LayoutSettings(), title="Kế hoạch tổ chức đại hội",
                            subject="Tổ chức Đại hội", author="Đảng ủy xã An Phú", created=date(2025, 8, 5))
    props = Document(io.BytesIO(content)).core_properties
    assert (props.title, props.subject, props.author, props.last_modified_by) == (
        "Kế hoạch tổ chức đại hội", "Tổ chức Đại hội", "Đảng ủy xã An Phú", "Đảng ủy xã An Phú")
    assert props.created == props.modified == datetime(2025, 8, 5, tzinfo=UTC)
    assert props.revision == 1 and props.language == "vi-VN"
    assert (props.comments, props.keywords, props.category) == ("", "", "")
    parts = package(content)
    assert not any(name.startswith("docProps/thumbnail") for name in parts)
    assert "thumbnail" not in parts["_rels/.rels"]
    for name in ("docProps/core.xml", "docProps/app.xml", "_rels/.rels", "[Content_Types].xml"):
        assert "python-docx" not in parts[name], name
    app_xml = parts["docProps/app.xml"]
    assert "<Application>congress</Application>" in app_xml
    assert "<Company>Đảng ủy xã An Phú</Company>" in app_xml
    assert "Microsoft" not in app_xml


def test_the_file_properties_default_to_the_documents_own():
    content = layout.render([paper(), paper()], settings=layout.LayoutSettings(),
                            created=datetime(2025, 8, 5, 9, 30, 15, 123))
    from docx import Document

    props = Document(io.BytesIO(content)).core_properties
    assert props.title == "KẾ HOẠCH"
    assert props.subject == "Tổ chức Đại hội đại biểu Đảng bộ lần thứ I, nhiệm kỳ 2025 - 2030"
    assert props.author == props.last_modified_by == "Đảng ủy phường Lê Thanh Nghị"
    assert props.created == datetime(2025, 8, 5, 9, 30, 15, tzinfo=UTC)
    congress = paper("ĐẠI HỘI ĐẠI BIỂU LẦN THỨ I")
    congress = layout.Paper(layout.Heading("ĐẢNG BỘ XÃ AN PHÚ", congress.heading.issuer, "", ""), "NGHỊ QUYẾT")
    props = Document(io.BytesIO(layout.render([congress], settings=layout.LayoutSettings()))).core_properties
    assert props.author == "Đại hội đại biểu Đảng bộ xã An Phú lần thứ I"
    assert props.created.date() <= date.today() and props.revision == 1


def test_heading_bodies_in_normal_case():
    assert layout.normal_case("ĐẢNG ỦY XÃ AN PHÚ") == "Đảng ủy xã An Phú"
    assert layout.normal_case("ĐẢNG ỦY ĐẶC KHU\nBẠCH LONG VĨ") == "Đảng ủy đặc khu Bạch Long Vĩ"
    assert layout.normal_case("ĐẢNG ỦY XÃ ĐẠI BẢN") == "Đảng ủy xã Đại Bản"
    assert layout.normal_case("THÀNH ỦY HẢI PHÒNG") == "Thành ủy Hải Phòng"
    assert layout.normal_case("Đảng ủy xã An Phú") == "Đảng ủy xã An Phú"


def test_a_generated_document_has_no_library_defaults(app):
    found = db.session.execute(db.select(Unit).filter_by(code="10645")).scalar_one()
    parts = package(generate.unit_paper(found, "congress_plan").content)
    assert not any("thumbnail" in name for name in parts)
    assert not any("python-docx" in parts[name] for name in parts if name.startswith(("docProps/", "_rels/")))
