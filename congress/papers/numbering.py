"""Document numbers: the Party's way, "Số 01-KH/ĐU" (number, hyphen, type, slash, issuer; no
colon, Hướng dẫn 36-HD/VPTW), and the state format the Fatherland Front uses, "Số: 01/KH-MTTQ"
(number, slash, type, hyphen, issuer; Nghị định 30/2020/NĐ-CP).

Every issuer numbers from 01 per document type per term: the committee ("01-KH/ĐU", "01-BC/ĐU")
and the congress alike ("01-NQ/ĐH", "01-BB/ĐH"; its two regulations are "01-QC/ĐH", "02-QC/ĐH");
the Front's committee and congress keep sequences of their own (their series carry the prefix
``MT-``, so the Front congress's "01/NQ-ĐH" never takes a number of the party congress's
"01-NQ/ĐH"). A number is taken when a document is issued (operations.issue_document) and never
reused; a draft carries none: "Số    -KH/ĐU", "Số:    /KH-MTTQ".
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from congress.extensions import db

from .models import PaperNumber

#: the symbol after the slash (the Party's) or the hyphen (the state format's), by who issues
ISSUER_SYMBOLS = {"committee": "ĐU", "congress": "ĐH", "city": "TU", "city_congress": "ĐH",
                  "front_committee": "MTTQ", "front_congress": "ĐH"}
#: the issuers whose numbers are written the state's way, and the prefix of their series
STATE_SERIES_PREFIX = {"front_committee": "MT-", "front_congress": "MT-"}
PARTY, STATE = "party", "state"
DRAFT_BLANK = "   "


def style_of(issuer: str) -> str:
    """PARTY or STATE: how an issuer's documents are numbered and laid out."""
    return STATE if issuer in STATE_SERIES_PREFIX else PARTY


def series_for(issuer: str, abbreviation: str) -> str:
    """The sequence a number is taken from: the document type, for every issuer of the Party;
    the Front's own ("MT-NQ") for the Front's issuers."""
    return STATE_SERIES_PREFIX.get(issuer, "") + abbreviation


def style_of_series(series: str) -> str:
    """The style of a number already taken, from its series (PaperNumber.symbol)."""
    return STATE if any(series.startswith(p) for p in set(STATE_SERIES_PREFIX.values())) else PARTY


def symbol(number: int | None, abbreviation: str, issuer_symbol: str, style: str = PARTY) -> str:
    """"01-KH/ĐU" ("    -KH/ĐU" without a number, a draft); the state's "01/KH-MTTQ"."""
    shown = f"{number:02d}" if number is not None else DRAFT_BLANK
    if style == STATE:
        return f"{shown}/{abbreviation}-{issuer_symbol}"
    return f"{shown}-{abbreviation}/{issuer_symbol}"


def number_line(number: int | None, abbreviation: str, issuer_symbol: str, style: str = PARTY) -> str:
    """"Số 01-KH/ĐU" (the Party writes no colon); "Số: 01/KH-MTTQ" (the state format does)."""
    return ("Số: " if style == STATE else "Số ") + symbol(number, abbreviation, issuer_symbol, style)


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
