"""Making a document: the kind's template (built-in text, or the province's uploaded Word file),
the unit's facts, the numbers it was issued with, laid out by layout.py."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from congress.extensions import db
from congress.formatting import long_date
from congress.progress import queries
from congress.units.models import Unit
from workflows.documents import DOCUMENT_KINDS, DocumentKind

from . import dating, layout, numbering, templates, wordfiles
from .context import PROVINCE_PLACEHOLDERS, PROVINCE_TABLES, UNIT_PLACEHOLDERS, UNIT_TABLES, place_name, unit_values
from .models import PaperIssue, PaperTemplate
from .names import safe_filename

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: the city's report is not a step's document, so it is not in workflows.documents
PROGRESS_REPORT = DocumentKind("progress_report", "BC", "Báo cáo tiến độ chuẩn bị đại hội",
                               "Progress report on congress preparation")


def kind_info(kind: str) -> DocumentKind | None:
    return PROGRESS_REPORT if kind == PROGRESS_REPORT.key else DOCUMENT_KINDS.get(kind)


def unit_kinds() -> list[str]:
    """The kinds a unit can download, in the order of the workflow's documents."""
    built = set(templates.builtin_kinds())
    return [key for key in DOCUMENT_KINDS if key in built]


def known_names(scope: str) -> tuple[set[str], set[str]]:
    if scope == "province":
        return set(PROVINCE_PLACEHOLDERS), set(PROVINCE_TABLES)
    return set(UNIT_PLACEHOLDERS), set(UNIT_TABLES)


def check_builtin() -> list[str]:
    """Every problem of every template in documents/ (the tests and `flask papers check` ask)."""
    problems = []
    for kind in templates.builtin_kinds():
        try:
            template = templates.load_builtin(kind)
        except templates.TemplateError as exc:
            problems += exc.problems
            continue
        if kind_info(kind) is None:
            problems.append(f"{template.name}: '{kind}' is not a document kind (workflows/documents.py)")
        problems += templates.check(template, *known_names(template.scope))
    return problems


@dataclass(frozen=True)
class Source:
    """What a kind is made from for one province."""
    kind: str
    text: templates.TextTemplate
    word: PaperTemplate | None = None

    @property
    def parts(self) -> int:
        return 1 if self.word is not None else len(self.text.parts)

    @property
    def issuer(self) -> str:
        return self.text.issuer


def source_for(province_code: str, kind: str) -> Source:
    text = templates.load_builtin(kind)
    word = db.session.execute(db.select(PaperTemplate).filter_by(
        province_code=province_code, kind=kind)).scalar_one_or_none()
    return Source(kind, text, word)


@dataclass(frozen=True)
class Made:
    filename: str
    content: bytes
    mimetype: str = DOCX


def latest_issue(unit: Unit, kind: str) -> PaperIssue | None:
    return db.session.execute(db.select(PaperIssue).filter_by(unit_id=unit.id, kind=kind)
                              .order_by(PaperIssue.id.desc()).limit(1)).scalar_one_or_none()


def body_line(prefix: str, name: str, max_chars: int) -> str:
    """"ĐẢNG ỦY XÃ AN PHÚ"; a long one on two lines after the kind word, so that a proper name is
    never split: "ĐẢNG ỦY PHƯỜNG\nNGUYỄN ĐẠI NĂNG"."""
    text = f"{prefix} {name}".upper()
    place = place_name(name)
    if len(text) <= max_chars or place == name:
        return text
    return f"{prefix} {name[:len(name) - len(place)].strip()}".upper() + "\n" + place.upper()


def heading_lines(issuer: str, unit: Unit | None, province, ordinal: str = "I",
                  max_chars: int = layout.LayoutSettings.issuer_max_chars) -> tuple[str, str]:
    """(superior body, issuing body) as the heading shows them, in capitals."""
    if issuer == "congress":
        return body_line("Đảng bộ", unit.name, max_chars), f"ĐẠI HỘI ĐẠI BIỂU LẦN THỨ {ordinal}"
    if issuer == "city":
        committee = "Thành ủy" if province.name.startswith("Thành phố") else "Tỉnh ủy"
        return "", f"{committee} {place_name(province.name)}".upper()
    return body_line("Đảng bộ", province.name, max_chars), body_line("Đảng ủy", unit.name, max_chars)


def place_of(unit: Unit | None, province, settings: layout.LayoutSettings) -> str:
    if settings.place == "unit" and unit is not None:
        return place_name(unit.name)
    return place_name(province.name)


def document_values(*, superior: str, issuer_body: str, number: int | None, abbreviation: str,
                    issuer_symbol: str, day: date | None, place: str, draft: bool, year: int | None = None) -> dict:
    """The document.* values; a ``day`` of None (a draft whose day is not known yet) prints blanks."""
    from congress.clock import today

    written = long_date(day) if day is not None else dating.blank_long_date(year or today().year)
    return {
        "document.date": day,
        "document.number": numbering.symbol(number, abbreviation, issuer_symbol),
        "document.number_line": numbering.number_line(number, abbreviation, issuer_symbol),
        "document.place_date": f"{place}, {written}",
        "document.draft_mark": "DỰ THẢO" if draft else "",
        "document.superior_body": superior,
        "document.issuing_body": issuer_body,
    }


#: whose name goes under a signature, by the title it ends with ("K/T BÍ THƯ / PHÓ BÍ THƯ": the deputy)
SIGNERS_BY_TITLE = {"BÍ THƯ": "signer.secretary", "PHÓ BÍ THƯ": "signer.deputy"}


def signer_of(signature: tuple[str, ...], values: dict) -> str:
    """The placeholder of the signer's name: the unit's secretary or deputy by the signature's
    last line, else {signer.name} (blank, for the congress's presidium and the city)."""
    key = SIGNERS_BY_TITLE.get(signature[-1].strip().upper()) if signature else None
    return key if key in values else "signer.name"


def compose(template: templates.TextTemplate, values: dict, tables: dict, documents: list[dict]) -> list[layout.Paper]:
    """The laid-out documents of a text template; ``documents`` holds each part's document.* values."""
    papers = []
    for part, document in zip(template.parts, documents, strict=True):
        part_values = {**values, **document}

        def text(key: str, default: str = "", meta=part.meta, v=part_values) -> str:
            return templates.fill(str(meta.get(key, default)), v)

        def lines(key: str, meta=part.meta, v=part_values) -> tuple[str, ...]:
            return tuple(templates.fill(x, v) for x in meta.get(key, []))

        signer = text("signer", "{" + signer_of(lines("signature"), part_values) + "}")
        signature = layout.Signature(lines("signature"), signer) if part.meta.get("signature") else None
        left = (layout.Signature(lines("left_signature"), text("left_signer"))
                if part.meta.get("left_signature") else None)
        heading = layout.Heading(document["document.superior_body"], document["document.issuing_body"],
                                 document["document.number_line"], document["document.place_date"])
        papers.append(layout.Paper(
            heading=heading, type_name=text("type"), summary=lines("summary"), addressee=text("addressee"),
            blocks=tuple(templates.blocks(part.body, part_values, tables)), signature=signature,
            left_signature=left, recipients=lines("recipients")))
    return papers


def unit_paper(unit: Unit, kind: str, *, draft: bool | None = None, draft_number: int | None = None,
               issue: PaperIssue | None = None, settings: layout.LayoutSettings | None = None) -> Made:
    """One document of a unit as .docx: the issued version (its numbers and date) when it was
    issued, else a draft ("DỰ THẢO", blank number, today's date)."""
    from congress.clock import today

    info = kind_info(kind)
    if info is None or kind not in unit_kinds():
        raise KeyError(kind)
    settings = settings or layout.current_settings()
    source = source_for(unit.province_code, kind)
    if issue is None and not draft:
        issue = latest_issue(unit, kind)
    draft = issue is None
    prep = queries.unit_preparation(unit)
    values, tables = unit_values(unit, prep, settings.place)
    ordinal = values["congress.ordinal"]
    superior, issuer_body = heading_lines(source.issuer, unit, unit.province, ordinal, settings.issuer_max_chars)
    symbol = numbering.ISSUER_SYMBOLS[source.issuer]
    day = issue.issued_on if issue else dating.draft_day(info, prep, today())
    numbers = {n.part: n.number for n in issue.numbers} if issue else {}
    documents = [document_values(superior=superior, issuer_body=issuer_body, number=numbers.get(part),
                                 abbreviation=info.abbreviation, issuer_symbol=symbol, day=day,
                                 place=place_of(unit, unit.province, settings), draft=draft,
                                 year=dating.term_year(prep))
                 for part in range(1, source.parts + 1)]
    if source.word is not None:
        content = wordfiles.render(source.word.content, {**values, **documents[0]})
    else:
        papers = compose(source.text, values, tables, documents)
        mark = layout.DraftMark(draft_number) if draft else None
        content = layout.render(papers, mark, settings, title=f"{info.title_vi} – {unit.name}", created=day)
    return Made(paper_filename(info, unit.name, issue, draft_number), content)


def paper_filename(info: DocumentKind, owner: str, issue: PaperIssue | None, draft_number: int | None,
                   extension: str = "docx") -> str:
    """"01-KH-ĐU Kế hoạch tổ chức đại hội - Xã An Phú.docx", or "... (dự thảo lần 2).docx"."""
    if issue is not None and issue.numbers:
        first = issue.numbers[0]
        stem = f"{first.symbol.replace('/', '-')} {info.title_vi} - {owner}"
    else:
        stem = f"{info.title_vi} - {owner} (dự thảo{f' lần {draft_number}' if draft_number else ''})"
    return safe_filename(stem, extension)
