"""The demo's steps obey the lifecycle the engine enforces: no step started or finished before its
prerequisites were finished, no congress held on a day other than its planned one, no approval
step the city approved without an approved draft of the document it records."""
from __future__ import annotations

from collections import defaultdict

from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.progress.models import Preparation, Step
from workflows.rules import FINISHED, State


def test_every_demo_step_respects_its_prerequisites_and_the_congress_date(app):
    problems = []
    approved = {(v.unit_id, v.kind) for v in db.session.execute(
        db.select(DraftVersion).filter_by(status="approved")).scalars()}
    preps = db.session.execute(db.select(Preparation)).scalars().all()
    steps_by_prep = defaultdict(list)
    for step in db.session.execute(db.select(Step)).scalars():
        steps_by_prep[step.preparation_id].append(step)
    checked = 0
    for prep in preps:
        scopes = defaultdict(dict)
        for step in steps_by_prep[prep.id]:
            scopes[step.branch_id][step.key] = step
        for branch_id, steps in scopes.items():
            definition = (prep.branch_workflow_version if branch_id else prep.workflow_version).definition()
            for key, step in steps.items():
                checked += 1
                state = step.state_enum
                if state is State.NOT_STARTED or state is State.NOT_APPLICABLE:
                    continue
                for required in definition.step(key).requires:
                    before = steps[required]
                    where = (prep.unit.code, branch_id, key, required)
                    if before.state_enum not in FINISHED:
                        problems.append(("prerequisite not finished", *where))
                    elif before.completed_on and step.started_on and step.started_on < before.completed_on:
                        problems.append(("started before its prerequisite", *where))
                if branch_id is None and definition.congress and key == definition.congress.step \
                        and state is State.DONE and prep.congress_on and step.completed_on != prep.congress_on:
                    problems.append(("congress held off its planned day", prep.unit.code, step.completed_on,
                                     prep.congress_on))
                kind = definition.draft_of_approval(key) if branch_id is None else None
                if kind and state in (State.APPROVED, State.DONE) and (prep.unit_id, kind) not in approved:
                    problems.append(("approved without an approved draft", prep.unit.code, key, kind))
    assert checked > 10000
    assert problems == []
