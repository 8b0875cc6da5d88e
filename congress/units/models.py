"""The organisation tree: province → commune-level unit → subordinate branch."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from congress.extensions import db

UNIT_KINDS = ("xa", "phuong", "dac_khu")
#: the committee of a whole province or centrally-run city, the subject of a province-level
#: campaign (its code is the province's: "31")
PROVINCE_KINDS = ("tinh", "thanh_pho")
BRANCH_KINDS = ("chi_bo", "dang_bo_bo_phan")


class Province(db.Model):
    __tablename__ = "provinces"
    #: official two-digit code, a string: "01", "31"
    code: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))


class Unit(db.Model):
    """A commune-level unit (xã, phường, đặc khu) and its party committee; or, of a kind in
    PROVINCE_KINDS, a province's own committee (the subject of its province-level congress)."""
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: official five-digit code (GSO 1027/CTK-CSCL), a string that keeps its leading zeros; a
    #: province's own committee has the province's two-digit code
    code: Mapped[str] = mapped_column(sa.String(5), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: xa, phuong or dac_khu (tinh, thanh_pho: a province's own committee)
    kind: Mapped[str] = mapped_column(sa.String(10))
    province_code: Mapped[str] = mapped_column(sa.ForeignKey("provinces.code"), index=True)
    #: party members of the whole committee, when known
    members: Mapped[int | None]

    province: Mapped[Province] = relationship(lazy="joined")
    origins: Mapped[list[UnitOrigin]] = relationship(
        back_populates="unit", order_by="UnitOrigin.id", cascade="all, delete-orphan")

    @property
    def level(self) -> str:
        return "province" if self.kind in PROVINCE_KINDS else "commune"

    @property
    def committee_name(self) -> str:
        """"Đảng bộ phường Tứ Minh" from "Phường Tứ Minh"."""
        return "Đảng bộ " + self.name[:1].lower() + self.name[1:]


class UnitOrigin(db.Model):
    """A former unit this unit was formed from (1/7/2025 reorganisation), wholly or in part."""
    __tablename__ = "unit_origins"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    former_code: Mapped[str] = mapped_column(sa.String(5))
    former_name: Mapped[str] = mapped_column(sa.String(120))
    #: full or partial
    share: Mapped[str] = mapped_column(sa.String(10))

    unit: Mapped[Unit] = relationship(back_populates="origins")


class Branch(db.Model):
    """A subordinate party organisation: a branch (chi bộ) or a sub-committee (đảng bộ bộ phận), as
    one campaign knows it: its roster and congress facts belong to that campaign (a later round over
    the unit starts from a copy of the roster, without the congress facts)."""
    __tablename__ = "branches"
    #: each unit's branches and those held in a campaign, counted from the index alone (readiness,
    #: dashboards); a code names one branch per campaign
    __table_args__ = (sa.Index("ix_branches_campaign_unit_held", "campaign_id", "unit_id", "held_on"),
                      sa.UniqueConstraint("campaign_id", "code", name="uq_branches_campaign_code"))
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the unit's code, a dash and a three-digit number: "11311-007"
    code: Mapped[str] = mapped_column(sa.String(16), index=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20), default="chi_bo")
    members: Mapped[int | None]
    secretary: Mapped[str | None] = mapped_column(sa.String(120))
    #: planned congress date
    planned_on: Mapped[date | None]
    #: the day the congress was held; set means held
    held_on: Mapped[date | None] = mapped_column(index=True)
    delegates: Mapped[int | None]
    new_secretary: Mapped[str | None] = mapped_column(sa.String(120))
    #: optimistic lock: a write must carry the version it saw
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship()

    __mapper_args__ = {"version_id_col": version}
