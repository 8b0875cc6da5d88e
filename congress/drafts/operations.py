"""Every write of the drafts domain: check -> change -> flush -> audit -> follow the workflow.

Callers commit; a refused operation raises before anything is changed. A draft belongs to one
preparation (the unit in one campaign): its numbers, its pending submission, its rounds and the
exceptions are that preparation's, a closed campaign refuses every write to them, and the steps
that follow are that preparation's own. The steps follow the drafts through
congress.progress.operations.transition, with the same actor, so that nobody records the same
fact twice. Which steps follow is the workflow's word (the "drafts", "comment_rounds" and
"congress" sections of its YAML): the first upload of a report starts its drafting step, a closed
comment round completes the comment-round step, a submission submits the approval step, and the
city's verdict approves or returns it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from congress.accounts import permissions
from congress.audit.operations import record
from congress.clock import today, utcnow
from congress.errors import Conflict, Forbidden, NotFound, OperationError, Unprocessable
from congress.extensions import db
from congress.notices import events
from congress.progress import operations as progress_ops
from congress.progress import queries as progress_queries
from congress.progress.actions import UnitFacts
from congress.progress.models import Preparation, Step
from congress.text import clean_text
from congress.units.models import Unit
from workflows.loader import DraftFacts
from workflows.rules import Action, allowed_actions

from . import storage
from .models import (
    AUDIENCES,
    ApprovalException,
    CommentRound,
    DraftReview,
    DraftVersion,
    RoundComment,
)
from .queries import gated_kinds, kind_or_404, title_vi

NOTE_LIMIT = 2000
COMMENT_LIMIT = 4000
MAX_COUNT = 100000
MAX_NAME = 255


# --- following the workflow ----------------------------------------------------------------------

def preparation_for(unit: Unit, prep: Preparation | None = None) -> Preparation:
    """The preparation a write to the unit's drafts is for: ``prep``, else the unit's in the
    campaign the request shows (outside a request its newest open one). NotFound when the unit is
    in no campaign, or ``prep`` is another unit's."""
    if prep is None:
        prep = progress_queries.unit_preparation(unit)
    if prep is None or prep.unit_id != unit.id:
        raise NotFound("not_enrolled", {"code": unit.code})
    return prep


def _unit_step(prep: Preparation, key: str) -> Step | None:
    return db.session.execute(db.select(Step).where(
        Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.key == key)).scalar_one_or_none()


def _follow(prep: Preparation, key: str | None, actions: Sequence[Action], actor, note: str | None = None) -> None:
    """Take each action the lifecycle offers the actor on the preparation's step now, through the
    engine (checked and audited); an action it would refuse (a prerequisite not finished) is left."""
    step = _unit_step(prep, key) if key else None
    if step is None:
        return
    for action in actions:
        facts = UnitFacts(step.preparation)
        if action in facts.offered(actor, step):
            progress_ops.transition(step, action=action, actor=actor, version=step.version, note=note,
                                    facts=facts)


def check_campaign_open(prep: Preparation) -> None:
    """Refuse a write to a draft of a closed campaign: it keeps its drafts as they were."""
    from congress.progress.campaigns import check_open

    check_open(prep.campaign)


def _drafts_of(prep: Preparation, kind: str) -> DraftFacts:
    """What the preparation's workflow says the drafts of ``kind`` move."""
    found = prep.definition().drafts.get(kind)
    return found or DraftFacts(kind)


# --- versions --------------------------------------------------------------------------------------

def version_snapshot(version: DraftVersion) -> dict:
    return {"document": title_vi(version.kind), "version_number": version.number, "status": version.status}


def _lock_numbers(preparation_id: int, kind: str) -> None:
    """On PostgreSQL two simultaneous uploads of one document take turns; SQLite serialises writers."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"draft-number/{preparation_id}/{kind}".encode()).digest()
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                       {"key": int.from_bytes(digest[:8], "big", signed=True)})


def _next_number(preparation_id: int, kind: str) -> int:
    return (db.session.execute(sa.select(sa.func.max(DraftVersion.number)).where(
        DraftVersion.preparation_id == preparation_id, DraftVersion.kind == kind)).scalar() or 0) + 1


def upload_version(unit: Unit, kind: str, *, filename: str | None, content: bytes, note: str | None,
                   actor, prep: Preparation | None = None) -> DraftVersion:
    """Keep a new draft as the next numbered version of its kind in the preparation ``prep`` (see
    :func:`preparation_for`); nothing is kept if it is refused.

    A file that is already the latest version of its kind there (the same content, whatever its
    name) is that version: nothing new is kept or audited, and the version returned says
    ``repeated`` (a second click, or the same file chosen again).
    """
    if not permissions.can_edit_drafts(actor, unit):
        raise Forbidden("draft_edit_forbidden")
    prep = preparation_for(unit, prep)
    kind_or_404(kind, prep)
    check_campaign_open(prep)
    note = _text(note, "note", NOTE_LIMIT)
    checked = storage.check(content)
    name = clean_text((filename or "").replace("\\", "/").rsplit("/", 1)[-1]) or f"du-thao.{checked.format}"
    _lock_numbers(prep.id, kind)
    latest = db.session.execute(db.select(DraftVersion).filter_by(preparation_id=prep.id, kind=kind)
                                .order_by(DraftVersion.number.desc()).limit(1)).scalar_one_or_none()
    if latest is not None and latest.sha256 == checked.sha256:
        latest.repeated = True
        return latest
    storage.put(content, checked.sha256)
    for _attempt in range(3):
        version = DraftVersion(preparation_id=prep.id, unit_id=unit.id, kind=kind,
                               number=_next_number(prep.id, kind), format=checked.format,
                               sha256=checked.sha256, size=checked.size, original_name=name[:MAX_NAME], note=note,
                               uploaded_on=today(), uploaded_at=utcnow(), actor_id=getattr(actor, "id", None),
                               actor=actor.username, status="draft")
        try:
            with db.session.begin_nested():
                db.session.add(version)
        except IntegrityError:
            continue  # a simultaneous upload took the number: take the next one
        break
    else:
        raise Conflict("draft_number_taken")
    version.repeated = False
    record(action="draft.upload", entity="draft", actor=actor, entity_key=f"{unit.code}/{kind}/{version.number}",
           unit_id=unit.id, campaign_id=prep.campaign_id,
           new={**version_snapshot(version), "file": name, "size": checked.size}, reason=note)
    if version.number == 1:
        _follow(prep, _drafts_of(prep, kind).starts, [Action.START], actor)
    return version


def submission_refusal(version: DraftVersion, same_kind: Iterable[DraftVersion]) -> Conflict | None:
    """Why ``version`` cannot be sent to the city now, None when it can: only a draft or a returned
    version, and none while another version of its kind in its preparation (``same_kind``) awaits
    the city's verdict.
    The operation refuses by it and the drafts page offers "Submit" by it."""
    if version.status not in ("draft", "returned"):
        return Conflict("draft_not_submittable", {"number": version.number, "status": version.status})
    pending = next((v for v in same_kind if v.status == "submitted" and v is not version), None)
    if pending is not None:
        return Conflict("draft_already_submitted", {"number": pending.number})
    return None


def submit_version(version: DraftVersion, *, actor, note: str | None = None,
                   expected: int | None = None) -> DraftVersion:
    """Send a version to the city; a returned version may be sent again (or a newer one)."""
    unit = version.unit
    if not permissions.can_submit_drafts(actor, unit):
        raise Forbidden("draft_submit_forbidden")
    check_campaign_open(version.preparation)
    _check_expected(version, expected)
    refusal = submission_refusal(version, db.session.execute(db.select(DraftVersion).filter_by(
        preparation_id=version.preparation_id, kind=version.kind, status="submitted")).scalars())
    if refusal is not None:
        raise refusal
    note = _text(note, "note", NOTE_LIMIT)
    before = version_snapshot(version)
    version.status, version.submitted_on = "submitted", today()
    version.decided_on, version.verdict_reason = None, None
    _review(version, "submit", note, actor)
    db.session.flush()
    record(action="draft.submit", entity="draft", actor=actor, entity_key=_key(version), unit_id=unit.id,
           campaign_id=version.preparation.campaign_id,
           old={"status": before["status"]}, new=version_snapshot(version), reason=note)
    events.version_submitted(version, actor, note)
    _follow(version.preparation, _drafts_of(version.preparation, version.kind).approved_by,
            [Action.START, Action.SUBMIT], actor, note)
    return version


VERDICTS = ("comment", "approve", "return")


def review_version(version: DraftVersion, *, verdict: str, text: str | None, actor,
                   expected: int | None = None) -> DraftVersion:
    """The city's word on a version: a comment (any time), or approve / return a submitted one."""
    unit = version.unit
    if not permissions.can_review_drafts(actor, unit):
        raise Forbidden("draft_review_forbidden")
    check_campaign_open(version.preparation)
    if verdict not in VERDICTS:
        raise Unprocessable("unknown_verdict", {"verdict": str(verdict)[:20]})
    _check_expected(version, expected)
    text = _text(text, "text", COMMENT_LIMIT)
    if verdict == "comment":
        if not text:
            raise Unprocessable("comment_text_required")
        _review(version, "comment", text, actor)
        db.session.flush()
        record(action="draft.comment", entity="draft", actor=actor, entity_key=_key(version), unit_id=unit.id,
               campaign_id=version.preparation.campaign_id,
               new={"document": title_vi(version.kind), "version_number": version.number, "text": text})
        return version
    if version.status != "submitted":
        raise Conflict("draft_not_submitted", {"status": version.status})
    if verdict == "return" and not text:
        raise Unprocessable("verdict_reason_required")
    before = version_snapshot(version)
    version.status = "approved" if verdict == "approve" else "returned"
    version.decided_on, version.verdict_reason = today(), text
    _review(version, verdict, text, actor)
    db.session.flush()
    record(action=f"draft.{verdict}", entity="draft", actor=actor, entity_key=_key(version), unit_id=unit.id,
           campaign_id=version.preparation.campaign_id,
           old={"status": before["status"]}, new=version_snapshot(version), reason=text)
    events.version_decided(version, actor)
    _follow(version.preparation, _drafts_of(version.preparation, version.kind).approved_by,
            [Action.APPROVE if verdict == "approve" else Action.RETURN], actor, text)
    return version


def _review(version: DraftVersion, action: str, text: str | None, actor) -> None:
    db.session.add(DraftReview(draft=version, action=action, text=text, on=today(), at=utcnow(),
                               actor_id=getattr(actor, "id", None), actor=actor.username))


def _check_expected(version: DraftVersion, expected: int | None) -> None:
    if expected is not None and expected != version.version:
        raise Conflict("stale_version", {"expected": expected, "current": version.version},
                       current={"status": version.status, "version": version.version})


def _key(version: DraftVersion) -> str:
    return f"{version.unit.code}/{version.kind}/{version.number}"


def _text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unprocessable("invalid_field", {"field": field, "problem": "text"})
    try:
        return clean_text(value, max_length=limit)
    except ValueError:
        raise Unprocessable("invalid_field", {"field": field, "problem": f"≤ {limit}"}) from None


# --- comment rounds ---------------------------------------------------------------------------------

def open_round(version: DraftVersion, *, audiences: Sequence[str], starts_on: date, ends_on: date,
               actor) -> CommentRound:
    unit = version.unit
    if not permissions.can_edit_drafts(actor, unit):
        raise Forbidden("draft_edit_forbidden")
    check_campaign_open(version.preparation)
    chosen = _audiences(audiences)
    if ends_on < starts_on:
        raise Unprocessable("round_dates", {"starts_on": starts_on, "ends_on": ends_on})
    if any(r.state == "open" for r in version.rounds):
        raise Conflict("round_already_open")
    found = CommentRound(draft=version, preparation_id=version.preparation_id, unit_id=unit.id, audiences=chosen,
                         starts_on=starts_on, ends_on=ends_on, state="open", opened_at=utcnow(),
                         opened_by=actor.username)
    db.session.add(found)
    db.session.flush()
    record(action="round.open", entity="round", actor=actor, entity_key=f"{_key(version)}/{found.id}",
           unit_id=unit.id, campaign_id=version.preparation.campaign_id,
           new={"document": title_vi(version.kind), "version_number": version.number,
                "audiences": ", ".join(_audience_words(chosen)), "starts_on": starts_on, "ends_on": ends_on})
    return found


def _audiences(values: Sequence[str]) -> list[str]:
    if not values:
        raise Unprocessable("audiences_required")
    for value in values:
        if value not in AUDIENCES:
            raise Unprocessable("unknown_audience", {"audience": str(value)[:40]})
    return [a for a in AUDIENCES if a in set(values)]


def _audience_words(audiences: Sequence[str]) -> list[str]:
    from .messages import AUDIENCE_VI

    return [AUDIENCE_VI[a] for a in audiences]


@dataclass(frozen=True)
class CommentEntry:
    audience: str
    count: int = 1
    text: str | None = None


def add_comments(found: CommentRound, entries: Sequence[CommentEntry], *, actor) -> list[RoundComment]:
    """Record comments received (one or many), all or none; each is audited."""
    unit = found.draft.unit
    if not permissions.can_edit_drafts(actor, unit):
        raise Forbidden("draft_edit_forbidden")
    check_campaign_open(found.draft.preparation)
    if found.state != "open":
        raise Conflict("round_closed")
    if not entries:
        raise Unprocessable("comments_required")
    made = []
    for line, entry in enumerate(entries, start=1):
        if entry.audience not in AUDIENCES:
            raise Unprocessable("unknown_audience", {"audience": str(entry.audience)[:40]})
        if entry.audience not in found.audiences:
            raise Unprocessable("audience_not_in_round", {"audience": _audience_words([entry.audience])[0]})
        if isinstance(entry.count, bool) or not isinstance(entry.count, int) or not 1 <= entry.count <= MAX_COUNT:
            raise Unprocessable("comment_count_invalid", {"line": line})
        text = _text(entry.text, "text", COMMENT_LIMIT)
        made.append(RoundComment(round=found, audience=entry.audience, count=entry.count, text=text,
                                 recorded_at=utcnow(), actor=actor.username))
    db.session.add_all(made)
    db.session.flush()
    for comment in made:
        record(action="round.comment", entity="round", actor=actor, entity_key=f"{_key(found.draft)}/{found.id}",
               unit_id=unit.id, campaign_id=found.draft.preparation.campaign_id,
               new={"document": title_vi(found.draft.kind), "version_number": found.draft.number,
                    "audience": _audience_words([comment.audience])[0], "count": comment.count,
                    "text": comment.text})
    return made


@dataclass(frozen=True)
class Closed:
    round: CommentRound
    #: why the comment-round step could not follow (its prerequisites), or None when it did
    step_refusal: OperationError | None


def close_round(found: CommentRound, *, actor, expected: int | None = None) -> Closed:
    """Close the round; the comment-round step of its preparation is completed with it when the
    engine allows."""
    unit = found.draft.unit
    if not permissions.can_edit_drafts(actor, unit):
        raise Forbidden("draft_edit_forbidden")
    prep = found.draft.preparation
    check_campaign_open(prep)
    if expected is not None and expected != found.version:
        raise Conflict("stale_version", {"expected": expected, "current": found.version},
                       current={"state": found.state, "version": found.version})
    if found.state != "open":
        raise Conflict("round_closed")
    found.state, found.closed_on, found.closed_by = "closed", today(), actor.username
    db.session.flush()
    counts = {}
    for comment in found.comments:
        counts[comment.audience] = counts.get(comment.audience, 0) + comment.count
    record(action="round.close", entity="round", actor=actor, entity_key=f"{_key(found.draft)}/{found.id}",
           unit_id=unit.id, campaign_id=found.draft.preparation.campaign_id, old={"status": "open"},
           new={"document": title_vi(found.draft.kind), "version_number": found.draft.number, "status": "closed",
                "closed_on": found.closed_on, "comments": sum(counts.values())})
    refusal = None
    definition = prep.definition()
    step = _unit_step(prep, definition.comment_round_step) if definition.comment_round_step else None
    if step is not None and Action.COMPLETE in allowed_actions(step.state_enum, definition.step(step.key).approval):
        try:
            with db.session.begin_nested():
                progress_ops.transition(step, action=Action.COMPLETE, actor=actor, version=step.version)
        except OperationError as exc:
            refusal = exc
    return Closed(found, refusal)


# --- the exception to the congress gate -------------------------------------------------------------

def record_exception(unit: Unit, kind: str, *, reason: str | None, actor,
                     prep: Preparation | None = None) -> ApprovalException:
    """Let the unit hold its congress in the preparation ``prep`` (see :func:`preparation_for`)
    without the city's approval of one document (city staff)."""
    if not permissions.can_review_drafts(actor, unit):
        raise Forbidden("draft_review_forbidden")
    prep = preparation_for(unit, prep)
    check_campaign_open(prep)
    if kind not in gated_kinds(prep):
        raise Unprocessable("exception_kind")
    reason = _text(reason, "reason", NOTE_LIMIT)
    if not reason:
        raise Unprocessable("exception_reason_required")
    if db.session.execute(db.select(ApprovalException).filter_by(preparation_id=prep.id, kind=kind)).scalar():
        raise Conflict("exception_exists")
    found = ApprovalException(preparation_id=prep.id, unit_id=unit.id, kind=kind, reason=reason, at=utcnow(),
                              actor_id=getattr(actor, "id", None), actor=actor.username)
    try:
        with db.session.begin_nested():
            db.session.add(found)
    except IntegrityError:
        raise Conflict("exception_exists") from None
    record(action="draft.exception", entity="draft", actor=actor, entity_key=f"{unit.code}/{kind}",
           unit_id=unit.id, campaign_id=prep.campaign_id, new={"document": title_vi(kind)}, reason=reason)
    # the waived approval step stops standing between the unit and its congress, with the same reason
    _follow(prep, _drafts_of(prep, kind).approved_by, [Action.RETURN, Action.MARK_NOT_APPLICABLE], actor, reason)
    return found


def _audience_names() -> dict[str, str]:
    """Folded names a person may write for each audience: the key, the Vietnamese and English words."""
    from congress.text import fold

    from .messages import AUDIENCE_VI

    names = {}
    for key in AUDIENCES:
        names[key] = key
        names[fold(AUDIENCE_VI[key])] = key
        names[key.replace("_", " ")] = key
    names.update({"mttq": "fatherland_front", "mat tran to quoc": "fatherland_front",
                  "fatherland front": "fatherland_front", "bi thu": "branch_secretaries",
                  "can bo": "cadres", "dang vien": "members", "nhan dan": "residents", "cadre": "cadres",
                  "member": "members", "resident": "residents"})
    return names


def parse_comment_lines(text: str | None) -> list[CommentEntry]:
    """Bulk entry, one comment (or one count) a line: "audience | number | text", "audience | text"
    or "audience | number". The audience as the page names it ("Đảng viên", "MTTQ") or its key."""
    from congress.text import fold

    names = _audience_names()
    entries = []
    for line_no, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or len(parts) > 3 or not parts[0]:
            raise Unprocessable("comment_line_invalid", {"line": line_no})
        audience = names.get(fold(parts[0]).strip())
        if audience is None:
            raise Unprocessable("unknown_audience", {"audience": parts[0][:40]})
        count, comment = 1, None
        if len(parts) == 3:
            if not parts[1].isdigit() or len(parts[1]) > 6:
                raise Unprocessable("comment_count_invalid", {"line": line_no})
            count, comment = int(parts[1]), parts[2] or None
        elif parts[1].isdigit() and len(parts[1]) <= 6:
            count = int(parts[1])
        else:
            comment = parts[1] or None
        if count < 1 or count > MAX_COUNT:
            raise Unprocessable("comment_count_invalid", {"line": line_no})
        entries.append(CommentEntry(audience, count, comment))
    if not entries:
        raise Unprocessable("comments_required")
    return entries
