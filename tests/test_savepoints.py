"""A savepoint is part of its transaction on every database: what it wrote goes when the
transaction is rolled back, even when the savepoint was the transaction's first write (pysqlite
opens a transaction only before a write, so on SQLite a SAVEPOINT it did not see coming would
start a transaction of its own, which RELEASE commits)."""
from __future__ import annotations

import sqlalchemy as sa

from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.units.models import Province, Unit


def test_a_savepoint_that_is_the_first_write_is_rolled_back_with_its_transaction(app):
    db.session.commit()
    with db.session.begin_nested():
        db.session.add(Province(code="98", name="Tỉnh thử"))
    db.session.rollback()
    assert db.session.get(Province, "98") is None


def test_an_upload_refused_after_its_version_was_numbered_keeps_no_version(app, files, monkeypatch):
    """drafts.upload_version numbers the version in a savepoint; a refusal after it (here the audit
    record failing) must leave no version behind."""
    from congress.accounts.models import User
    from congress.drafts import operations
    from tests.test_drafts import make_docx

    actor = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    unit = db.session.execute(db.select(Unit).filter_by(code="10891")).scalar_one()
    before = db.session.execute(sa.select(sa.func.count(DraftVersion.id))).scalar_one()
    db.session.commit()

    def refuse(**_):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(operations, "record", refuse)
    try:
        operations.upload_version(unit, "political_report", filename="du-thao.docx", content=make_docx("Dự thảo"),
                                  note=None, actor=actor)
    except RuntimeError:
        db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(DraftVersion.id))).scalar_one() == before
