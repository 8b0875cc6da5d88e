"""The flask commands: seed, users, tokens, workflows check."""
from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from congress.errors import OperationError
from congress.extensions import db


def _fail(exc: OperationError) -> None:
    from congress.messages import describe

    db.session.rollback()
    raise click.ClickException(describe(exc.code, exc.params))


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


workflows_cli = AppGroup("workflows", help="Check the workflow definitions.")


@workflows_cli.command("check")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of definitions (default: workflows/definitions).")
def workflows_check(directory: Path | None) -> None:
    """Validate every definition; print one line per problem."""
    from workflows.loader import DEFINITIONS_DIR, DefinitionError, load_all

    try:
        found = load_all(directory or DEFINITIONS_DIR)
    except DefinitionError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        sys.exit(1)
    for definition in found.values():
        click.echo(f"{definition.source}: {definition.key} v{definition.version}, "
                   f"{len(definition.steps)} steps: OK")


@click.command("seed")
@click.option("--province", "provinces", multiple=True, metavar="CODE",
              help="Province code to load (repeatable); default 31, Hải Phòng.")
@click.option("--all", "all_units", is_flag=True, help="Load all 3,321 units of the 34 provinces.")
@click.option("--demo", is_flag=True, help="Add deterministic demo branches, progress and accounts.")
@click.option("--scale", type=click.Choice(["haiphong", "national"]),
              help="haiphong: the demo of Hải Phòng (--demo); national: the demo in all 3,321 units, "
                   "committed province by province (--all --demo).")
def seed_command(provinces: tuple[str, ...], all_units: bool, demo: bool, scale: str | None) -> None:
    """Load the organisations from the official reference data (idempotent)."""
    from congress.seeding.seed import province_codes_for, seed

    if scale and provinces:
        raise click.UsageError("--scale chooses the provinces itself; leave out --province.")
    if scale == "haiphong" and all_units:
        raise click.UsageError("--scale haiphong seeds Hải Phòng only; leave out --all.")
    try:
        if scale == "national":
            from congress.seeding.national import seed_national

            report = seed_national(actor=_cli_actor(), echo=click.echo)
        else:
            codes = province_codes_for(["31"] if scale else list(provinces), all_units)
            report = seed(codes, demo=demo or bool(scale), actor=_cli_actor())
        db.session.commit()
    except OperationError as exc:
        _fail(exc)
    click.echo(f"provinces +{report.provinces}, units +{report.units}, origins +{report.origins}, "
               f"campaigns +{report.campaigns}, units enrolled +{report.enrolled}")
    for note in report.notes:
        click.echo(note)


users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(
    ["admin", "city_leader", "city_staff", "unit_leader", "unit_staff", "viewer"]))
@click.option("--unit", "unit_code", metavar="CODE", help="Unit code (unit roles, or a unit viewer).")
@click.option("--province", "province_code", metavar="CODE", help="Province code (city roles, or a viewer).")
@click.option("--name", "display_name", help="Full name shown in pages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username, role, unit_code, province_code, display_name, password_stdin) -> None:
    """Create an account; the password comes from a prompt or standard input."""
    from congress.accounts.operations import add_user
    from congress.errors import NotFound
    from congress.units.models import Province, Unit

    try:
        unit = province = None
        if unit_code:
            unit = db.session.execute(db.select(Unit).filter_by(code=unit_code)).scalar_one_or_none()
            if unit is None:
                raise NotFound("unit_not_found", {"code": unit_code})
        if province_code:
            province = db.session.get(Province, province_code)
            if province is None:
                raise NotFound("province_not_found", {"code": province_code})
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = add_user(username.strip(), role=role, password=password, display_name=display_name,
                        unit=unit, province=province, actor=_cli_actor())
        db.session.commit()
    except OperationError as exc:
        _fail(exc)
    click.echo(f"user {user.username} ({user.role}) created")


@users_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_password(username: str, password_stdin: bool) -> None:
    """Set an account's password (e.g. a forgotten one); every session of the account ends."""
    from congress.accounts.operations import reset_password

    user = _user(username)
    password = (sys.stdin.readline().rstrip("\r\n") if password_stdin
                else click.prompt("New password", hide_input=True, confirmation_prompt=True))
    try:
        reset_password(user, password, actor=_cli_actor())
        db.session.commit()
    except OperationError as exc:
        _fail(exc)
    click.echo(f"password of {user.username} set; its sessions have ended")


@users_cli.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Lift a temporary lockout after wrong passwords."""
    from congress.accounts.operations import unlock

    user = _user(username)
    unlock(user, actor=_cli_actor())
    db.session.commit()
    click.echo(f"{user.username} unlocked")


@users_cli.command("logout")
@click.argument("username")
def users_logout(username: str) -> None:
    """End every session of an account (a lost phone, a shared computer)."""
    from congress.accounts.operations import end_sessions

    user = _user(username)
    end_sessions(user, actor=_cli_actor())
    db.session.commit()
    click.echo(f"every session of {user.username} has ended")


tokens_cli = AppGroup("tokens", help="Manage API bearer tokens.")


def _user(username: str):
    from congress.accounts.models import User

    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    return user


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", "token_name", default="api", help="A label to recognise the token by.")
def tokens_create(username: str, token_name: str) -> None:
    """Print a new bearer token for USERNAME (shown once; stored hashed)."""
    from congress.accounts.operations import create_token

    token, plain = create_token(_user(username), token_name, actor=_cli_actor())
    db.session.commit()
    click.echo(plain)


@tokens_cli.command("list")
@click.argument("username")
def tokens_list(username: str) -> None:
    """List a user's tokens (id, label, prefix, state)."""
    from congress.accounts.models import ApiToken

    user = _user(username)
    for token in db.session.execute(db.select(ApiToken).filter_by(user_id=user.id).order_by(ApiToken.id)).scalars():
        state = "revoked" if token.revoked_at else "active"
        click.echo(f"{token.id}\t{token.name}\t{token.prefix}…\t{state}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id: it stops working at once."""
    from congress.accounts.models import ApiToken
    from congress.accounts.operations import revoke_token

    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token with id {token_id}")
    revoke_token(token, actor=_cli_actor())
    db.session.commit()
    click.echo(f"token {token_id} revoked")


scheduler_cli = AppGroup("scheduler", help="Reminders, digests and snapshots on their schedule.")


@scheduler_cli.command("run")
@click.option("--retry", default=15.0, show_default=True, help="Seconds between attempts to take the lock.")
@click.option("--for", "duration", type=float, help="Stop after this many seconds (default: run until stopped).")
def scheduler_run(retry: float, duration: float | None) -> None:
    """Run the scheduler as its own process (one acts per database; others stand by)."""
    from flask import current_app

    from congress.notices.scheduler import run

    run(current_app._get_current_object(), retry=retry, duration=duration, echo=click.echo)


@scheduler_cli.command("jobs")
def scheduler_jobs() -> None:
    """List the jobs with their ids and triggers."""
    from flask import current_app

    from congress.notices.scheduler import job_specs

    for spec in job_specs(current_app._get_current_object()):
        click.echo(f"{spec.id}\t{spec.trigger}")


@scheduler_cli.command("run-job")
@click.argument("job_id")
@click.option("--day", "day", type=click.DateTime(["%Y-%m-%d"]), help="Run as on this local day.")
@click.option("--at", "at", default=None, metavar="HH:MM", help="Local time of day (default: now's).")
def scheduler_run_job(job_id: str, day, at: str | None) -> None:
    """Run one job now, or as on a given day and time (idempotent)."""
    from datetime import time as clock_time

    from flask import current_app

    from congress.clock import local_now
    from congress.notices.jobs import JOBS
    from congress.notices.scheduler import run_job

    if job_id not in JOBS:
        raise click.ClickException(f"no job {job_id!r}; jobs: {', '.join(JOBS)}")
    now = local_now()
    if day is not None:
        now = now.replace(year=day.year, month=day.month, day=day.day)
    if at:
        try:
            moment = clock_time.fromisoformat(at)
        except ValueError:
            raise click.ClickException(f"--at must be HH:MM, not {at!r}") from None
        now = now.replace(hour=moment.hour, minute=moment.minute, second=0, microsecond=0)
    result = run_job(current_app._get_current_object(), job_id, now)
    click.echo(f"{job_id} {result.day}: {result.created} created, {result.emailed} e-mailed"
               + (f" (skipped: {result.skipped})" if result.skipped else ""))


def register_commands(app: Flask) -> None:
    app.cli.add_command(workflows_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    from congress.transfers.commands import export_command, import_command

    app.cli.add_command(export_command)
    app.cli.add_command(import_command)
    app.cli.add_command(scheduler_cli)
    from congress.campaigns_cli import campaigns_cli

    app.cli.add_command(campaigns_cli)
    from congress.versions_cli import versions_cli

    app.cli.add_command(versions_cli)
    from congress.readiness_cli import readiness_cli

    app.cli.add_command(readiness_cli)
