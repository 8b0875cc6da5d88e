"""Real PDFs for tests, written by pypdf: a tiny clean one and the same with something added."""
from __future__ import annotations

import io
from collections.abc import Callable

from pypdf import PdfWriter


def written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def tiny_pdf(pages: int = 1, change: Callable[[PdfWriter], object] | None = None) -> bytes:
    """An A4 PDF of blank pages; ``change`` may add to the writer before it is written."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if change is not None:
        change(writer)
    return written(writer)
