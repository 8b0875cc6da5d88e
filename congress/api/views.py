"""The JSON API under /api/v1: by session (with a CSRF header for writes) or bearer token."""
from __future__ import annotations

import re
from datetime import date
from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.orm.exc import StaleDataError
from wtforms.validators import ValidationError

from congress.accounts import permissions
from congress.audit.models import AuditRecord
from congress.clock import today
from congress.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable, error_response
from congress.extensions import csrf, db
from congress.idempotency import idempotent, repeats_last_transition
from congress.messages import describe, shows_workflow
from congress.progress import campaigns as campaign_ops
from congress.progress import operations as progress_ops
from congress.progress import queries
from congress.progress.accountability import REASON_LIMIT
from congress.progress.actions import UnitFacts
from congress.progress.models import Campaign, Step
from congress.text import clean_text
from congress.units import operations as unit_ops
from congress.units import queries as unit_queries
from congress.units.models import UNIT_KINDS, Branch, Province, Unit
from congress.units.queries import plausible
from congress.web.forms import parse_day
from workflows.deadlines import DeadlineKind
from workflows.readiness import Risk
from workflows.rules import Action

from . import serializers as out

api = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            response, status = error_response(401, "unauthorized", describe("unauthorized"))
            response.headers["WWW-Authenticate"] = 'Bearer realm="congress"'
            return response, status
        if request.method in WRITE_METHODS and not g.get("token_auth"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except (ValidationError, CSRFError):
                raise BadRequest("csrf_missing") from None
        return view(*args, **kwargs)
    return wrapped


# --- input helpers -------------------------------------------------------------------------

def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("invalid_json")
    return body


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value, field: str) -> date | None:
    """A date written YYYY-MM-DD; date.fromisoformat alone would also take 20250805 or 2025-W32-2."""
    if value is None:
        return None
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise Unprocessable("invalid_field", {"field": field, "problem": "YYYY-MM-DD"})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Unprocessable("invalid_field", {"field": field, "problem": "YYYY-MM-DD"}) from None


def parse_int(value, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31:
        raise Unprocessable("invalid_field", {"field": field, "problem": "integer"})
    return value


def parse_text(value, field: str, max_length: int = 2000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unprocessable("invalid_field", {"field": field, "problem": "text"})
    try:
        return clean_text(value, max_length=max_length)
    except ValueError:
        raise Unprocessable("invalid_field", {"field": field,
                                              "problem": f"≤ {max_length}"}) from None


def parse_version(body: dict) -> int:
    if "version" not in body:
        raise Unprocessable("version_required")
    return parse_int(body["version"], "version")


def required(body: dict, field: str):
    """The value of a field that must be sent (it may be null where null means something)."""
    if field not in body:
        raise Unprocessable("field_required", {"field": field})
    return body[field]


def check_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Unprocessable("unknown_fields", {"fields": unknown})


# --- lookups that check scope --------------------------------------------------------------

def readable_unit(code: str) -> Unit:
    return unit_queries.readable_unit(code, current_user)


def preparation_of(unit: Unit):
    prep = queries.unit_preparation(unit)
    if prep is None:
        raise NotFound("not_enrolled", {"code": unit.code})
    shows_workflow(prep)  # the words of its steps (and of its refusals) name its workflow's approver
    return prep


def readable_branch(code: str) -> Branch:
    return unit_queries.readable_branch(code, current_user)


def branch_preparation_of(branch: Branch):
    """The preparation a branch belongs to: its unit's in the branch's own campaign."""
    prep = unit_ops.branch_preparation(branch)
    if prep is None:
        raise NotFound("not_enrolled", {"code": branch.unit.code})
    shows_workflow(prep)
    return prep


def province_scope(code: str | None) -> set[str] | None:
    """The provinces a list may show: the one asked for (if readable), else all readable ones."""
    readable = permissions.readable_province_codes(current_user)
    if code is not None:
        if not plausible(code, 2) or db.session.get(Province, code) is None:
            raise NotFound("province_not_found", {"code": code[:20]})
        if readable is not None and code not in readable:
            raise Forbidden()
        return {code}
    return readable


def query_int(name: str, default: int | None = None) -> int | None:
    """An integer query parameter (a 64-bit id at most)."""
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or abs(number) >= 2**63:
        raise Unprocessable("invalid_field", {"field": name, "problem": "integer"})
    return number


def query_as_of() -> date:
    """The day a readiness answer is for: ``as_of`` written YYYY-MM-DD (or d/m/yyyy, as the progress
    report's field takes it), today when not given; never after today."""
    value = request.args.get("as_of")
    now = today()
    if not value:
        return now
    try:
        day = parse_day(value)
    except ValueError:
        raise Unprocessable("invalid_field", {"field": "as_of", "problem": "YYYY-MM-DD"}) from None
    if day > now:
        raise Unprocessable("date_in_future", {"field": "as_of", "on": day, "today": now})
    return day


def choice(name: str, allowed) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise Unprocessable("unknown_filter", {"field": name, "value": value})
    return value


# --- many units' readiness in one answer -----------------------------------------------------

# --- endpoints -----------------------------------------------------------------------------

@api.get("/me")
@login_required
def me():
    user = current_user
    return jsonify({"username": user.username, "display_name": user.display_name, "role": user.role,
                    "unit_code": user.unit.code if user.unit else None,
                    "province_code": user.province_code})


@api.get("/units")
@login_required
def list_units():
    kind = choice("kind", UNIT_KINDS)
    risk = choice("risk", [r.value for r in Risk])
    as_of = query_as_of()
    provinces = province_scope(request.args.get("province"))
    unit_ids = None
    if provinces == set():  # unit roles and unit viewers: their own unit only
        unit_ids = [current_user.unit_id] if current_user.unit_id else []
        provinces = None
    with queries.collector_paused():
        rows = queries.readiness_rows(provinces, unit_ids=unit_ids, kind=kind, as_of=as_of)
        if risk:
            rows = [r for r in rows if r.readiness.risk.value == risk]
        readiness_json = out.ReadinessWords().readiness
        return jsonify({"as_of": as_of.isoformat(), "count": len(rows),
                        "units": [{**out.unit_summary(r.unit), "congress_on": out.iso(r.preparation.congress_on),
                                   "readiness": readiness_json(r.readiness)} for r in rows]})


@api.get("/units/<code>")
@login_required
def get_unit(code: str):
    unit = readable_unit(code)
    prep = preparation_of(unit)
    now = query_as_of()
    definition = prep.definition()
    branch_definition = prep.branch_definition()
    if now < today():  # the unit as it was at the end of that day; the past is read, not acted on
        past = queries.past_unit(prep, now)
        if past is None:
            raise NotFound("not_enrolled", {"code": unit.code})
        # the readiness as that night recorded it (what /readiness?as_of= says), the steps and
        # branches as the audit log has them
        row = queries.unit_readiness_row(prep, as_of=now)
        prep, unit_steps, facts = past.preparation, past.steps, NO_ACTIONS
        branches, steps_by_branch = past.branches, past.branch_steps
    else:
        unit_steps = queries.unit_steps(prep)
        row = queries.unit_readiness_row(prep, unit_steps, as_of=now)
        steps_by_branch = queries.branch_steps(prep)
        facts = UnitFacts(prep, [*unit_steps, *(s for steps in steps_by_branch.values() for s in steps)], on=now)
        branches = queries.unit_branches(prep)
    return jsonify({
        **out.unit_summary(unit),
        "province_name": unit.province.name,
        "formed_from": [{"code": o.former_code, "name": o.former_name, "share": o.share}
                        for o in unit.origins],
        "as_of": now.isoformat(),
        "preparation": {
            "campaign": {"id": prep.campaign.id, "name": prep.campaign.name_vi, "term": prep.campaign.term,
                         "starts_on": prep.campaign.starts_on.isoformat()},
            "workflow": {"key": prep.workflow_version.key, "revision": prep.workflow_version.revision,
                         "version": prep.workflow_version.declared_version},
            "congress_on": out.iso(prep.congress_on),
            "deadline": out.deadline(prep.deadline),
            "deadline_is_override": prep.deadline_is_override,
            "deadline_basis": prep.deadline_basis or prep.campaign.deadline_basis,
            "version": prep.version,
        },
        "readiness": out.readiness(row.readiness),
        "steps": [out.step(s, definition.step(s.key), current_user, facts, now)
                  for s in unit_steps],
        "branches": [out.branch(b, steps_by_branch.get(b.id, []), branch_definition, current_user, unit, now,
                                facts) for b in branches],
    })


class _NoActions:
    """The actions offered on a step as it was on a past day: none."""

    @staticmethod
    def offered(user, step) -> list:
        return []


NO_ACTIONS = _NoActions()


def _transition(step: Step, unit: Unit, definition, siblings: list[Step] | None = None):
    """Apply the body's action to ``step``; ``siblings``: every step of its scope, already read."""
    body = json_body()
    check_fields(body, {"action", "version", "on", "note"})
    try:
        action = Action(body.get("action"))
    except ValueError:
        raise Unprocessable("unknown_action", {"action": str(body.get("action"))[:40]}) from None
    version = parse_version(body)
    on = parse_date(body.get("on"), "on")
    note = parse_text(body.get("note"), "note")
    facts = UnitFacts(step.preparation, siblings)
    try:
        progress_ops.transition(step, action=action, actor=current_user, version=version, on=on, note=note,
                                facts=facts)
    except (Conflict, StaleDataError):  # without a key: the sender's own last action sent again is no conflict
        db.session.rollback()
        if not repeats_last_transition(step, action=action, actor=current_user, version=version):
            raise
        return jsonify({**out.step(step, definition.step(step.key), current_user, UnitFacts(step.preparation),
                                   today()), "repeated": True})
    # the step as written (the flush gave it its new version), put into JSON before the commit
    # expires it: reading the step and the user back after the commit would be two more queries
    body = out.step(step, definition.step(step.key), current_user, facts, today())
    db.session.commit()
    return jsonify(body)


def find_step(key: str, **where) -> Step:
    """A unit's step (branch_id=None) or a branch's, by key; 404 when there is none."""
    step = None
    if plausible(key, 60):
        query = db.select(Step).filter_by(key=key, **where)
        step = db.session.execute(query).scalar_one_or_none()
    return _step_or_404(step, key)


def _step_or_404(step: Step | None, key: str) -> Step:
    if step is None:
        raise NotFound("step_not_found", {"key": key[:60]})
    return step


@api.post("/units/<code>/steps/<key>/transitions")
@login_required
@idempotent
def transition_unit_step(code: str, key: str):
    unit = readable_unit(code)
    prep = preparation_of(unit)
    step = find_step(key, preparation_id=prep.id, branch_id=None)
    return _transition(step, unit, prep.definition())


@api.post("/branches/<code>/steps/<key>/transitions")
@login_required
@idempotent
def transition_branch_step(code: str, key: str):
    branch = readable_branch(code)
    prep = branch_preparation_of(branch)
    # the branch's few steps in one query: the step and the prerequisites its rules read
    steps = list(db.session.execute(db.select(Step).where(Step.branch_id == branch.id)).scalars())
    step = _step_or_404(next((s for s in steps if s.key == key), None) if plausible(key, 60) else None, key)
    return _transition(step, branch.unit, prep.branch_definition(), steps)


def _branch_json(branch: Branch) -> dict:
    """A branch with its own steps, in the order of its workflow."""
    prep = branch_preparation_of(branch)
    definition = prep.branch_definition()
    steps = db.session.execute(db.select(Step).where(Step.branch_id == branch.id)).scalars().all()
    order = {key: i for i, key in enumerate(definition.step_keys)}
    steps = sorted(steps, key=lambda s: order.get(s.key, 999))
    return out.branch(branch, steps, definition, current_user, branch.unit, today(), UnitFacts(prep, steps))


@api.get("/branches/<code>")
@login_required
def get_branch(code: str):
    return jsonify(_branch_json(readable_branch(code)))


@api.patch("/branches/<code>")
@login_required
@idempotent
def patch_branch(code: str):
    branch = readable_branch(code)
    body = json_body()
    check_fields(body, set(unit_ops.BRANCH_FIELDS) | {"version", "confirm_reopen"})
    version = parse_version(body)
    changes = _branch_fields(body)
    confirm_reopen = body.get("confirm_reopen", False)  # reopens the unit's completed step, if it must
    if not isinstance(confirm_reopen, bool):
        raise Unprocessable("invalid_field", {"field": "confirm_reopen", "problem": "true / false"})
    unit_ops.update_branch(branch, changes, actor=current_user, version=version, confirm_reopen=confirm_reopen)
    db.session.commit()
    return jsonify(_branch_json(branch))


def _branch_fields(body: dict) -> dict:
    """The branch fields present in ``body``, typed and cleaned."""
    fields = {}
    for field, kind in unit_ops.BRANCH_FIELDS.items():
        if field not in body:
            continue
        if kind is date:
            fields[field] = parse_date(body[field], field)
        elif kind is int:
            fields[field] = parse_int(body[field], field)
        else:
            fields[field] = parse_text(body[field], field, unit_ops.TEXT_LIMITS.get(field, 40))
    return fields


@api.post("/units/<code>/branches")
@login_required
@idempotent
def add_branch(code: str):
    unit = readable_unit(code)
    prep = preparation_of(unit)
    body = json_body()
    check_fields(body, set(unit_ops.BRANCH_FIELDS) | {"confirm_reopen"})
    confirm_reopen = body.get("confirm_reopen", False)  # reopens the unit's completed step, if it must
    if not isinstance(confirm_reopen, bool):
        raise Unprocessable("invalid_field", {"field": "confirm_reopen", "problem": "true / false"})
    branch = unit_ops.add_branch(unit, _branch_fields(body), actor=current_user, prep=prep,
                                 confirm_reopen=confirm_reopen)
    db.session.commit()
    return jsonify(_branch_json(branch)), 201


@api.put("/units/<code>/deadline")
@login_required
@idempotent
def put_unit_deadline(code: str):
    unit = readable_unit(code)
    prep = preparation_of(unit)
    body = json_body()
    check_fields(body, {"version", "date", "kind", "basis", "confirm", "reason"})
    version = parse_version(body)
    day = parse_date(required(body, "date"), "date")  # null clears the unit's own deadline
    kind = _deadline_kind(body.get("kind", "by"))
    confirm, reason = _confirmation(body)
    progress_ops.set_unit_deadline(prep, actor=current_user, version=version, day=day, kind=kind,
                                   basis=parse_text(body.get("basis"), "basis", 200), confirm=confirm,
                                   reason=reason)
    db.session.commit()
    return jsonify({"deadline": out.deadline(prep.deadline), "deadline_is_override": prep.deadline_is_override,
                    "deadline_basis": prep.deadline_basis, "version": prep.version})


@api.put("/units/<code>/congress-date")
@login_required
@idempotent
def put_congress_date(code: str):
    unit = readable_unit(code)
    prep = preparation_of(unit)
    body = json_body()
    check_fields(body, {"version", "date", "confirm", "reason"})
    version = parse_version(body)
    confirm, reason = _confirmation(body)
    progress_ops.set_congress_date(prep, actor=current_user, version=version,
                                   day=parse_date(required(body, "date"), "date"), confirm=confirm, reason=reason)
    db.session.commit()
    return jsonify({"congress_on": out.iso(prep.congress_on), "version": prep.version})


def _confirmation(body: dict) -> tuple[bool, str | None]:
    """``confirm`` (a boolean, default false) and ``reason`` of a move that needs an explicit
    confirmation (congress.progress.accountability)."""
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise Unprocessable("invalid_field", {"field": "confirm", "problem": "true / false"})
    return confirm, parse_text(body.get("reason"), "reason", REASON_LIMIT)


def _deadline_kind(value) -> DeadlineKind:
    try:
        return DeadlineKind(value)
    except ValueError:
        raise Unprocessable("unknown_deadline_kind") from None


def _campaign_json(c: Campaign) -> dict:
    return {"id": c.id, "province_code": c.province_code, "term": c.term, "name": c.name_vi,
            "name_en": c.name_en, "organisation": c.organisation, "level": c.level, "status": c.status,
            "unit_workflow": c.unit_workflow, "branch_workflow": c.branch_workflow,
            "child_campaign_id": c.child_campaign_id, "starts_on": c.starts_on.isoformat(),
            "deadline": out.deadline(c.deadline), "deadline_basis": c.deadline_basis, "version": c.version}


@api.get("/campaigns")
@login_required
def list_campaigns():
    """The campaigns within the caller's reach (of one province with ?province=), open ones first."""
    provinces = province_scope(request.args.get("province")) if request.args.get("province") else None
    found = campaign_ops.campaigns_for(current_user)
    if provinces is not None:
        found = [c for c in found if c.province_code in provinces]
    return jsonify({"campaigns": [_campaign_json(c) for c in found]})


def _campaign_spec(body: dict) -> campaign_ops.CampaignSpec:
    check_fields(body, {"name", "name_en", "term", "unit_workflow", "provinces", "units", "child_campaign_id",
                        "starts_on", "deadline", "unit_deadlines", "confirm"})
    deadline = body.get("deadline") or {}
    if not isinstance(deadline, dict):
        raise Unprocessable("invalid_field", {"field": "deadline", "problem": "{date, kind, basis}"})

    def codes(name: str) -> list[str]:
        value = body.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 20000:
            raise Unprocessable("invalid_field", {"field": name, "problem": "a list of codes"})
        return value

    per_unit = body.get("unit_deadlines") or {}
    if not isinstance(per_unit, dict) or len(per_unit) > 20000:
        raise Unprocessable("invalid_field", {"field": "unit_deadlines", "problem": "{code: date}"})
    child = body.get("child_campaign_id")
    if child is not None and (not isinstance(child, int) or isinstance(child, bool)):
        raise Unprocessable("invalid_field", {"field": "child_campaign_id", "problem": "a campaign id"})
    kind = deadline.get("kind", "before")
    return campaign_ops.CampaignSpec(
        name_vi=parse_text(body.get("name"), "name", 200) or "",
        name_en=parse_text(body.get("name_en"), "name_en", 200),
        term=parse_text(body.get("term"), "term", 20) or "",
        unit_workflow=str(body.get("unit_workflow") or "")[:60],
        starts_on=parse_date(body.get("starts_on"), "starts_on"),
        deadline_on=parse_date(deadline.get("date"), "deadline"), deadline_kind=_deadline_kind(kind).value,
        deadline_basis=parse_text(deadline.get("basis"), "basis", 200), province_codes=codes("provinces"),
        unit_codes=codes("units"), child_campaign_id=child,
        unit_deadlines={str(k)[:16]: parse_date(v, "unit_deadlines") for k, v in per_unit.items()})


@api.post("/campaigns")
@login_required
@idempotent
def start_campaign():
    """Preview a campaign ("confirm": false, the default: nothing is written) or start it."""
    body = json_body()
    spec = _campaign_spec(body)
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise Unprocessable("invalid_field", {"field": "confirm", "problem": "true / false"})
    if not confirm:
        found = campaign_ops.plan(spec, current_user)
        db.session.rollback()
        return jsonify({"preview": True, "units": found.unit_count, "steps": found.step_count,
                        "steps_per_unit": found.steps_per_unit, "branch_steps": found.branch_steps,
                        "new_units": [u["code"] for u in found.new_units],
                        "child_campaign_id": found.child_campaign.id if found.child_campaign else None,
                        "days_off": [{"date": w.day.isoformat(), "why": w.why, "what": w.what}
                                     for w in found.warnings]})
    campaign = campaign_ops.start(spec, current_user)
    db.session.commit()
    return jsonify(_campaign_json(campaign)), 201


@api.post("/campaigns/<int:campaign_id>/close")
@login_required
@idempotent
def close_campaign(campaign_id: int):
    campaign = campaign_ops.campaign_or_404(campaign_id, current_user)
    body = json_body()
    check_fields(body, {"version"})
    campaign_ops.close_campaign(campaign, actor=current_user, version=parse_version(body))
    db.session.commit()
    return jsonify(_campaign_json(campaign))


@api.put("/campaigns/<int:campaign_id>/deadline")
@login_required
@idempotent
def put_campaign_deadline(campaign_id: int):
    campaign = db.session.get(Campaign, campaign_id) if 0 < campaign_id < 2**31 else None
    if campaign is None or not campaign_ops.can_read_campaign(current_user, campaign):
        raise NotFound("not_found")
    body = json_body()
    check_fields(body, {"version", "date", "kind", "basis", "confirm", "reason"})
    version = parse_version(body)
    day = parse_date(required(body, "date"), "date")
    if day is None:
        raise Unprocessable("field_required", {"field": "date"})
    confirm, reason = _confirmation(body)
    progress_ops.set_campaign_deadline(campaign, actor=current_user, version=version, day=day,
                                       kind=_deadline_kind(body.get("kind", "by")),
                                       basis=parse_text(body.get("basis"), "basis", 200), confirm=confirm,
                                       reason=reason)
    db.session.commit()
    return jsonify(_campaign_json(campaign))


@api.get("/readiness")
@login_required
def readiness():
    kind = choice("kind", UNIT_KINDS)
    as_of = query_as_of()
    provinces = province_scope(request.args.get("province"))
    if provinces == set():
        raise Forbidden()
    with queries.collector_paused():
        overview = queries.province_overview(provinces, kind=kind, as_of=as_of, summaries=True)
        readiness_json = out.ReadinessWords().readiness
        body = {"as_of": overview.as_of.isoformat(),
                "province": ({"code": overview.province.code, "name": overview.province.name}
                             if overview.province else None),
                "campaign": _campaign_json(overview.campaign) if overview.campaign else None,
                **out.province_readiness(overview.readiness),
                "units": [{**out.unit_summary(r.unit), "readiness": readiness_json(r.readiness)}
                          for r in overview.rows]}
        return jsonify(body)


@api.get("/audit")
@login_required
def audit():
    code = request.args.get("unit")
    limit = min(500, max(1, query_int("limit", 100)))
    before = query_int("before")
    query = db.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if code:
        unit = readable_unit(code)
        query = query.where(AuditRecord.unit_id == unit.id)
    else:
        provinces = permissions.readable_province_codes(current_user)
        if provinces is not None:
            if provinces:  # the province's units, and its campaigns (entity_key "31/2025–2030")
                campaign_keys = [AuditRecord.entity_key.startswith(f"{code}/") for code in sorted(provinces)]
                query = query.outerjoin(Unit, Unit.id == AuditRecord.unit_id).where(sa.or_(
                    Unit.province_code.in_(provinces),
                    sa.and_(AuditRecord.entity == "campaign", sa.or_(*campaign_keys))))
            elif current_user.unit_id is not None:  # a unit's staff and viewers: their own unit
                query = query.where(AuditRecord.unit_id == current_user.unit_id)
            else:
                raise Forbidden()
    if before is not None:
        query = query.where(AuditRecord.id < before)
    records = db.session.execute(query).scalars().all()
    return jsonify({"records": [out.audit_record(a) for a in records],
                    "next_before": records[-1].id if len(records) == limit else None})


@api.get("/openapi.json")
def openapi():
    from .openapi import document

    return jsonify(document())


from congress.api import accounts, drafts, notices, papers, transfers  # noqa: E402,F401  (their routes register on import)
