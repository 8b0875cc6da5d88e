"""The whole country at demo scale: every unit of the 34 provinces with its branches and history.

3,321 units, about 200,000 branches, 800,000 steps and a million audit records, for measuring
the application at the size of a national deployment. It is the Hải Phòng demo (the same
generators, the same per-unit random seeds, so the same unit gets the same data whichever way it
was seeded) run one province at a time: each province is planned in memory, written with
multi-row inserts (the demo writes branches, steps and audit records as lists of rows, never one
ORM object at a time) and committed, so memory stays at the size of one province and an
interrupted run keeps the provinces it finished. Seeding again skips what is already there.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from congress.extensions import db
from congress.units.models import Branch, Unit

from .seed import SeedReport, ensure_campaign, province_codes_for, seed_reference

#: The sizes a seed can be asked for: one city (the default demo) or the whole country.
SCALES = ("haiphong", "national")


def seed_national(*, actor: str = "seed", echo: Callable[[str], None] | None = None) -> SeedReport:
    """Seed every province with the demo data, committing after each one.

    ``echo`` receives one progress line per province (the command line prints them).
    """
    from .demo import seed_demo

    echo = echo or (lambda line: None)
    started = time.monotonic()
    codes = province_codes_for(None, True)
    report = seed_reference(codes)
    db.session.commit()
    for number, code in enumerate(codes, start=1):
        campaign, created = ensure_campaign(code)
        report.campaigns += int(created)
        before = len(report.notes)
        seed_demo([code], {code: campaign}, report, actor=actor)
        db.session.commit()
        db.session.expunge_all()  # the province's objects are written; do not keep them in memory
        added = " ".join(report.notes[before:]) or "nothing to add"
        echo(f"[{number}/{len(codes)}] {code} {time.monotonic() - started:6.0f} s  {added}")
    report.notes = [n for n in report.notes if not n.startswith("demo: ")]
    report.notes.append(national_summary())
    return report


def national_summary() -> str:
    """What the database holds now: units, branches, steps, audit records."""
    from congress.audit.models import AuditRecord
    from congress.progress.models import Step

    counts = {name: db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
              for name, model in (("units", Unit), ("branches", Branch), ("steps", Step),
                                  ("audit records", AuditRecord))}
    return "national: " + ", ".join(f"{n:,} {name}" for name, n in counts.items())
