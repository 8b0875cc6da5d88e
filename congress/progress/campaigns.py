"""Campaigns as data: starting one (previewed, then confirmed all or nothing), closing one, and
which campaign a page shows.

A campaign is one organisation's round of congresses at one level over the units it covers. The
campaigns of one organisation, level and term in different provinces form one **round** (the
country's 34 commune-level party campaigns of 2025–2030 are one round): the city's pages show one
campaign, the national ones one round. Every page, the API and the exports follow the campaign
the user chose (``?campaign=`` on a request, or the choice remembered on the account), else the
default: the newest open campaign within the user's reach.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import g, has_request_context

from congress.accounts import permissions
from congress.audit.operations import record
from congress.clock import utcnow
from congress.errors import Conflict, Forbidden, NotFound, Unprocessable
from congress.extensions import db
from congress.units.models import PROVINCE_KINDS, UNIT_KINDS, Province, Unit
from workflows.deadlines import DEFAULT_CALENDAR, Deadline, DeadlineKind
from workflows.loader import WorkflowDefinition

from .definitions import definitions
from .models import CLOSED, OPEN, Campaign, Preparation, Step, WorkflowVersion

#: the limits of what a campaign's text fields hold (the columns' sizes)
NAME_MAX, TERM_MAX, BASIS_MAX = 200, 20, 200


@dataclass(frozen=True)
class Round:
    """The campaigns of one organisation, level and term, across provinces."""
    organisation: str
    level: str
    term: str

    def where(self):
        return sa.and_(Campaign.organisation == self.organisation, Campaign.level == self.level,
                       Campaign.term == self.term)


def round_of(campaign: Campaign) -> Round:
    return Round(campaign.organisation, campaign.level, campaign.term)


# --- which campaign a request shows ---------------------------------------------------------

def _reachable(user, query):
    codes = permissions.readable_province_codes(user) if user is not None else None
    if codes is None:
        return query
    if user.unit_id:  # a unit's users: the campaigns their unit is in
        enrolled = sa.select(Preparation.campaign_id).where(Preparation.unit_id == user.unit_id)
        return query.where(Campaign.id.in_(enrolled))
    return query.where(_over_provinces(codes))


def _over_provinces(codes):
    """A campaign of one of these provinces, or over several with units in one of them."""
    enrolled = (sa.select(Preparation.campaign_id).join(Unit, Unit.id == Preparation.unit_id)
                .where(Unit.province_code.in_(codes)))
    return sa.or_(Campaign.province_code.in_(codes), Campaign.id.in_(enrolled))


def campaigns_for(user) -> list[Campaign]:
    """The campaigns the user can look at: open ones first, newest first (read once a request)."""
    cache = g.setdefault("congress_campaigns", {}) if has_request_context() else {}
    key = getattr(user, "id", None)
    if key not in cache:
        query = _reachable(user, db.select(Campaign))
        found = list(db.session.execute(query).scalars())
        found.sort(key=lambda c: (c.status != OPEN, -c.starts_on.toordinal(), -c.id))
        cache[key] = found
    return cache[key]


def forget_cached() -> None:
    """After a campaign is started or closed, the request reads the campaigns again."""
    if has_request_context():
        g.pop("congress_campaigns", None)


def can_read_campaign(user, campaign: Campaign) -> bool:
    return campaign.id in {c.id for c in campaigns_for(user)}


def default_campaign(user) -> Campaign | None:
    found = campaigns_for(user)
    return found[0] if found else None


def campaign_or_404(campaign_id, user) -> Campaign:
    try:
        number = int(campaign_id)
    except (TypeError, ValueError):
        number = 0
    campaign = db.session.get(Campaign, number) if 0 < number < 2**31 else None
    if campaign is None or (user is not None and not can_read_campaign(user, campaign)):
        raise NotFound("campaign_not_found", {"id": str(campaign_id)[:20]})
    return campaign


def choose_for_request(user, requested: str | None) -> Campaign | None:
    """The campaign this request shows: the one asked for (?campaign=), else the account's
    remembered choice while it is still within reach, else the default. Kept for the request."""
    campaign = None
    if requested:
        if has_request_context():
            g.congress_campaign_id = None  # the error page that follows a refusal shows none
        campaign = campaign_or_404(requested, user)
    elif user is not None and getattr(user, "campaign_id", None):
        campaign = db.session.get(Campaign, user.campaign_id)
        if campaign is not None and not can_read_campaign(user, campaign):
            campaign = None
    if campaign is None:
        campaign = default_campaign(user)
    if has_request_context():
        g.congress_campaign_id = campaign.id if campaign else None
    return campaign


def chosen_campaign() -> Campaign | None:
    """The campaign the current request shows (see choose_for_request, run on first use), or
    None outside a request."""
    if not has_request_context():
        return None
    if "congress_campaign_id" not in g:
        from flask import request
        from flask_login import current_user

        user = current_user if current_user and current_user.is_authenticated else None
        if user is None:
            g.congress_campaign_id = None
            return None
        return choose_for_request(user, request.args.get("campaign"))
    campaign_id = g.get("congress_campaign_id")
    return db.session.get(Campaign, campaign_id) if campaign_id else None


def remember_choice(user, campaign: Campaign) -> None:
    """The account keeps the campaign it chose: every page follows it until another is chosen."""
    if not can_read_campaign(user, campaign):
        raise NotFound("campaign_not_found", {"id": str(campaign.id)})
    if user.campaign_id != campaign.id:
        user.campaign_id = campaign.id
        db.session.flush()


def chosen_round(province_codes: set[str] | None) -> Round | None:
    """The round a many-unit page shows: the chosen campaign's, else that of the newest open
    campaign over the provinces (None: there is no campaign at all)."""
    campaign = chosen_campaign()
    if campaign is None:
        query = db.select(Campaign)
        if province_codes is not None:
            query = query.where(_over_provinces(province_codes))
        query = query.order_by(sa.case((Campaign.status == OPEN, 0), else_=1), Campaign.starts_on.desc(),
                               Campaign.id.desc()).limit(1)
        campaign = db.session.execute(query).scalars().first()
    return round_of(campaign) if campaign is not None else None


def unit_preparation(unit: Unit, campaign: Campaign | None = None) -> Preparation | None:
    """The unit's preparation in ``campaign``, else in the campaign the request shows, else in its
    newest open campaign (its newest at all when every one is closed), in one query."""
    wanted = campaign or chosen_campaign()
    preps = list(db.session.execute(
        db.select(Preparation).join(Preparation.campaign).where(Preparation.unit_id == unit.id)
        .order_by(sa.case((Campaign.status == OPEN, 0), else_=1), Preparation.id.desc())).scalars())
    if wanted is not None:
        same = [p for p in preps if p.campaign_id == wanted.id]
        if same:
            return same[0]
        if campaign is not None:
            return None
        same_round = [p for p in preps if round_of(p.campaign) == round_of(wanted)]
        if same_round:
            return same_round[0]
    return preps[0] if preps else None


def unit_preparations(unit: Unit) -> list[Preparation]:
    """Every preparation of the unit, one per campaign it is in, oldest first (one query)."""
    return list(db.session.execute(
        db.select(Preparation).where(Preparation.unit_id == unit.id).order_by(Preparation.id)).scalars())


# --- closed campaigns are read-only -------------------------------------------------------------

def check_open(campaign: Campaign) -> None:
    """Refuse a write to a closed campaign (its records stay as they were when it closed)."""
    if campaign.status == CLOSED:
        raise Conflict("campaign_closed", {"campaign": campaign.name_vi})


def close_campaign(campaign: Campaign, *, actor, version: int | None) -> Campaign:
    from .operations import campaign_snapshot, check_version

    if not permissions.can_manage_campaign(actor, campaign):
        raise Forbidden("campaign_forbidden")
    if campaign.status == CLOSED:
        return campaign  # a repeated request: already done
    check_version(campaign.version, version, campaign_snapshot(campaign))
    campaign.status, campaign.closed_at = CLOSED, utcnow()
    db.session.flush()
    record(action="campaign.close", entity="campaign", actor=actor, entity_key=str(campaign.id),
           old={"status": OPEN}, new={"status": CLOSED})
    return campaign


# --- starting a campaign ----------------------------------------------------------------------

@dataclass
class CampaignSpec:
    """What a user asks for when starting a campaign (already typed; checked by :func:`plan`)."""
    name_vi: str
    name_en: str
    term: str
    unit_workflow: str
    starts_on: date | None
    deadline_on: date | None
    deadline_kind: str = "before"
    deadline_basis: str | None = None
    #: the provinces it covers (every unit of the workflow's level in them) ...
    province_codes: list[str] = field(default_factory=list)
    #: ... or exactly these units (codes)
    unit_codes: list[str] = field(default_factory=list)
    #: the campaign whose units the roll-up steps read (for a workflow whose children are units)
    child_campaign_id: int | None = None
    #: per unit: its own deadline (code -> day), kept with the same wording as the campaign's
    unit_deadlines: dict[str, date] = field(default_factory=dict)


@dataclass(frozen=True)
class DayWarning:
    day: date
    why: str  #: "weekend" or "holiday"
    what: str  #: "deadline" or a unit's code


@dataclass
class CampaignPlan:
    spec: CampaignSpec
    definition: WorkflowDefinition
    branch_workflow: str | None
    units: list[Unit]
    child_campaign: Campaign | None
    province_code: str | None
    steps_per_unit: int
    branch_steps: int
    warnings: list[DayWarning]
    #: units to be created: the provinces' own committees a province-level campaign covers
    new_units: list[dict]
    #: the workflow versions it will run (pinned when it starts)
    unit_version: WorkflowVersion | None = None
    branch_version: WorkflowVersion | None = None

    @property
    def deadline(self) -> Deadline:
        return Deadline(self.spec.deadline_on, DeadlineKind(self.spec.deadline_kind))

    @property
    def unit_count(self) -> int:
        return len(self.units) + len(self.new_units)

    @property
    def step_count(self) -> int:
        return self.steps_per_unit * self.unit_count + self.branch_steps


def _text(value: str | None, field_name: str, limit: int, required: bool = True) -> str | None:
    value = (value or "").strip() or None
    if value is None and required:
        raise Unprocessable("field_required", {"field": field_name})
    if value is not None and len(value) > limit:
        raise Unprocessable("text_too_long", {"field": field_name, "limit": limit})
    return value


def _day_warnings(days: Iterable[tuple[date, str]]) -> list[DayWarning]:
    found = []
    for day, what in days:
        if day.weekday() >= 5:
            found.append(DayWarning(day, "weekend", what))
        elif not DEFAULT_CALENDAR.is_working_day(day):
            found.append(DayWarning(day, "holiday", what))
    return found


def province_unit_row(province: Province) -> dict:
    """The province's own committee as a unit: its code is the province's ("31")."""
    kind = "thanh_pho" if province.name.startswith("Thành phố") else "tinh"
    return {"code": province.code, "name": province.name, "kind": kind, "province_code": province.code}


def plan(spec: CampaignSpec, actor) -> CampaignPlan:
    """Check a campaign before it is started and say what starting it would do; writes nothing.

    Refused (422, naming the field): an unknown workflow, a deadline before the start, a unit or
    province outside the user's reach, no unit at all, a child campaign missing where the
    workflow rolls up lower-level units, a round the provinces already run."""
    spec.name_vi = _text(spec.name_vi, "name_vi", NAME_MAX)
    spec.name_en = _text(spec.name_en, "name_en", NAME_MAX, required=False) or spec.name_vi
    spec.term = _text(spec.term, "term", TERM_MAX)
    spec.deadline_basis = _text(spec.deadline_basis, "deadline_basis", BASIS_MAX, required=False)
    unit_version = _version_of(spec.unit_workflow, "unit")
    definition = unit_version.definition()
    if spec.starts_on is None:
        raise Unprocessable("field_required", {"field": "starts_on"})
    if spec.deadline_on is None:
        raise Unprocessable("field_required", {"field": "deadline_on"})
    if spec.deadline_kind not in ("before", "by"):
        raise Unprocessable("unknown_deadline_kind", {"field": "deadline_kind"})
    deadline = Deadline(spec.deadline_on, DeadlineKind(spec.deadline_kind))
    if deadline.last_allowed_day < spec.starts_on:
        raise Unprocessable("deadline_before_start", {"field": "deadline_on", "deadline": deadline,
                                                      "start": spec.starts_on})
    branch_workflow = branch_version = None
    children = definition.children
    if children is not None and children.source == "branches":
        branch_workflow = children.workflow
        branch_version = _version_of(branch_workflow, "branch")

    units, new_units, province_codes = _covered_units(spec, definition, actor)
    child = None
    if children is not None and children.source == "units":
        if spec.child_campaign_id is None:
            raise Unprocessable("child_campaign_required", {"field": "child_campaign_id"})
        child = db.session.get(Campaign, spec.child_campaign_id) if 0 < spec.child_campaign_id < 2**31 else None
        if child is None or not can_read_campaign(actor, child):
            raise Unprocessable("campaign_not_found", {"field": "child_campaign_id", "id": str(spec.child_campaign_id)})
        if child.level != children.level:
            raise Unprocessable("child_campaign_level", {"field": "child_campaign_id", "level": children.level,
                                                         "name": child.name_vi})
    province_code = next(iter(province_codes)) if len(province_codes) == 1 else None
    clash = db.session.execute(db.select(Campaign).where(
        Campaign.organisation == definition.organisation, Campaign.level == definition.level,
        Campaign.term == spec.term, Campaign.province_code.in_(province_codes))).scalars().first()
    if clash is not None:
        raise Unprocessable("campaign_exists", {"field": "term", "name": clash.name_vi, "term": spec.term})

    codes = {u.code for u in units} | {u["code"] for u in new_units}
    unknown = sorted(set(spec.unit_deadlines) - codes)
    if unknown:
        raise Unprocessable("unit_not_in_campaign", {"field": "unit_deadlines", "codes": ", ".join(unknown[:10])})
    for code, day in spec.unit_deadlines.items():
        if Deadline(day, DeadlineKind(spec.deadline_kind)).last_allowed_day < spec.starts_on:
            raise Unprocessable("deadline_before_start", {"field": "unit_deadlines", "deadline": Deadline(
                day, DeadlineKind(spec.deadline_kind)), "start": spec.starts_on, "code": code})

    branch_steps = 0
    if branch_workflow is not None and units:
        from congress.units.models import Branch

        # the rosters the campaign starts from (operations.carry_rosters): each unit's newest
        newest = (sa.select(Branch.unit_id, sa.func.max(Branch.campaign_id).label("campaign_id"))
                  .join(Campaign, Campaign.id == Branch.campaign_id)
                  .where(Branch.unit_id.in_([u.id for u in units]), Campaign.organisation == definition.organisation,
                         Campaign.branch_workflow.is_not(None))
                  .group_by(Branch.unit_id).subquery())
        branches = db.session.execute(sa.select(sa.func.count(Branch.id)).join(newest, sa.and_(
            newest.c.unit_id == Branch.unit_id, newest.c.campaign_id == Branch.campaign_id))).scalar_one()
        branch_steps = branches * len(branch_version.definition().steps)
    warnings = _day_warnings([(deadline.last_allowed_day, "deadline")]
                             + [(Deadline(d, DeadlineKind(spec.deadline_kind)).last_allowed_day, code)
                                for code, d in sorted(spec.unit_deadlines.items())])
    return CampaignPlan(spec, definition, branch_workflow, units, child, province_code, len(definition.steps),
                        branch_steps, warnings, new_units, unit_version, branch_version)


def unit_workflow_keys() -> list[str]:
    """The unit workflows a campaign may run: those shipped in workflows/definitions and those an
    administrator stored (flask versions add), by key."""
    stored = set(db.session.execute(sa.select(WorkflowVersion.key).distinct()).scalars())
    keys = set(definitions()) | stored
    return sorted(k for k in keys if _subject_of(k) == "unit")


def _subject_of(key: str) -> str | None:
    shipped = definitions().get(key)
    if shipped is not None:
        return shipped.subject
    newest = db.session.execute(db.select(WorkflowVersion).filter_by(key=key)
                                .order_by(WorkflowVersion.revision.desc()).limit(1)).scalar_one_or_none()
    return newest.definition().subject if newest is not None else None


def _version_of(key: str | None, subject: str) -> WorkflowVersion:
    """The version a new campaign runs: the workflow's newest (a shipped file's content stored
    first when it changed), refused when unknown or of the wrong subject."""
    from .definitions import current_version
    from .versions import latest_version

    key = (key or "").strip()[:60]
    try:
        if key in definitions():
            current_version(key)
        version = latest_version(key) if key else None
    except NotFound:
        version = None
    if version is None or version.definition().subject != subject:
        raise Unprocessable("workflow_not_found", {"field": "unit_workflow", "key": key})
    return version


def _covered_units(spec: CampaignSpec, definition: WorkflowDefinition, actor):
    """The units a campaign covers, each within the actor's reach, and the provinces' own
    committees still to create for a province-level campaign."""
    provinces = {p.code: p for p in db.session.execute(db.select(Province)).scalars()}
    kinds = PROVINCE_KINDS if definition.level == "province" else UNIT_KINDS
    if spec.unit_codes:
        codes = [c.strip() for c in spec.unit_codes if c.strip()]
        found = {u.code: u for u in db.session.execute(db.select(Unit).where(Unit.code.in_(codes))).scalars()}
        missing = [c for c in codes if c not in found and not (definition.level == "province" and c in provinces)]
        if missing:
            raise Unprocessable("unit_not_found", {"field": "unit_codes", "code": ", ".join(missing[:10])[:60]})
        wrong = [c for c in codes if c in found and found[c].kind not in kinds]
        if wrong:
            raise Unprocessable("unit_wrong_level", {"field": "unit_codes", "codes": ", ".join(wrong[:10]),
                                                     "level": definition.level})
        units = [found[c] for c in dict.fromkeys(codes) if c in found]
        new_units = [province_unit_row(provinces[c]) for c in dict.fromkeys(codes) if c not in found]
    else:
        if not spec.province_codes:
            raise Unprocessable("field_required", {"field": "province_codes"})
        unknown = [c for c in spec.province_codes if c not in provinces]
        if unknown:
            raise Unprocessable("province_not_found", {"field": "province_codes", "code": ", ".join(unknown)[:60]})
        units = list(db.session.execute(db.select(Unit).where(
            Unit.province_code.in_(spec.province_codes), Unit.kind.in_(kinds)).order_by(Unit.code)).scalars())
        new_units = []
        if definition.level == "province":
            have = {u.code for u in units}
            new_units = [province_unit_row(provinces[c]) for c in sorted(set(spec.province_codes)) if c not in have]
    province_codes = {u.province_code for u in units} | {u["province_code"] for u in new_units}
    outside = sorted(c for c in province_codes if not permissions.can_start_campaign(actor, c))
    if outside:
        offending = [u.code for u in units if u.province_code in outside][:5] or outside
        raise Forbidden("campaign_outside_scope", {"codes": ", ".join(offending)})
    if not units and not new_units:
        raise Unprocessable("campaign_without_units", {"field": "province_codes"})
    return units, new_units, province_codes


def start(spec: CampaignSpec, actor) -> Campaign:
    """Start a campaign as :func:`plan` describes it: the campaign, every unit's preparation and
    steps, all or nothing, audited. A repeated request (the same round in the same provinces) is
    refused by the plan as already existing."""
    from .operations import enrol_units, pinned_versions

    found = plan(spec, actor)
    definition = found.definition
    with db.session.begin_nested():
        if found.new_units:
            db.session.execute(sa.insert(Unit.__table__), found.new_units)
            created = list(db.session.execute(db.select(Unit).where(
                Unit.code.in_([u["code"] for u in found.new_units]))).scalars())
            found.units.extend(created)
        campaign = Campaign(province_code=found.province_code, organisation=definition.organisation,
                            level=definition.level, term=spec.term, name_vi=spec.name_vi, name_en=spec.name_en,
                            starts_on=spec.starts_on, deadline_on=spec.deadline_on,
                            deadline_kind=spec.deadline_kind, deadline_basis=spec.deadline_basis,
                            unit_workflow=definition.key, branch_workflow=found.branch_workflow,
                            child_campaign_id=found.child_campaign.id if found.child_campaign else None,
                            status=OPEN, unit_workflow_version_id=found.unit_version.id,
                            branch_workflow_version_id=found.branch_version.id if found.branch_version else None)
        unit_version, branch_version = pinned_versions(campaign)  # pinned before it is written
        db.session.add(campaign)
        db.session.flush()
        forget_cached()
        record(action="campaign.start", entity="campaign", actor=actor, entity_key=str(campaign.id),
               new={"name": campaign.name_vi, "term": campaign.term, "organisation": campaign.organisation,
                    "level": campaign.level, "workflow": f"{unit_version.key} r{unit_version.revision}",
                    "branch_workflow": (f"{branch_version.key} r{branch_version.revision}"
                                        if branch_version else None),
                    "units": found.unit_count, "starts_on": campaign.starts_on,
                    "deadline_on": campaign.deadline_on, "deadline_kind": campaign.deadline_kind,
                    "child_campaign": campaign.child_campaign_id})
        preps = enrol_units(campaign, found.units, actor=actor)
        by_code = {p.unit.code: p for p in preps}
        for code, day in spec.unit_deadlines.items():
            prep = by_code[code]
            prep.deadline_on, prep.deadline_kind = day, spec.deadline_kind
            prep.deadline_basis = spec.deadline_basis
        if spec.unit_deadlines:
            from .operations import refresh_due_dates

            db.session.flush()
            for code in spec.unit_deadlines:
                refresh_due_dates(by_code[code], actor=actor)
        from .operations import apply_unit_rules

        for prep in preps:  # a roll-up already satisfied (the communes held) completes at once
            if definition.children is not None:
                apply_unit_rules(prep, actor)
    return campaign


# --- a higher campaign's roll-ups follow its children -----------------------------------------

def parent_preparations(step: Step) -> list[Preparation]:
    """The preparations whose roll-up reads ``step`` (a unit's step in a child campaign): those of
    the campaigns over it, for the unit's province, when the step is the one that says a child
    held its congress."""
    prep = step.preparation
    if step.branch_id is not None:
        return []
    parents = list(db.session.execute(
        db.select(Preparation).join(Preparation.campaign).join(Preparation.unit)
        .where(Campaign.child_campaign_id == prep.campaign_id, Campaign.status == OPEN,
               Unit.province_code == prep.unit.province_code)).scalars())
    return [p for p in parents if (p.definition().children is not None
                                   and p.definition().children.held_step == step.key)]


def follow_child_step(step: Step, actor) -> None:
    """After a unit's step changed: the roll-ups of the campaigns over it follow, in the same
    transaction (the province's "communes' congresses" completes when the last commune holds its)."""
    from .operations import apply_unit_rules

    for parent in parent_preparations(step):
        apply_unit_rules(parent, actor)

