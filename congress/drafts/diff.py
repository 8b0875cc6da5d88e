"""Two versions of a draft side by side, paragraph by paragraph, with the changed words marked.

Paragraphs come from the Word body in reading order (tables cell by cell); they are aligned with
difflib's SequenceMatcher. A replaced run of paragraphs is paired where the texts are alike
(a changed paragraph) and shown as removed and added where they are not.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from difflib import SequenceMatcher

from docx import Document
from docx.oxml.ns import qn

from congress.errors import NotFound, Unprocessable

#: two paragraphs at least this alike are "the same paragraph, changed"
ALIKE = 0.5
WORDS = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


def open_document(content: bytes):
    """The python-docx document, or 422 upload_corrupted when its parts do not parse."""
    try:
        return Document(io.BytesIO(content))
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise Unprocessable("upload_corrupted", {"detail": type(exc).__name__}) from None
    except Exception as exc:  # lxml and python-docx raise many kinds on a damaged part
        raise Unprocessable("upload_corrupted", {"detail": type(exc).__name__}) from None


def paragraphs(content: bytes) -> list[str]:
    """The non-empty paragraphs of the body, in reading order, as NFC text."""
    body = open_document(content).element.body
    found: list[str] = []

    def walk(element) -> None:
        for child in element.iterchildren():
            if child.tag == qn("w:p"):
                text = "".join(t.text or "" for t in child.iter(qn("w:t")))
                text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()
                if text:
                    found.append(text)
            elif child.tag in (qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:sdt"), qn("w:sdtContent")):
                walk(child)

    walk(body)
    return found


@dataclass(frozen=True)
class Piece:
    text: str
    marked: bool = False


@dataclass(frozen=True)
class Row:
    """One line of the comparison. kind: same, added, removed, changed."""
    kind: str
    left_no: int | None
    right_no: int | None
    left: tuple[Piece, ...]
    right: tuple[Piece, ...]

    @property
    def left_text(self) -> str:
        return "".join(p.text for p in self.left)

    @property
    def right_text(self) -> str:
        return "".join(p.text for p in self.right)


def _words(old: str, new: str) -> tuple[tuple[Piece, ...], tuple[Piece, ...]]:
    a, b = WORDS.findall(old), WORDS.findall(new)
    left: list[Piece] = []
    right: list[Piece] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append(Piece("".join(a[i1:i2]), op != "equal"))
        if j2 > j1:
            right.append(Piece("".join(b[j1:j2]), op != "equal"))
    return tuple(left), tuple(right)


def compare(old: list[str], new: list[str]) -> list[Row]:
    rows: list[Row] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [Row("same", i + 1, j + 1, (Piece(old[i]),), (Piece(new[j]),))
                     for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        i, j = i1, j1
        while i < i2 or j < j2:
            if i < i2 and j < j2 and SequenceMatcher(None, old[i], new[j], autojunk=False).ratio() >= ALIKE:
                left, right = _words(old[i], new[j])
                rows.append(Row("changed", i + 1, j + 1, left, right))
                i, j = i + 1, j + 1
            elif i < i2 and (j >= j2 or i2 - i >= j2 - j):
                rows.append(Row("removed", i + 1, None, (Piece(old[i], True),), ()))
                i += 1
            else:
                rows.append(Row("added", None, j + 1, (), (Piece(new[j], True),)))
                j += 1
    return rows


def summary(rows: list[Row]) -> dict[str, int]:
    counts = {"same": 0, "added": 0, "removed": 0, "changed": 0}
    for row in rows:
        counts[row.kind] += 1
    return counts


def compare_versions(old, new) -> list[Row]:
    """The comparison of two stored versions; both must be .docx, and kept (a version whose file
    is gone is not found, as its download is not)."""
    from . import storage

    for version in (old, new):
        if version.format != "docx":
            raise Unprocessable("compare_needs_docx", {"number": version.number})
        if not storage.path_of(version.sha256).is_file():
            raise NotFound("draft_not_found", {"number": version.number})
    return compare(paragraphs(storage.read(old.sha256)), paragraphs(storage.read(new.sha256)))
