"""The one place that lays out a Party document (Hướng dẫn 36-HD/VPTW, 2018) as .docx, and a
document in the state format (Nghị định 30/2020/NĐ-CP), which the Fatherland Front uses.

Everything about the page lives here: A4, margins, Times New Roman in every font slot, the
two-column heading (superior and issuing body, "*", the number on the left; "ĐẢNG CỘNG SẢN VIỆT
NAM" with its rule and the place and date on the right), the document type and summary, the body,
the signature block beside "Nơi nhận:", page numbers from page 2 and the "DỰ THẢO" mark; and how
pages break: a heading never ends a page, a table's header stays with its first row, the closing
text goes with the signature (never a page holding only that), and no page is left empty.
The figures the guidance leaves open (margins, indents, spacing) are in :class:`LayoutSettings`,
overridable per deployment through the ``PAPERS_LAYOUT`` setting.

The state format (a Heading whose ``style`` is "state") differs in its heading only, and in the
size of the recipients: on the left the issuing body in capitals, bold ("ỦY BAN MTTQ VIỆT NAM /
XÃ AN PHÚ"), a short rule beneath it and the number "Số: 01/KH-MTTQ"; on the right "CỘNG HÒA XÃ
HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc" with a rule as long as it, and the place
and date; a short rule under the summary.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.run import Run
from lxml import etree

#: the text "ĐẢNG CỘNG SẢN VIỆT NAM"
NATIONAL_TITLE = "ĐẢNG CỘNG SẢN VIỆT NAM"
#: the state format's national title and motto (Nghị định 30/2020/NĐ-CP, Phụ lục I)
STATE_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
STATE_MOTTO = "Độc lập - Tự do - Hạnh phúc"
PARTY, STATE = "party", "state"
#: the program named in a file's properties (docProps/app.xml)
APPLICATION = "congress"


@dataclass(frozen=True)
class LayoutSettings:
    """The figures of the page. Defaults follow 36-HD/VPTW where it is precise, common practice
    where it gives a range (*uncertain*: override them with ``PAPERS_LAYOUT = {"left_mm": 35}``)."""
    page_width_mm: float = 210
    page_height_mm: float = 297
    top_mm: float = 20
    bottom_mm: float = 20
    left_mm: float = 30
    right_mm: float = 15
    header_mm: float = 10
    footer_mm: float = 10
    font: str = "Times New Roman"
    body_pt: float = 14
    national_pt: float = 15
    bodies_pt: float = 14
    number_pt: float = 14
    place_date_pt: float = 14
    type_pt: float = 16
    summary_pt: float = 14
    recipients_heading_pt: float = 12
    recipients_pt: float = 12
    page_number_pt: float = 14
    draft_mark_pt: float = 14
    first_line_indent_mm: float = 10
    space_before_pt: float = 6
    space_after_pt: float = 0
    line_spacing: float = 1.1
    #: the heading table: a little wider than the text, reaching into the left margin
    heading_left_mm: float = 90
    heading_right_mm: float = 85
    heading_indent_mm: float = -5
    #: width of "ĐẢNG CỘNG SẢN VIỆT NAM" in Times New Roman bold 15 pt (72.9 mm, measured with the
    #: metric-compatible Liberation Serif 2) and a little slack: the rule beneath has this length
    national_title_mm: float = 75
    #: a heading body longer than this (in characters) is set on two lines after its kind word
    #: ("ĐẢNG ỦY PHƯỜNG / NGUYỄN ĐẠI NĂNG") rather than wrapped at the cell's edge
    issuer_max_chars: int = 27
    #: the signature block: "Nơi nhận" on the left, the signer on the right
    signature_left_mm: float = 80
    signature_right_mm: float = 85
    #: empty lines left for the handwritten signature
    signature_space_lines: int = 4
    #: the short rule under the summary line
    summary_rule: str = "-----"
    #: where a document is written: the province ("Hải Phòng") or the unit ("An Phú")
    place: str = "province"
    #: "Nơi nhận:" bold italic (the brief); some offices underline it instead
    recipients_heading_underline: bool = False
    #: the state format (Nghị định 30/2020/NĐ-CP): the heading's columns (the national title in
    #: bold 13 pt is 96 mm as LibreOffice sets it with Liberation Serif), its sizes, its rules
    state_heading_left_mm: float = 80
    state_heading_right_mm: float = 100
    #: the state heading reaches 10 mm into the left margin (and 5 mm into the right one, as the
    #: Party's): LibreOffice needs about 100 mm for the national title in a cell
    state_heading_indent_mm: float = -10
    state_national_pt: float = 13
    state_motto_pt: float = 14
    #: the issuing body: 12 pt (the decree allows 12 to 13) keeps "ĐẠI HỘI ĐẠI BIỂU MTTQ VIỆT NAM"
    #: on one line of its column
    state_bodies_pt: float = 12
    state_number_pt: float = 13
    #: width of "Độc lập - Tự do - Hạnh phúc" in bold 14 pt (57.2 mm): the rule beneath it
    state_motto_mm: float = 58
    #: the rule under the issuing body and the one under the summary (1/3 to 1/2 of the line)
    state_issuer_rule_mm: float = 25
    state_summary_rule_mm: float = 35
    state_recipients_pt: float = 11
    #: an issuing body longer than this is set on one more line (state format, 12 pt bold)
    state_issuer_max_chars: int = 28

    @classmethod
    def from_config(cls, overrides: dict[str, Any] | None) -> LayoutSettings:
        if not overrides:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"PAPERS_LAYOUT: unknown setting(s) {', '.join(unknown)}")
        return replace(cls(), **overrides)

    @property
    def text_width_mm(self) -> float:
        return self.page_width_mm - self.left_mm - self.right_mm


def current_settings() -> LayoutSettings:
    """The settings of the running app (defaults outside an app)."""
    from flask import current_app, has_app_context

    if has_app_context():
        return LayoutSettings.from_config(current_app.config.get("PAPERS_LAYOUT"))
    return LayoutSettings()


# --- what a document is made of ----------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the body. ``style``: body (justified, first-line indent), h1, h2, h3 (section
    headings), center, right, plain (justified, no indent)."""
    spans: tuple[Span, ...]
    style: str = "body"


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]
    header_rows: int = 1
    #: relative column widths; equal when empty
    widths: tuple[float, ...] = ()
    #: per column: "left", "center" or "right"
    align: tuple[str, ...] = ()
    font_pt: float | None = None


@dataclass(frozen=True)
class PageBreak:
    """A page break between two blocks of a document."""


Block = Paragraph | Table | PageBreak


@dataclass(frozen=True)
class Signature:
    #: "T/M BAN THƯỜNG VỤ", "K/T BÍ THƯ", "PHÓ BÍ THƯ" ...
    lines: tuple[str, ...]
    #: the signer's name, or empty to leave it to be written
    name: str = ""


@dataclass(frozen=True)
class Heading:
    superior: str          #: "ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG" (may be empty)
    issuer: str            #: "ĐẢNG ỦY PHƯỜNG TỨ MINH"
    number_line: str       #: "Số 12-KH/ĐU" or "Số    -KH/ĐU"
    place_date: str        #: "Hải Phòng, ngày 05 tháng 8 năm 2025"
    #: PARTY (36-HD/VPTW) or STATE (Nghị định 30/2020/NĐ-CP: the Fatherland Front's documents)
    style: str = PARTY


@dataclass(frozen=True)
class Paper:
    """One document: heading, type, summary, body, signature, recipients."""
    heading: Heading
    type_name: str                         #: "KẾ HOẠCH" (capitals)
    summary: tuple[str, ...] = ()          #: the summary ("trích yếu") lines
    addressee: str = ""                    #: "Kính gửi: ..." (submissions)
    blocks: tuple[Block, ...] = ()
    signature: Signature | None = None
    #: a second signer on the left (minutes), instead of "Nơi nhận"
    left_signature: Signature | None = None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftMark:
    number: int | None = None

    @property
    def lines(self) -> tuple[str, ...]:
        return ("DỰ THẢO",) + ((f"Dự thảo lần {self.number}",) if self.number else ())


@dataclass
class Rendered:
    """What a render produced, for callers that want to look (tests, the preview)."""
    document: Any
    sections: list = field(default_factory=list)


# --- rendering ---------------------------------------------------------------------------------

def render(papers: list[Paper], draft: DraftMark | None = None,
           settings: LayoutSettings | None = None, title: str = "", *, subject: str | None = None,
           author: str | None = None, created: date | datetime | None = None) -> bytes:
    """The .docx bytes of one or more documents; each starts a new section and a new page.

    The file's properties are the document's own: ``title`` (default: the first document's type),
    ``subject`` (default: its summary), ``author`` and last editor, the issuing committee ("Đảng ủy
    xã An Phú"; default: the heading's issuing body in normal case), created and modified on
    ``created``, the document's date (default: now), revision 1."""
    settings = settings or current_settings()
    document = Document(io.BytesIO(_base_document(settings)))
    for index, paper in enumerate(papers):
        if index:
            document.add_section(WD_SECTION.NEW_PAGE)
            # the paragraph that ends the previous document's section (and so its page)
            _closing_paragraph(document.element.body.findall(qn("w:p"))[-1])
        section = document.sections[index]
        _page(section, settings, draft)
        if index == 0:
            _remove_initial_paragraph(document)
        _paper(document, paper, settings)
    if papers:
        # the body ends with a paragraph (Word adds one after a final table): a tiny one
        _closing_paragraph(document.add_paragraph()._p)
    first = papers[0] if papers else None
    author = author if author is not None else (issuer_name(first.heading) if first else "")
    _properties(document, title=title or (first.type_name if first else ""),
                subject=subject if subject is not None else (summary_text(first.summary) if first else ""),
                author=author, created=created)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _closing_paragraph(p) -> None:
    """An empty paragraph after a document's signature, the one that carries a section break or
    ends the body: 1 pt high, so that it never spills onto a page of its own when the signature
    reaches the foot of the page."""
    p_pr = p.get_or_add_pPr()
    spacing = OxmlElement("w:spacing")
    for attr, value in (("w:before", "0"), ("w:after", "0"), ("w:line", "20"), ("w:lineRule", "exact")):
        spacing.set(qn(attr), value)
    _put(p_pr, spacing, PPR_AFTER_BDR[PPR_AFTER_BDR.index("w:spacing") + 1:])
    mark = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "2")
    mark.append(size)
    _put(p_pr, mark, ("w:sectPr", "w:pPrChange"))


#: how a heading's body begins, as a sentence writes it: organisations (capitalised), phrases
#: written one way (the Front's abbreviation), then the kind of place (lower case)
_BODY_WORDS = re.compile(r"^(ĐẢNG ỦY|ĐẢNG BỘ|THÀNH ỦY|TỈNH ỦY|BAN THƯỜNG VỤ(?: ĐẢNG ỦY)?|BAN THƯỜNG TRỰC|"
                         r"ĐẠI HỘI ĐẠI BIỂU)(?= |$)")
_FIXED_WORDS = {"ỦY BAN MTTQ VIỆT NAM": "Ủy ban MTTQ Việt Nam",
                "ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM": "Ủy ban Mặt trận Tổ quốc Việt Nam",
                "ĐẠI HỘI ĐẠI BIỂU MTTQ VIỆT NAM": "Đại hội đại biểu MTTQ Việt Nam",
                "ĐẠI HỘI ĐẠI BIỂU MẶT TRẬN TỔ QUỐC VIỆT NAM": "Đại hội đại biểu Mặt trận Tổ quốc Việt Nam"}
_KIND_WORDS = re.compile(r"^(XÃ|PHƯỜNG|ĐẶC KHU|THÀNH PHỐ|TỈNH)(?= |$)")
_ORDINAL = re.compile(r" LẦN THỨ ([IVXLC]+)$")


def normal_case(text: str) -> str:
    """A heading's body ("ĐẢNG ỦY PHƯỜNG\nLÊ THANH NGHỊ") as a sentence writes it ("Đảng ủy phường
    Lê Thanh Nghị"): the bodies' words capitalised once ("Đại hội đại biểu Đảng bộ thành phố Hải
    Phòng"), the kind of place in lower case, the name's words capitalised, a Roman ordinal kept.
    Text not in capitals is returned as it is (on one line)."""
    text = " ".join(text.split())
    if not text or text != text.upper():
        return text
    ordinal = ""
    found = _ORDINAL.search(" " + text)
    if found:
        ordinal = f"lần thứ {found.group(1)}"
        text = (" " + text)[:found.start()].strip()
    words: list[str] = []
    rest = text
    while rest:
        fixed = next((head for head in sorted(_FIXED_WORDS, key=len, reverse=True)
                      if rest == head or rest.startswith(head + " ")), None)
        if fixed:
            words.append(_FIXED_WORDS[fixed])
            rest = rest[len(fixed):].strip()
            continue
        found = _BODY_WORDS.match(rest)
        if not found:
            break
        head = found.group(0).lower()
        words.append(head[:1].upper() + head[1:])
        rest = rest[found.end():].strip()
    found = _KIND_WORDS.match(rest)
    if found:
        words.append(found.group(0).lower())
        rest = rest[found.end():].strip()
    name = " ".join(word[:1] + word[1:].lower() for word in rest.split())
    joined = " ".join(part for part in (*words, name, ordinal) if part)
    return joined[:1].upper() + joined[1:]


def issuer_name(heading: Heading) -> str:
    """The issuing body in normal case; a congress is named with its Party organisation:
    "Đại hội đại biểu Đảng bộ xã An Phú lần thứ I"."""
    issuer = normal_case(heading.issuer)
    head, sep, ordinal = issuer.partition(" lần thứ ")
    if sep and head == "Đại hội đại biểu" and heading.superior:
        return f"{head} {normal_case(heading.superior)} lần thứ {ordinal}"
    return issuer


def summary_text(lines: tuple[str, ...]) -> str:
    return " ".join(line.strip() for line in lines if line.strip())


def _datetime(value: date | datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(microsecond=0)
    return datetime(value.year, value.month, value.day)


def _properties(document, *, title: str, subject: str, author: str, created) -> None:
    """The core and extended properties, all ours (python-docx's template has its own)."""
    props = document.core_properties
    when = _datetime(created)
    props.title = title
    props.subject = subject
    props.author = author
    props.last_modified_by = author
    props.comments = ""
    props.keywords = ""
    props.category = ""
    props.created = when
    props.modified = when
    props.revision = 1
    props.language = "vi-VN"
    app = document.part.package.part_related_by(RT.EXTENDED_PROPERTIES)
    app._blob = _app_xml(author)


def _app_xml(company: str) -> bytes:
    from xml.sax.saxutils import escape

    return ("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
            'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            f"<Application>{APPLICATION}</Application><DocSecurity>0</DocSecurity>"
            f"<Company>{escape(company)}</Company><LinksUpToDate>false</LinksUpToDate>"
            "<SharedDoc>false</SharedDoc></Properties>").encode()


@lru_cache(maxsize=8)
def _base_document(settings: LayoutSettings) -> bytes:
    """python-docx's blank document with the page's fonts and defaults, saved once per settings:
    every document starts from these bytes instead of rebuilding its styles (the same parts).
    Without what the template carries for no use of ours: its thumbnail, Word 2010's second copy
    of the styles (stylesWithEffects.xml, 430 kB that every document would parse and zip again)
    and a custom XML part."""
    document = Document()
    _document_defaults(document, settings)
    package = document.part.package
    for r_id, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package.rels[r_id]
    for r_id, rel in list(document.part.rels.items()):
        if rel.reltype.endswith(("/stylesWithEffects", "/customXml")):
            del document.part.rels[r_id]
    _prune_styles(document.styles.element)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


#: the styles a document refers to (the headers' and footers' paragraphs name theirs)
USED_STYLES = ("Normal", "Header", "Footer")


def _prune_styles(styles) -> None:
    """Only the styles in use (the defaults, USED_STYLES and those they are based on or linked
    to), not the template's 160: Word and LibreOffice read every one for every document."""
    by_id = {style.get(qn("w:styleId")): style for style in styles.findall(qn("w:style"))}
    keep = {sid for sid, style in by_id.items() if style.get(qn("w:default")) in ("1", "true")}
    keep |= {sid for sid in USED_STYLES if sid in by_id}
    pending = list(keep)
    while pending:
        style = by_id[pending.pop()]
        for tag in ("w:basedOn", "w:link", "w:next"):
            ref = style.find(qn(tag))
            if ref is not None and ref.get(qn("w:val")) in by_id and ref.get(qn("w:val")) not in keep:
                keep.add(ref.get(qn("w:val")))
                pending.append(ref.get(qn("w:val")))
    for sid, style in by_id.items():
        if sid not in keep:
            styles.remove(style)


def _remove_initial_paragraph(document) -> None:
    body = document.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        if not p.xpath(".//w:t") and p.getparent() is body and p.find(qn("w:pPr")) is None:
            body.remove(p)
            break


#: successors of elements we add, in the order of the WordprocessingML schema (Word refuses a file
#: whose children are out of order)
RPR_AFTER_SZ = ("w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl",
                "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath")
RPR_AFTER_LANG = ("w:eastAsianLayout", "w:specVanish", "w:oMath")
PPR_AFTER_BDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
                 "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
                 "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
                 "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
                 "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
TBLPR_ORDER = ("w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize",
               "w:tblStyleColBandSize", "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders",
               "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription")


def _put(parent, child, successors) -> None:
    """Replace ``parent``'s child of the same tag, or insert it before the first successor."""
    for old in parent.findall(child.tag):
        parent.remove(old)
    parent.insert_element_before(child, *successors)


def _put_tbl(tbl_pr, child) -> None:
    tag = child.tag.split("}")[1]
    _put(tbl_pr, child, TBLPR_ORDER[TBLPR_ORDER.index("w:" + tag) + 1:])


def set_fonts(rpr, settings: LayoutSettings) -> None:
    """Times New Roman in all four slots (ascii, hAnsi, eastAsia, cs); no theme font overrides it."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), settings.font)


def _set_size(rpr, points: float) -> None:
    for tag, successors in (("w:szCs", RPR_AFTER_SZ), ("w:sz", ("w:szCs",) + RPR_AFTER_SZ)):
        element = OxmlElement(tag)
        element.set(qn("w:val"), str(int(round(points * 2))))
        _put(rpr, element, successors)


def _set_lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.insert_element_before(lang, *RPR_AFTER_LANG)
    lang.set(qn("w:val"), "vi-VN")


def _document_defaults(document, settings: LayoutSettings) -> None:
    styles = document.styles.element
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    set_fonts(rpr, settings)
    _set_size(rpr, settings.body_pt)
    _set_lang(rpr)
    for style_rpr in styles.iter(qn("w:rPr")):
        if style_rpr.find(qn("w:rFonts")) is not None or style_rpr.getparent().tag == qn("w:style"):
            set_fonts(style_rpr, settings)
    normal = document.styles["Normal"]
    normal.font.size = Pt(settings.body_pt)
    set_fonts(normal.element.get_or_add_rPr(), settings)
    fmt = normal.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0


def _page(section, settings: LayoutSettings, draft: DraftMark | None) -> None:
    section.page_width = Mm(settings.page_width_mm)
    section.page_height = Mm(settings.page_height_mm)
    section.top_margin = Mm(settings.top_mm)
    section.bottom_margin = Mm(settings.bottom_mm)
    section.left_margin = Mm(settings.left_mm)
    section.right_margin = Mm(settings.right_mm)
    section.header_distance = Mm(settings.header_mm)
    section.footer_distance = Mm(settings.footer_mm)
    section.different_first_page_header_footer = True
    # each document numbers its own pages from 1 (the first page shows none)
    sect_pr = section._sectPr
    pg = sect_pr.find(qn("w:pgNumType"))
    if pg is None:
        pg = OxmlElement("w:pgNumType")
        sect_pr.insert_element_before(pg, "w:cols", "w:formProt", "w:vAlign", "w:noEndnote", "w:titlePg",
                                      "w:textDirection", "w:bidi", "w:rtlGutter", "w:docGrid",
                                      "w:printerSettings", "w:sectPrChange")
    pg.set(qn("w:start"), "1")
    section.header.is_linked_to_previous = False
    section.first_page_header.is_linked_to_previous = False
    header = section.header.paragraphs[0]
    _clear(header)
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_field(header, settings)
    first = section.first_page_header.paragraphs[0]
    _clear(first)
    if draft is not None:
        first.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for index, line in enumerate(draft.lines):
            if index:
                _run(first, "", settings, settings.draft_mark_pt).add_break()
            _run(first, line, settings, settings.draft_mark_pt, bold=index == 0, italic=index > 0)
    for part in (section.footer, section.first_page_footer):
        part.is_linked_to_previous = False


def _clear(paragraph) -> None:
    for run in list(paragraph.runs):
        run._r.getparent().remove(run._r)


_W = {name: qn(f"w:{name}") for name in ("r", "rPr", "rFonts", "b", "i", "sz", "u", "lang", "t", "val", "ascii",
                                           "hAnsi", "eastAsia", "cs", "pPr", "keepNext", "spacing", "before",
                                           "after", "line", "lineRule", "ind", "firstLine", "jc")}
_PRESERVE = qn("xml:space")


def _run(paragraph, text: str, settings: LayoutSettings, size: float, *, bold: bool = False,
         italic: bool = False, underline: bool = False):
    """A run with its own properties: Times New Roman in the four slots, bold and italic said
    either way, the size, the language. Built directly (the same XML python-docx's setters
    write, in the schema's order, without their search for each element's place)."""
    if "\t" in text or "\n" in text or "\r" in text:
        run = paragraph.add_run(text)  # python-docx turns these into w:tab and w:br
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.italic = italic
        if underline:
            run.font.underline = True
        rpr = run._r.get_or_add_rPr()
        set_fonts(rpr, settings)
        _set_lang(rpr)
        return run
    r = OxmlElement("w:r")
    rpr = etree.SubElement(r, _W["rPr"])
    fonts = etree.SubElement(rpr, _W["rFonts"])
    for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(_W[slot], settings.font)
    for tag, on in (("b", bold), ("i", italic)):
        element = etree.SubElement(rpr, _W[tag])
        if not on:
            element.set(_W["val"], "0")
    etree.SubElement(rpr, _W["sz"]).set(_W["val"], str(int(Pt(size).pt * 2)))
    if underline:
        etree.SubElement(rpr, _W["u"]).set(_W["val"], "single")
    etree.SubElement(rpr, _W["lang"]).set(_W["val"], "vi-VN")
    if text:
        t = etree.SubElement(r, _W["t"])
        t.text = text
        if text.strip() != text:
            t.set(_PRESERVE, "preserve")
    paragraph._p.append(r)
    return Run(r, paragraph)


def _page_field(paragraph, settings: LayoutSettings) -> None:
    """A PAGE field: Word and LibreOffice fill in the page number."""
    def field_char(kind: str):
        run = _run(paragraph, "", settings, settings.page_number_pt)
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run._r.append(char)

    field_char("begin")
    run = _run(paragraph, "", settings, settings.page_number_pt)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    run._r.append(instr)
    field_char("separate")
    _run(paragraph, "2", settings, settings.page_number_pt)
    field_char("end")


_JC = {WD_ALIGN_PARAGRAPH.JUSTIFY: "both", WD_ALIGN_PARAGRAPH.CENTER: "center", WD_ALIGN_PARAGRAPH.LEFT: "left",
       WD_ALIGN_PARAGRAPH.RIGHT: "right"}


def _format(paragraph, settings: LayoutSettings, *, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False,
            before: float | None = None, after: float | None = None, keep_next: bool = False) -> None:
    """Alignment, first-line indent, spacing, line spacing and keep-with-next of a paragraph.
    A new paragraph gets its properties built directly (what the setters below would write)."""
    p = paragraph._p
    if p.pPr is None and align in _JC:
        p_pr = OxmlElement("w:pPr")
        if keep_next:
            etree.SubElement(p_pr, _W["keepNext"])
        spacing = etree.SubElement(p_pr, _W["spacing"])
        spacing.set(_W["before"], str(Pt(settings.space_before_pt if before is None else before).twips))
        spacing.set(_W["after"], str(Pt(settings.space_after_pt if after is None else after).twips))
        spacing.set(_W["line"], str(int(round(settings.line_spacing * 240))))
        spacing.set(_W["lineRule"], "auto")
        if indent:
            etree.SubElement(p_pr, _W["ind"]).set(_W["firstLine"], str(Mm(settings.first_line_indent_mm).twips))
        etree.SubElement(p_pr, _W["jc"]).set(_W["val"], _JC[align])
        p.insert(0, p_pr)
        return
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.first_line_indent = Mm(settings.first_line_indent_mm) if indent else None
    fmt.space_before = Pt(settings.space_before_pt if before is None else before)
    fmt.space_after = Pt(settings.space_after_pt if after is None else after)
    fmt.line_spacing = settings.line_spacing
    if keep_next:
        fmt.keep_with_next = True


def _borders(table, value: str) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        if value != "nil":
            element.set(qn("w:sz"), "4")
            element.set(qn("w:space"), "0")
            element.set(qn("w:color"), "000000")
        borders.append(element)
    _put_tbl(table._tbl.tblPr, borders)


def _borderless(table, widths_mm: list[float], indent_mm: float = 0) -> None:
    _borders(table, "nil")
    _fixed_widths(table, widths_mm, indent_mm, margins_mm=0)


def _fixed_widths(table, widths_mm: list[float], indent_mm: float = 0, margins_mm: float | None = None) -> None:
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    _put_tbl(tbl_pr, layout)
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), str(int(Mm(sum(widths_mm)).twips)))
    width.set(qn("w:type"), "dxa")
    _put_tbl(tbl_pr, width)
    if indent_mm:
        ind = OxmlElement("w:tblInd")
        ind.set(qn("w:w"), str(int(Mm(indent_mm).twips)))
        ind.set(qn("w:type"), "dxa")
        _put_tbl(tbl_pr, ind)
    if margins_mm is not None:
        mar = OxmlElement("w:tblCellMar")
        for edge in ("left", "right"):  # CT_TblCellMar: top, left (start), bottom, right (end)
            element = OxmlElement(f"w:{edge}")
            element.set(qn("w:w"), str(int(Mm(margins_mm).twips)))
            element.set(qn("w:type"), "dxa")
            mar.append(element)
        _put_tbl(tbl_pr, mar)
    grid = table._tbl.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths_mm, strict=True):
        col.set(qn("w:w"), str(int(Mm(w).twips)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(w)


def _bottom_border(paragraph) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), "6")
    bottom.set(qn("w:space"), "1")
    bottom.set(qn("w:color"), "000000")
    borders.append(bottom)
    _put(p_pr, borders, PPR_AFTER_BDR)


def _cell_paragraph(cell, first: bool):
    return cell.paragraphs[0] if first else cell.add_paragraph()


def _heading(document, heading: Heading, settings: LayoutSettings) -> None:
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _borderless(table, [settings.heading_left_mm, settings.heading_right_mm], settings.heading_indent_mm)
    left, right = table.rows[0].cells
    lines = []
    if heading.superior:
        lines.append((heading.superior.upper(), False, settings.bodies_pt))
    lines.append((heading.issuer.upper(), True, settings.bodies_pt))
    lines.append(("*", False, settings.bodies_pt))
    lines.append((heading.number_line, False, settings.number_pt))
    for index, (text, bold, size) in enumerate(lines):
        p = _cell_paragraph(left, index == 0)
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=0, after=0)
        p.paragraph_format.line_spacing = 1.0
        for part_index, part in enumerate(text.split("\n")):
            if part_index:
                _run(p, "", settings, size, bold=bold).add_break()
            _run(p, part, settings, size, bold=bold)

    title = right.paragraphs[0]
    _format(title, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=0, after=0)
    title.paragraph_format.line_spacing = 1.0
    # the rule as long as the title: a bottom border between indents that leave the title's width
    side = max(0.0, (settings.heading_right_mm - settings.national_title_mm) / 2)
    title.paragraph_format.left_indent = Mm(side)
    title.paragraph_format.right_indent = Mm(side)
    _run(title, NATIONAL_TITLE, settings, settings.national_pt, bold=True)
    _bottom_border(title)
    lines_left = sum(text.count("\n") + 1 for text, _, _ in lines)
    # the place and date on the level of the number line
    for _ in range(max(0, lines_left - 2)):
        spacer = right.add_paragraph()
        _format(spacer, settings, before=0, after=0)
        spacer.paragraph_format.line_spacing = 1.0
        _run(spacer, "", settings, settings.bodies_pt)
    date = right.add_paragraph()
    _format(date, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=0, after=0)
    date.paragraph_format.line_spacing = 1.0
    _run(date, heading.place_date, settings, settings.place_date_pt, italic=True)


def _rule(cell_or_document, settings: LayoutSettings, width_mm: float, room_mm: float, *, keep_next: bool = False,
          before: float = 0, after: float = 0):
    """A short centred rule of ``width_mm`` in a room ``room_mm`` wide: the bottom border of a
    paragraph 2 pt high between indents (the state format's rules under the issuing body and the
    summary)."""
    p = cell_or_document.add_paragraph()
    _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=before, after=after, keep_next=keep_next)
    p_pr = p._p.get_or_add_pPr()
    spacing = p_pr.find(qn("w:spacing"))
    spacing.set(qn("w:line"), "40")
    spacing.set(qn("w:lineRule"), "exact")
    side = max(0.0, (room_mm - width_mm) / 2)
    p.paragraph_format.left_indent = Mm(side)
    p.paragraph_format.right_indent = Mm(side)
    _bottom_border(p)
    mark = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "4")
    mark.append(size)
    _put(p_pr, mark, ("w:sectPr", "w:pPrChange"))
    return p


def _state_heading(document, heading: Heading, settings: LayoutSettings) -> None:
    """The state format's heading (Nghị định 30/2020/NĐ-CP, Phụ lục I): the issuing body (its
    superior, if any, in regular capitals above it) over a short rule and the number on the left;
    the national title and the motto over its rule, and the place and date on the right; the
    number and the date on one level."""
    left_mm, right_mm = settings.state_heading_left_mm, settings.state_heading_right_mm
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _borderless(table, [left_mm, right_mm], settings.state_heading_indent_mm)
    left, right = table.rows[0].cells

    def line(cell, first: bool, text: str, size: float, *, bold: bool = False, italic: bool = False,
             before: float = 0):
        p = _cell_paragraph(cell, first)
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=before, after=0)
        p.paragraph_format.line_spacing = 1.0
        for index, part in enumerate(text.split("\n")):
            if index:
                _run(p, "", settings, size, bold=bold).add_break()
            _run(p, part, settings, size, bold=bold, italic=italic)
        return p

    def spacer(cell, points: float) -> None:
        """An empty paragraph ``points`` high: the number and the date on one level."""
        if points < 1:
            return
        p = cell.add_paragraph()
        _format(p, settings, before=0, after=0)
        spacing = p._p.get_or_add_pPr().find(qn("w:spacing"))
        spacing.set(qn("w:line"), str(int(round(points * 20))))
        spacing.set(qn("w:lineRule"), "exact")

    bodies = ([(heading.superior.upper(), False)] if heading.superior else []) + [(heading.issuer.upper(), True)]
    left_lines = sum(text.count("\n") + 1 for text, _ in bodies)
    # single spacing is about 1.15 times the size in Times New Roman (and Liberation Serif)
    left_height = 1.15 * settings.state_bodies_pt * left_lines
    right_height = 1.15 * (settings.state_national_pt + settings.state_motto_pt)
    for index, (text, bold) in enumerate(bodies):
        line(left, index == 0, text, settings.state_bodies_pt, bold=bold)
    _rule(left, settings, settings.state_issuer_rule_mm, left_mm, before=1)
    spacer(left, right_height - left_height)
    line(left, False, heading.number_line, settings.state_number_pt, before=6)

    line(right, True, STATE_TITLE, settings.state_national_pt, bold=True)
    line(right, False, STATE_MOTTO, settings.state_motto_pt, bold=True)
    _rule(right, settings, settings.state_motto_mm, right_mm, before=1)
    spacer(right, left_height - right_height)
    line(right, False, heading.place_date, settings.place_date_pt, italic=True, before=6)


def _type_and_summary(document, paper: Paper, settings: LayoutSettings) -> None:
    p = document.add_paragraph()
    _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=18, after=0, keep_next=True)
    _run(p, paper.type_name.upper(), settings, settings.type_pt, bold=True)
    for line in paper.summary:
        p = document.add_paragraph()
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=0, after=0, keep_next=True)
        _run(p, line, settings, settings.summary_pt, bold=True)
    if paper.heading.style == STATE:
        if paper.summary:
            _rule(document, settings, settings.state_summary_rule_mm, settings.text_width_mm, keep_next=True,
                  before=3, after=6)
    elif settings.summary_rule:
        p = document.add_paragraph()
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=0, after=6, keep_next=True)
        _run(p, settings.summary_rule, settings, settings.summary_pt)
    if paper.addressee:
        p = document.add_paragraph()
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=6)
        _spans(p, _addressee_spans(paper.addressee), settings, settings.body_pt)


def _addressee_spans(text: str) -> tuple[Span, ...]:
    head, sep, rest = text.partition(":")
    if not sep:
        return (Span(text),)
    return (Span(head + sep, italic=True), Span(rest))


def _spans(paragraph, spans, settings: LayoutSettings, size: float, bold: bool = False, italic: bool = False) -> None:
    for span in spans:
        _run(paragraph, span.text, settings, size, bold=bold or span.bold, italic=italic or span.italic)


#: the closing text kept on the signature's page: paragraphs from the end of the body until they
#: hold this many characters (about two lines), at most CLOSING_PARAGRAPHS of them
CLOSING_CHARS = 120
CLOSING_PARAGRAPHS = 2


def _text(block: Paragraph) -> str:
    return "".join(span.text for span in block.spans).strip()


def _leads_in(block: Paragraph) -> bool:
    """A heading of what follows: a section heading, a line all in bold ("QUYẾT ĐỊNH", "**Điều
    1.**" on its own) or a paragraph that ends with a colon ("Đại hội quyết nghị:")."""
    text = _text(block)
    if not text:
        return False
    if block.style in ("h1", "h2", "h3") or text.endswith(":"):
        return True
    return all(span.bold for span in block.spans if span.text.strip())


def closing_blocks(blocks) -> set[int]:
    """The indexes of the body's closing blocks, kept on the page of the signature: the last
    paragraphs (about two lines of text), or the end of a table that closes the body."""
    kept: set[int] = set()
    chars = paragraphs = 0
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if isinstance(block, PageBreak):
            break
        kept.add(index)
        if isinstance(block, Table):
            break
        text = _text(block)
        if not text:
            continue  # a ::blank line carries nothing of its own
        chars += len(text)
        paragraphs += 1
        if chars >= CLOSING_CHARS or paragraphs >= CLOSING_PARAGRAPHS:
            break
    return kept


def _blocks(document, blocks, settings: LayoutSettings, signed: bool = True) -> None:
    """The body. Headings and lead-ins stay with what follows them; with a signature after the
    body (``signed``), the closing blocks stay with it, so it never stands alone on a page."""
    closing = closing_blocks(blocks) if signed else set()
    for index, block in enumerate(blocks):
        if isinstance(block, PageBreak):
            p = document.add_paragraph()
            _run(p, "", settings, settings.body_pt).add_break(WD_BREAK.PAGE)
        elif isinstance(block, Table):
            _table(document, block, settings, keep_end=index in closing)
        else:
            last = index == len(blocks) - 1
            keep = index in closing or (not last and _leads_in(block))
            _paragraph(document, block, settings, keep_next=keep)


def _paragraph(document, block: Paragraph, settings: LayoutSettings, keep_next: bool = False) -> None:
    p = document.add_paragraph()
    style = block.style
    if style in ("h1", "h2", "h3"):
        _format(p, settings, indent=True, keep_next=True)
        _spans(p, block.spans, settings, settings.body_pt, bold=True, italic=style == "h3")
    elif style == "center":
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, keep_next=keep_next)
        _spans(p, block.spans, settings, settings.body_pt)
    elif style == "right":
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.RIGHT, keep_next=keep_next)
        _spans(p, block.spans, settings, settings.body_pt)
    elif style == "plain":
        _format(p, settings, keep_next=keep_next)
        _spans(p, block.spans, settings, settings.body_pt)
    else:
        _format(p, settings, indent=True, keep_next=keep_next)
        _spans(p, block.spans, settings, settings.body_pt)


def _cant_split(row) -> None:
    """A row that never breaks across pages."""
    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn("w:cantSplit")) is None:
        tr_pr.insert(0, OxmlElement("w:cantSplit"))  # CT_TrPr: a choice, any order


def _table(document, block: Table, settings: LayoutSettings, keep_end: bool = False) -> None:
    """A ruled table. No row breaks across pages; the header rows stay with the first body row
    (and repeat on each page); with ``keep_end`` the last rows stay with what follows."""
    if not block.rows:
        return
    columns = max(len(r) for r in block.rows)
    table = document.add_table(rows=len(block.rows), cols=columns)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _borders(table, "single")
    weights = list(block.widths) if len(block.widths) == columns else [1.0] * columns
    total = sum(weights)
    _fixed_widths(table, [settings.text_width_mm * w / total for w in weights], margins_mm=1.5)
    size = block.font_pt or settings.body_pt - 1
    #: the rows that keep with the next row: the header, and the last two rows before the closing text
    last = len(block.rows) - 1
    for r, row in enumerate(block.rows):
        header = r < block.header_rows
        _cant_split(table.rows[r])
        if header:
            tr_pr = table.rows[r]._tr.get_or_add_trPr()
            repeat = OxmlElement("w:tblHeader")
            tr_pr.append(repeat)
        keep = (header and r < last) or (keep_end and r >= last - 1)
        for c in range(columns):
            text = row[c] if c < len(row) else ""
            cell = table.rows[r].cells[c]
            p = cell.paragraphs[0]
            align = block.align[c] if c < len(block.align) else "left"
            _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER if header or align == "center"
                    else WD_ALIGN_PARAGRAPH.RIGHT if align == "right" else WD_ALIGN_PARAGRAPH.LEFT,
                    before=2, after=2, keep_next=keep)
            p.paragraph_format.line_spacing = 1.0
            for span in parse_inline(text):
                _run(p, span.text, settings, size, bold=header or span.bold, italic=span.italic)
    spacer = document.add_paragraph()
    _format(spacer, settings, before=0, after=0, keep_next=keep_end)
    _run(spacer, "", settings, settings.body_pt)


def _signer(cell, signature: Signature, settings: LayoutSettings) -> None:
    for index, line in enumerate(signature.lines):
        p = _cell_paragraph(cell, index == 0)
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=0, after=0)
        p.paragraph_format.line_spacing = 1.0
        _run(p, line, settings, settings.body_pt, bold=True)
    for _ in range(settings.signature_space_lines):
        p = cell.add_paragraph()
        _format(p, settings, before=0, after=0)
        p.paragraph_format.line_spacing = 1.0
        _run(p, "", settings, settings.body_pt)
    p = cell.add_paragraph()
    _format(p, settings, align=WD_ALIGN_PARAGRAPH.CENTER, before=0, after=0)
    p.paragraph_format.line_spacing = 1.0
    _run(p, signature.name, settings, settings.body_pt, bold=True)


def _signature_block(document, paper: Paper, settings: LayoutSettings) -> None:
    if not _signed(paper):
        return
    # the space above the signature goes with it (and the closing text with both, see _blocks)
    spacer = document.add_paragraph()
    _format(spacer, settings, before=0, after=0, keep_next=True)
    _run(spacer, "", settings, settings.body_pt)
    table = document.add_table(rows=1, cols=2)
    _borderless(table, [settings.signature_left_mm, settings.signature_right_mm])
    _cant_split(table.rows[0])  # the block on one page
    left, right = table.rows[0].cells
    if paper.left_signature is not None:
        _signer(left, paper.left_signature, settings)
    elif paper.recipients:
        p = left.paragraphs[0]
        _format(p, settings, align=WD_ALIGN_PARAGRAPH.LEFT, before=0, after=0)
        p.paragraph_format.line_spacing = 1.0
        _run(p, "Nơi nhận:", settings, settings.recipients_heading_pt, bold=True,
             italic=not settings.recipients_heading_underline, underline=settings.recipients_heading_underline)
        size = settings.state_recipients_pt if paper.heading.style == STATE else settings.recipients_pt
        for line in paper.recipients:
            line = line if line.startswith(("- ", "+ ")) else "- " + line
            p = left.add_paragraph()
            _format(p, settings, align=WD_ALIGN_PARAGRAPH.LEFT, before=0, after=0)
            p.paragraph_format.line_spacing = 1.0
            _run(p, line, settings, size)
    if paper.signature is not None:
        _signer(right, paper.signature, settings)


def _signed(paper: Paper) -> bool:
    return paper.signature is not None or paper.left_signature is not None or bool(paper.recipients)


def _paper(document, paper: Paper, settings: LayoutSettings) -> None:
    if paper.heading.style == STATE:
        _state_heading(document, paper.heading, settings)
    else:
        _heading(document, paper.heading, settings)
    _type_and_summary(document, paper, settings)
    _blocks(document, paper.blocks, settings, signed=_signed(paper))
    _signature_block(document, paper, settings)


# --- inline markup -----------------------------------------------------------------------------

def parse_inline(text: str) -> tuple[Span, ...]:
    """``**bold**`` and ``*italic*`` inside a line; everything else is plain text."""
    spans: list[Span] = []
    buffer = ""
    bold = italic = False
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            if buffer:
                spans.append(Span(buffer, bold, italic))
                buffer = ""
            bold = not bold
            i += 2
        elif text[i] == "*" and (italic or "*" in text[i + 1:]):
            if buffer:
                spans.append(Span(buffer, bold, italic))
                buffer = ""
            italic = not italic
            i += 1
        else:
            buffer += text[i]
            i += 1
    if buffer:
        spans.append(Span(buffer, bold, italic))
    return tuple(spans)
