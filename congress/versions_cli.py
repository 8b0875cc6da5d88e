"""``flask versions``: workflow definitions as stored versions (add, list, diff) and moving a
campaign's units to another version (migrate, previewed unless --confirm)."""
from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path

import click
from flask.cli import AppGroup

from congress.errors import OperationError
from congress.extensions import db

versions_cli = AppGroup("versions", help="Stored workflow versions: add, list, diff, migrate units.")


def _fail(exc: OperationError) -> None:
    from congress.cli import _fail as fail

    fail(exc)


def _actor() -> str:
    from congress.cli import _cli_actor

    return _cli_actor()


@versions_cli.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def versions_add(file: Path) -> None:
    """Store the definition in FILE as the next revision of its workflow (once per content)."""
    from congress.progress.versions import store_definition

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"{file.name}: cannot read the file: {exc}".splitlines()[0], err=True)
        sys.exit(1)
    try:
        added = store_definition(text, file.name, _actor())
        db.session.commit()
    except OperationError as exc:
        if exc.code != "workflow_invalid":
            _fail(exc)
        db.session.rollback()
        for line in exc.params["problems"]:
            click.echo(line, err=True)
        sys.exit(1)
    version = added.version
    click.echo(f"{version.key} r{version.revision} ({'new' if added.new else 'already stored'})")


@versions_cli.command("list")
@click.argument("key", required=False)
def versions_list(key: str | None) -> None:
    """The stored revisions (of KEY): source, date, declared version, preparations using each."""
    from congress.progress.versions import stored_versions
    from workflows.deadlines import LOCAL_TZ

    try:
        found = stored_versions(key)
    except OperationError as exc:
        _fail(exc)
    for item in found:
        version = item.version
        stamp = version.created_at if version.created_at.tzinfo else version.created_at.replace(tzinfo=UTC)
        used = f"{item.preparations} preparation{'' if item.preparations == 1 else 's'}"
        click.echo(f"{version.key} r{version.revision}\tv{version.declared_version}\t{version.source}\t"
                   f"{stamp.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}\t{used}")


@versions_cli.command("diff")
@click.argument("key")
@click.option("--from", "old", type=int, metavar="N", help="Revision to compare from (default: the one before --to).")
@click.option("--to", "new", type=int, metavar="M", help="Revision to compare to (default: the newest).")
def versions_diff(key: str, old: int | None, new: int | None) -> None:
    """What changed in KEY between two revisions (default: the last two)."""
    from congress.progress.versions import diff_versions, latest_version, version_of

    try:
        newer = version_of(key, new) if new is not None else latest_version(key)
        if old is None:
            if newer.revision <= 1:
                raise click.ClickException(f"{key} has no revision before r{newer.revision}: nothing to compare")
            old = newer.revision - 1
        older = version_of(key, old)
        found = diff_versions(older, newer)
        db.session.commit()  # latest_version may have stored the file's version
    except OperationError as exc:
        _fail(exc)
    click.echo(f"{key} r{found.old_revision} -> r{found.new_revision}")
    if found.unchanged:
        click.echo("no differences")
        return
    for label, keys in (("steps added", found.steps_added), ("steps removed", found.steps_removed),
                        ("phases added", found.phases_added), ("phases removed", found.phases_removed)):
        if keys:
            click.echo(f"{label}: {', '.join(keys)}")
    for change in found.steps_changed:
        for name, (before, after) in change.fields.items():
            click.echo(f"step {change.key}: {name}: {_shown(before)} -> {_shown(after)}")
    if found.text:
        click.echo("")
        click.echo(found.text)


def _shown(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


@versions_cli.command("migrate")
@click.option("--campaign", "campaign_id", type=int, required=True, metavar="ID", help="The campaign's id.")
@click.option("--to", "revision", type=int, required=True, metavar="N", help="The revision to move its units to.")
@click.option("--scope", type=click.Choice(["unit", "branch"]), default="unit", show_default=True,
              help="The units' own steps, or their branches' steps.")
@click.option("--confirm", is_flag=True, help="Apply the plan (without it: preview only, nothing written).")
def versions_migrate(campaign_id: int, revision: int, scope: str, confirm: bool) -> None:
    """Move a campaign's units to revision N of their workflow: prints the plan, applies it with
    --confirm (every unit or none; refused when a step with recorded progress would be dropped)."""
    from congress.progress.models import Campaign
    from congress.progress.versions import migrate_campaign, version_of

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"no campaign with id {campaign_id}")
    key = campaign.unit_workflow if scope == "unit" else campaign.branch_workflow
    if not key:
        raise click.ClickException(f"campaign {campaign_id} has no {scope} workflow")
    try:
        target = version_of(key, revision)
        plan = migrate_campaign(campaign, target, actor=_actor(), scope=scope)
        _print_plan(plan, campaign)
        if not confirm:
            db.session.rollback()
            click.echo("preview only: nothing was changed (add --confirm to apply)")
            return
        plan = migrate_campaign(campaign, target, actor=_actor(), scope=scope, confirm=True)
        db.session.commit()
    except OperationError as exc:
        _fail(exc)
    click.echo(f"applied: {len(plan.units)} units moved to {target.key} r{target.revision}")


def _print_plan(plan, campaign) -> None:
    target = plan.to_version
    click.echo(f"campaign {campaign.id} ({campaign.name_vi}): {plan.scope} steps to {target.key} r{target.revision}: "
               f"{len(plan.units)} units to move, {plan.unchanged} already on it")
    for unit in plan.units:
        adds = ", ".join(f"{m.label} (due {m.due_on.isoformat() if m.due_on else '-'})" for m in unit.add)
        drops = ", ".join(m.label for m in unit.drop)
        click.echo(f"  {unit.unit.code} {unit.unit.name}: from r{unit.from_version.revision}; "
                   f"add {len(unit.add)}{': ' + adds if adds else ''}; "
                   f"drop {len(unit.drop)}{': ' + drops if drops else ''}; keep {unit.kept}")
    for _unit, warning in plan.warnings:
        click.echo(f"  warning: {warning.label} is finished, but its new prerequisite {warning.prerequisite} "
                   "is added not started")
    for _unit, move in plan.blockers:
        click.echo(f"  blocked: {move.label} would be dropped, but its progress is on record ({move.state})")
    for _unit, move in plan.stranded:
        click.echo(f"  blocked: {move.label} is {move.state}, but the new version does not ask the city to "
                   "approve it")
    if plan.added_past_due:
        click.echo(f"  note: {len(plan.added_past_due)} added steps are already past their due date (overdue at once)")
    click.echo(f"steps: +{plan.steps_added}, -{plan.steps_dropped}, {plan.steps_kept} kept"
               + ("" if plan.can_apply else "; cannot be applied"))
