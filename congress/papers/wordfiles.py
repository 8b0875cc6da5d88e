"""Word templates an admin uploads (.docx with {placeholders}): checked before they are kept,
filled when a document is made.

Refused, with a reason a person can act on: a file that is not a .docx (not a zip, no Word body),
a broken one, a macro-enabled one (.docm content or a vbaProject part), one that unpacks to an
absurd size, and one with unknown placeholders or filters (each named with its paragraph).
"""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

from docx import Document
from docx.opc.exceptions import PackageNotFoundError

from .templates import PLACEHOLDER, TemplateError, check_text, fill

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
#: unpacked size above which a "template" is refused (a zip bomb is not a template)
MAX_UNPACKED = 50 * 1024 * 1024


def _problem(code: str, detail: str = "") -> TemplateError:
    error = TemplateError([detail or code])
    error.code = code  # type: ignore[attr-defined]
    return error


def open_checked(content: bytes):
    """The python-docx Document of an uploaded file, or TemplateError with ``code`` saying why not."""
    if not content or not zipfile.is_zipfile(io.BytesIO(content)):
        raise _problem("template_not_docx")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
                raise _problem("template_broken", "unpacks to more than 50 MB")
            if archive.testzip() is not None:
                raise _problem("template_broken", "a part of the file is damaged")
            if "[Content_Types].xml" not in names:
                raise _problem("template_not_docx")
            types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    except zipfile.BadZipFile as exc:
        raise _problem("template_broken", str(exc)) from None
    if MACRO_MAIN in types or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _problem("template_macros")
    if WORD_MAIN not in types:
        raise _problem("template_not_docx")
    try:
        return Document(io.BytesIO(content))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise _problem("template_broken", str(exc)) from None
    except Exception as exc:  # lxml and python-docx raise many kinds on a damaged part
        raise _problem("template_broken", type(exc).__name__) from None


def paragraphs(document) -> Iterator:
    """Every paragraph: body, tables (nested too), headers and footers of every section."""
    def in_container(container):
        yield from container.paragraphs
        for table in getattr(container, "tables", []):
            for row in table.rows:
                for cell in row.cells:
                    yield from in_container(cell)

    yield from in_container(document)
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            if not part.is_linked_to_previous:
                yield from in_container(part)


def check(content: bytes, known: set[str]) -> list[str]:
    """Problems of the placeholders of an uploaded template ([] when it can be used)."""
    document = open_checked(content)
    problems = []
    for index, paragraph in enumerate(paragraphs(document), start=1):
        problems += check_text(paragraph.text, known, f"paragraph {index}")
    return problems


def used_placeholders(content: bytes) -> set[str]:
    document = open_checked(content)
    found = set()
    for paragraph in paragraphs(document):
        for match in PLACEHOLDER.finditer(paragraph.text):
            if match.group(1):
                found.add(match.group(1).split("|")[0].strip())
    return found


def render(content: bytes, values: dict) -> bytes:
    """The template with every placeholder filled, even one that Word split across runs."""
    document = open_checked(content)
    for paragraph in paragraphs(document):
        _fill_paragraph(paragraph, values)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _fill_paragraph(paragraph, values: dict) -> None:
    runs = paragraph.runs
    text = "".join(r.text for r in runs)
    if "{" not in text and "}" not in text:
        return
    starts, lengths, position = [], [], 0
    for run in runs:
        starts.append(position)
        lengths.append(len(run.text))
        position += lengths[-1]

    def run_at(offset: int) -> int:
        return next(i for i, start in enumerate(starts) if start <= offset < start + lengths[i])

    # from the end, so that the offsets of earlier matches stay true
    for match in reversed(list(PLACEHOLDER.finditer(text))):
        start, end = match.span()
        first, last = run_at(start), run_at(end - 1)
        replacement = fill(match.group(0), values)
        head = runs[first].text[:start - starts[first]]
        if first == last:
            tail = runs[first].text[end - starts[first]:]
            runs[first].text = head + replacement + tail
            continue
        runs[first].text = head + replacement
        for middle in range(first + 1, last):
            runs[middle].text = ""
        runs[last].text = runs[last].text[end - starts[last]:]


def sanitize_filename(name: str) -> str:
    return re.sub(r"[^\w.\- ]+", "_", name or "template.docx")[:200]
