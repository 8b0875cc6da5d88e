"""The demo's next rounds: the commune party round closed (its record kept, read-only) and the
Fatherland Front's commune-level round open over the same units.

The embedded demo (``python -m congress``) adds them after the story of the commune round, so it
shows several campaigns side by side; ``flask seed --demo`` leaves the commune round open, as the
tests use it. Idempotent: a round already there is left as it is.

The Front's term and dates are assumptions of the demo (the domain reference covers the party's
congresses only): its commune-level congresses are taken to follow the party's, in the autumn,
for a term named 2026–2031. Change them here, or start the round from the campaigns page.
"""
from __future__ import annotations

from datetime import date

from congress.extensions import db
from congress.progress import campaigns
from congress.progress.models import Campaign

FRONT_NAME_VI = "Đại hội đại biểu Mặt trận Tổ quốc Việt Nam cấp xã, nhiệm kỳ 2026–2031"
FRONT_NAME_EN = "Commune-level Fatherland Front congresses, term 2026–2031"
FRONT_TERM = "2026–2031"
FRONT_STARTS_ON = date(2025, 7, 1)
FRONT_DEADLINE = date(2025, 12, 31)


class _Seeder:
    """The seeding acts as an administrator (national staff)."""
    role = "admin"
    unit_id = province_code = id = None
    username = display_name = "seed"


def seed_next_rounds(province_code: str, notes: list[str], actor=None) -> None:
    actor = actor or _Seeder()
    commune = db.session.execute(db.select(Campaign).filter_by(
        province_code=province_code, organisation="party", level="commune")).scalars().first()
    if commune is None:
        return
    front = db.session.execute(db.select(Campaign).filter_by(
        province_code=province_code, organisation="fatherland_front", level="commune",
        term=FRONT_TERM)).scalars().first()
    if front is None:
        front = campaigns.start(campaigns.CampaignSpec(
            name_vi=FRONT_NAME_VI, name_en=FRONT_NAME_EN, term=FRONT_TERM, unit_workflow="front_commune_congress",
            starts_on=FRONT_STARTS_ON, deadline_on=FRONT_DEADLINE, deadline_kind="by",
            deadline_basis="Kế hoạch của Ban Thường trực Ủy ban Mặt trận Tổ quốc thành phố",
            province_codes=[province_code]), actor)
        notes.append(f"demo: campaign {front.id} open ({front.name_vi})")
    if not commune.is_closed:
        campaigns.close_campaign(commune, actor=actor, version=commune.version)
        notes.append(f"demo: campaign {commune.id} closed ({commune.name_vi}), readable and exportable")
