"""Cleaning text that people type: Unicode NFC, no control characters, trimmed."""
from __future__ import annotations

import re
import unicodedata

#: control characters, and the bidirectional overrides that can disguise text (U+202A-E, U+2066-9)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str | None, *, max_length: int | None = None) -> str | None:
    """NFC-normalised, trimmed text without control characters; None for empty."""
    if value is None:
        return None
    text = _CONTROL.sub("", unicodedata.normalize("NFC", str(value))).strip()
    if max_length is not None and len(text) > max_length:
        raise ValueError(f"longer than {max_length} characters")
    return text or None


def fold(text: str) -> str:
    """Lower case without diacritics, for search: "Tứ Minh" -> "tu minh", "Đồ Sơn" -> "do son"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
