"""JSON shapes of the API (described in openapi.py); one function per shape."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from flask_babel import get_locale, gettext

from congress.formatting import deadline_phrase, number
from congress.messages import ACTION_LABELS, RISK_LABELS, STATE_LABELS, describe_reason
from workflows.deadlines import Deadline
from workflows.readiness import ProvinceReadiness, TaskSummary, UnitReadiness, is_overdue
from workflows.rules import State


def _locale() -> str:
    return str(get_locale() or "vi")


def iso(value):
    return value.isoformat() if value is not None else None


def deadline(value: Deadline | None) -> dict | None:
    if value is None:
        return None
    return {**value.as_dict(), "text": deadline_phrase(value)}


def _frozen(value):
    """A hashable stand-in for a reason's parameters: mappings and sequences become tagged tuples,
    scalars keep their type (so 1, 1.0 and True stay apart)."""
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((k, _frozen(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_frozen(v) for v in value))
    return (type(value), value)


class ReadinessWords:
    """Readiness as JSON for the many units of one answer, in the request's language.

    The words are what costs (every deadline, risk label and reason goes through Babel), and
    thousands of units share a few hundred of them: each distinct deadline, risk and reason is put
    into words once per instance. Make one per answer, so nothing outlives the request.
    """

    def __init__(self):
        self._deadlines: dict = {}
        self._risks: dict = {}
        self._reasons: dict = {}
        #: the words of the reason objects met so far, by identity: stored rows share one object
        #: per distinct reason (congress.progress.stored.ReadinessDecoder), which are then
        #: recognised without working out their key; the objects are held, so no id is reused
        self._seen: dict[int, tuple] = {}

    def deadline(self, value):
        try:
            return self._deadlines[value]
        except KeyError:
            found = self._deadlines[value] = deadline(value)
            return found

    def risk_label(self, risk) -> str:
        try:
            return self._risks[risk]
        except KeyError:
            found = self._risks[risk] = str(RISK_LABELS[risk])
            return found

    def reason(self, reason) -> str:
        seen = self._seen.get(id(reason))
        if seen is not None:
            return seen[1]
        words = self._words(reason)
        self._seen[id(reason)] = (reason, words)
        return words

    def _words(self, reason) -> str:
        key = (reason.code, _frozen(reason.params))
        try:
            return self._reasons[key]
        except KeyError:
            found = self._reasons[key] = describe_reason(reason)
            return found

    def readiness(self, r: UnitReadiness) -> dict:
        return {
            "percent": r.percent,
            "steps_done": r.steps_done,
            "steps_total": r.steps_total,
            "steps_not_applicable": r.steps_not_applicable,
            "branches_held": r.branches_held,
            "branches_total": r.branches_total,
            "overdue_steps": list(r.overdue),
            "deadline": self.deadline(r.deadline),
            "days_left": r.days_left,
            "projected_finish": iso(r.projected_finish),
            "finished_on": iso(r.finished_on),
            "risk": r.risk.value,
            "risk_label": self.risk_label(r.risk),
            "reasons": [{"code": reason.code, "text": self.reason(reason)} for reason in r.reasons],
        }


def readiness(r: UnitReadiness) -> dict:
    """One unit's readiness as JSON (the same shape as ReadinessWords.readiness)."""
    return ReadinessWords().readiness(r)


def unit_summary(unit) -> dict:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind,
            "province_code": unit.province_code, "members": unit.members}


def tasks(t: TaskSummary) -> dict:
    text = gettext(
        "%(assigned)s tasks assigned; %(done)s done (%(p)s%%), %(in_progress)s in progress (%(q)s%%), "
        "%(overdue)s overdue (%(r)s%%)",
        assigned=number(t.assigned), done=number(t.done), p=t.done_percent,
        in_progress=number(t.in_progress), q=t.in_progress_percent, overdue=number(t.overdue),
        r=t.overdue_percent)
    return {"assigned": t.assigned, "done": t.done, "in_progress": t.in_progress, "overdue": t.overdue,
            "done_percent": t.done_percent, "in_progress_percent": t.in_progress_percent,
            "overdue_percent": t.overdue_percent, "text": text}


def province_readiness(p: ProvinceReadiness) -> dict:
    return {
        "unit_count": p.units,
        "percent": p.percent,
        "by_risk": {risk.value: count for risk, count in p.by_risk.items()},
        "risk_percentages": {risk.value: share for risk, share in p.risk_percentages.items()},
        "branches_held": p.branches_held,
        "branches_total": p.branches_total,
        "tasks": tasks(p.tasks),
    }


def step(s, step_def, user, facts, today) -> dict:
    """A step, with the actions ``user`` can take on it now (``facts``: the unit's
    congress.progress.actions.UnitFacts, which decides them for every surface)."""
    state = State(s.state)
    due = s.due
    prep = getattr(facts, "prep", None)  # its words name the approver of the unit's workflow
    return {
        "key": s.key,
        "title": step_def.title(_locale()),
        "title_vi": step_def.title_vi,
        "title_en": step_def.title_en,
        "phase": step_def.phase,
        "requires": list(step_def.requires),
        "approval_required": step_def.approval,
        "document": step_def.document,
        "weight": step_def.weight,
        "done_when": step_def.done_when,
        "state": state.value,
        "state_label": str(STATE_LABELS[state].bind(prep)),
        "overdue": is_overdue(state, due, today),
        "due": deadline(due),
        "started_on": iso(s.started_on),
        "submitted_on": iso(s.submitted_on),
        "approved_on": iso(s.approved_on),
        "completed_on": iso(s.completed_on),
        "note": s.note,
        "reason": s.reason,
        "version": s.version,
        "actions": [{"action": a.value, "label": str(ACTION_LABELS[a].bind(prep))} for a in facts.offered(user, s)],
    }


BRANCH_FIELDS = ("name", "kind", "members", "secretary", "planned_on", "held_on", "delegates",
                 "new_secretary")


def branch(b, steps=None, step_definitions=None, user=None, unit=None, today=None, facts=None) -> dict:
    body = {"code": b.code, "unit_code": b.unit.code if unit is None else unit.code}
    for field in BRANCH_FIELDS:
        value = getattr(b, field)
        body[field] = iso(value) if field.endswith("_on") else value
    body["held"] = b.held_on is not None
    body["version"] = b.version
    if steps is not None:
        body["steps"] = [step(s, step_definitions.step(s.key), user, facts, today) for s in steps]
    return body


def audit_record(a) -> dict:
    at = a.at if a.at.tzinfo is not None else a.at.replace(tzinfo=UTC)  # SQLite drops the zone
    return {"id": a.id, "at": at.isoformat(), "actor": a.actor, "action": a.action,
            "entity": a.entity, "entity_key": a.entity_key, "step_key": a.step_key,
            "old": a.old, "new": a.new, "reason": a.reason}
