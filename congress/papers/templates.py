"""The text templates in documents/: a small markup a reviewer reads in a diff.

A template is one or more documents (parts), each a header between ``---`` lines and a body::

    ---
    type: KẾ HOẠCH
    summary: Tổ chức Đại hội đại biểu {committee.name} lần thứ {congress.ordinal}
    issuer: committee                       who issues it and so its heading (ISSUERS)
    signature:                              the signer's lines, top to bottom
    - T/M BAN THƯỜNG VỤ
    - BÍ THƯ
    recipients:                             "Nơi nhận:"
    - Ban Thường vụ Thành ủy (để báo cáo),
    - Lưu Văn phòng Đảng ủy.
    ---
    # I. MỤC ĐÍCH, YÊU CẦU                   section headings: #, ##, ### (italic)
    A paragraph; lines until a blank line   justified, first line indented
    join into one.
    - a dash item                           each "- " or "+ " line starts a paragraph
    | Column | Column |                     a table; a |---|:---:|---:| line ends the header
    ::table branch_kinds                    a table the generator fills (see TABLES)
    ::center text   ::right text   ::plain text   ::blank   ::pagebreak   ::widths 1 3 2

Inline: ``**bold**``, ``*italic*``. Placeholders: ``{unit.name}``, ``{unit.members|number}``;
``{{`` and ``}}`` are literal braces. Lines starting with ``%%`` are comments. An unknown
placeholder, filter, header key or directive is an error naming the template and the line.

The first header may declare a new document kind (``abbreviation``, ``title_vi``, ``title_en``,
``dated``: workflows.documents reads them at import). documents/<workflow key>/<kind>.txt
replaces documents/<kind>.txt for the units that follow that workflow.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from congress.formatting import long_date, number, short_date
from workflows.documents import DATINGS, DECLARATION_KEYS, DOCUMENTS_DIR

from .layout import Block, PageBreak, Paragraph, Span, Table, parse_inline

#: shown where a fact is not known yet, for the office to fill in by hand
BLANK = "……"

LIST_KEYS = ("signature", "left_signature", "recipients", "summary")
TEXT_KEYS = ("type", "issuer", "addressee", "scope", "signer", "left_signer", *DECLARATION_KEYS)
#: who issues a document, and so its heading: the commune's party committee and congress, the
#: province's (city's) committee and congress (36-HD/VPTW), the commune's Fatherland Front
#: committee and congress (the state format, Nghị định 30/2020/NĐ-CP)
ISSUERS = ("committee", "congress", "city", "city_congress", "front_committee", "front_congress")
#: the issuers whose documents take the state format instead of the Party's
STATE_ISSUERS = ("front_committee", "front_congress")
SCOPES = ("unit", "province")
DIRECTIVES = ("center", "right", "plain", "blank", "pagebreak", "table", "widths")

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")


def _capitalize(value: str) -> str:
    return value[:1].upper() + value[1:]


def _lower_first(value: str) -> str:
    return value[:1].lower() + value[1:]


FILTERS = {
    "number": lambda v: number(v, locale="vi") if isinstance(v, (int, float)) else v,
    "upper": lambda v: str(v).upper(),
    "lower": lambda v: _lower_first(str(v)),
    "capitalize": lambda v: _capitalize(str(v)),
    "date": lambda v: long_date(v) if isinstance(v, date) else v,
    "short_date": lambda v: short_date(v, locale="vi") if isinstance(v, date) else v,
}


class TemplateError(ValueError):
    """A template that cannot be used; ``problems`` says where and why, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclass
class Part:
    meta: dict[str, str | list[str]] = field(default_factory=dict)
    meta_lines: dict[str, int] = field(default_factory=dict)
    body: list[Line] = field(default_factory=list)


@dataclass
class TextTemplate:
    name: str
    parts: list[Part]

    @property
    def issuer(self) -> str:
        return str(self.parts[0].meta.get("issuer", "committee"))

    @property
    def scope(self) -> str:
        return str(self.parts[0].meta.get("scope", "unit"))

    def all_lines(self):
        for part in self.parts:
            for key, value in part.meta.items():
                values = value if isinstance(value, list) else [value]
                for offset, text in enumerate(values):
                    yield Line(part.meta_lines[key] + (offset + 1 if isinstance(value, list) else 0), text)
            yield from part.body


def parse(text: str, name: str) -> TextTemplate:
    """Read a template; raises TemplateError for a malformed header."""
    text = unicodedata.normalize("NFC", text)
    lines = text.splitlines()
    parts: list[Part] = []
    problems: list[str] = []
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith("%%")):
        i += 1
    if i >= len(lines) or lines[i].strip() != "---":
        raise TemplateError([f"{name}, line {i + 1}: a template starts with a header between '---' lines"])
    while i < len(lines):
        # lines[i] is '---': a header follows
        part = Part()
        i += 1
        current_list: str | None = None
        while i < len(lines) and lines[i].strip() != "---":
            raw = lines[i]
            if not raw.strip() or raw.startswith("%%"):
                i += 1
                continue
            if raw.startswith("- ") and current_list:
                part.meta[current_list].append(raw[2:].strip())
            elif ":" in raw and not raw.startswith(" "):
                key, _, value = raw.partition(":")
                key, value = key.strip(), value.strip()
                part.meta_lines[key] = i + 1
                if key in LIST_KEYS:
                    part.meta[key] = [value] if value else []
                    current_list = key
                elif key in TEXT_KEYS:
                    part.meta[key] = value
                    current_list = None
                else:
                    problems.append(f"{name}, line {i + 1}: unknown header key '{key}'")
            else:
                problems.append(f"{name}, line {i + 1}: expected 'key: value' or '- item' in the header")
            i += 1
        if i >= len(lines):
            problems.append(f"{name}: the header is not closed by '---'")
            break
        i += 1
        while i < len(lines) and lines[i].strip() != "---":
            part.body.append(Line(i + 1, lines[i]))
            i += 1
        parts.append(part)
    for index, part in enumerate(parts):
        if "type" not in part.meta:
            problems.append(f"{name}: document {index + 1} has no 'type'")
        issuer = part.meta.get("issuer", "committee")
        if issuer not in ISSUERS:
            problems.append(f"{name}, line {part.meta_lines.get('issuer')}: issuer must be one of {', '.join(ISSUERS)}")
        if part.meta.get("scope", "unit") not in SCOPES:
            problems.append(f"{name}, line {part.meta_lines.get('scope')}: scope must be unit or province")
        for key in DECLARATION_KEYS:
            if key in part.meta and index:
                problems.append(f"{name}, line {part.meta_lines[key]}: '{key}' declares the kind, in the first "
                                "header only")
        if part.meta.get("dated", DATINGS[0]) not in DATINGS:
            problems.append(f"{name}, line {part.meta_lines.get('dated')}: dated must be one of {', '.join(DATINGS)}")
    for line in (ln for part in parts for ln in part.body):
        stripped = line.text.strip()
        if stripped.startswith("::"):
            directive = stripped[2:].split(" ", 1)[0]
            if directive not in DIRECTIVES:
                problems.append(f"{name}, line {line.number}: unknown directive '::{directive}'")
    if problems:
        raise TemplateError(problems)
    return TextTemplate(name, parts)


def placeholders(text: str) -> list[tuple[str, list[str]]]:
    """The placeholders of a line: [(name, [filters])]."""
    found = []
    for match in PLACEHOLDER.finditer(text):
        if match.group(1) is None:
            continue
        name, *filters = [piece.strip() for piece in match.group(1).split("|")]
        found.append((name, filters))
    return found


def check_text(text: str, known: set[str], where: str) -> list[str]:
    """Problems of the placeholders in one piece of text."""
    problems = []
    for name, filters in placeholders(text):
        if not NAME.fullmatch(name) or name not in known:
            problems.append(f"{where}: unknown placeholder {{{name}}}")
        for f in filters:
            if f not in FILTERS:
                problems.append(f"{where}: unknown filter '{f}' in {{{name}}}")
    return problems


def check(template: TextTemplate, known: set[str], tables: set[str]) -> list[str]:
    """Every problem of a parsed template: unknown placeholders, filters and tables, with lines."""
    problems = []
    for line in template.all_lines():
        where = f"{template.name}, line {line.number}"
        problems += check_text(line.text, known, where)
        stripped = line.text.strip()
        if stripped.startswith("::table"):
            table = stripped[len("::table"):].strip()
            if table not in tables:
                problems.append(f"{where}: unknown table '{table}'")
    return problems


def render_value(value) -> str:
    if value is None:
        return BLANK
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, (int, float)):
        return number(value, locale="vi")
    if isinstance(value, date):
        return long_date(value)
    return str(value)


def fill(text: str, values: dict) -> str:
    """The text with its placeholders replaced (names were checked beforehand)."""
    def replace(match: re.Match) -> str:
        whole = match.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        name, *filters = [piece.strip() for piece in match.group(1).split("|")]
        value = values[name]
        for f in filters:
            value = BLANK if value is None else FILTERS[f](value)
        return render_value(value)

    return unicodedata.normalize("NFC", PLACEHOLDER.sub(replace, text))


# --- the body as blocks ------------------------------------------------------------------------

HEADINGS = (("### ", "h3"), ("## ", "h2"), ("# ", "h1"))


def blocks(body: list[Line], values: dict, tables: dict[str, Table]) -> list[Block]:
    """The body's paragraphs, headings, lists and tables, filled with ``values``."""
    out: list[Block] = []
    paragraph: list[str] = []
    style = "body"
    table_rows: list[list[str]] = []
    header_rows = 0
    aligns: tuple[str, ...] = ()
    widths: tuple[float, ...] = ()

    def spans(text: str) -> tuple[Span, ...]:
        return tuple(Span(fill(s.text, values), s.bold, s.italic) for s in parse_inline(text))

    def flush_paragraph():
        nonlocal paragraph, style
        if paragraph:
            out.append(Paragraph(spans(" ".join(paragraph)), style))
        paragraph, style = [], "body"

    def flush_table():
        nonlocal table_rows, header_rows, aligns, widths
        if table_rows:
            rows = tuple(tuple(fill(cell, values) for cell in row) for row in table_rows)
            out.append(Table(rows, header_rows=header_rows, widths=widths, align=aligns))
        table_rows, header_rows, aligns, widths = [], 0, (), ()

    for line in body:
        text = line.text.rstrip()
        stripped = text.strip()
        if stripped.startswith("%%"):
            continue
        if stripped.startswith("|"):
            flush_paragraph()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                header_rows = len(table_rows)
                aligns = tuple("center" if c.startswith(":") and c.endswith(":") else
                               "right" if c.endswith(":") else "left" for c in cells)
            else:
                table_rows.append(cells)
            continue
        flush_table()
        if not stripped:
            flush_paragraph()
            continue
        if stripped.startswith("::"):
            flush_paragraph()
            directive, _, argument = stripped[2:].partition(" ")
            argument = argument.strip()
            if directive == "pagebreak":
                out.append(PageBreak())
            elif directive == "blank":
                out.append(Paragraph((Span(""),), "plain"))
            elif directive == "table":
                out.append(tables[argument])
            elif directive == "widths":
                widths = tuple(float(w) for w in argument.split())
                continue
            else:
                out.append(Paragraph(spans(argument), directive))
            widths = ()
            continue
        heading = next(((prefix, s) for prefix, s in HEADINGS if stripped.startswith(prefix)), None)
        if heading:
            flush_paragraph()
            out.append(Paragraph(spans(stripped[len(heading[0]):].strip()), heading[1]))
            continue
        if stripped.startswith(("- ", "+ ")):
            flush_paragraph()
            paragraph = [stripped]
            continue
        paragraph.append(stripped)
    flush_paragraph()
    flush_table()
    return out


def workflow_folders() -> list[str]:
    """The workflows with templates of their own (documents/<workflow key>/)."""
    return sorted(p.name for p in DOCUMENTS_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def builtin_path(kind: str, workflow: str | None = None) -> Path:
    """The template of a kind: the workflow's own (documents/<workflow>/<kind>.txt) when it has
    one, else the shared one (documents/<kind>.txt), which may not exist."""
    if workflow:
        own = DOCUMENTS_DIR / workflow / f"{kind}.txt"
        if own.is_file():
            return own
    return DOCUMENTS_DIR / f"{kind}.txt"


def builtin_kinds(workflow: str | None = None) -> list[str]:
    """The kinds with a template: the shared ones, and with ``workflow`` also the workflow's own."""
    found = {p.stem for p in DOCUMENTS_DIR.glob("*.txt")}
    if workflow and (DOCUMENTS_DIR / workflow).is_dir():
        found |= {p.stem for p in (DOCUMENTS_DIR / workflow).glob("*.txt")}
    return sorted(found)


def all_builtin() -> list[tuple[str | None, str]]:
    """(workflow or None, kind) of every template file, the shared ones first."""
    found: list[tuple[str | None, str]] = [(None, kind) for kind in builtin_kinds()]
    for folder in workflow_folders():
        found += [(folder, p.stem) for p in sorted((DOCUMENTS_DIR / folder).glob("*.txt"))]
    return found


def has_builtin(kind: str, workflow: str | None = None) -> bool:
    return builtin_path(kind, workflow).is_file()


def load_builtin(kind: str, workflow: str | None = None) -> TextTemplate:
    path = builtin_path(kind, workflow)
    return parse(path.read_text(encoding="utf-8"), path.relative_to(DOCUMENTS_DIR.parent).as_posix())
