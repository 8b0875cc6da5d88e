"""Making a document: the kind's template (the workflow's own text, the shared one, or the
province's uploaded Word file), the facts of a unit in one campaign (its preparation), the
numbers it was issued with, laid out by layout.py.

Documents are made for a preparation: a unit in two campaigns (the party's and the Fatherland
Front's) has two document sets. Every entry point takes the preparation (or the campaign) and
falls back to the unit's preparation in the campaign the request shows
(congress.progress.queries.unit_preparation)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from congress.extensions import db
from congress.formatting import long_date
from congress.progress import queries
from congress.units.models import Unit
from workflows.documents import DECLARATION_PROBLEMS, DOCUMENT_KINDS, DocumentKind

from . import dating, layout, numbering, templates, wordfiles
from .context import (
    FATHERLAND_FRONT,
    PROVINCE_PLACEHOLDERS,
    PROVINCE_TABLES,
    UNIT_PLACEHOLDERS,
    UNIT_TABLES,
    definition_of,
    organisation_of,
    place_name,
    unit_values,
)
from .models import PaperIssue, PaperTemplate
from .names import safe_filename

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: the city's report is not a step's document, so it is not in workflows.documents
PROGRESS_REPORT = DocumentKind("progress_report", "BC", "Báo cáo tiến độ chuẩn bị đại hội",
                               "Progress report on congress preparation")
#: the workflow of a unit without a preparation, and of the Word templates uploaded before workflows
#: had templates of their own
DEFAULT_WORKFLOW = "commune_congress"


def kind_info(kind: str) -> DocumentKind | None:
    return PROGRESS_REPORT if kind == PROGRESS_REPORT.key else DOCUMENT_KINDS.get(kind)


def preparation_for(unit: Unit, campaign=None, prep=None):
    """The preparation a unit's documents are made for: the one given, else the unit's in
    ``campaign``, else its preparation in the campaign the request shows (None: not enrolled)."""
    if prep is not None:
        return prep
    return queries.unit_preparation(unit, campaign) if campaign else queries.unit_preparation(unit)


def workflow_key(prep) -> str:
    definition = definition_of(prep)
    return definition.key if definition is not None else DEFAULT_WORKFLOW


def uploaded_kinds(province_code: str, workflow: str) -> set[str]:
    """The kinds the province has a Word template for, for the units of one workflow (one query)."""
    return set(db.session.execute(db.select(PaperTemplate.kind).filter_by(
        province_code=province_code, workflow=workflow)).scalars())


def workflow_kinds(definition, uploaded: set[str] = frozenset()) -> list[str]:
    """A workflow's document set, in its order, that can be made: the kinds with a template (the
    workflow's own, a shared one, or one of ``uploaded``)."""
    return [kind for kind in definition.documents if kind in DOCUMENT_KINDS
            and (templates.has_builtin(kind, definition.key) or kind in uploaded)]


def unit_kinds(prep=None, *, uploaded: set[str] | None = None) -> list[str]:
    """The kinds a unit can download in a preparation, in the order of its workflow's documents
    (the set the workflow names, with a template: see workflow_kinds; ``uploaded`` saves the
    query for the province's Word templates). Without a preparation: every kind with a shared
    template, in the order of workflows.documents."""
    definition = definition_of(prep)
    if definition is None:
        built = set(templates.builtin_kinds())
        return [key for key in DOCUMENT_KINDS if key in built]
    if uploaded is None:
        uploaded = uploaded_kinds(prep.unit.province_code, definition.key)
    return workflow_kinds(definition, uploaded)


def known_names(scope: str) -> tuple[set[str], set[str]]:
    if scope == "province":
        return set(PROVINCE_PLACEHOLDERS), set(PROVINCE_TABLES)
    return set(UNIT_PLACEHOLDERS), set(UNIT_TABLES)


def check_builtin() -> list[str]:
    """Every problem of every template in documents/ and of the kinds they declare (the tests and
    `flask papers check` ask)."""
    problems = list(DECLARATION_PROBLEMS)
    folders = set(templates.workflow_folders())
    try:
        from workflows.loader import load_all

        known = load_all()
    except Exception as exc:  # the loader names its own problems; here only what the folders need
        known = {}
        problems.append(f"documents/: the workflow definitions cannot be read ({exc})")
    for folder in sorted(folders - set(known)):
        problems.append(f"documents/{folder}/: no workflow definition has the key '{folder}'")
    for workflow, kind in templates.all_builtin():
        try:
            template = templates.load_builtin(kind, workflow)
        except templates.TemplateError as exc:
            problems += exc.problems
            continue
        if kind_info(kind) is None:
            problems.append(f"{template.name}: '{kind}' is not a document kind (workflows/documents.py, or "
                            "declare it with 'abbreviation' and 'title_vi')")
        problems += templates.check(template, *known_names(template.scope))
        if workflow and workflow in known and kind not in known[workflow].documents:
            problems.append(f"{template.name}: '{kind}' is not in the documents of workflow '{workflow}'")
    return problems


#: the issuer a kind without a text template (a Word file only) is issued by, by organisation
DEFAULT_ISSUERS = {"party": "committee", FATHERLAND_FRONT: "front_committee"}


@dataclass(frozen=True)
class Source:
    """What a kind is made from for one province and workflow: the text template (None when the
    kind has only an uploaded Word file), the Word file if any, and who issues it."""
    kind: str
    text: templates.TextTemplate | None
    word: PaperTemplate | None = None
    default_issuer: str = "committee"

    @property
    def parts(self) -> int:
        return 1 if self.word is not None or self.text is None else len(self.text.parts)

    @property
    def issuer(self) -> str:
        return self.text.issuer if self.text is not None else self.default_issuer


def default_issuer(prep) -> str:
    """Who issues a document of a kind that has no text template saying so: the unit's own
    committee (the province's committee for a province's unit; the Front's for the Front)."""
    if organisation_of(prep) == FATHERLAND_FRONT:
        return "front_committee"
    if prep is not None and prep.unit.level == "province":
        return "city"
    return "committee"


def source_for(province_code: str, kind: str, workflow: str | None = None, prep=None) -> Source:
    """The template of a kind for the units of a province following ``workflow``."""
    workflow = workflow or (workflow_key(prep) if prep is not None else DEFAULT_WORKFLOW)
    text = templates.load_builtin(kind, workflow) if templates.has_builtin(kind, workflow) else None
    word = db.session.execute(db.select(PaperTemplate).filter_by(
        province_code=province_code, workflow=workflow, kind=kind)).scalar_one_or_none()
    if text is None and word is None:
        raise KeyError(kind)
    return Source(kind, text, word, default_issuer(prep))


@dataclass(frozen=True)
class Made:
    filename: str
    content: bytes
    mimetype: str = DOCX


def latest_issue(unit: Unit, kind: str, prep=None) -> PaperIssue | None:
    """The unit's last issue of a kind in the preparation (every campaign's without one)."""
    query = db.select(PaperIssue).filter_by(unit_id=unit.id, kind=kind)
    if prep is not None:
        query = query.filter_by(preparation_id=prep.id)
    return db.session.execute(query.order_by(PaperIssue.id.desc()).limit(1)).scalar_one_or_none()


def body_line(prefix: str, name: str, max_chars: int) -> str:
    """"ĐẢNG ỦY XÃ AN PHÚ"; a long one on two lines after the kind word, so that a proper name is
    never split: "ĐẢNG ỦY PHƯỜNG\nNGUYỄN ĐẠI NĂNG"."""
    text = f"{prefix} {name}".upper()
    place = place_name(name)
    if len(text) <= max_chars or place == name:
        return text
    return f"{prefix} {name[:len(name) - len(place)].strip()}".upper() + "\n" + place.upper()


def _then(text: str, suffix: str, max_chars: int) -> str:
    """``text`` and ``suffix`` on its last line, or on a line of its own when that gets too long."""
    last = text.split("\n")[-1]
    return f"{text} {suffix}" if len(last) + 1 + len(suffix) <= max_chars else f"{text}\n{suffix}"


#: the issuers whose heading is laid out in the state format
STATE_ISSUERS = templates.STATE_ISSUERS


def heading_lines(issuer: str, unit: Unit | None, province, ordinal: str | None = "I",
                  max_chars: int = layout.LayoutSettings.issuer_max_chars,
                  state_max_chars: int = layout.LayoutSettings.state_issuer_max_chars) -> tuple[str, str]:
    """(superior body, issuing body) as the heading shows them, in capitals.

    36-HD/VPTW: a commune's committee under the province's party organisation ("ĐẢNG BỘ THÀNH PHỐ
    HẢI PHÒNG / ĐẢNG ỦY XÃ AN PHÚ"), its congress under its own; a province's committee ("THÀNH ỦY
    HẢI PHÒNG") and congress ("ĐẠI HỘI ĐẠI BIỂU / ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG / LẦN THỨ I") with no
    line above them. The Fatherland Front (state format): "ỦY BAN MTTQ VIỆT NAM / XÃ AN PHÚ", its
    congress "ĐẠI HỘI ĐẠI BIỂU MTTQ VIỆT NAM / XÃ AN PHÚ LẦN THỨ I". A province's own unit given a
    commune's issuer is headed as the province's committee or congress."""
    shown = ordinal or "……"
    if unit is not None and unit.level == "province":
        issuer = {"committee": "city", "congress": "city_congress"}.get(issuer, issuer)
    if issuer == "congress":
        return body_line("Đảng bộ", unit.name, max_chars), f"ĐẠI HỘI ĐẠI BIỂU LẦN THỨ {shown}"
    if issuer == "city":
        committee = "Thành ủy" if province.name.startswith("Thành phố") else "Tỉnh ủy"
        return "", f"{committee} {place_name(province.name)}".upper()
    if issuer == "city_congress":
        party = body_line("Đảng bộ", province.name, max_chars)
        return "", "ĐẠI HỘI ĐẠI BIỂU\n" + _then(party, f"LẦN THỨ {shown}", max_chars)
    if issuer == "front_committee":
        return "", "ỦY BAN MTTQ VIỆT NAM\n" + unit.name.upper()
    if issuer == "front_congress":
        return "", "ĐẠI HỘI ĐẠI BIỂU MTTQ VIỆT NAM\n" + _then(unit.name.upper(), f"LẦN THỨ {shown}",
                                                              state_max_chars)
    return body_line("Đảng bộ", province.name, max_chars), body_line("Đảng ủy", unit.name, max_chars)


def place_of(unit: Unit | None, province, settings: layout.LayoutSettings, issuer: str = "committee") -> str:
    """The place a document is written: the province ("Hải Phòng"), or the unit where the settings
    say so; in the state format always the commune (Nghị định 30/2020/NĐ-CP: a commune's bodies
    write the commune's name)."""
    if unit is not None and (settings.place == "unit" or issuer in STATE_ISSUERS):
        return place_name(unit.name)
    return place_name(province.name)


def document_values(*, superior: str, issuer_body: str, number: int | None, abbreviation: str,
                    issuer_symbol: str, day: date | None, place: str, draft: bool, year: int | None = None,
                    style: str = numbering.PARTY) -> dict:
    """The document.* values; a ``day`` of None (a draft whose day is not known yet) prints blanks."""
    from congress.clock import today

    written = long_date(day) if day is not None else dating.blank_long_date(year or today().year)
    return {
        "document.date": day,
        "document.number": numbering.symbol(number, abbreviation, issuer_symbol, style),
        "document.number_line": numbering.number_line(number, abbreviation, issuer_symbol, style),
        "document.place_date": f"{place}, {written}",
        "document.draft_mark": "DỰ THẢO" if draft else "",
        "document.superior_body": superior,
        "document.issuing_body": issuer_body,
    }


#: whose name goes under a signature, by the title it ends with ("K/T BÍ THƯ / PHÓ BÍ THƯ": the deputy;
#: the Front's chair and deputy chair are the names its preparation gives likewise)
SIGNERS_BY_TITLE = {"BÍ THƯ": "signer.secretary", "PHÓ BÍ THƯ": "signer.deputy",
                    "CHỦ TỊCH": "signer.secretary", "PHÓ CHỦ TỊCH": "signer.deputy"}


def signer_of(signature: tuple[str, ...], values: dict) -> str:
    """The placeholder of the signer's name: the unit's secretary or deputy by the signature's
    last line, else {signer.name} (blank, for the congress's presidium and the city)."""
    key = SIGNERS_BY_TITLE.get(signature[-1].strip().upper()) if signature else None
    return key if key in values else "signer.name"


def compose(template: templates.TextTemplate, values: dict, tables: dict, documents: list[dict]) -> list[layout.Paper]:
    """The laid-out documents of a text template; ``documents`` holds each part's document.* values."""
    style = layout.STATE if template.issuer in STATE_ISSUERS else layout.PARTY
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
                                 document["document.number_line"], document["document.place_date"], style)
        papers.append(layout.Paper(
            heading=heading, type_name=text("type"), summary=lines("summary"), addressee=text("addressee"),
            blocks=tuple(templates.blocks(part.body, part_values, tables)), signature=signature,
            left_signature=left, recipients=lines("recipients")))
    return papers


@dataclass(frozen=True)
class Prepared:
    """What a unit's document is made of before it is laid out: the kind, its template, the
    unit's values and tables, each part's document.* values, whether it is a draft."""
    info: DocumentKind
    source: Source
    values: dict
    tables: dict
    documents: list[dict]
    draft: bool
    day: date | None
    issue: PaperIssue | None


def prepare(unit: Unit, kind: str, prep, *, draft: bool | None = None, issue: PaperIssue | None = None,
            settings: layout.LayoutSettings | None = None, uploaded: set[str] | None = None,
            day: date | None = None) -> Prepared:
    """The pieces of one document of a unit in a preparation (KeyError for a kind outside its
    document set); ``day`` overrides a draft's date (tests read a draft of a fixed day)."""
    from congress.clock import today

    info = kind_info(kind)
    if info is None or kind not in unit_kinds(prep, uploaded=uploaded):
        raise KeyError(kind)
    settings = settings or layout.current_settings()
    source = source_for(unit.province_code, kind, workflow_key(prep), prep)
    if issue is None and not draft:
        issue = latest_issue(unit, kind, prep)
    draft = issue is None
    values, tables = unit_values(unit, prep, settings.place)
    ordinal = values["congress.ordinal"]
    superior, issuer_body = heading_lines(source.issuer, unit, unit.province, ordinal, settings.issuer_max_chars,
                                          settings.state_issuer_max_chars)
    symbol = numbering.ISSUER_SYMBOLS[effective_issuer(source.issuer, unit)]
    style = numbering.style_of(source.issuer)
    if issue is not None:
        day = issue.issued_on
    elif day is None:
        day = dating.draft_day(info, prep, today())
    numbers = {n.part: n.number for n in issue.numbers} if issue else {}
    documents = [document_values(superior=superior, issuer_body=issuer_body, number=numbers.get(part),
                                 abbreviation=info.abbreviation, issuer_symbol=symbol, day=day,
                                 place=place_of(unit, unit.province, settings, source.issuer), draft=draft,
                                 year=dating.term_year(prep), style=style)
                 for part in range(1, source.parts + 1)]
    return Prepared(info, source, values, tables, documents, draft, day, issue)


def unit_papers(unit: Unit, kind: str, *, campaign=None, prep=None, day: date | None = None,
                settings: layout.LayoutSettings | None = None) -> list[layout.Paper]:
    """A unit's document laid out (before Word) as a draft: what a reader reads, for the wording
    tests and checks. Only a kind with a text template."""
    prep = preparation_for(unit, campaign, prep)
    made = prepare(unit, kind, prep, draft=True, settings=settings, day=day)
    if made.source.text is None:
        raise KeyError(kind)
    return compose(made.source.text, made.values, made.tables, made.documents)


def unit_paper(unit: Unit, kind: str, *, draft: bool | None = None, draft_number: int | None = None,
               issue: PaperIssue | None = None, settings: layout.LayoutSettings | None = None,
               campaign=None, prep=None, uploaded: set[str] | None = None) -> Made:
    """One document of a unit in a preparation (``prep``, else the unit's in ``campaign``, else
    the one the request shows) as .docx: the issued version (its numbers and date) when it was
    issued, else a draft ("DỰ THẢO", blank number, today's date). KeyError for a kind that is
    not in the preparation's document set."""
    prep = preparation_for(unit, campaign, prep)
    settings = settings or layout.current_settings()
    made = prepare(unit, kind, prep, draft=draft, issue=issue, settings=settings, uploaded=uploaded)
    if made.source.word is not None:
        content = wordfiles.render(made.source.word.content, {**made.values, **made.documents[0]})
    else:
        papers = compose(made.source.text, made.values, made.tables, made.documents)
        mark = layout.DraftMark(draft_number) if made.draft else None
        content = layout.render(papers, mark, settings, title=f"{made.info.title_vi} – {unit.name}", created=made.day)
    return Made(paper_filename(made.info, unit.name, made.issue, draft_number), content)


def effective_issuer(issuer: str, unit: Unit | None) -> str:
    """The issuer a template's ``issuer`` is for a unit: a commune's committee or congress named
    for a province's own unit is the province's (see heading_lines)."""
    if unit is not None and unit.level == "province":
        return {"committee": "city", "congress": "city_congress"}.get(issuer, issuer)
    return issuer


def paper_filename(info: DocumentKind, owner: str, issue: PaperIssue | None, draft_number: int | None,
                   extension: str = "docx") -> str:
    """"01-KH-ĐU Kế hoạch tổ chức đại hội - Xã An Phú.docx", or "... (dự thảo lần 2).docx"."""
    if issue is not None and issue.numbers:
        first = issue.numbers[0]
        stem = f"{first.symbol.replace('/', '-')} {info.title_vi} - {owner}"
    else:
        stem = f"{info.title_vi} - {owner} (dự thảo{f' lần {draft_number}' if draft_number else ''})"
    return safe_filename(stem, extension)
