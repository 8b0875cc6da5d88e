"""Loading the organisations and campaigns; idempotent: seeding twice changes nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from congress.errors import NotFound
from congress.extensions import db
from congress.progress.models import Campaign
from congress.progress.operations import enrol_units, pinned_versions
from congress.units.models import UNIT_KINDS, Province, Unit, UnitOrigin

from . import reference

#: The campaign every province runs for the 2025–2030 term (Directive 45-CT/TW, 14/4/2025):
#: commune-level congresses from July 2025, finished before 31/8/2025. Units exist from 1/7/2025.
TERM = "2025–2030"
CAMPAIGN_NAME_VI = "Đại hội Đảng bộ cấp xã, nhiệm kỳ 2025–2030"
CAMPAIGN_NAME_EN = "Commune-level party congresses, term 2025–2030"
CAMPAIGN_STARTS_ON = date(2025, 7, 1)
CAMPAIGN_DEADLINE = date(2025, 8, 31)
CAMPAIGN_DEADLINE_KIND = "before"
CAMPAIGN_DEADLINE_BASIS = "Chỉ thị số 45-CT/TW ngày 14/4/2025"


@dataclass
class SeedReport:
    provinces: int = 0
    units: int = 0
    origins: int = 0
    campaigns: int = 0
    enrolled: int = 0
    notes: list[str] = field(default_factory=list)


def province_codes_for(codes: list[str] | None, all_units: bool) -> list[str]:
    """Which provinces a seed covers: --all, the given codes, or Hải Phòng (31) by default."""
    known = reference.provinces()
    if all_units:
        return sorted(known)
    codes = codes or ["31"]
    for code in codes:
        if code not in known:
            raise NotFound("province_not_found", {"code": code})
    return sorted(set(codes))


def seed_reference(province_codes: list[str], report: SeedReport | None = None) -> SeedReport:
    """Insert the provinces, units and unit origins that are missing; existing rows stay."""
    report = report or SeedReport()
    wanted = set(province_codes)
    existing_provinces = set(db.session.execute(sa.select(Province.code)).scalars())
    new_provinces = [{"code": c, "name": n} for c, n in reference.provinces().items()
                     if c in wanted and c not in existing_provinces]
    if new_provinces:
        db.session.execute(sa.insert(Province.__table__), new_provinces)
    report.provinces = len(new_provinces)

    existing_units = set(db.session.execute(sa.select(Unit.code)).scalars())
    new_units = [{"code": u.code, "name": u.name, "kind": u.kind, "province_code": u.province_code}
                 for u in reference.units() if u.province_code in wanted and u.code not in existing_units]
    if new_units:
        db.session.execute(sa.insert(Unit.__table__), new_units)
    report.units = len(new_units)

    new_codes = {u["code"] for u in new_units}
    if new_codes:
        ids = dict(db.session.execute(sa.select(Unit.code, Unit.id).where(Unit.code.in_(new_codes))).all())
        origin_rows = [{"unit_id": ids[o.code], "former_code": o.former_code, "former_name": o.former_name,
                        "share": o.share} for o in reference.origins() if o.code in ids]
        if origin_rows:
            db.session.execute(sa.insert(UnitOrigin.__table__), origin_rows)
        report.origins = len(origin_rows)
    return report


def ensure_campaign(province_code: str) -> tuple[Campaign, bool]:
    campaign = db.session.execute(
        db.select(Campaign).filter_by(province_code=province_code, organisation="party", level="commune",
                                      term=TERM)).scalar_one_or_none()
    if campaign is not None:
        return campaign, False
    campaign = Campaign(province_code=province_code, term=TERM, name_vi=CAMPAIGN_NAME_VI,
                        name_en=CAMPAIGN_NAME_EN, starts_on=CAMPAIGN_STARTS_ON,
                        deadline_on=CAMPAIGN_DEADLINE, deadline_kind=CAMPAIGN_DEADLINE_KIND,
                        deadline_basis=CAMPAIGN_DEADLINE_BASIS, unit_workflow="commune_congress",
                        branch_workflow="branch_congress")
    pinned_versions(campaign)  # the versions its units follow, pinned before it is written
    db.session.add(campaign)
    db.session.flush()
    return campaign, True


def seed(province_codes: list[str], *, demo: bool = False, actor: str = "seed") -> SeedReport:
    """Load the organisations (and, with ``demo``, the demo data) for the given provinces."""
    report = seed_reference(province_codes)
    campaigns = {}
    for code in province_codes:
        campaigns[code], created = ensure_campaign(code)
        report.campaigns += int(created)
    if demo:
        from .demo import seed_demo

        seed_demo(province_codes, campaigns, report, actor=actor)
    else:
        for code, campaign in campaigns.items():
            units = list(db.session.execute(db.select(Unit).filter_by(province_code=code).where(
                Unit.kind.in_(UNIT_KINDS))).scalars())
            report.enrolled += len(enrol_units(campaign, units, actor=actor))
    return report
