"""The columns of each kind of import, as offices head them, with the English names accepted
too. The templates, the exports offered for re-import and the reader all use these lists, so a
file the app writes is a file it reads back."""
from __future__ import annotations

import re
from dataclasses import dataclass

from congress.messages import SpreadsheetStateWords
from congress.text import fold


@dataclass(frozen=True)
class Column:
    field: str
    #: the heading offices use; the template and the exports write it
    heading: str
    #: other spellings accepted when reading (compared folded: no diacritics, lower case)
    aliases: tuple[str, ...] = ()
    #: text, int, date, code
    type: str = "text"
    required: bool = False
    width: int = 16


UNIT_COLUMNS = (
    Column("code", "Mã đơn vị", ("unit code", "ma xa", "unit"), "code", True, 11),
    Column("name", "Tên đơn vị", ("unit name", "name", "ten xa"), width=30),
    Column("kind", "Loại", ("kind", "type", "loai don vi"), width=12),
    Column("province", "Mã tỉnh", ("province", "province code", "ma tinh thanh"), "code", width=9),
    Column("members", "Số đảng viên", ("members", "party members"), "int", width=13),
    Column("congress_on", "Ngày đại hội dự kiến", ("ngay dai hoi", "congress date", "congress on",
                                                  "planned congress date"), "date", width=16),
)

BRANCH_COLUMNS = (
    Column("unit", "Mã đơn vị", ("unit code", "ma xa", "unit"), "code", True, 11),
    Column("code", "Mã chi bộ", ("branch code", "ma to chuc"), "code", width=12),
    Column("name", "Tên chi bộ", ("branch name", "branch", "name", "ten to chuc dang"), required=True, width=36),
    Column("kind", "Loại", ("kind", "type"), width=18),
    Column("secretary", "Bí thư", ("secretary", "bi thu chi bo"), width=24),
    Column("members", "Số đảng viên", ("members", "party members"), "int", width=13),
    Column("planned_on", "Ngày đại hội dự kiến", ("ngay dai hoi", "planned on", "congress date",
                                                 "planned congress date", "ngay du kien dai hoi"), "date", width=16),
    Column("held_on", "Ngày đã đại hội", ("held on", "date held", "ngay to chuc dai hoi"), "date", width=15),
    Column("delegates", "Số đại biểu", ("delegates",), "int", width=12),
    Column("new_secretary", "Bí thư mới", ("new secretary", "bi thu nhiem ky moi"), width=24),
)

PROGRESS_COLUMNS = (
    Column("unit", "Mã đơn vị", ("unit code", "ma xa", "unit"), "code", True, 11),
    Column("branch", "Mã chi bộ", ("branch code", "ma to chuc"), "code", width=12),
    Column("step", "Bước", ("step", "ma buoc", "cong viec", "nhiem vu"), required=True, width=40),
    Column("state", "Trạng thái", ("state", "status", "tinh trang"), required=True, width=18),
    Column("started_on", "Ngày bắt đầu", ("started on", "start date"), "date", width=14),
    Column("submitted_on", "Ngày trình", ("submitted on", "ngay trinh thanh uy"), "date", width=14),
    Column("approved_on", "Ngày duyệt", ("approved on", "ngay phe duyet"), "date", width=14),
    Column("completed_on", "Ngày hoàn thành", ("completed on", "finished on", "done on"), "date", width=15),
    Column("note", "Ghi chú", ("note", "reason", "ly do"), width=40),
)

COLUMNS = {"units": UNIT_COLUMNS, "branches": BRANCH_COLUMNS, "progress": PROGRESS_COLUMNS}


def heading_key(text: str) -> str:
    """A heading compared loosely: "Số đảng viên (*)" and "so dang vien" are the same."""
    folded = fold(str(text or ""))
    folded = re.sub(r"\(.*?\)|[*:]", " ", folded)
    return " ".join(folded.split())


def lookup(kind: str) -> dict[str, Column]:
    """Every accepted spelling of the kind's headings, folded, to its column."""
    found: dict[str, Column] = {}
    for column in COLUMNS[kind]:
        for spelling in (column.heading, column.field, *column.aliases):
            found.setdefault(heading_key(spelling), column)
    return found


#: The words a sheet uses for kinds and states (written by the exports, read by the imports;
#: the stored keys are accepted too).
UNIT_KIND_WORDS = {"xa": "xã", "phuong": "phường", "dac_khu": "đặc khu"}
BRANCH_KIND_WORDS = {"chi_bo": "chi bộ", "dang_bo_bo_phan": "đảng bộ bộ phận"}
STATE_WORDS = SpreadsheetStateWords()  # the lifecycle's words, naming each workflow's approver
STATE_ALIASES = {"da trinh": "submitted", "da hoan thanh": "done", "not started": "not_started",
                 "in progress": "in_progress", "submitted to the city": "submitted",
                 "not applicable": "not_applicable", "da duyet": "approved", "chua thuc hien": "not_started"}


def word_key(words: dict[str, str], value: str | None, aliases: dict[str, str] | None = None) -> str | None:
    """The stored key for a word of the sheet ("phường" -> "phuong"), or None if unknown."""
    if value is None:
        return None
    folded = heading_key(value)
    for key, word in words.items():
        if folded in (heading_key(key), heading_key(word), heading_key(key.replace("_", " "))):
            return key
    return (aliases or {}).get(folded)
