"""A unit's facts by name, for the templates: {unit.name}, {branches.held}, {formed_from_sentence} ...

UNIT_PLACEHOLDERS lists every name a unit's template may use (tests check that the context
gives exactly these); PROVINCE_PLACEHOLDERS those of the city's progress report.

The facts are those of a preparation (one unit in one campaign): the campaign's term, and what
its workflow says of the organisation and the level. {congress.name} is the congress of that
campaign ("Đại hội đại biểu Đảng bộ xã An Phú ...", "Đại hội đại biểu Mặt trận Tổ quốc Việt Nam
xã An Phú ..."); a province's own committee (Unit.level "province") is "Thành ủy Hải Phòng", and
its children are the communes of the province ({communes.held} counts those whose congress step
is done in the campaign's child campaign).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from congress.clock import today
from congress.extensions import db
from congress.formatting import long_date
from congress.progress import queries
from congress.progress.models import Preparation, Step
from congress.text import fold
from congress.units.models import UNIT_KINDS, Branch, Province, Unit
from workflows.rules import State

from .dating import blank_long_date, term_year
from .layout import Table

BLANK_TEXT = "……"
#: a non-breaking space: "2025 - 2030" is never broken across lines
NBSP = "\u00a0"

#: Directive 45-CT/TW: executive committee of at most 27 (formed from 2 units or not merged) or 33
EXECUTIVE_SMALL, EXECUTIVE_LARGE = 27, 33
STANDING_RANGE = (9, 11)
DEPUTY_SECRETARIES = 2
MAX_DELEGATES = 250
#: the commune-level committees formed on 1/7/2025 hold their first congress (the party's and the
#: Fatherland Front's alike)
DEFAULT_ORDINAL = "I"
REORGANISED_ON = date(2025, 7, 1)
#: the ordinal of a province's party congress, where it is known: Hải Phòng's of 26-27/9/2025,
#: the first after its merger with Hải Dương, was "lần thứ I" (the others are left "……" for the
#: office to fill)
PROVINCE_ORDINALS = {"31": "I"}
FATHERLAND_FRONT = "fatherland_front"

UNIT_PLACEHOLDERS: dict[str, str] = {
    "unit.name": "Xã An Phú (at the start of a sentence, a list item or a cell)",
    "unit.name_lower": "xã An Phú (inside a sentence)",
    "unit.name_upper": "XÃ AN PHÚ",
    "unit.code": "10645",
    "unit.kind_word": "xã, phường or đặc khu",
    "unit.place": "An Phú (the name without its kind)",
    "unit.members": "party members of the committee",
    "province.name": "Thành phố Hải Phòng",
    "province.name_lower": "thành phố Hải Phòng",
    "province.place": "Hải Phòng",
    "province.committee": "Thành ủy Hải Phòng",
    "province.committee_short": "Thành ủy",
    "province.standing": "Ban Thường vụ Thành ủy",
    "province.party": "Đảng bộ thành phố Hải Phòng",
    "committee.name": "Đảng bộ xã An Phú (a province's: Đảng bộ thành phố Hải Phòng)",
    "committee.body": "Đảng ủy xã An Phú (a province's: Thành ủy Hải Phòng)",
    "committee.issuing_body": "ĐẢNG ỦY XÃ AN PHÚ (THÀNH ỦY HẢI PHÒNG)",
    "committee.superior_body": "ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG (empty for a province's: no line above it)",
    "committee.office": "Văn phòng Đảng ủy (Văn phòng Thành ủy)",
    "committee.executive_max": "27 or 33 (Directive 45-CT/TW, by the number of former units; a province's: blank)",
    "committee.standing_min": "9 (a province's: blank)",
    "committee.standing_max": "11 (a province's: blank)",
    "committee.deputies": "2 (a province's: blank)",
    "congress.name": "Đại hội đại biểu Đảng bộ xã An Phú lần thứ I, nhiệm kỳ 2025 - 2030 (\"kỳ\" kept with the years; "
                     "the campaign's congress: the Front's is Đại hội đại biểu Mặt trận Tổ quốc Việt Nam xã An Phú "
                     "...)",
    "congress.title": "Đại hội đại biểu Đảng bộ xã An Phú lần thứ I (without the term)",
    "congress.ordinal": "I (a province's where known, else blank)",
    "congress.term": "2025 - 2030 (non-breaking spaces around the dash)",
    "congress.date": "the planned first day (a date: ngày 18 tháng 8 năm 2025)",
    "congress.date_words": "ngày 18 tháng 8 năm 2025, or blanks when not planned",
    "congress.deadline": "trước ngày 31/8/2025",
    "congress.deadline_words": "trước ngày 31 tháng 8 năm 2025",
    "congress.deadline_basis": "Chỉ thị số 45-CT/TW ngày 14/4/2025",
    "congress.delegates_max": "250 (a province's: blank)",
    "term": "2025 - 2030 (non-breaking spaces around the dash)",
    "formed_from": "được thành lập trên cơ sở hợp nhất xã An Phú, xã An Bình và một phần xã Cộng Hòa",
    "formed_from_sentence": "Xã An Phú được thành lập trên cơ sở ... từ ngày 01 tháng 7 năm 2025. (a sentence: "
                            "inside one, after a comma or colon, write {formed_from_sentence|lower})",
    "origins.count": "former units it was formed from",
    "origins.list": "xã An Phú, xã An Bình và một phần xã Cộng Hòa",
    "branches.total": "subordinate party organisations",
    "branches.held": "of which have held their congress",
    "branches.pending": "of which have not yet",
    "branches.held_percent": "held, in whole percent",
    "branches.status_sentence": "Đến nay đã có 40/56 tổ chức đảng tổ chức xong đại hội; 16 tổ chức đảng còn lại "
                                "khẩn trương hoàn thành ... (or: tất cả 56 ... đã tổ chức xong đại hội.)",
    "branches.chi_bo": "branches (chi bộ)",
    "branches.dang_bo_bo_phan": "sub-committees (đảng bộ bộ phận)",
    "branches.composition": "54 chi bộ và 2 đảng bộ bộ phận (the kinds it has)",
    "branches.members": "party members in the subordinate organisations",
    "readiness.percent": "the unit's readiness, in percent",
    "readiness.steps_done": "steps done",
    "readiness.steps_total": "applicable steps",
    "communes.total": "a province's committee: the commune-level units of the province",
    "communes.held": "of which have held their congress (the congress step of the child campaign is done)",
    "communes.pending": "of which have not yet",
    "communes.held_percent": "held, in whole percent",
    "communes.kinds": "xã, phường, đặc khu (the kinds the province has)",
    "communes.members": "party members of the commune-level committees",
    "communes.status_sentence": "Đến nay đã có 100/114 đảng bộ xã, phường, đặc khu tổ chức xong đại hội; 14 ... "
                                "(or: tất cả 114 ... đã tổ chức xong đại hội.)",
    "front.name": "Ủy ban Mặt trận Tổ quốc Việt Nam xã An Phú",
    "front.name_short": "Ủy ban MTTQ Việt Nam xã An Phú",
    "front.standing": "Ban Thường trực Ủy ban Mặt trận Tổ quốc Việt Nam xã An Phú",
    "front.issuing_body": "ỦY BAN MTTQ VIỆT NAM XÃ AN PHÚ",
    "front.superior": "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố Hải Phòng",
    "front.superior_standing": "Ban Thường trực Ủy ban Mặt trận Tổ quốc Việt Nam thành phố Hải Phòng",
    "signer.name": "the signer's name (blank: written by hand)",
    "signer.secretary": "the secretary's (the Front's chair's) name, as the unit gives it on its documents page "
                        "(blank: by hand)",
    "signer.deputy": "the deputy secretary's (deputy chair's) name, likewise",
    "today": "today (a date)",
    "document.date": "the document's date (issue date, or today for a draft)",
    "document.number": "01-KH/ĐU (blank number on a draft)",
    "document.number_line": "Số 01-KH/ĐU",
    "document.place_date": "Hải Phòng, ngày 05 tháng 8 năm 2025",
    "document.draft_mark": "DỰ THẢO on a draft, else empty",
    "document.superior_body": "the first line of the heading",
    "document.issuing_body": "the second line of the heading",
}
UNIT_TABLES = {"branch_kinds": "subordinate organisations by kind: total, held, not yet"}

PROVINCE_PLACEHOLDERS: dict[str, str] = {
    "province.name": "Thành phố Hải Phòng",
    "province.name_lower": "thành phố Hải Phòng",
    "province.place": "Hải Phòng",
    "province.committee": "Thành ủy Hải Phòng",
    "province.committee_short": "Thành ủy",
    "province.standing": "Ban Thường vụ Thành ủy",
    "province.party": "Đảng bộ thành phố Hải Phòng",
    "term": "2025 - 2030 (non-breaking spaces around the dash)",
    "campaign.name": "the campaign's name",
    "campaign.deadline": "trước ngày 31/8/2025",
    "campaign.deadline_basis": "Chỉ thị số 45-CT/TW ngày 14/4/2025",
    "report.as_of": "the day the figures are computed for (a date)",
    "report.units": "units",
    "report.percent": "mean readiness, in percent",
    "report.done": "units done",
    "report.on_track": "units on track",
    "report.at_risk": "units at risk",
    "report.late": "units late",
    "report.branches_held": "branches that held their congress",
    "report.branches_total": "branches",
    "report.congresses_held": "units whose congress is done",
    "tasks.text": "6.084 nhiệm vụ được giao; hoàn thành ...",
    "tasks.assigned": "tasks assigned",
    "tasks.done": "tasks done",
    "tasks.in_progress": "tasks in progress",
    "tasks.overdue": "tasks overdue",
    "signer.name": "the signer's name (blank: written by hand)",
    "today": "today (a date)",
    "document.date": "the document's date",
    "document.number": "..-BC/TU",
    "document.number_line": "Số ..-BC/TU",
    "document.place_date": "Hải Phòng, ngày 05 tháng 8 năm 2025",
    "document.draft_mark": "DỰ THẢO on a draft, else empty",
    "document.superior_body": "the first line of the heading",
    "document.issuing_body": "the second line of the heading",
}
PROVINCE_TABLES = {"units": "every unit's readiness", "late_units": "the late units and why"}

KIND_PREFIXES = ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu ", "Thị trấn ", "Thị xã ", "Huyện ", "Quận ")


def lower_first(name: str) -> str:
    """"xã An Phú" from "Xã An Phú": the kind word in lower case inside a sentence."""
    return name[:1].lower() + name[1:]


def place_name(name: str) -> str:
    """"An Phú" from "Xã An Phú", "Hải Phòng" from "Thành phố Hải Phòng"."""
    for prefix in KIND_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def join_vi(items: list[str]) -> str:
    """"a", "a và b", "a, b và c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " và " + items[-1]


def formed_from(unit: Unit) -> str:
    """"được thành lập trên cơ sở hợp nhất xã An Phú, xã An Bình và một phần xã Cộng Hòa".

    Whole former units first, then parts; within each, the one whose name the unit kept first,
    then the one that gave it its code, then the official order. One whole unit: "nguyên trạng".
    """
    origins = list(unit.origins)
    if not origins:
        return ""
    own = fold(place_name(unit.name))
    ordered = sorted(origins, key=lambda o: (o.share != "full", fold(place_name(o.former_name)) != own,
                                             o.former_code != unit.code))
    names = [("một phần " if o.share == "partial" else "") + lower_first(o.former_name) for o in ordered]
    if len(ordered) == 1:
        if ordered[0].share == "full":
            return f"được thành lập trên cơ sở nguyên trạng {lower_first(ordered[0].former_name)}"
        return f"được thành lập trên cơ sở {names[0]}"
    return "được thành lập trên cơ sở hợp nhất " + join_vi(names)


def formed_from_sentence(unit: Unit) -> str:
    clause = formed_from(unit)
    since = long_date(REORGANISED_ON)
    if not clause:
        return f"{unit.name} hoạt động theo mô hình chính quyền địa phương hai cấp từ {since}."
    return f"{unit.name} {clause}, hoạt động từ {since}."


def province_words(province: Province) -> dict[str, str]:
    place = place_name(province.name)
    committee_short = "Thành ủy" if province.name.startswith("Thành phố") else "Tỉnh ủy"
    return {
        "province.name": province.name,
        "province.name_lower": lower_first(province.name),
        "province.place": place,
        "province.committee": f"{committee_short} {place}",
        "province.committee_short": committee_short,
        "province.standing": f"Ban Thường vụ {committee_short}",
        "province.party": "Đảng bộ " + lower_first(province.name),
    }


def term_words(term: str) -> str:
    """"2025 - 2030" as Party documents write a term, with non-breaking spaces around the dash so
    that a line never breaks inside it (the spreadsheets and the API keep the campaign's own term)."""
    years = [part.strip() for part in term.replace("–", "-").replace(NBSP, " ").split("-")]
    return f"{NBSP}-{NBSP}".join(years)


DEFAULT_TERM = term_words("2025-2030")


def branch_status_sentence(total: int, held: int) -> str:
    """What the plan says of the branch congresses, from the facts: all held, none, or how many
    are still to hold theirs (only then "còn lại ... khẩn trương hoàn thành")."""
    if total <= 0:
        return f"Đến nay đã có {BLANK_TEXT} tổ chức đảng tổ chức xong đại hội."
    if held >= total:
        every = f"tất cả {_n(total)}" if total > 1 else _n(total)
        return f"Đến nay, {every} tổ chức đảng trực thuộc đã tổ chức xong đại hội."
    hurry = "khẩn trương hoàn thành đại hội trước khi tổ chức Đại hội Đảng bộ."
    if held == 0:
        return (f"Đến nay chưa có tổ chức đảng trực thuộc nào tổ chức xong đại hội; {_n(total)} tổ chức đảng "
                f"trực thuộc {hurry}")
    return (f"Đến nay đã có {_n(held)}/{_n(total)} tổ chức đảng tổ chức xong đại hội; {_n(total - held)} "
            f"tổ chức đảng còn lại {hurry}")


@dataclass(frozen=True)
class BranchFacts:
    total: int
    held: int
    chi_bo: int
    dang_bo_bo_phan: int
    members: int
    by_kind: tuple[tuple[str, int, int], ...]


def branch_facts(unit: Unit, prep: Preparation | None = None) -> BranchFacts:
    """The unit's branches in the preparation's campaign, when it counts branches; else in the
    newest campaign that has the unit's roster."""
    if prep is not None and prep.branch_workflow_version_id is not None:
        campaign = sa.literal(prep.campaign_id)
    else:
        campaign = sa.select(sa.func.max(Branch.campaign_id)).where(Branch.unit_id == unit.id).scalar_subquery()
    rows = db.session.execute(
        sa.select(Branch.kind, sa.func.count(Branch.id), sa.func.count(Branch.held_on),
                  sa.func.coalesce(sa.func.sum(Branch.members), 0))
        .where(Branch.unit_id == unit.id, Branch.campaign_id == campaign).group_by(Branch.kind)).all()
    counts = {kind: (total, held, members) for kind, total, held, members in rows}
    total = sum(c[0] for c in counts.values())
    held = sum(c[1] for c in counts.values())
    members = sum(int(c[2]) for c in counts.values())
    by_kind = tuple((kind, counts[kind][0], counts[kind][1]) for kind in ("dang_bo_bo_phan", "chi_bo")
                    if kind in counts)
    return BranchFacts(total, held, counts.get("chi_bo", (0,))[0], counts.get("dang_bo_bo_phan", (0,))[0],
                       members, by_kind)


KIND_LABELS = {"chi_bo": "Chi bộ trực thuộc", "dang_bo_bo_phan": "Đảng bộ bộ phận"}


def definition_of(prep: Preparation | None):
    """The workflow definition a preparation follows (None without one)."""
    return prep.definition() if prep is not None else None


def organisation_of(prep: Preparation | None) -> str:
    """"party" or "fatherland_front": the organisation whose congress the preparation prepares."""
    definition = definition_of(prep)
    return getattr(definition, "organisation", None) or (prep.campaign.organisation if prep else "party")


@dataclass(frozen=True)
class CommuneFacts:
    """A province's commune-level units: how many, their members, how many held their congress
    (None: the campaign has no child campaign to say), by kind (word, total, held or None)."""
    total: int
    held: int | None
    members: int
    by_kind: tuple[tuple[str, int, int | None], ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(word for word, _, _ in self.by_kind)


KIND_WORDS = {"xa": "xã", "phuong": "phường", "dac_khu": "đặc khu"}


def commune_facts(unit: Unit, prep: Preparation | None) -> CommuneFacts | None:
    """The children of a province's own committee (None for a commune): the province's
    commune-level units, and those whose congress step is done in the campaign's child campaign
    (the step the workflow's ``children.held_step`` names). Two grouped queries."""
    if unit.level != "province":
        return None
    rows = db.session.execute(
        sa.select(Unit.kind, sa.func.count(Unit.id), sa.func.coalesce(sa.func.sum(Unit.members), 0))
        .where(Unit.province_code == unit.province_code, Unit.kind.in_(UNIT_KINDS)).group_by(Unit.kind)).all()
    counts = {kind: (total, int(members)) for kind, total, members in rows}
    held: dict[str, int] | None = None
    child_campaign = prep.campaign.child_campaign_id if prep is not None else None
    if child_campaign:
        children = getattr(definition_of(prep), "children", None)
        step = getattr(children, "held_step", None) or "congress"
        held = dict(db.session.execute(
            sa.select(Unit.kind, sa.func.count(Step.id)).select_from(Step)
            .join(Preparation, Preparation.id == Step.preparation_id).join(Unit, Unit.id == Preparation.unit_id)
            .where(Preparation.campaign_id == child_campaign, Unit.province_code == unit.province_code,
                   Unit.kind.in_(UNIT_KINDS), Step.branch_id.is_(None), Step.key == step,
                   Step.state == State.DONE.value).group_by(Unit.kind)).all())
    by_kind = tuple((KIND_WORDS[k], counts[k][0], None if held is None else held.get(k, 0))
                    for k in UNIT_KINDS if k in counts)
    return CommuneFacts(sum(c[0] for c in counts.values()), None if held is None else sum(held.values()),
                        sum(c[1] for c in counts.values()), by_kind)


def commune_status_sentence(facts: CommuneFacts | None, province: Province) -> str | None:
    """What the province's plan says of the commune congresses, from the facts: all held, none,
    or how many are still to hold theirs; blanks when the child campaign does not say."""
    if facts is None:
        return None
    words = "đảng bộ " + (", ".join(facts.kinds) if facts.kinds else "cấp xã")
    if facts.total <= 0 or facts.held is None:
        total = _n(facts.total) if facts.total else BLANK_TEXT
        return f"Đến nay đã có {BLANK_TEXT}/{total} {words} tổ chức xong đại hội."
    if facts.held >= facts.total:
        every = f"tất cả {_n(facts.total)}" if facts.total > 1 else _n(facts.total)
        return f"Đến nay, {every} {words} đã tổ chức xong đại hội."
    hurry = f"khẩn trương hoàn thành đại hội trước khi tổ chức Đại hội đại biểu Đảng bộ {lower_first(province.name)}."
    if facts.held == 0:
        return f"Đến nay chưa có {words} nào tổ chức xong đại hội; {_n(facts.total)} {words} {hurry}"
    return (f"Đến nay đã có {_n(facts.held)}/{_n(facts.total)} {words} tổ chức xong đại hội; "
            f"{_n(facts.total - facts.held)} đảng bộ còn lại {hurry}")


def front_words(unit: Unit, province: Province) -> dict[str, str]:
    """The Fatherland Front's bodies of a commune and of its province."""
    own, above = lower_first(unit.name), lower_first(province.name)
    return {
        "front.name": f"Ủy ban Mặt trận Tổ quốc Việt Nam {own}",
        "front.name_short": f"Ủy ban MTTQ Việt Nam {own}",
        "front.standing": f"Ban Thường trực Ủy ban Mặt trận Tổ quốc Việt Nam {own}",
        "front.issuing_body": f"ỦY BAN MTTQ VIỆT NAM {unit.name.upper()}",
        "front.superior": f"Ủy ban Mặt trận Tổ quốc Việt Nam {above}",
        "front.superior_standing": f"Ban Thường trực Ủy ban Mặt trận Tổ quốc Việt Nam {above}",
    }


def congress_title(unit: Unit, prep: Preparation | None, ordinal: str | None) -> str:
    """"Đại hội đại biểu Đảng bộ xã An Phú lần thứ I": the congress the preparation prepares."""
    shown = ordinal or BLANK_TEXT
    if organisation_of(prep) == FATHERLAND_FRONT:
        return f"Đại hội đại biểu Mặt trận Tổ quốc Việt Nam {lower_first(unit.name)} lần thứ {shown}"
    return f"Đại hội đại biểu {unit.committee_name} lần thứ {shown}"


def ordinal_of(unit: Unit) -> str | None:
    if unit.level == "province":
        return PROVINCE_ORDINALS.get(unit.province_code)
    return DEFAULT_ORDINAL


def unit_values(unit: Unit, prep: Preparation | None, place: str = "province") -> tuple[dict, dict[str, Table]]:
    """Every UNIT_PLACEHOLDERS value of a unit in a preparation (without the document.* ones) and
    its tables."""
    province = unit.province
    provincial = unit.level == "province"
    branches = branch_facts(unit, prep)
    communes = commune_facts(unit, prep)
    term = term_words(prep.campaign.term) if prep else DEFAULT_TERM
    ordinal = ordinal_of(unit)
    committee_name = unit.committee_name
    readiness = None
    if prep is not None:
        readiness = queries.unit_readiness_row(prep).readiness
    deadline = prep.deadline if prep else None
    origins = list(unit.origins)
    words = province_words(province)
    title = congress_title(unit, prep, ordinal)
    held_percent = (round(100 * communes.held / communes.total) if communes and communes.total
                    and communes.held is not None else None)
    values = {
        "unit.name": unit.name,
        "unit.name_lower": lower_first(unit.name),
        "unit.name_upper": unit.name.upper(),
        "unit.code": unit.code,
        "unit.kind_word": {**KIND_WORDS, "thanh_pho": "thành phố", "tinh": "tỉnh"}.get(unit.kind, ""),
        "unit.place": place_name(unit.name),
        "unit.members": unit.members,
        **words,
        "committee.name": committee_name,
        "committee.body": words["province.committee"] if provincial else "Đảng ủy " + lower_first(unit.name),
        "committee.issuing_body": (words["province.committee"] if provincial else "Đảng ủy " + unit.name).upper(),
        "committee.superior_body": "" if provincial else ("Đảng bộ " + province.name).upper(),
        "committee.office": f"Văn phòng {words['province.committee_short']}" if provincial else "Văn phòng Đảng ủy",
        "committee.executive_max": None if provincial else EXECUTIVE_LARGE if len(origins) >= 3 else EXECUTIVE_SMALL,
        "committee.standing_min": None if provincial else STANDING_RANGE[0],
        "committee.standing_max": None if provincial else STANDING_RANGE[1],
        "committee.deputies": None if provincial else DEPUTY_SECRETARIES,
        "congress.name": f"{title}, nhiệm kỳ{NBSP}{term}",
        "congress.title": title,
        "congress.ordinal": ordinal,
        "congress.term": term,
        "congress.date": prep.congress_on if prep else None,
        "congress.date_words": long_date(prep.congress_on) if prep and prep.congress_on
        else blank_long_date(term_year(prep) or today().year),
        "congress.deadline": _deadline_phrase(deadline, short=True),
        "congress.deadline_words": _deadline_phrase(deadline, short=False),
        "congress.deadline_basis": (prep.deadline_basis or prep.campaign.deadline_basis) if prep else None,
        "congress.delegates_max": None if provincial else MAX_DELEGATES,
        "term": term,
        "formed_from": formed_from(unit),
        "formed_from_sentence": formed_from_sentence(unit),
        "origins.count": len(origins),
        "origins.list": formed_from(unit).replace("được thành lập trên cơ sở ", "").replace("hợp nhất ", "")
        .replace("nguyên trạng ", ""),
        "branches.total": branches.total,
        "branches.held": branches.held,
        "branches.pending": branches.total - branches.held,
        "branches.held_percent": round(100 * branches.held / branches.total) if branches.total else 0,
        "branches.status_sentence": branch_status_sentence(branches.total, branches.held),
        "branches.chi_bo": branches.chi_bo,
        "branches.dang_bo_bo_phan": branches.dang_bo_bo_phan,
        "branches.composition": join_vi([f"{_n(count)} {word}" for count, word in (
            (branches.chi_bo, "chi bộ"), (branches.dang_bo_bo_phan, "đảng bộ bộ phận")) if count]) or BLANK_TEXT,
        "branches.members": branches.members,
        "communes.total": communes.total if communes else None,
        "communes.held": communes.held if communes else None,
        "communes.pending": communes.total - communes.held if communes and communes.held is not None else None,
        "communes.held_percent": held_percent,
        "communes.kinds": ", ".join(communes.kinds) if communes and communes.kinds else None,
        "communes.members": communes.members if communes else None,
        "communes.status_sentence": commune_status_sentence(communes, province),
        **front_words(unit, province),
        "readiness.percent": readiness.percent if readiness else None,
        "readiness.steps_done": readiness.steps_done if readiness else None,
        "readiness.steps_total": readiness.steps_total if readiness else None,
        "signer.name": "",
        "signer.secretary": (prep.secretary_name if prep else None) or "",
        "signer.deputy": (prep.deputy_secretary_name if prep else None) or "",
        "today": today(),
    }
    rows = [("Loại tổ chức đảng", "Tổng số", "Đã đại hội", "Chưa đại hội")]
    for kind, total, held in branches.by_kind:
        rows.append((KIND_LABELS[kind], _n(total), _n(held), _n(total - held)))
    rows.append(("**Cộng**", f"**{_n(branches.total)}**", f"**{_n(branches.held)}**",
                 f"**{_n(branches.total - branches.held)}**"))
    tables = {"branch_kinds": Table(tuple(rows), header_rows=1, widths=(4, 2, 2, 2),
                                    align=("left", "center", "center", "center"))}
    return values, tables


def _n(value: int) -> str:
    """A count as documents write it (congress.formatting.count): 7, 56, 1.250."""
    from congress.formatting import count

    return count(value)


def _deadline_phrase(deadline, short: bool) -> str | None:
    from congress.formatting import short_date
    from workflows.deadlines import DeadlineKind

    if deadline is None:
        return None
    day = short_date(deadline.day, locale="vi") if short else long_date(deadline.day)
    word = "trước" if deadline.kind is DeadlineKind.BEFORE else "chậm nhất"
    return f"{word} ngày {day}" if short else f"{word} {day}"
