"""flask campaigns: list, start (preview first, --confirm to start) and close campaigns."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from congress.errors import OperationError
from congress.extensions import db

campaigns_cli = AppGroup("campaigns", help="List, start and close campaigns.")


class _Console:
    """Who starts a campaign from the command line: an administrator (national staff)."""
    role = "admin"
    unit_id = None
    province_code = None
    id = None
    is_authenticated = True

    def __init__(self, name: str):
        self.username = self.display_name = name

    def __str__(self) -> str:
        return self.username


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    from congress.web.forms import parse_day

    try:
        return parse_day(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (20/8/2025 or 2025-08-20)") from None


@campaigns_cli.command("list")
def list_campaigns() -> None:
    """Every campaign: id, status, organisation and level, term, units, name."""
    import sqlalchemy as sa

    from congress.progress.models import Campaign, Preparation

    counts = dict(db.session.execute(sa.select(Preparation.campaign_id, sa.func.count(Preparation.id))
                                     .group_by(Preparation.campaign_id)).all())
    for c in db.session.execute(db.select(Campaign).order_by(Campaign.id)).scalars():
        child = f" <- {c.child_campaign_id}" if c.child_campaign_id else ""
        click.echo(f"{c.id:>4} {c.status:<6} {c.organisation}/{c.level} {c.term} {counts.get(c.id, 0):>5} units "
                   f"{c.province_code or '*'} {c.name_vi}{child}")


@campaigns_cli.command("start")
@click.option("--name", "name_vi", required=True, help="Name in Vietnamese.")
@click.option("--name-en", help="Name in English (default: the Vietnamese).")
@click.option("--term", required=True, help="Term, e.g. 2025–2030.")
@click.option("--workflow", "unit_workflow", required=True, help="The units' workflow key, e.g. province_congress.")
@click.option("--province", "provinces", multiple=True, metavar="CODE", help="A province it covers (repeatable).")
@click.option("--unit", "units", multiple=True, metavar="CODE", help="Exactly these units (repeatable).")
@click.option("--child", "child", type=int, help="The campaign whose units the roll-ups read (its id).")
@click.option("--starts", required=True, help="Start date (20/8/2025).")
@click.option("--deadline", required=True, help="Deadline day.")
@click.option("--kind", type=click.Choice(["before", "by"]), default="before", show_default=True,
              help="before: the day itself excluded; by: included.")
@click.option("--basis", help="What sets the deadline, e.g. “Chỉ thị số 45-CT/TW ngày 14/4/2025”.")
@click.option("--unit-deadline", "unit_deadlines", multiple=True, metavar="CODE=DAY",
              help="A unit's own deadline (repeatable).")
@click.option("--confirm", is_flag=True, help="Start it (without: only the preview).")
def start_campaign(name_vi, name_en, term, unit_workflow, provinces, units, child, starts, deadline, kind, basis,
                   unit_deadlines, confirm) -> None:
    """Preview a campaign (how many units and steps, deadlines on days off); --confirm starts it."""
    from congress.cli import _cli_actor, _fail
    from congress.progress import campaigns

    per_unit = {}
    for item in unit_deadlines:
        code, sep, day = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not CODE=DAY", param_hint="--unit-deadline")
        per_unit[code.strip()] = _day(day.strip())
    spec = campaigns.CampaignSpec(name_vi=name_vi, name_en=name_en or "", term=term, unit_workflow=unit_workflow,
                                  starts_on=_day(starts), deadline_on=_day(deadline), deadline_kind=kind,
                                  deadline_basis=basis, province_codes=list(provinces), unit_codes=list(units),
                                  child_campaign_id=child, unit_deadlines=per_unit)
    actor = _Console(_cli_actor())
    try:
        found = campaigns.plan(spec, actor)
        click.echo(f"{found.definition.key} ({found.definition.organisation}/{found.definition.level}): "
                   f"{found.unit_count} units, {found.step_count} steps"
                   + (f", {len(found.new_units)} province committees added as units" if found.new_units else "")
                   + (f", roll-ups read campaign {found.child_campaign.id}" if found.child_campaign else ""))
        for warning in found.warnings:
            click.echo(f"  {warning.day.isoformat()} is a {warning.why} ({warning.what})")
        if not confirm:
            db.session.rollback()
            click.echo("Preview only: add --confirm to start it.")
            return
        campaign = campaigns.start(spec, actor)
        db.session.commit()
    except OperationError as exc:
        _fail(exc)
    click.echo(f"campaign {campaign.id} started")


@campaigns_cli.command("close")
@click.argument("campaign_id", type=int)
def close_campaign(campaign_id: int) -> None:
    """Close a campaign: it stays readable and exportable, and takes no more changes."""
    from congress.cli import _cli_actor, _fail
    from congress.progress import campaigns
    from congress.progress.models import Campaign

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"There is no campaign {campaign_id}.")
    try:
        campaigns.close_campaign(campaign, actor=_Console(_cli_actor()), version=campaign.version)
        db.session.commit()
    except OperationError as exc:
        _fail(exc)
    click.echo(f"campaign {campaign_id} closed")
