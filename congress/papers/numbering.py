"""Document numbers the Party way: "Số 01-KH/ĐU" (number, hyphen, type, slash, issuer; no colon).

Every issuer numbers from 01 per document type per term: the committee ("01-KH/ĐU", "01-BC/ĐU")
and the congress alike ("01-NQ/ĐH", "01-BB/ĐH"; its two regulations are "01-QC/ĐH", "02-QC/ĐH").
A number is taken when a document is issued (operations.issue_document) and never reused; a
draft carries none: "Số    -KH/ĐU".
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from congress.extensions import db

from .models import PaperNumber

#: the symbol after the slash, by who issues the document
ISSUER_SYMBOLS = {"committee": "ĐU", "congress": "ĐH", "city": "TU"}
DRAFT_BLANK = "   "


def series_for(issuer: str, abbreviation: str) -> str:
    """The sequence a number is taken from: the document type, for every issuer."""
    return abbreviation


def symbol(number: int | None, abbreviation: str, issuer_symbol: str) -> str:
    """"01-KH/ĐU", or "    -KH/ĐU" without a number (a draft)."""
    shown = f"{number:02d}" if number is not None else DRAFT_BLANK
    return f"{shown}-{abbreviation}/{issuer_symbol}"


def number_line(number: int | None, abbreviation: str, issuer_symbol: str) -> str:
    return "Số " + symbol(number, abbreviation, issuer_symbol)


def lock_sequence(unit_id: int, issuer: str, term: str, series: str) -> None:
    """On PostgreSQL, hold a transaction-scoped lock on one sequence until commit, so that two
    simultaneous issues take turns; SQLite serialises writers by itself."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"paper-number/{unit_id}/{issuer}/{term}/{series}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def next_number(unit_id: int, issuer: str, term: str, series: str) -> int:
    highest = db.session.execute(
        sa.select(sa.func.max(PaperNumber.number)).where(
            PaperNumber.unit_id == unit_id, PaperNumber.issuer == issuer, PaperNumber.term == term,
            PaperNumber.series == series)).scalar()
    return (highest or 0) + 1
