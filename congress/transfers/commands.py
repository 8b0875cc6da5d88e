"""The command line's backup and restore: ``flask export --all FILE``, ``flask import --all FILE``."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from congress.errors import OperationError


def _fail(exc: OperationError) -> None:
    from congress.extensions import db
    from congress.messages import describe

    db.session.rollback()
    raise click.ClickException(describe(exc.code, exc.params))


@click.command("export")
@click.option("--all", "everything", is_flag=True, help="Every table, the audit log and the uploaded files.")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def export_command(everything: bool, file: Path) -> None:
    """Write a backup archive (ZIP) of the whole database and the uploaded files to FILE, signed
    with CONGRESS_BACKUP_KEY (required in production)."""
    from . import backup

    if not everything:
        raise click.UsageError("Say what to export: --all (the whole database and the uploaded files).")
    try:
        manifest = backup.export_all(file)
    except OperationError as exc:
        _fail(exc)
    rows = sum(t["rows"] for t in manifest["tables"])
    signed = "signed" if manifest["signed"] else "unsigned: CONGRESS_BACKUP_KEY is not set"
    click.echo(f"{file}: {len(manifest['tables'])} tables, {rows} rows, {len(manifest['files'])} files "
               f"(revision {manifest['revision']}, {signed})")


@click.command("import")
@click.option("--all", "everything", is_flag=True, help="Restore a whole backup archive.")
@click.option("--unsigned", "allow_unsigned", is_flag=True,
              help="Also restore an archive that carries no signature, or whose signature cannot be checked "
                   "because CONGRESS_BACKUP_KEY is not set here: only for an archive you know where it comes "
                   "from. A signature that does not match is refused all the same.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(everything: bool, allow_unsigned: bool, file: Path) -> None:
    """Restore a backup archive made by ``export --all`` into an empty, migrated database.

    The archive must be signed with CONGRESS_BACKUP_KEY (the key it was made with) unless
    --unsigned is given; anything that is not such an archive is refused and nothing is restored."""
    from . import backup

    if not everything:
        raise click.UsageError("Say what to import: --all (a backup archive made by export --all).")
    try:
        manifest = backup.import_all(file, allow_unsigned=allow_unsigned)
    except OperationError as exc:
        _fail(exc)
    rows = sum(t["rows"] for t in manifest["tables"])
    click.echo(f"{file}: restored {len(manifest['tables'])} tables, {rows} rows, {len(manifest['files'])} files")
