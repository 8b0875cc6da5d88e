"""flask readiness: recompute every unit's stored readiness, or check it against the engine."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from congress.extensions import db

readiness_cli = AppGroup("readiness", help="Rebuild or check each unit's stored readiness.")


@readiness_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute every preparation's stored readiness for today."""
    from congress.progress import stored

    written = stored.rebuild()
    db.session.commit()
    click.echo(f"readiness rebuilt for {written} preparations")


@readiness_cli.command("check")
def check_command() -> None:
    """Compare every stored readiness with a fresh computation; exit 1 naming each that differs."""
    from congress.progress import stored

    differing = stored.check()
    for prep, why in differing:
        click.echo(f"{prep.unit.code} {prep.unit.name} · {prep.campaign.name_vi}: {why}")
    if differing:
        click.echo(f"{len(differing)} preparations differ from a fresh computation "
                   f"(flask readiness rebuild stores them again)", err=True)
        raise SystemExit(1)
    click.echo("every stored readiness agrees with a fresh computation")
