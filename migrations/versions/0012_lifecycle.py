"""workflow versions: the facts the drafts flow and the congress gate read from a definition

Before this revision, which steps a draft kind starts, submits and approves, the step that is the
congress itself and the documents it needs approved were written in the code, and held for every
stored commune_congress definition. They are now sections of the definition (drafts,
comment_rounds, congress; the congress step "skippable: false"). Stored snapshots made before carry
none of them: they are given the facts that applied to them all along, so their units keep the
same rules. The checksum stays the one of the file they were made from.

Revision ID: 0012_lifecycle
Revises: 0010_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_lifecycle'
down_revision = '0010_accountability'
branch_labels = None
depends_on = None

FACTS = {
    "drafts": {
        "political_report": {"starts": "political_report", "approved_by": "documents_approval"},
        "self_review_report": {"starts": "self_review"},
        "personnel_submission": {"approved_by": "personnel_plan"},
        "congress_resolution": {},
    },
    "comment_rounds": {"completes": "comment_round"},
    "congress": {"step": "congress", "needs_approved": ["political_report", "personnel_submission"]},
}
SECTIONS = tuple(FACTS)

versions = sa.table("workflow_versions", sa.column("id", sa.Integer), sa.column("key", sa.String),
                    sa.column("body", sa.JSON))


def upgrade():
    bind = op.get_bind()
    for row in bind.execute(sa.select(versions.c.id, versions.c.body)
                            .where(versions.c.key == "commune_congress")).all():
        body = dict(row.body)
        if any(section in body for section in SECTIONS):
            continue
        keys = {step.get("key") for step in body.get("steps", [])}
        if not {"political_report", "self_review", "documents_approval", "personnel_plan", "comment_round",
                "congress"} <= keys:
            continue  # not the shape those facts were written for
        body.update(FACTS)
        body["steps"] = [dict(step, skippable=False) if step.get("key") == "congress" else step
                         for step in body["steps"]]
        bind.execute(versions.update().where(versions.c.id == row.id).values(body=body))


def downgrade():
    bind = op.get_bind()
    for row in bind.execute(sa.select(versions.c.id, versions.c.body)
                            .where(versions.c.key == "commune_congress")).all():
        body = dict(row.body)
        if body.get("version") != 1 or not any(section in body for section in SECTIONS):
            continue
        for section in SECTIONS:
            body.pop(section, None)
        body["steps"] = [{k: v for k, v in step.items() if k != "skippable"} for step in body["steps"]]
        bind.execute(versions.update().where(versions.c.id == row.id).values(body=body))
