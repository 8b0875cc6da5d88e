"""Cleaning text that people type (Unicode NFC, no control characters, trimmed), folding it for
search, and sorting names in Vietnamese alphabetical order."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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


# Vietnamese alphabetical order (the order of Vietnamese dictionaries and of CLDR's "vi"): the
# letters a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y, with f j w z (foreign names) in
# their Latin places; the tones only break ties, in the order none, huyền, hỏi, ngã, sắc, nặng.
_VI_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_VI_RANK = {letter: rank for rank, letter in enumerate(_VI_ALPHABET)}
_VI_LETTER_MARKS = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê",
                    ("o", "\u0302"): "ô", ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
_VI_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


@lru_cache(maxsize=65536)  # names repeat from answer to answer: each one's key is worked out once
def vi_sort_key(text: str) -> tuple:
    """A sort key in Vietnamese alphabetical order, for names people read in a list:
    "Ái Quốc" before "Việt Hòa", "Dương Kinh" before "Đồ Sơn", "Ân Thi" after "An Thịnh".

    Letters first (ă, â after a; đ after d; ơ after ô; ư after u), case-insensitive; then the tones
    letter by letter; then lower case before capitals; then the text itself, so that the order is
    total. Characters outside the alphabet (spaces, digits, punctuation) sort before letters, in
    code point order: "An Lão" before "Anh Dũng".
    """
    text = unicodedata.normalize("NFC", text or "")
    letters: list[str] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.lower()):
        if unicodedata.combining(char):
            if char in _VI_TONES and tones:
                tones[-1] = _VI_TONES[char]
            elif letters:
                letters[-1] = _VI_LETTER_MARKS.get((letters[-1], char), letters[-1])
            continue
        letters.append(char)
        tones.append(0)
    primary = tuple((1, _VI_RANK[c]) if c in _VI_RANK else (0, ord(c)) for c in letters)
    capitals = tuple(c != c.lower() for c in text)
    return primary, tuple(tones), capitals, text
