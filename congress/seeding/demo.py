"""Deterministic demo data: branches, congress dates, progress with its audit history, accounts.

Every unit draws from its own ``random.Random`` seeded with its code, so the same unit gets the
same branches, dates and states on every run, whatever else is seeded. A unit that already has
branches is left alone, and so is an existing account: seeding twice changes nothing.

Progress is simulated as the history users would have written through the application: one
transition at a time (start, submit, approve, complete ...), each on the day it happened and each
with its audit record, in the order the engine allows. The story of a unit is planned whole,
possibly beyond today, then cut at ``congress.clock.today()``: what would happen later has not
happened yet. Real facts of Hải Phòng (2025) are used where known; the rest is invented.

The drafts tab tells the same story as the steps: a unit that drafted its political report has
its numbered drafts, one that gathered comments has its closed round, one whose documents the
city approved (or returned) has the version it approved (or returned, with the same reason), each
written as the drafts operations write it, at the moment of the step's move (see UnitDrafts).
Every time stamp falls on its event's day: on a fixed reference day (the demo's 5/8/2025) that
day is stamped whole, whatever the hour of seeding (history_ceiling).
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import random
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from xml.sax.saxutils import escape as xml_escape

import sqlalchemy as sa
from flask import current_app

from congress.accounts.models import User
from congress.accounts.operations import add_user
from congress.audit.models import AuditRecord
from congress.audit.operations import changed_fields
from congress.clock import fixed_day, local_now, today, utcnow
from congress.drafts import storage
from congress.drafts.messages import AUDIENCE_VI
from congress.drafts.models import (
    AUDIENCES,
    DRAFT_KINDS,
    CommentRound,
    DraftReview,
    DraftVersion,
    RoundComment,
)
from congress.drafts.operations import version_snapshot
from congress.drafts.queries import title_vi
from congress.extensions import db
from congress.formatting import number
from congress.papers.context import lower_first
from congress.progress import stored
from congress.progress.definitions import current_version
from congress.progress.models import Campaign, Preparation, Step
from congress.progress.operations import enrol_units, insert_steps, preparation_snapshot, refresh_due_dates
from congress.units.models import UNIT_KINDS, Branch, Province, Unit, UnitOrigin
from workflows.deadlines import LOCAL_TZ, Deadline, DeadlineKind
from workflows.loader import StepDefinition, WorkflowDefinition
from workflows.rules import ROLLUP_RULES

# --- accounts ------------------------------------------------------------------------------

#: The password of every demo account in the embedded and testing modes (never in production).
DEMO_PASSWORD = "daihoi-2025"
#: Who the simulated history is attributed to where the unit (or city) has no demo account.
DEMO_ACTOR = "seed"
#: (username, role, unit code, province code, display name). Accounts tied to Hải Phòng (31) and
#: its units are created only when that province is seeded; other provinces get no accounts.
DEMO_ACCOUNTS: list[tuple[str, str, str | None, str | None, str]] = [
    ("admin", "admin", None, None, "Quản trị hệ thống"),
    ("thanhuy.lanhdao", "city_leader", None, "31", "Lãnh đạo Thành ủy Hải Phòng"),
    ("thanhuy.vanphong", "city_staff", None, "31", "Văn phòng Thành ủy Hải Phòng"),
    ("tuminh.bithu", "unit_leader", "10891", None, "Bí thư Đảng ủy phường Tứ Minh"),
    ("tuminh.vanphong", "unit_staff", "10891", None, "Văn phòng Đảng ủy phường Tứ Minh"),
    ("hongbang.bithu", "unit_leader", "11311", None, "Bí thư Đảng ủy phường Hồng Bàng"),
    ("hongbang.vanphong", "unit_staff", "11311", None, "Văn phòng Đảng ủy phường Hồng Bàng"),
    ("xem.thanhpho", "viewer", None, "31", "Người xem – Thành phố Hải Phòng"),
    ("xem.tuminh", "viewer", "10891", None, "Người xem – Phường Tứ Minh"),
]
KNOWN_PASSWORD_MODES = ("embedded", "testing")

# --- facts (Hải Phòng, 2025) ---------------------------------------------------------------

#: Congress dates reported in the news: the pilot ward Hải An, An Lão, Hòa Bình, An Khánh.
KNOWN_CONGRESS_DATES = {"11413": date(2025, 7, 23), "11629": date(2025, 8, 9), "11533": date(2025, 8, 11),
                        "11668": date(2025, 8, 18)}
#: Delegates of those congresses (An Lão 248, Hòa Bình 189, An Khánh 230).
KNOWN_DELEGATES = {"11629": 248, "11533": 189, "11668": 230}
#: Each province's pilot unit; provinces not listed get one drawn from their wards.
PILOT_UNITS = {"31": "11413"}


@dataclass(frozen=True)
class UnitDeadline:
    day: date
    kind: str
    basis: str
    #: when the city set it (not in our sources: invented, but before any step it governs)
    set_on: date
    #: the congress date the demo plans inside it (the real one is not in our sources)
    congress_on: date


#: Hải Phòng asked phường Hồng Bàng to finish its congress "trước ngày 20/8".
UNIT_DEADLINES = {"11311": UnitDeadline(date(2025, 8, 20), "before", "Thành ủy Hải Phòng", date(2025, 7, 18),
                                        date(2025, 8, 15))}
#: Tứ Minh, Phú Thái and An Thành had finished draft 2 of the political report by 17/7/2025.
EARLY_DRAFTS = frozenset({"10891", "10750", "10792"})
EARLY_DRAFT_BY = date(2025, 7, 17)
EARLY_DRAFT_STEP = "political_report"
EARLY_DRAFT_NOTE = "Hoàn thành dự thảo lần 2"
PILOT_STEP = "pilot_lessons"
DELEGATES_STEP = "delegates"
#: Units the news shows on time: they get a brisk pace.
BRISK_UNITS = frozenset(KNOWN_CONGRESS_DATES) | EARLY_DRAFTS

# --- the shape of the invented data -------------------------------------------------------

MIN_BRANCHES, MAX_BRANCHES = 20, 105
MIN_MEMBERS, MAX_MEMBERS = 800, 5500
#: Units whose congress falls before this day (other than the pilot) are rare: the pilot comes first.
FIRST_ORDINARY_CONGRESS = date(2025, 7, 26)
LAST_ORDINARY_CONGRESS = date(2025, 8, 29)


@dataclass(frozen=True)
class Profile:
    #: share of the units that work this way
    share: float
    #: a unit does a step ``(1 - pace)`` of the time between the campaign start and the step's due
    #: date ahead of that date (after it when the pace is above 1) ...
    pace: tuple[float, float]
    #: ... but never more than this many days ahead
    lead: tuple[int, int]
    #: share of its branches that put off their congress
    postponed: float
    #: gets stuck on one step that is overdue by today
    lagging: bool = False


PROFILES = {
    "brisk": Profile(0.4, (0.5, 0.65), (12, 20), 0.0),
    "steady": Profile(0.38, (0.7, 0.85), (5, 11), 0.03),
    "slow": Profile(0.12, (0.95, 1.08), (0, 2), 0.06),
    "lagging": Profile(0.1, (0.8, 1.0), (2, 6), 0.05, lagging=True),
}
RETURN_SHARE = 0.15
RETURN_REASONS = (
    "Đề nghị đánh giá đúng thực tế, làm rõ các khâu đột phá và giải pháp trọng tâm.",
    "Báo cáo còn dài, đề nghị viết ngắn gọn, súc tích hơn.",
    "Đề nghị bổ sung số liệu đánh giá kết quả nhiệm kỳ và làm rõ nguyên nhân hạn chế.",
    "Đề nghị rà soát lại cơ cấu, độ tuổi trong phương án nhân sự.",
)
PILOT_REASON = "Đơn vị được chọn tổ chức đại hội điểm"
BEFORE_PILOT_REASON = "Đơn vị tổ chức đại hội trước đại hội điểm"
WORK_START = time(9, 0)
#: the demo accounts exist from the morning the campaign starts, before the units are enrolled
ACCOUNTS_MADE_AT = time(7, 30)
WORK_SECONDS = 8 * 3600

SOUTH = frozenset({"75", "79", "80", "82", "86", "91", "92", "96"})
NORTHERN_HIGHLANDS = frozenset({"04", "08", "11", "12", "14", "15", "19", "20"})

FAMILY_NAMES = (("Nguyễn", 31), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Vũ", 4), ("Phan", 3),
                ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Ngô", 1.5), ("Hồ", 1.2), ("Dương", 1), ("Đào", 1),
                ("Đinh", 1), ("Trịnh", 0.8), ("Mai", 0.6), ("Lương", 0.5), ("Cao", 0.5), ("Hà", 0.5),
                ("Lưu", 0.4), ("Tô", 0.4), ("Mạc", 0.3), ("Vương", 0.3), ("Lý", 0.3), ("Đoàn", 0.6))
MALE_MIDDLE = ("Văn", "Văn", "Văn", "Đức", "Hữu", "Quang", "Minh", "Xuân", "Công", "Thanh", "Mạnh", "Tiến",
               "Ngọc", "Duy", "Đình", "Trọng", "Việt")
MALE_GIVEN = ("Hùng", "Dũng", "Tuấn", "Thắng", "Hải", "Long", "Nam", "Sơn", "Hiếu", "Cường", "Bình", "Trung",
              "Thành", "Tùng", "Phong", "Huy", "Khánh", "Hòa", "Toàn", "Lâm", "Đạt", "Hưng", "Kiên", "Thịnh",
              "Tâm", "Chiến", "Luận", "Định", "Quyết", "Vinh", "Tú", "Hoàn", "Thuận", "Nghĩa")
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Minh", "Hồng", "Kim", "Thúy", "Phương", "Bích")
FEMALE_GIVEN = ("Hà", "Lan", "Hương", "Hoa", "Mai", "Thủy", "Hạnh", "Nga", "Hằng", "Huyền", "Linh", "Trang",
                "Yến", "Thảo", "Nhung", "Loan", "Phượng", "Vân", "Dung", "Oanh", "Hiền", "Liên", "Duyên", "Quyên")
VILLAGE_FIRST = ("An", "Bình", "Đông", "Tây", "Nam", "Bắc", "Thượng", "Hạ", "Trung", "Phú", "Tân", "Hòa", "Lạc",
                 "Đại", "Tiền", "Hậu", "Văn", "Quang", "Thanh", "Kim", "Ngọc", "Mỹ", "Vĩnh", "Hưng", "Phương",
                 "Cao", "Đình", "Lương", "Xuân", "Thái")
VILLAGE_SECOND = ("Tạ", "Lạc", "Xá", "Đoạn", "Hành", "Lâm", "Phúc", "Lộc", "Thọ", "Khê", "Trì", "Bản", "Dương",
                  "Liêu", "Hà", "Sơn", "Lũng", "Đôi", "Cầu", "Chử", "Tràng", "Hải", "Mai", "Cựu", "Tiến",
                  "Thịnh", "Nội", "Ngoại", "Đồng", "Vinh")
HAMLET_FIRST = ("Tân", "Phú", "Bình", "Long", "Mỹ", "An", "Thạnh", "Hòa", "Vĩnh", "Phước", "Thới", "Hưng")
HAMLET_SECOND = ("Lập", "Hòa", "Thạnh", "Hưng", "Phước", "Lợi", "Thới", "Điền", "Đông", "Tây", "Trung", "Mỹ",
                 "An", "Quới", "Long", "Thuận")
HIGHLAND_FIRST = ("Nà", "Khuổi", "Pác", "Cốc", "Phiêng", "Nặm", "Hua", "Huổi", "Bó", "Lũng")
HIGHLAND_SECOND = ("Pục", "Lầu", "Mạ", "Ngần", "Sáng", "Sài", "Chang", "Vai", "Mường", "Lót", "Cáy", "Khoang")
STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Quang Trung", "Nguyễn Trãi", "Lý Thường Kiệt", "Hai Bà Trưng",
           "Hoàng Văn Thụ", "Trần Phú", "Lê Hồng Phong", "Phan Bội Châu", "Ngô Quyền", "Bạch Đằng", "Chi Lăng",
           "Tô Hiệu", "Minh Khai", "Nguyễn Du", "Hùng Vương", "Điện Biên", "Lê Lai", "Trần Quốc Toản",
           "Nguyễn Văn Linh", "Lạch Tray", "Cầu Đất", "Văn Cao", "Đông Hải", "Thành Tô", "Tràng Cát",
           "Nguyễn Đức Cảnh", "Hồ Sen", "Cát Bi")
COMPANIES = ("Môi trường đô thị", "Cấp nước", "Dịch vụ công ích", "Xây dựng số 1", "Cơ khí", "Vận tải thủy",
             "Thương mại – Dịch vụ")
PLACE_PREFIXES = ("Phường ", "Xã ", "Đặc khu ", "Thị trấn ", "Huyện ")
KIND_WORDS = {"xa": "xã", "phuong": "phường", "dac_khu": "đặc khu"}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    """"Hoà Bình" and "Hòa Bình" are one place: compare without marks."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D").casefold()


def place_name(official: str) -> str:
    """"An Phú" from "Xã An Phú"."""
    for prefix in PLACE_PREFIXES:
        if official.startswith(prefix):
            return official[len(prefix):]
    return official


def person_name(rng: random.Random) -> str:
    family = rng.choices([n for n, _ in FAMILY_NAMES], [w for _, w in FAMILY_NAMES])[0]
    middle_names, given_names = ((MALE_MIDDLE, MALE_GIVEN) if rng.random() < 0.64
                                 else (FEMALE_MIDDLE, FEMALE_GIVEN))
    middle = rng.choice(middle_names)
    given = rng.choice([g for g in given_names if g != middle])
    return nfc(f"{family} {middle} {given}")


# --- branches -------------------------------------------------------------------------------

@dataclass
class BranchDraft:
    """A branch as the demo invents it; the dates come later from the unit's story."""
    code: str
    name: str
    kind: str
    members: int
    secretary: str
    residential: bool
    planned_on: date | None = None
    #: the day it holds (or would hold) its congress; may be after today
    holds_on: date | None = None
    delegates: int | None = None
    new_secretary: str | None = None


class Neighbourhoods:
    """Names of villages and residential areas of one unit, never the same twice."""

    def __init__(self, unit_kind: str, province_code: str, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.numbers: dict[str, int] = {}
        if province_code in SOUTH:
            self.village = ("ấp", HAMLET_FIRST, HAMLET_SECOND)
            self.quarter = "Khu phố số"
        elif province_code in NORTHERN_HIGHLANDS and rng.random() < 0.5:
            self.village = ("bản", HIGHLAND_FIRST, HIGHLAND_SECOND)
            self.quarter = "Tổ dân phố số"
        else:
            self.village = ("thôn", VILLAGE_FIRST, VILLAGE_SECOND)
            self.quarter = rng.choice(("Tổ dân phố số", "Tổ dân phố số", "Khu dân cư số"))
        self.urban_share = {"phuong": 0.85, "dac_khu": 0.4, "xa": 0.0}[unit_kind]
        self.numbered_villages = rng.random() < 0.2

    def _numbered(self, word: str) -> str:
        self.numbers[word] = self.numbers.get(word, 0) + 1
        return f"{word} {self.numbers[word]}"

    def next(self) -> str:
        for _ in range(40):
            label = self._draw()
            if label not in self.used:
                self.used.add(label)
                return label
        label = self._numbered(self.quarter)
        self.used.add(label)
        return label

    def _draw(self) -> str:
        if self.rng.random() < self.urban_share:
            if self.rng.random() < 0.25:
                return f"Khu dân cư {self.rng.choice(STREETS)}"
            return self._numbered(self.quarter)
        word, first, second = self.village
        if self.numbered_villages:
            return self._numbered(word)
        one, two = self.rng.choice(first), self.rng.choice(second)
        return f"{word} {one} {two}" if one != two else self._numbered(word)


def _institutions(unit_kind: str, places: list[str], rng: random.Random) -> list[tuple[str, str, tuple[int, int]]]:
    """(name, kind, member range) of the unit's agencies, forces, schools and enterprises."""
    word = KIND_WORDS[unit_kind]
    found = [("Chi bộ Cơ quan Đảng ủy", "chi_bo", (8, 18)),
             ("Chi bộ Cơ quan Ủy ban nhân dân", "chi_bo", (15, 40)),
             ("Chi bộ Mặt trận Tổ quốc và các đoàn thể", "chi_bo", (8, 20)),
             (f"Chi bộ Công an {word}", "chi_bo", (12, 40)),
             (f"Chi bộ Quân sự {word}", "chi_bo", (5, 12)),
             ("Chi bộ Trạm Y tế", "chi_bo", (5, 14))]
    if rng.random() < 0.6:
        found.append(("Chi bộ Trung tâm Phục vụ hành chính công", "chi_bo", (6, 15)))
    for place in places[:4]:
        if rng.random() < 0.15:
            found.append((f"Chi bộ Trường Tiểu học và Trung học cơ sở {place}", "chi_bo", (12, 30)))
        else:
            found.append((f"Chi bộ Trường Tiểu học {place}", "chi_bo", (8, 22)))
            found.append((f"Chi bộ Trường Trung học cơ sở {place}", "chi_bo", (8, 22)))
        found.append((f"Chi bộ Trường Mầm non {place}", "chi_bo", (6, 18)))
    if unit_kind == "xa":
        for place in places[:3]:
            if rng.random() < 0.5:
                found.append((f"Chi bộ Hợp tác xã dịch vụ nông nghiệp {place}", "chi_bo", (5, 15)))
    else:
        if rng.random() < 0.3:
            found.append((f"Chi bộ Trường Trung học phổ thông {places[0]}", "chi_bo", (15, 35)))
        if rng.random() < 0.4:
            found.append((f"Chi bộ Ban Quản lý chợ {places[0]}", "chi_bo", (5, 12)))
        if rng.random() < 0.4:
            found.append((f"Chi bộ Công ty Cổ phần {rng.choice(COMPANIES)}", "chi_bo", (8, 25)))
    if unit_kind == "dac_khu":
        found.append(("Chi bộ Đồn Biên phòng", "chi_bo", (10, 30)))
        found.append(("Chi bộ Ban Quản lý cảng cá", "chi_bo", (5, 12)))
    return found


def member_target(unit_kind: str, rng: random.Random) -> int:
    """Party members of a unit: most between 1,200 and 3,000, all within 800–5,500."""
    scale = {"phuong": 1.12, "xa": 0.95, "dac_khu": 0.85}[unit_kind]
    drawn = 1900 * scale * math.exp(rng.gauss(0, 0.42))
    return max(MIN_MEMBERS + 60, min(MAX_MEMBERS - 150, round(drawn)))


def make_branches(code: str, name: str, unit_kind: str, province_code: str, former_names: list[str],
                  rng: random.Random) -> list[BranchDraft]:
    """The unit's subordinate organisations: names, kinds, members and secretaries."""
    target = member_target(unit_kind, rng)
    count = max(MIN_BRANCHES, min(MAX_BRANCHES, round(target / rng.uniform(27, 40))))
    places: list[str] = []
    for candidate in [place_name(name)] + [place_name(n) for n in former_names]:
        if _fold(candidate) not in {_fold(p) for p in places}:
            places.append(candidate)
    fixed = _institutions(unit_kind, places, rng)
    while len(fixed) > count - 10 and len(fixed) > 6:
        fixed.pop()
    neighbourhoods = Neighbourhoods(unit_kind, province_code, rng)
    sub_committees = rng.randint(1, 3) if count >= 40 and rng.random() < 0.35 else 0
    drafts: list[tuple[str, str, int, bool]] = []
    for _ in range(sub_committees):
        drafts.append((f"Đảng bộ bộ phận {neighbourhoods.next()}", "dang_bo_bo_phan", rng.randint(60, 220), True))
    for label, kind, (low, high) in fixed:
        drafts.append((label, kind, rng.randint(low, high), False))
    residential = [f"Chi bộ {neighbourhoods.next()}" for _ in range(count - len(drafts))]
    remainder = max(8 * len(residential), target - sum(d[2] for d in drafts))
    weights = [rng.uniform(0.4, 1.6) for _ in residential]
    total_weight = sum(weights)
    for label, weight in zip(residential, weights, strict=True):
        drafts.append((label, "chi_bo", max(5, round(remainder * weight / total_weight)), True))
    members = [d[2] for d in drafts]
    _keep_total_within(members)
    return [BranchDraft(code=f"{code}-{i + 1:03d}", name=nfc(label), kind=kind, members=members[i],
                        secretary=person_name(rng), residential=residential_kind)
            for i, (label, kind, _, residential_kind) in enumerate(drafts)]


def _keep_total_within(members: list[int]) -> None:
    total = sum(members)
    largest = max(range(len(members)), key=lambda i: members[i])
    if total < MIN_MEMBERS:
        members[largest] += MIN_MEMBERS - total
    elif total > MAX_MEMBERS:
        members[largest] = max(5, members[largest] - (total - MAX_MEMBERS))


# --- the story of a unit: every transition, planned day by day -----------------------------

@dataclass
class Move:
    """One write as the application would have made it: a transition, a rule, a branch update."""
    day: date
    #: order within a day: (step position, branch position + 1 or 0, sub-order)
    rank: tuple[int, int, int]
    #: moves of one request (a branch update and the rules it triggers) share a timestamp
    group: int
    action: str
    role: str
    step_key: str | None = None
    branch: int | None = None
    text: str | None = None
    at: datetime | None = None


@dataclass
class Story:
    moves: list[Move] = field(default_factory=list)
    groups: int = 0

    def add(self, day: date, rank: tuple[int, int, int], action: str, *, role: str = "unit_staff",
            step_key: str | None = None, branch: int | None = None, text: str | None = None,
            group: int | None = None) -> int:
        if group is None:
            self.groups += 1
            group = self.groups
        self.moves.append(Move(day, rank, group, action, role, step_key, branch, text))
        return group


@dataclass
class Pace:
    """How one unit works: its window, its pace, its troubles."""
    start: date
    congress: date
    today: date
    pace: float
    max_lead: int
    postpone_share: float
    quick_after: bool
    #: a lagging unit gets stuck on one step that is overdue by today
    lagging: bool
    rng: random.Random
    stuck: str | None = None

    @property
    def eve(self) -> date:
        return max(self.start, self.congress - timedelta(days=1))

    @property
    def held(self) -> bool:
        """The congress date has come: everything before it was done in time."""
        return self.congress <= self.today

    def before_congress(self, day: date) -> date:
        return min(day, self.eve) if self.held else day

    def ahead_of(self, due: date | None) -> date:
        """When this unit does a step due on ``due`` (half way to its congress when undated)."""
        if due is None:
            return self.start + timedelta(days=(self.eve - self.start).days // 2)
        # the last steps before the congress (delegates, procedure papers) are done close to it
        closing = 3 + 1.5 * max(0, (self.congress - due).days)
        lead = min(self.max_lead, closing, (1 - self.pace) * (due - self.start).days)
        return max(self.start, due - timedelta(days=round(lead)))

    def days(self, low: int, high: int) -> timedelta:
        return timedelta(days=self.rng.randint(low, max(low, high)))


def _dependents(definition: WorkflowDefinition, key: str | None) -> set[str]:
    """Steps that (transitively) require ``key``."""
    found: set[str] = set()
    if key is None:
        return found
    changed = True
    while changed:
        changed = False
        for step in definition.steps:
            if step.key not in found and (key in step.requires or found & set(step.requires)):
                found.add(step.key)
                changed = True
    return found


def _congress_step(definition: WorkflowDefinition) -> str | None:
    """The step that is the congress itself: done on the congress date."""
    if "congress" in definition.step_keys:
        return "congress"
    for step in definition.steps:
        if step.due and step.due.anchor == "congress" and step.due.offset == 0 and not step.done_when:
            return step.key
    return None


def _prerequisites_day(step: StepDefinition, done: dict[str, date]) -> date | None:
    return max((done[r] for r in step.requires if r in done), default=None)


def _due_day(step: StepDefinition, anchors: dict) -> date | None:
    due = step.due.resolve(anchors) if step.due else None
    return due.last_allowed_day if due else None


@dataclass
class UnitFacts:
    """What the demo knows of one unit before planning its story."""
    unit_id: int
    code: str
    congress_on: date
    deadline: Deadline
    is_pilot: bool
    pilot_on: date | None
    delegates: int
    early_draft: bool
    #: the unit's name, party members, branches and former units (what its drafts speak of)
    name: str = ""
    members: int = 0
    branches: int = 0
    formers: int = 0


def plan_story(facts: UnitFacts, pace: Pace, unit_def: WorkflowDefinition, branch_def: WorkflowDefinition,
               branches: list[BranchDraft]) -> Story:
    """Every move of the unit and its branches, in an order the engine accepts."""
    story = Story()
    done: dict[str, date] = {}
    congress_key = _congress_step(unit_def)
    after = _dependents(unit_def, congress_key)
    anchors = {"deadline": facts.deadline, "congress": Deadline(facts.congress_on),
               "campaign_start": Deadline(pace.start)}
    if pace.lagging:
        candidates = _stuck_candidates(unit_def, anchors, pace, congress_key, after)
        pace.stuck = pace.rng.choice(candidates) if candidates else None
    # a draft's first upload starts its step, so those steps are always started before they are done
    started_by_upload = {d.starts for d in unit_def.drafts.values() if d.starts}
    for index, step in enumerate(unit_def.steps):
        prerequisites = _prerequisites_day(step, done)
        due = _due_day(step, anchors)
        if step.key == PILOT_STEP:
            done[step.key] = _plan_pilot_step(story, index, step, facts, pace)
        elif step.done_when in ROLLUP_RULES:
            done[step.key] = _plan_branches(story, index, step, anchors, pace, branch_def, branches,
                                            prerequisites or pace.start, due)
        elif step.key == congress_key:
            day = max(facts.congress_on, prerequisites or facts.congress_on)
            story.add(day, (index, 0, 5), "complete", step_key=step.key, role="unit_leader")
            done[step.key] = day
        elif step.key in after:
            span = max(1, ((due or facts.congress_on + timedelta(days=7)) - facts.congress_on).days)
            share = pace.rng.uniform(0.03, 0.2) if pace.quick_after else pace.rng.uniform(0.15, 0.9)
            target = max(facts.congress_on + timedelta(days=round(share * span)),
                         (prerequisites or facts.congress_on) + pace.days(0, 1))
            done[step.key] = _plan_work(story, index, step, target, prerequisites or facts.congress_on, pace,
                                        before_congress=False, always_start=step.key in started_by_upload)
        else:
            target = pace.ahead_of(due) + timedelta(days=pace.rng.randint(-1, 1))
            if prerequisites:
                target = max(target, prerequisites + pace.days(0, 2))
            note = None
            if facts.early_draft and step.key == EARLY_DRAFT_STEP:
                target = max(min(target, EARLY_DRAFT_BY - pace.days(0, 2)), prerequisites or pace.start)
                note = EARLY_DRAFT_NOTE
            if step.key == DELEGATES_STEP:
                note = f"Triệu tập {facts.delegates} đại biểu"
            done[step.key] = _plan_work(story, index, step, max(target, pace.start), prerequisites or pace.start,
                                        pace, before_congress=True, note=note,
                                        always_start=step.key in started_by_upload)
    return story


def _stuck_candidates(unit_def, anchors, pace: Pace, congress_key, after) -> list[str]:
    """Steps a lagging unit may be stuck on: those that fell due in the last ten days.

    Not the steps its branch congresses wait for (the branches go ahead anyway), nor the
    congress and what follows it. When none fell due lately, the one that fell due last.
    """
    if pace.held:
        return []
    feeding_rules = {r for s in unit_def.steps if s.done_when for r in s.requires}
    overdue = []
    for step in unit_def.steps:
        due = _due_day(step, anchors)
        if (step.key in after or step.key in feeding_rules or step.key in (congress_key, PILOT_STEP)
                or due is None or not pace.start <= due < pace.today):
            continue
        overdue.append((due, step.key))
    recent = [key for due, key in overdue if (pace.today - due).days <= 10]
    return recent or [key for due, key in overdue if due == max(overdue)[0]]


def _plan_work(story: Story, index: int, step: StepDefinition, target: date, earliest: date, pace: Pace,
               *, before_congress: bool, note: str | None = None, always_start: bool = False) -> date:
    """A step done by hand: start (if it takes a while, or ``always_start``), [submit, return, submit,
    approve], complete."""
    cap = pace.before_congress if before_congress else (lambda d: d)
    rng = pace.rng
    complete = target
    if pace.stuck == step.key:
        complete = max(complete, pace.today + pace.days(3, 12))
    if not step.approval:
        start = max(pace.start, earliest, complete - pace.days(1, 2 + step.weight))
        if pace.stuck == step.key:
            start = max(pace.start, earliest, min(start, pace.today - pace.days(3, 10)))
        start, complete = cap(start), cap(complete)
        if start < complete or always_start:  # if only earlier on the day it is completed
            story.add(start, (index, 0, 0), "start", step_key=step.key)
        story.add(complete, (index, 0, 5), "complete", step_key=step.key, text=note)
        return complete

    submit = max(earliest, complete - pace.days(3, 9))
    approve = min(complete, submit + pace.days(1, 6))
    if pace.stuck == step.key:
        if rng.random() < 0.5:  # submitted, waiting for the city
            submit = min(submit, pace.today - pace.days(0, 4))
            approve = pace.today + pace.days(1, 6)
        else:  # still drafting
            submit = pace.today + pace.days(1, 5)
            approve = submit + pace.days(1, 6)
        complete = approve + pace.days(0, 2)
    start = max(pace.start, earliest, submit - pace.days(2, 8))
    submit = max(submit, start)
    approve = max(approve, submit)
    complete = max(complete, approve)
    returned = None
    if rng.random() < RETURN_SHARE and (submit - start).days >= 3:
        first = start + timedelta(days=rng.randint(1, (submit - start).days - 1))
        returned = (first, first + timedelta(days=rng.randint(1, (submit - first).days)), rng.choice(RETURN_REASONS))
    start, submit, approve, complete = cap(start), cap(submit), cap(approve), cap(complete)
    story.add(start, (index, 0, 0), "start", step_key=step.key)
    if returned and cap(returned[1]) <= submit:
        story.add(cap(returned[0]), (index, 0, 1), "submit", step_key=step.key, role="unit_leader")
        story.add(cap(returned[1]), (index, 0, 2), "return", step_key=step.key, role="city_leader",
                  text=returned[2])
    story.add(submit, (index, 0, 3), "submit", step_key=step.key, role="unit_leader")
    story.add(approve, (index, 0, 4), "approve", step_key=step.key, role="city_leader")
    story.add(complete, (index, 0, 5), "complete", step_key=step.key, text=note)
    return complete


def _plan_pilot_step(story: Story, index: int, step: StepDefinition, facts: UnitFacts, pace: Pace) -> date:
    """The pilot unit has no pilot to learn from; the others attend it and draw its lessons."""
    if facts.is_pilot or facts.pilot_on is None or facts.pilot_on >= facts.congress_on:
        day = pace.before_congress(pace.start + pace.days(1, 4))
        story.add(day, (index, 0, 6), "mark_not_applicable", step_key=step.key,
                  text=PILOT_REASON if facts.is_pilot else BEFORE_PILOT_REASON)
        return day
    day = pace.before_congress(facts.pilot_on + pace.days(0, 2))
    story.add(day, (index, 0, 5), "complete", step_key=step.key)
    return day


def _plan_branches(story: Story, index: int, step: StepDefinition, anchors: dict, pace: Pace,
                   branch_def: WorkflowDefinition, branches: list[BranchDraft], earliest: date,
                   due: date | None) -> date:
    """Each branch plans and holds its congress; the unit's roll-up step follows by its rule."""
    rng = pace.rng
    high = pace.before_congress(pace.ahead_of(due))
    low = earliest + timedelta(days=1) if earliest + timedelta(days=1) <= high else earliest
    high = max(high, low)
    postpone = 0.0 if pace.held else pace.postpone_share
    if pace.stuck == step.key:
        postpone = max(postpone, rng.uniform(0.1, 0.3))
    for branch in branches:
        planned = low + timedelta(days=rng.randint(0, (high - low).days))
        if branch.residential and rng.random() < 0.4:
            weekend = planned + timedelta(days=(5 - planned.weekday()) % 7 + rng.randint(0, 1))
            planned = weekend if weekend <= high else planned
        branch.planned_on = planned
        branch.holds_on = planned
        if postpone and rng.random() < postpone:
            branch.holds_on = planned + pace.days(2, 12)
            if pace.stuck == step.key and planned <= pace.today:
                branch.holds_on = max(branch.holds_on, pace.today + pace.days(1, 10))
        branch.delegates = min(250, max(1, branch.members - rng.randint(0, max(1, branch.members // 8))))
        branch.new_secretary = branch.secretary if rng.random() < 0.7 else person_name(rng)
    groups = [_plan_branch_steps(story, index, i, branch, branch_def, pace, earliest, anchors)
              for i, branch in enumerate(branches)]
    first = min(range(len(branches)), key=lambda i: (branches[i].holds_on, i))
    last = max(range(len(branches)), key=lambda i: (branches[i].holds_on, i))
    total = len(branches)
    if first != last:
        story.add(branches[first].holds_on, (index, first + 1, 999), "auto_start", step_key=step.key,
                  group=groups[first], text=f"{step.done_when}: 1/{total}")
    story.add(branches[last].holds_on, (index, last + 1, 999), "auto_complete", step_key=step.key,
              group=groups[last], text=f"{step.done_when}: {total}/{total}")
    return branches[last].holds_on


def _plan_branch_steps(story: Story, index: int, position: int, branch: BranchDraft,
                       branch_def: WorkflowDefinition, pace: Pace, earliest: date, unit_anchors: dict) -> int:
    """The branch's own workflow around its congress; returns the group of its congress update."""
    rng = pace.rng
    held_key = next((s.key for s in branch_def.steps if s.done_when == "branch_held"), None)
    after = _dependents(branch_def, held_key)
    anchors = {**unit_anchors, "branch_congress": Deadline(branch.planned_on)}
    held_index = branch_def.step_keys.index(held_key) if held_key else len(branch_def.steps)
    group = story.add(branch.holds_on, (index, position + 1, held_index * 10), "update", branch=position)
    done: dict[str, date] = {}
    for j, step in enumerate(branch_def.steps):
        prerequisites = _prerequisites_day(step, done)
        rank = (index, position + 1, j * 10)
        if step.key == held_key:
            story.add(branch.holds_on, (index, position + 1, j * 10 + 1), "auto_complete", step_key=step.key,
                      branch=position, group=group, text=f"{step.done_when}: 1/1")
            done[step.key] = branch.holds_on
            continue
        due = _due_day(step, anchors)
        if step.key in after:
            span = max(1, ((due or branch.planned_on) - branch.planned_on).days)
            day = max(branch.holds_on + timedelta(days=rng.randint(1, span)), prerequisites or branch.holds_on)
        else:
            span = max(0, (branch.planned_on - (due or branch.planned_on)).days)
            day = branch.planned_on - timedelta(days=round(rng.uniform(0.3, 1.0) * span))
            day = min(max(day, earliest, prerequisites or earliest), branch.holds_on)
        story.add(day, rank, "complete", step_key=step.key, branch=position)
        done[step.key] = day
    return group


# --- choosing dates and paces --------------------------------------------------------------

def congress_date(code: str, rng: random.Random, pilot: tuple[str, date], deadline: UnitDeadline | None) -> date:
    """The planned congress date: a known one, the pilot's, or one drawn from late July to August."""
    if deadline is not None:
        return deadline.congress_on
    if code == pilot[0]:
        return pilot[1]
    if code in KNOWN_CONGRESS_DATES:
        return KNOWN_CONGRESS_DATES[code]
    draw = rng.random()
    if draw < 0.08:
        low, high = FIRST_ORDINARY_CONGRESS, date(2025, 8, 4)
    elif draw < 0.72:
        low, high = date(2025, 8, 5), date(2025, 8, 22)
    else:
        low, high = date(2025, 8, 23), LAST_ORDINARY_CONGRESS
    return low + timedelta(days=rng.randint(0, (high - low).days))


def choose_pace(code: str, start: date, congress: date, now: date, rng: random.Random) -> Pace:
    names = list(PROFILES)
    profile = rng.choices(names, [PROFILES[n].share for n in names])[0]
    if code in BRISK_UNITS:
        profile = "brisk"
    elif congress <= now and profile not in ("brisk", "steady"):
        profile = "steady"
    chosen = PROFILES[profile]
    return Pace(start=start, congress=congress, today=now, pace=rng.uniform(*chosen.pace),
                max_lead=rng.randint(*chosen.lead), postpone_share=chosen.postponed,
                quick_after=rng.random() < 0.6, lagging=chosen.lagging, rng=rng)


def pilot_of(province_code: str, units: list[Unit]) -> tuple[str, date]:
    """The province's pilot unit and its congress date."""
    rng = random.Random(f"congress-demo-pilot:{province_code}")
    if province_code in PILOT_UNITS:
        code = PILOT_UNITS[province_code]
    else:
        wards = [u.code for u in units if u.kind == "phuong"] or [u.code for u in units]
        code = rng.choice(sorted(wards))
    return code, KNOWN_CONGRESS_DATES.get(code, date(2025, 7, 18) + timedelta(days=rng.randint(0, 7)))


# --- folding the story into states and audit records ---------------------------------------

def _snapshot() -> dict:
    return {"state": "not_started", "started_on": None, "submitted_on": None, "approved_on": None,
            "completed_on": None, "note": None, "reason": None, "version": 1}


def _apply(snapshot: dict, move: Move) -> dict:
    """The same changes congress.progress.operations makes for each action."""
    after = dict(snapshot, version=snapshot["version"] + 1)
    day, action = move.day, move.action
    if action in ("start", "auto_start"):
        after.update(state="in_progress", started_on=day)
    elif action == "submit":
        after.update(state="submitted", submitted_on=day, reason=None)
    elif action == "approve":
        after.update(state="approved", approved_on=day)
    elif action == "return":
        after.update(state="in_progress", reason=move.text, submitted_on=None)
    elif action in ("complete", "auto_complete"):
        after.update(state="done", completed_on=day, started_on=snapshot["started_on"] or day)
        if action == "complete" and move.text:
            after["note"] = move.text
    elif action == "mark_not_applicable":
        after.update(state="not_applicable", reason=move.text)
    return after


def _plain(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def history_ceiling() -> datetime | None:
    """The latest moment the demo's history may be stamped with.

    On the real date, now: what would happen later today has not happened yet. On a fixed
    reference day (the demo's 5/8/2025, the tests) that day is the demo's whole day, stamped
    9:00–17:00 whatever hour the demo is seeded at, so the same demo comes out every time.
    """
    return None if fixed_day() else utcnow()


def local_time(day: date, at: time, ceiling: datetime | None = None) -> datetime:
    """A local time of day in Vietnam, in UTC; never later than ``ceiling``."""
    moment = datetime.combine(day, at, tzinfo=LOCAL_TZ).astimezone(UTC)
    return min(moment, ceiling) if ceiling else moment


def stamp(story: Story, code: str, ceiling: datetime | None) -> None:
    """Give each request a time on its day, 9:00–17:00 in Vietnam, in the order it happened."""
    rng = random.Random(f"congress-demo-times:{code}")
    by_day: dict[date, dict[int, tuple]] = {}
    for move in story.moves:
        groups = by_day.setdefault(move.day, {})
        groups[move.group] = min(groups.get(move.group, move.rank), move.rank)
    times: dict[int, datetime] = {}
    for day in sorted(by_day):
        groups = sorted(by_day[day], key=lambda g: (by_day[day][g], g))
        offsets = sorted(rng.sample(range(WORK_SECONDS), len(groups)))
        opening = local_time(day, WORK_START)
        for group, offset in zip(groups, offsets, strict=True):
            moment = opening + timedelta(seconds=offset)
            times[group] = min(ceiling, moment) if ceiling else moment
    for move in story.moves:
        move.at = times[move.group]


class Accounts:
    """The demo accounts that act in the story: a unit's own, else the city's, else "seed"."""

    def __init__(self, ids: dict[str, int]):
        self.ids = ids
        self.by_unit: dict[tuple[str, str], tuple[str, int]] = {}
        self.by_province: dict[tuple[str, str], tuple[str, int]] = {}
        for username, role, unit_code, province_code, _ in DEMO_ACCOUNTS:
            if username not in ids or role == "viewer":
                continue
            if unit_code:
                self.by_unit.setdefault((role, unit_code), (username, ids[username]))
            elif province_code:
                self.by_province.setdefault((role, province_code), (username, ids[username]))

    def actor(self, role: str, unit_code: str, province_code: str) -> tuple[str, int | None]:
        return (self.by_unit.get((role, unit_code)) or self.by_province.get((role, province_code))
                or (DEMO_ACTOR, None))


@dataclass
class Written:
    step_updates: list[dict] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)


def write_story(story: Story, facts: UnitFacts, province_code: str, branches: list[BranchDraft],
                step_ids: dict[tuple[str | None, str], int], accounts: Accounts, now: date, out: Written,
                drafts: UnitDrafts | None = None) -> None:
    """Cut the story at today and fold it into step states and audit records (and the drafts the
    steps imply, when ``drafts`` is given)."""
    steps: dict[tuple[str | None, str], dict] = {}
    updated: dict[tuple[str | None, str], datetime] = {}
    for move in sorted((m for m in story.moves if m.day <= now), key=lambda m: (m.at, m.rank)):
        username, user_id = accounts.actor(move.role, facts.code, province_code)
        if drafts is not None:
            out.audit.extend(drafts.follow(move, (username, user_id)))
        branch = branches[move.branch] if move.branch is not None else None
        record = {"at": move.at, "actor_id": user_id, "actor": username, "unit_id": facts.unit_id,
                  "step_key": move.step_key, "reason": None}
        if move.action == "update":
            old = {"held_on": None, "delegates": None, "new_secretary": None, "version": 1}
            new = {"held_on": branch.holds_on, "delegates": branch.delegates,
                   "new_secretary": branch.new_secretary, "version": 2}
            record.update(action="branch.update", entity="branch", entity_key=branch.code,
                          old=_plain(old), new=_plain(new))
        else:
            target = (branch.code if branch else None, move.step_key)
            before = steps.get(target) or _snapshot()
            steps[target] = after = _apply(before, move)
            updated[target] = move.at
            old, new = changed_fields(before, after)
            automatic = move.action.startswith("auto_")
            record.update(action=f"step.{move.action}", entity="step",
                          entity_key=f"{branch.code if branch else facts.code}/{move.step_key}",
                          old=_plain(old), new=_plain(new),
                          reason=move.text if automatic or move.action in ("return", "mark_not_applicable")
                          else None)
        out.audit.append(record)
    for target, values in steps.items():
        out.step_updates.append({"b_id": step_ids[target], "b_updated_at": updated[target],
                                 **{f"b_{k}": v for k, v in values.items()}})


# --- the drafts the steps imply --------------------------------------------------------------
#
# A unit whose steps say it drafted, discussed, submitted or had approved its documents shows
# them on its drafts tab: the numbered versions, the comment round and the city's verdicts, each
# written as congress.drafts.operations writes it, at the moment of the step's move it belongs to
# and by the same person (the first upload starts the drafting step, closing the round completes
# its step, a submission submits the approval step, the city's verdict approves or returns it).
# Nothing is drafted that the steps do not show. The files are small, real Word documents.

#: the comment round asks about the political report
ROUND_KIND = "political_report"
#: what the office writes beside an upload: (kind, occasion) -> note
UPLOAD_NOTES = {
    ("political_report", "first"): "Dự thảo lần đầu của Tiểu ban Văn kiện",
    ("political_report", "final"): "Hoàn thiện sau khi Ban Thường vụ Đảng ủy cho ý kiến",
    ("political_report", "submission"): "Tiếp thu ý kiến góp ý của cán bộ, đảng viên và Nhân dân, hoàn thiện để "
                                        "trình Ban Thường vụ Thành ủy",
    ("political_report", "revised"): "Tiếp thu ý kiến của Ban Thường vụ Thành ủy",
    ("self_review_report", "first"): "Dự thảo lần đầu của Tiểu ban Văn kiện",
    ("self_review_report", "final"): "Hoàn thiện sau khi Ban Chấp hành cho ý kiến",
    ("personnel_submission", "submission"): "Phương án do Tiểu ban Nhân sự chuẩn bị",
    ("personnel_submission", "revised"): "Rà soát lại cơ cấu, độ tuổi theo ý kiến của Ban Thường vụ Thành ủy",
    ("congress_resolution", "first"): "Dự thảo Nghị quyết trình Đại hội",
    ("congress_resolution", "final"): "Hoàn chỉnh theo kết luận của Đại hội",
}
#: one notable comment of each audience is written out; the others are counted
NOTABLE_COMMENTS = {
    "cadres": ("Đề nghị làm rõ hơn khâu đột phá về chuyển đổi số và cải cách thủ tục hành chính.",
               "Cần bổ sung chỉ tiêu thu nhập bình quân đầu người và thu ngân sách trên địa bàn."),
    "members": ("Đề nghị đánh giá sát hơn chất lượng sinh hoạt của các chi bộ khu dân cư.",
                "Đề nghị bổ sung giải pháp phát triển đảng viên trong đoàn viên thanh niên."),
    "branch_secretaries": ("Đề nghị có giải pháp cụ thể nâng cao chất lượng sinh hoạt chi bộ sau sắp xếp.",
                           "Cần quan tâm kinh phí hoạt động của các chi bộ khu dân cư."),
    "fatherland_front": ("Đề nghị nêu rõ vai trò giám sát, phản biện xã hội của Mặt trận Tổ quốc và các đoàn "
                         "thể.",),
    "residents": ("Đề nghị quan tâm hơn đến vệ sinh môi trường và trật tự an toàn giao thông.",
                  "Đề nghị giải quyết nhanh hơn thủ tục hành chính tại Trung tâm Phục vụ hành chính công."),
}


@dataclass(frozen=True)
class DraftFigures:
    """The figures a unit's drafts quote, drawn once per unit."""
    growth: float
    budget: int
    target: float
    recruits: int
    committee: int
    standing: int
    women: int
    young: int

    @classmethod
    def draw(cls, facts: UnitFacts, rng: random.Random) -> DraftFigures:
        # Directive 45-CT/TW: at most 27 members if formed from two units or fewer, 33 from three or more
        committee = 27 if facts.formers <= 2 else rng.choice((29, 31, 33))
        return cls(growth=round(rng.uniform(6.2, 9.4), 1), budget=rng.randint(5, 35),
                   target=round(rng.uniform(8.0, 10.5), 1), recruits=rng.randint(2, 6) * 10,
                   committee=committee, standing=rng.choice((9, 11)), women=rng.randint(15, 24),
                   young=rng.randint(10, 16))


def _decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def draft_paragraphs(kind: str, draft_number: int, facts: UnitFacts, figures: DraftFigures) -> list[tuple[str, str]]:
    """(style, text) of one draft: a later draft says more, and a revised one changes its figures."""
    place = lower_first(facts.name)
    term = "nhiệm kỳ 2025 – 2030"
    lines = [("head", f"ĐẢNG BỘ {facts.name.upper()}"), ("mark", f"DỰ THẢO LẦN {draft_number}")]
    if kind == "political_report":
        growth = figures.growth + (0.2 if draft_number >= 3 else 0)
        lines += [
            ("title", "BÁO CÁO CHÍNH TRỊ"),
            ("centre", f"của Ban Chấp hành Đảng bộ {place} tại Đại hội đại biểu Đảng bộ {place} lần thứ I, {term}"),
            ("heading", "Phần thứ nhất: Kết quả thực hiện Nghị quyết Đại hội nhiệm kỳ 2020 – 2025"),
            ("body", f"Đảng bộ {place} được thành lập theo Đề án sắp xếp đơn vị hành chính cấp xã, có "
                     f"{number(facts.members, 'vi')} đảng viên sinh hoạt tại {facts.branches} chi bộ, đảng bộ bộ phận "
                     f"trực thuộc."),
            ("body", f"Tốc độ tăng trưởng giá trị sản xuất bình quân đạt {_decimal(growth)}%/năm; thu ngân sách trên "
                     f"địa bàn vượt dự toán {figures.budget}%."),
        ]
        if draft_number >= 2:
            lines.append(("body", "Công tác xây dựng Đảng được chú trọng; trên 90% tổ chức cơ sở đảng hoàn thành tốt "
                                  "nhiệm vụ."))
        if draft_number >= 3:
            lines.append(("body", "Hạn chế: chuyển đổi số còn chậm; chất lượng sinh hoạt của một số chi bộ khu dân "
                                  "cư chưa cao."))
        if draft_number >= 4:
            lines.append(("body", "Khâu đột phá: cải cách thủ tục hành chính gắn với chuyển đổi số; giải pháp trọng "
                                  "tâm là nâng cao chất lượng đội ngũ cán bộ sau sắp xếp."))
        lines += [
            ("heading", f"Phần thứ hai: Phương hướng, mục tiêu, nhiệm vụ và giải pháp {term}"),
            ("body", f"Phấn đấu tốc độ tăng trưởng bình quân {_decimal(figures.target)}%/năm; 100% chi bộ sinh "
                     f"hoạt đúng quy định; kết nạp {figures.recruits} đảng viên mới trở lên."),
        ]
    elif kind == "self_review_report":
        lines += [
            ("title", "BÁO CÁO KIỂM ĐIỂM"),
            ("centre", f"sự lãnh đạo, chỉ đạo của Ban Chấp hành Đảng bộ {place} nhiệm kỳ 2020 – 2025"),
            ("heading", "I. Ưu điểm"),
            ("body", "Ban Chấp hành lãnh đạo hoàn thành cơ bản các chỉ tiêu Nghị quyết Đại hội; giữ vững nguyên tắc "
                     "tập trung dân chủ."),
        ]
        if draft_number >= 2:
            lines.append(("body", "Chủ động thực hiện sắp xếp tổ chức bộ máy, vận hành chính quyền địa phương hai cấp "
                                  "từ ngày 01/7/2025."))
        lines += [
            ("heading", "II. Hạn chế, khuyết điểm và nguyên nhân"),
            ("body", "Công tác kiểm tra, giám sát có lúc chưa thường xuyên; việc nắm tình hình cơ sở có nơi chưa "
                     "kịp thời."),
            ("heading", "III. Phương hướng khắc phục"),
        ]
    elif kind == "personnel_submission":
        women = figures.women + (3 if draft_number >= 2 else 0)
        young = figures.young + (2 if draft_number >= 2 else 0)
        lines += [
            ("title", "TỜ TRÌNH"),
            ("centre", f"về phương án nhân sự Ban Chấp hành Đảng bộ {place}, {term}"),
            ("body", f"Số lượng Ban Chấp hành: {figures.committee} đồng chí; Ban Thường vụ: {figures.standing} đồng "
                     f"chí; Bí thư và 02 Phó Bí thư."),
            ("body", f"Cơ cấu: cán bộ nữ {women}%, cán bộ trẻ dưới 42 tuổi {young}%."),
        ]
    else:
        lines += [
            ("title", "NGHỊ QUYẾT"),
            ("centre", f"Đại hội đại biểu Đảng bộ {place} lần thứ I, {term}"),
            ("heading", "QUYẾT NGHỊ:"),
            ("body", "1. Tán thành những nội dung cơ bản đánh giá kết quả thực hiện Nghị quyết Đại hội nhiệm kỳ "
                     "2020 – 2025 nêu trong Báo cáo chính trị."),
            ("body", f"2. Phấn đấu tốc độ tăng trưởng bình quân {_decimal(figures.target)}%/năm."),
        ]
        if draft_number >= 2:
            lines.append(("body", f"3. Bầu Ban Chấp hành Đảng bộ {term} gồm {figures.committee} đồng chí."))
    return [(style, nfc(text)) for style, text in lines]


WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WORD_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{storage.WORD_MAIN}"/>'
        '<Override PartName="/word/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>'),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="word/document.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        '</Relationships>'),
    "word/_rels/document.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/></Relationships>'),
    "word/styles.xml": (
        f'<w:styles xmlns:w="{WORD_NS}"><w:docDefaults><w:rPrDefault><w:rPr>'
        '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:cs="Times New Roman"/>'
        '<w:sz w:val="28"/><w:lang w:val="vi-VN"/></w:rPr></w:rPrDefault>'
        '<w:pPrDefault><w:pPr><w:spacing w:after="120"/></w:pPr></w:pPrDefault></w:docDefaults></w:styles>'),
}
#: paragraph style -> (paragraph properties, run properties)
WORD_STYLES = {
    "head": ('<w:jc w:val="left"/>', "<w:b/>"),
    "mark": ('<w:jc w:val="right"/>', "<w:b/>"),
    "title": ('<w:jc w:val="center"/>', '<w:b/><w:sz w:val="32"/>'),
    "centre": ('<w:jc w:val="center"/>', "<w:i/>"),
    "heading": ('<w:jc w:val="both"/>', "<w:b/>"),
    "body": ('<w:ind w:firstLine="567"/><w:jc w:val="both"/>', ""),
}


def word_document(paragraphs: list[tuple[str, str]]) -> bytes:
    """A plain .docx (A4, Times New Roman 14 pt) of styled paragraphs, as an office would upload it.

    Written part by part with fixed time stamps, so the same text always gives the same bytes.
    """
    body = "".join(f"<w:p><w:pPr>{WORD_STYLES[style][0]}</w:pPr><w:r><w:rPr>{WORD_STYLES[style][1]}</w:rPr>"
                   f'<w:t xml:space="preserve">{xml_escape(text)}</w:t></w:r></w:p>' for style, text in paragraphs)
    parts = {**WORD_PARTS, "word/document.xml": (
        f'<w:document xmlns:w="{WORD_NS}"><w:body>{body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="1134" w:right="851" w:bottom="1134" w:left="1701" w:header="720" w:footer="720" '
        'w:gutter="0"/></w:sectPr></w:body></w:document>')}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 7, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + xml)
    return buffer.getvalue()


@dataclass
class PlannedVersion:
    """One draft as a DraftVersion row holds it (version_snapshot reads kind, number and status)."""
    preparation_id: int
    unit_id: int
    kind: str
    number: int
    sha256: str
    size: int
    original_name: str
    note: str | None
    uploaded_on: date
    uploaded_at: datetime
    actor_id: int | None
    actor: str
    status: str = "draft"
    submitted_on: date | None = None
    decided_on: date | None = None
    verdict_reason: str | None = None
    #: the row's version counter: 1 when uploaded, one more with each change of status
    version: int = 1
    reviews: list[dict] = field(default_factory=list)
    id: int | None = None

    def row(self) -> dict:
        return {"preparation_id": self.preparation_id, "unit_id": self.unit_id, "kind": self.kind,
                "number": self.number, "format": "docx",
                "sha256": self.sha256, "size": self.size, "original_name": self.original_name, "note": self.note,
                "uploaded_on": self.uploaded_on, "uploaded_at": self.uploaded_at, "actor_id": self.actor_id,
                "actor": self.actor, "status": self.status, "submitted_on": self.submitted_on,
                "decided_on": self.decided_on, "verdict_reason": self.verdict_reason, "version": self.version}


@dataclass
class PlannedRound:
    """One comment round as a CommentRound row holds it, with its comments."""
    draft: PlannedVersion
    #: the audit key of its draft; the round's own key adds its id
    draft_key: str
    starts_on: date
    ends_on: date
    opened_at: datetime
    opened_by: str
    state: str = "open"
    closed_on: date | None = None
    closed_by: str | None = None
    version: int = 1
    comments: list[dict] = field(default_factory=list)
    #: its audit records, keyed by the round's id once it has one
    records: list[dict] = field(default_factory=list)
    id: int | None = None

    def row(self) -> dict:
        return {"draft_id": self.draft.id, "preparation_id": self.draft.preparation_id, "unit_id": self.draft.unit_id,
                "audiences": list(AUDIENCES),
                "starts_on": self.starts_on, "ends_on": self.ends_on, "state": self.state,
                "opened_at": self.opened_at, "opened_by": self.opened_by, "closed_on": self.closed_on,
                "closed_by": self.closed_by, "version": self.version}


class UnitDrafts:
    """The drafts of one unit's preparation, written move by move as write_story folds its story."""

    def __init__(self, facts: UnitFacts, story: Story, definition: WorkflowDefinition, files: dict[str, bytes],
                 preparation_id: int):
        self.facts = facts
        self.preparation_id = preparation_id
        #: where the files go: content by SHA-256, kept once for every unit
        self.files = files
        #: the approval steps and the kind each records; the steps that draft a kind in versions; the
        #: step a closed comment round completes (the workflow's facts, see its "drafts" section)
        self.approval = {d.approved_by: kind for kind, d in definition.drafts.items() if d.approved_by}
        self.drafting = {s.key: s.document for s in definition.steps if s.document in DRAFT_KINDS and not s.approval}
        self.round_step = definition.comment_round_step
        #: the day each unit step is planned to be completed (a round ends on its step's)
        self.planned_end = {m.step_key: m.day for m in story.moves if m.branch is None and m.action == "complete"}
        self.versions: dict[str, list[PlannedVersion]] = {}
        self.rounds: list[PlannedRound] = []
        self.rng = random.Random(f"congress-demo-drafts:{facts.code}")
        self.figures = DraftFigures.draw(facts, self.rng)

    def follow(self, move: Move, actor: tuple[str, int | None]) -> list[dict]:
        """The audit records of what this move of a unit step did to the drafts (they come before the
        step's own record, as the drafts operations write theirs before following the workflow)."""
        key, action, out = move.step_key, move.action, []
        if move.branch is not None or key is None:
            return out
        if key in self.drafting:
            kind = self.drafting[key]
            if action == "start" and not self.versions.get(kind):
                self._upload(kind, "first", move, actor, out)
            elif action == "complete":
                self._upload(kind, "final" if self.versions.get(kind) else "first", move, actor, out)
        elif key in self.approval:
            kind = self.approval[key]
            latest = self._latest(kind)
            if action == "start":
                self._upload(kind, "submission", move, actor, out)
            elif action == "submit":
                if latest is None or latest.status != "draft":
                    latest = self._upload(kind, "revised" if latest else "submission", move, actor, out)
                self._submit(latest, move, actor, out)
            elif action in ("approve", "return") and latest is not None and latest.status == "submitted":
                self._verdict(latest, action, move, actor, out)
        elif key == self.round_step and self.versions.get(ROUND_KIND):
            found = self.rounds[-1] if self.rounds and self.rounds[-1].state == "open" else None
            if found is None and action in ("start", "complete"):
                found = self._open_round(move, actor, out)
            if action == "complete":
                self._close_round(found, move, actor, out)
        return out

    def _latest(self, kind: str) -> PlannedVersion | None:
        versions = self.versions.get(kind)
        return versions[-1] if versions else None

    def _record(self, move: Move, actor: tuple[str, int | None], action: str, entity: str, key: str | None, *,
                old: dict | None = None, new: dict | None = None, reason: str | None = None) -> dict:
        username, user_id = actor
        return {"at": move.at, "actor_id": user_id, "actor": username, "action": action, "entity": entity,
                "entity_key": key, "unit_id": self.facts.unit_id, "step_key": None, "old": old,
                "new": _plain(new) if new is not None else None, "reason": reason}

    def _key(self, version: PlannedVersion) -> str:
        return f"{self.facts.code}/{version.kind}/{version.number}"

    def _upload(self, kind: str, occasion: str, move: Move, actor, out: list[dict]) -> PlannedVersion:
        versions = self.versions.setdefault(kind, [])
        draft_number = len(versions) + 1
        content = word_document(draft_paragraphs(kind, draft_number, self.facts, self.figures))
        digest = hashlib.sha256(content).hexdigest()
        self.files[digest] = content
        name = nfc(f"{title_vi(kind)} - dự thảo lần {draft_number}.docx")
        username, user_id = actor
        version = PlannedVersion(self.preparation_id, self.facts.unit_id, kind, draft_number, digest, len(content),
                                 name, UPLOAD_NOTES.get((kind, occasion)), move.day, move.at, user_id, username)
        versions.append(version)
        out.append(self._record(move, actor, "draft.upload", "draft", self._key(version),
                                new={**version_snapshot(version), "file": name, "size": version.size},
                                reason=version.note))
        return version

    def _review(self, version: PlannedVersion, action: str, text: str | None, move: Move, actor) -> None:
        username, user_id = actor
        version.reviews.append({"action": action, "text": text, "on": move.day, "at": move.at, "actor_id": user_id,
                                "actor": username})

    def _submit(self, version: PlannedVersion, move: Move, actor, out: list[dict]) -> None:
        before = version.status
        version.status, version.submitted_on = "submitted", move.day
        version.decided_on = version.verdict_reason = None
        version.version += 1
        self._review(version, "submit", None, move, actor)
        out.append(self._record(move, actor, "draft.submit", "draft", self._key(version), old={"status": before},
                                new=version_snapshot(version)))

    def _verdict(self, version: PlannedVersion, verdict: str, move: Move, actor, out: list[dict]) -> None:
        version.status = "approved" if verdict == "approve" else "returned"
        version.decided_on, version.verdict_reason = move.day, move.text
        version.version += 1
        self._review(version, verdict, move.text, move, actor)
        out.append(self._record(move, actor, f"draft.{verdict}", "draft", self._key(version),
                                old={"status": "submitted"}, new=version_snapshot(version), reason=move.text))

    def _open_round(self, move: Move, actor, out: list[dict]) -> PlannedRound:
        draft = self._latest(ROUND_KIND)
        ends_on = max(move.day, self.planned_end.get(self.round_step, move.day))
        found = PlannedRound(draft, self._key(draft), move.day, ends_on, move.at, actor[0])
        self.rounds.append(found)
        record = self._record(move, actor, "round.open", "round", None, new={
            "document": title_vi(draft.kind), "version_number": draft.number,
            "audiences": ", ".join(AUDIENCE_VI[a] for a in AUDIENCES), "starts_on": found.starts_on,
            "ends_on": found.ends_on})
        found.records.append(record)
        out.append(record)
        return found

    def _comments(self) -> list[tuple[str, int, str | None]]:
        """(audience, count, text): per audience the comments counted, then one written out."""
        rng, facts = self.rng, self.facts
        counts = {"cadres": rng.randint(12, 40), "members": max(20, round(facts.members * rng.uniform(0.02, 0.06))),
                  "branch_secretaries": max(5, round(facts.branches * rng.uniform(0.4, 0.9))),
                  "fatherland_front": rng.randint(3, 12), "residents": rng.randint(30, 160)}
        found = []
        for audience in AUDIENCES:
            found.append((audience, counts[audience] - 1, None))
            found.append((audience, 1, rng.choice(NOTABLE_COMMENTS[audience])))
        return found

    def _close_round(self, found: PlannedRound, move: Move, actor, out: list[dict]) -> None:
        """The comments received, entered at once, then the round closed (which completes its step)."""
        draft = found.draft
        document = {"document": title_vi(draft.kind), "version_number": draft.number}
        username = actor[0]
        for audience, count, text in self._comments():
            found.comments.append({"audience": audience, "count": count, "text": text, "recorded_at": move.at,
                                   "actor": username})
            found.records.append(self._record(move, actor, "round.comment", "round", None, new={
                **document, "audience": AUDIENCE_VI[audience], "count": count, "text": text}))
            out.append(found.records[-1])
        found.state, found.closed_on, found.closed_by = "closed", move.day, username
        found.version += 1
        found.records.append(self._record(move, actor, "round.close", "round", None, old={"status": "open"}, new={
            **document, "status": "closed", "closed_on": move.day,
            "comments": sum(c["count"] for c in found.comments)}))
        out.append(found.records[-1])


def keep_files(files: dict[str, bytes]) -> None:
    """Keep the demo's files where uploads are kept (FILES_FOLDER, by their hash), each renamed into
    place whole. Unlike an upload, not forced to disk one by one: thousands of small files would
    take minutes, and seeding again makes the same ones."""
    for digest, content in files.items():
        target = storage.path_of(digest)
        if target.exists() and target.stat().st_size == len(content):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".demo-{digest}")
        temporary.write_bytes(content)
        os.replace(temporary, target)


def _insert_drafts(drafts: list[UnitDrafts], files: dict[str, bytes]) -> None:
    """The files first, then the rows that name them."""
    keep_files(files)
    versions = [v for unit in drafts for kind in unit.versions.values() for v in kind]
    for version, found in zip(versions, insert_returning_ids(DraftVersion.__table__, [v.row() for v in versions]),
                              strict=True):
        version.id = found
    insert_rows(DraftReview.__table__, [{**review, "draft_id": v.id} for v in versions for review in v.reviews])
    rounds = [r for unit in drafts for r in unit.rounds]
    for found, round_id in zip(rounds, insert_returning_ids(CommentRound.__table__, [r.row() for r in rounds]),
                               strict=True):
        found.id = round_id
        for record in found.records:
            record["entity_key"] = f"{found.draft_key}/{round_id}"
    insert_rows(RoundComment.__table__, [{**comment, "round_id": r.id} for r in rounds for comment in r.comments])


# --- the seeding itself --------------------------------------------------------------------

def ensure_accounts(province_codes: list[str], report, actor, made_at: datetime | None = None) -> Accounts:
    """Create the demo accounts whose scope is seeded; existing ones stay as they are. Their
    records are dated ``made_at`` (before the demo's story) when given.

    In the embedded and testing modes they share the known demo password; in production each
    gets a random one, listed once in the report's notes.
    """
    known_password = current_app.config.get("CONGRESS_MODE") in KNOWN_PASSWORD_MODES
    existing = dict(db.session.execute(sa.select(User.username, User.id)).all())
    wanted = set(province_codes)
    units = {u.code: u for u in db.session.execute(db.select(Unit).where(
        Unit.code.in_([a[2] for a in DEMO_ACCOUNTS if a[2]]))).scalars()}
    for username, role, unit_code, province_code, display_name in DEMO_ACCOUNTS:
        if username in existing:
            continue
        unit = units.get(unit_code) if unit_code else None
        if unit_code and (unit is None or unit.province_code not in wanted):
            continue
        if province_code and province_code not in wanted:
            continue
        password = DEMO_PASSWORD if known_password else secrets.token_urlsafe(12)
        province = db.session.get(Province, province_code) if province_code else None
        user = add_user(username, role=role, password=password, display_name=display_name, unit=unit,
                        province=province, actor=actor)
        existing[username] = user.id
        if made_at is not None:
            _date_new_records("user.add", {username}, made_at)
        if not known_password:
            report.notes.append(f"demo account {username} ({role}): password {password}")
    return Accounts(existing)


def seed_demo(province_codes: list[str], campaigns: dict[str, Campaign], report, actor="seed") -> None:
    """Add the demo accounts, and branches, congress dates and progress to units without branches."""
    now = today()
    first_day = min((campaigns[code].starts_on for code in province_codes), default=now)
    accounts = ensure_accounts(province_codes, report, actor,
                               local_time(first_day, ACCOUNTS_MADE_AT, history_ceiling()))
    totals = {"units": 0, "branches": 0, "records": 0}
    seeded = set()
    for code in province_codes:
        if _seed_province(code, campaigns[code], accounts, now, report, actor, totals):
            seeded.add(code)
    nights = _record_nights(seeded, min((campaigns[code].starts_on for code in seeded), default=now), now)
    if totals["units"]:
        report.notes.append(f"demo: {totals['units']} units, +{totals['branches']} branches, "
                            f"+{totals['records']} history records, +{nights} readiness snapshots, "
                            f"progress as of {now.isoformat()}")


def _record_nights(province_codes: set[str], first: date, now: date) -> int:
    """The nightly readiness snapshots of the demo's history, from the campaign's first night to
    the reference day's (on the real date: to the last night gone by), each rebuilt from the
    audit log the demo wrote, as the nightly job would have recorded them."""
    from congress.notices.jobs import record_past_nights, snapshot_day

    if not province_codes:
        return 0
    last = now if fixed_day() else snapshot_day(local_now())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return record_past_nights(province_codes, days)


@dataclass
class UnitPlan:
    unit: Unit
    prep: Preparation | None
    prep_existed: bool
    facts: UnitFacts
    branches: list[BranchDraft]
    story: Story
    deadline: UnitDeadline | None


def _seed_province(province_code: str, campaign: Campaign, accounts: Accounts, now: date, report, actor,
                   totals: dict) -> bool:
    """The demo's story in the province's units that have none yet; False when there were none."""
    units = list(db.session.execute(db.select(Unit).filter_by(province_code=province_code)
                                    .where(Unit.kind.in_(UNIT_KINDS)).order_by(Unit.code)).scalars())
    with_branches = set(db.session.execute(sa.select(Branch.unit_id).distinct().where(
        Branch.campaign_id == campaign.id, Branch.unit_id.in_([u.id for u in units]))).scalars())
    enrolled = {p.unit_id: p for p in db.session.execute(
        db.select(Preparation).filter_by(campaign_id=campaign.id)).scalars()}
    touched = _touched_preparations([p.id for p in enrolled.values()])
    drafted = set(db.session.execute(sa.select(DraftVersion.unit_id).distinct().where(
        DraftVersion.preparation_id.in_([p.id for p in enrolled.values()]))).scalars())
    chosen = [u for u in units if u.id not in with_branches and u.id not in drafted
              and (u.id not in enrolled or enrolled[u.id].id not in touched)]
    left = sum(1 for u in units if u.id not in with_branches) - len(chosen)
    if left:
        report.notes.append(f"demo: {left} units of province {province_code} have progress but no branches; "
                            f"left as they are")
    if not chosen:
        return False
    versions = (current_version(campaign.unit_workflow), current_version(campaign.branch_workflow))
    pilot = pilot_of(province_code, units)
    formers = _former_names([u.id for u in chosen])
    ceiling = history_ceiling()
    plans = []
    for unit in chosen:
        prep = enrolled.get(unit.id)
        unit_versions = (prep.workflow_version, prep.branch_workflow_version) if prep else versions
        plans.append(_plan_unit(unit, prep, campaign, unit_versions, pilot, formers.get(unit.id, []), now,
                                ceiling))

    _insert_branches(plans, campaign, now)
    records = _enrol(plans, campaign, accounts, province_code, report, actor, now, ceiling)
    step_ids = _step_ids([p.prep.id for p in plans])
    written = Written()
    drafts, files = [], {}
    for plan in plans:
        drafts.append(UnitDrafts(plan.facts, plan.story, plan.prep.definition(), files,
                                 plan.prep.id))
        write_story(plan.story, plan.facts, province_code, plan.branches, step_ids.get(plan.prep.id, {}),
                    accounts, now, written, drafts[-1])
    _update_steps(written.step_updates)
    _insert_drafts(drafts, files)
    records = sorted(records + written.audit, key=lambda r: r["at"])
    for entry in records:  # the records of the units' steps, branches and dates name their campaign
        entry.setdefault("campaign_id", campaign.id if entry["entity"] in ("step", "branch", "preparation") else None)
    insert_rows(AuditRecord.__table__, records)
    stored.touch(campaigns=[campaign.id])  # written in bulk: the stored readiness follows at the commit
    totals["units"] += len(plans)
    totals["branches"] += sum(len(p.branches) for p in plans)
    totals["records"] += len(records)
    return True


def _plan_unit(unit: Unit, prep: Preparation | None, campaign: Campaign, versions, pilot: tuple[str, date],
               former_names: list[str], now: date, ceiling: datetime | None) -> UnitPlan:
    rng = random.Random(f"congress-demo:{unit.code}")
    branches = make_branches(unit.code, unit.name, unit.kind, unit.province_code, former_names, rng)
    special = UNIT_DEADLINES.get(unit.code) if unit.province_code == "31" else None
    if prep is not None and prep.deadline_on is not None:
        special = None
    planned = congress_date(unit.code, rng, pilot, special)
    congress_on = prep.congress_on if prep is not None and prep.congress_on else planned
    if special is not None:
        deadline = Deadline(special.day, DeadlineKind(special.kind))
    else:
        deadline = prep.deadline if prep is not None else campaign.deadline
    members = sum(b.members for b in branches)
    delegates = KNOWN_DELEGATES.get(unit.code) or min(250, max(90, round(members / rng.uniform(9, 16))))
    facts = UnitFacts(unit_id=unit.id, code=unit.code, congress_on=congress_on, deadline=deadline,
                      is_pilot=unit.code == pilot[0], pilot_on=pilot[1], delegates=delegates,
                      early_draft=unit.code in EARLY_DRAFTS, name=unit.name, members=members,
                      branches=len(branches), formers=len(former_names))
    pace = choose_pace(unit.code, campaign.starts_on, congress_on, now, rng)
    story = plan_story(facts, pace, versions[0].definition(), versions[1].definition(), branches)
    stamp(story, unit.code, ceiling)
    return UnitPlan(unit, prep, prep is not None, facts, branches, story, special)


def _touched_preparations(prep_ids: list[int]) -> set[int]:
    """Preparations someone has worked on (or that already have branch steps)."""
    if not prep_ids:
        return set()
    return set(db.session.execute(sa.select(Step.preparation_id).distinct().where(
        Step.preparation_id.in_(prep_ids),
        sa.or_(Step.state != "not_started", Step.branch_id.is_not(None)))).scalars())


def _former_names(unit_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for unit_id, name in db.session.execute(sa.select(UnitOrigin.unit_id, UnitOrigin.former_name).where(
            UnitOrigin.unit_id.in_(unit_ids)).order_by(UnitOrigin.id)):
        found.setdefault(unit_id, []).append(name)
    return found


def _insert_branches(plans: list[UnitPlan], campaign: Campaign, now: date) -> None:
    """The branches as they stand today (held or not) in the campaign, and each unit's member total."""
    rows, totals = [], []
    for plan in plans:
        for b in plan.branches:
            held = b.holds_on <= now
            rows.append({"code": b.code, "unit_id": plan.unit.id, "campaign_id": campaign.id, "name": b.name,
                         "kind": b.kind,
                         "members": b.members, "secretary": b.secretary, "planned_on": b.planned_on,
                         "held_on": b.holds_on if held else None, "delegates": b.delegates if held else None,
                         "new_secretary": b.new_secretary if held else None, "version": 2 if held else 1})
        totals.append({"b_id": plan.unit.id, "b_members": sum(b.members for b in plan.branches)})
    insert_rows(Branch.__table__, rows)
    table = Unit.__table__
    db.session.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id"))
                       .values(members=sa.bindparam("b_members")), totals)


def _enrol(plans: list[UnitPlan], campaign: Campaign, accounts: Accounts, province_code: str, report, actor,
           now: date, ceiling: datetime | None) -> list[dict]:
    """Enrol the new units (their branches exist now), then set the deadlines the city gave.

    Returns the audit records of the changes made here by hand.
    """
    records = []
    fresh = [p for p in plans if p.prep is None]
    if fresh:
        preps = enrol_units(campaign, [p.unit for p in fresh], {p.unit.id: p.facts.congress_on for p in fresh},
                            actor=actor)
        _date_new_records("preparation.create", {p.unit.code for p in fresh},
                          local_time(campaign.starts_on, time(8, 0), ceiling))
        report.enrolled += len(preps)
        by_unit = {prep.unit_id: prep for prep in preps}
        for plan in fresh:
            plan.prep = by_unit[plan.unit.id]
    for plan in plans:
        if plan.prep_existed:
            records.extend(_complete_enrolment(plan, accounts, province_code, ceiling))
        if plan.deadline is not None:
            records.append(_set_deadline(plan, accounts, province_code, now, ceiling))
    return records


def _date_new_records(action: str, keys: set[str], at: datetime) -> None:
    """In the demo's history the units were enrolled (and the accounts made) when the campaign
    started, not at the moment of seeding.

    The operations stamp their (still unflushed) records with the clock's now; they are dated
    before they are written, so the log reads in the order the demo's events happened.
    """
    for entry in db.session.new:
        if isinstance(entry, AuditRecord) and entry.action == action and entry.entity_key in keys:
            entry.at = at


def _complete_enrolment(plan: UnitPlan, accounts: Accounts, province_code: str,
                        ceiling: datetime | None) -> list[dict]:
    """A unit enrolled before it had branches: plan its congress date and add its branches' steps."""
    prep = plan.prep
    records = []
    if prep.congress_on is None:
        before = preparation_snapshot(prep)
        prep.congress_on = plan.facts.congress_on
        db.session.flush()
        old, new = changed_fields(before, preparation_snapshot(prep))
        username, user_id = accounts.actor("unit_leader", plan.unit.code, province_code)
        records.append({"at": local_time(prep.campaign.starts_on, time(8, 30), ceiling), "actor_id": user_id,
                        "actor": username, "action": "congress_date.set", "entity": "preparation",
                        "entity_key": plan.unit.code, "unit_id": plan.unit.id, "step_key": None,
                        "old": _plain(old), "new": _plain(new), "reason": None})
    branch_ids = db.session.execute(sa.select(Branch.id).where(
        Branch.unit_id == plan.unit.id, Branch.campaign_id == prep.campaign_id).order_by(Branch.code)).scalars().all()
    keys = prep.branch_definition().step_keys
    insert_steps([{"preparation_id": prep.id, "branch_id": branch_id, "key": key, "state": "not_started",
                   "version": 1, "due_on": None, "due_kind": None} for branch_id in branch_ids for key in keys])
    refresh_due_dates(prep, expire=False)
    return records


def _set_deadline(plan: UnitPlan, accounts: Accounts, province_code: str, now: date,
                  ceiling: datetime | None) -> dict:
    """The city's own deadline for one unit; due dates counted from it follow."""
    prep, special = plan.prep, plan.deadline
    before = preparation_snapshot(prep)
    prep.deadline_on, prep.deadline_kind, prep.deadline_basis = special.day, special.kind, special.basis
    db.session.flush()
    refresh_due_dates(prep, expire=False)
    old, new = changed_fields(before, preparation_snapshot(prep))
    username, user_id = accounts.actor("city_staff", plan.unit.code, province_code)
    day = max(prep.campaign.starts_on, min(special.set_on, now))
    return {"at": local_time(day, time(10, 0), ceiling), "actor_id": user_id, "actor": username,
            "action": "deadline.set", "entity": "preparation", "entity_key": plan.unit.code,
            "unit_id": plan.unit.id, "step_key": None, "old": _plain(old), "new": _plain(new),
            "reason": special.basis}


def _step_ids(prep_ids: list[int]) -> dict[int, dict[tuple[str | None, str], int]]:
    """Step ids by preparation, then by (branch code or None, step key)."""
    found: dict[int, dict[tuple[str | None, str], int]] = {}
    for start in range(0, len(prep_ids), 500):
        rows = db.session.execute(
            sa.select(Step.id, Step.preparation_id, Step.key, Branch.code)
            .outerjoin(Branch, Branch.id == Step.branch_id)
            .where(Step.preparation_id.in_(prep_ids[start:start + 500])))
        for step_id, prep_id, key, branch_code in rows:
            found.setdefault(prep_id, {})[(branch_code, key)] = step_id
    return found


def insert_rows(table: sa.Table, rows: list[dict], chunk: int = 5000) -> None:
    for start in range(0, len(rows), chunk):
        db.session.execute(sa.insert(table), rows[start:start + chunk])


def insert_returning_ids(table: sa.Table, rows: list[dict], chunk: int = 5000) -> list[int]:
    """Insert the rows; their new ids, in the order of the rows."""
    ids: list[int] = []
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), chunk):
        ids.extend(db.session.execute(statement, rows[start:start + chunk]).scalars())
    return ids


def _update_steps(rows: list[dict], chunk: int = 5000) -> None:
    table = Step.__table__
    statement = sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(
        {name: sa.bindparam(f"b_{name}") for name in ("state", "started_on", "submitted_on", "approved_on",
                                                      "completed_on", "note", "reason", "version", "updated_at")})
    for start in range(0, len(rows), chunk):
        db.session.execute(statement, rows[start:start + chunk])
