"""File names in Vietnamese that survive every system, and the header that carries them."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from congress.text import fold

#: characters Windows refuses in a file name, and control characters
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
MAX_STEM = 120


def safe_filename(stem: str, extension: str) -> str:
    """"Kế hoạch tổ chức đại hội - Xã An Phú.docx": NFC, no character a system refuses, no
    trailing dot or space, not too long."""
    text = unicodedata.normalize("NFC", stem)
    text = _UNSAFE.sub("-", text)
    text = re.sub(r"\s+", " ", text).strip(" .")[:MAX_STEM].strip(" .")
    return f"{text or 'tai-lieu'}.{extension}"


def ascii_filename(filename: str) -> str:
    """"ke-hoach-to-chuc-dai-hoi-xa-an-phu.docx": the fallback for clients without RFC 5987."""
    stem, dot, extension = filename.rpartition(".")
    folded = re.sub(r"[^a-z0-9]+", "-", fold(stem or filename)).strip("-") or "tai-lieu"
    return f"{folded}{dot}{extension}" if dot else folded


def content_disposition(filename: str, inline: bool = False) -> str:
    """attachment; filename="ascii"; filename*=UTF-8''percent-encoded (RFC 6266 / 5987)."""
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_filename(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"
