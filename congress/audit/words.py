"""The audit log in words: what each action did, the name of each field it changed and its values,
and the record's note under the right heading, in the reader's language.

An audit record keeps codes ("submitted", "all_branches_held: 40/40", 250880, "2025-08-05"); a
person reads "đã trình Thành ủy", "40/40 chi bộ đã tổ chức đại hội", "245 KB", "5/8/2025".
``describe`` is the one place that turns a record into those words; ``value_words`` the one place
that says a stored value. The labels of states, statuses, kinds and roles are reused from where
they are defined, never written twice.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from congress.formatting import datetime_local, file_size, language, number, short_date
from congress.messages import NamingApprover

#: every action the application records (``record(action=...)`` across congress/), in words
ACTIONS = {
    "preparation.create": _l("Preparation started"),
    "step.start": _l("Step started"),
    "step.complete": _l("Step completed"),
    "step.submit": NamingApprover(_l("Submitted to %(approver)s")),
    "step.approve": NamingApprover(_l("Approved by %(approver)s")),
    "step.return": NamingApprover(_l("Returned by %(approver)s")),
    "step.mark_not_applicable": _l("Marked not applicable"),
    "step.reopen": _l("Step reopened"),
    "step.auto_start": _l("Started automatically"),
    "step.auto_complete": _l("Completed automatically"),
    "step.auto_update": _l("Completion date corrected automatically"),
    "step.auto_reopen": _l("Reopened automatically"),
    "step.due_moved": _l("Due date moved, the missed one kept on record"),
    "branch.add": _l("Branch added"),
    "branch.update": _l("Branch updated"),
    "deadline.set": _l("Unit deadline set"),
    "deadline.clear": _l("Unit deadline removed"),
    "congress_date.set": _l("Congress date planned"),
    "signers.set": _l("Signers named"),
    "campaign.deadline.set": _l("Campaign deadline set"),
    "campaign.start": _l("Campaign started"),
    "campaign.close": _l("Campaign closed"),
    "draft.upload": _l("Draft uploaded"),
    "draft.submit": NamingApprover(_l("Draft submitted to %(approver)s")),
    "draft.comment": _l("City commented on a draft"),
    "draft.approve": NamingApprover(_l("Draft approved by %(approver)s")),
    "draft.return": NamingApprover(_l("Draft returned by %(approver)s")),
    "draft.exception": _l("Exception to the city's approval recorded"),
    "round.open": _l("Comment round opened"),
    "round.comment": _l("Comment recorded"),
    "round.close": _l("Comment round closed"),
    "user.add": _l("Account created"),
    "user.login": _l("Signed in"),
    "user.logout": _l("Signed out everywhere"),
    "user.password": _l("Password changed"),
    "user.locked": _l("Account locked after wrong passwords"),
    "user.unlock": _l("Account unlocked"),
    "user.deactivate": _l("Account deactivated"),
    "user.reactivate": _l("Account reactivated"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
    "calendar.create": _l("Calendar address created"),
    "calendar.revoke": _l("Calendar address revoked"),
    "notices.settings": _l("Notice settings changed"),
    "paper.issue": _l("Document issued"),
    "paper_template.upload": _l("Word template uploaded"),
    "paper_template.remove": _l("Word template removed"),
    "paper_job.start": _l("Province-wide download started"),
    "import.apply": _l("Import applied"),
    "unit.add": _l("Unit added"),
    "unit.update": _l("Unit updated"),
    "workflow.add": _l("Workflow version stored"),
    "preparation.migrate": _l("Moved to another workflow version"),
    "campaign.migrate": _l("Campaign moved to another workflow version"),
}

#: the fields records keep, by their names in the records
FIELDS = {
    "state": _l("State"), "started_on": _l("Started on"), "submitted_on": _l("Submitted on"),
    "approved_on": _l("Approved on"), "completed_on": _l("Completed on"), "note": _l("Note"),
    "reason": _l("Reason"), "congress_on": _l("Planned congress date"), "deadline_on": _l("Deadline day"),
    "deadline_kind": _l("Wording"), "deadline_basis": _l("Basis"), "name": _l("Name"), "kind": _l("Kind"),
    "members": _l("Party members"), "secretary": _l("Secretary"), "planned_on": _l("Planned congress date"),
    "secretary_name": _l("Secretary (signs)"), "deputy_secretary_name": _l("Deputy secretary (signs)"),
    "held_on": _l("Held on"), "delegates": _l("Delegates"), "new_secretary": _l("New secretary"),
    "campaign": _l("Campaign"), "workflow": _l("Workflow"), "role": _l("Role"), "unit": _l("Unit"),
    "province": _l("Province"),
    "document": _l("Document"), "version_number": _l("Version"), "file": _l("File"), "size": _l("Size"),
    "status": _l("Status"), "audiences": _l("Audiences"), "starts_on": _l("Starts on"), "ends_on": _l("Ends on"),
    "audience": _l("Audience"), "count": _l("Number of comments"), "text": _l("Comment"),
    "closed_on": _l("Closed on"), "comments": _l("Comments received"),
    "password_changed_at": _l("Password changed at"), "locked_until": _l("Locked until"),
    "failed_logins": _l("Wrong passwords in a row"), "prefix": _l("Beginning"), "revoked_at": _l("Revoked at"),
    "revoked": _l("Revoked"), "scope": _l("For"), "preferences": _l("Notices"), "email": _l("E-mail address"),
    "numbers": _l("Numbers"), "issued_on": _l("Issued on"), "filename": _l("File"), "bytes": _l("Size"),
    "format": _l("Format"), "rows": _l("Rows"), "new": _l("New rows"), "updated": _l("Updated rows"),
    "unchanged": _l("Unchanged rows"), "warning": _l("Rows with a warning"), "error": _l("Rows with an error"),
    "due_on": _l("Due"), "due_kind": _l("Wording"), "missed_due_on": _l("Due date missed"),
    "missed_due_kind": _l("Wording of the missed due date"),
    "declared_version": _l("Declared version"), "source": _l("Source"), "steps_added": _l("Steps added"),
    "steps_dropped": _l("Steps removed"),
    "term": _l("Term"), "organisation": _l("Organisation"), "level": _l("Level"),
    "branch_workflow": _l("Workflow of the branches"), "units": _l("Units"),
    "child_campaign": _l("Roll-ups read the campaign"),
}
#: fields that only say how often a row was written, or that no reader needs
UNSHOWN = frozenset({"version", "sha256", "session_epoch"})
#: fields of draft and round records that name their subject (the document and its draft)
SUBJECT_FIELDS = frozenset({"document", "version_number"})
#: fields whose value is an amount of data
SIZES = frozenset({"size", "bytes"})
#: fields whose value is a count, written with the thousands separator
COUNTS = frozenset({"members", "delegates", "count", "comments", "rows", "new", "updated", "unchanged", "warning",
                    "error", "failed_logins"})

ROUND_STATES = {"open": _l("open"), "closed": _l("closed")}
SCOPES = {"unit": _l("the unit"), "user": _l("the account")}
CHANNELS = {"in_app": _l("in the app"), "email": _l("by e-mail")}

#: the kinds of a record's note and their headings: only a return, a waiver, a reopening and an
#: exception give a reason; a deadline and an automatic change have a basis; the city comments
NOTE_LABELS = {"reason": _l("Reason"), "note": _l("Note"), "comment": _l("Comment"), "basis": _l("Basis")}
REASON_ACTIONS = frozenset({"step.return", "step.mark_not_applicable", "step.reopen", "draft.return",
                            "draft.exception"})
COMMENT_ACTIONS = frozenset({"draft.approve", "draft.comment"})
BASIS_ACTIONS = frozenset({"deadline.set", "deadline.clear", "campaign.deadline.set", "step.auto_start",
                           "step.auto_complete", "step.auto_update"})
#: the stored English notes of the accounts' records
ACCOUNT_NOTES = {"set by an administrator": _l("Set by an administrator.")}


@dataclass(frozen=True)
class Change:
    label: str
    #: None when the record only sets the field (nothing was there before)
    old: str | None
    new: str


@dataclass(frozen=True)
class RecordWords:
    what: str
    #: the document and draft a draft or round record is about; None: the page names the subject
    subject: str | None
    changes: tuple[Change, ...]
    #: reason, note, comment or basis (see NOTE_LABELS); None without a note
    note_kind: str | None
    note: str | None

    @property
    def note_label(self) -> str | None:
        return str(NOTE_LABELS[self.note_kind]) if self.note_kind else None


def people(actors) -> Callable[[str | None], str]:
    """How a page names the people of its records (the audit keeps the actor's user name): by their
    display names, looked up in one query for all of ``actors``; the system as "System"; a name of
    no account as it is. Use: ``name = people(r.actor for r in records)``, then ``name(r.actor)``."""
    from congress.accounts.models import display_names
    from congress.audit.operations import SYSTEM_ACTOR

    names = display_names(actors)

    def name(actor: str | None) -> str:
        if actor == SYSTEM_ACTOR:
            return gettext("System")
        return names.get(actor, actor or "")
    return name


def action_words(action: str, workflow=None) -> str:
    """An action in words; one that names the approver names that of ``workflow`` (a definition, an
    Approver or a unit's preparation), else the one in context."""
    if action not in ACTIONS:
        return action
    words = ACTIONS[action]
    return str(words.bind(workflow) if isinstance(words, NamingApprover) else words)


def field_label(name: str) -> str:
    return str(FIELDS[name]) if name in FIELDS else name


@cache
def _labels() -> dict[str, dict]:
    """The labels defined with the forms, pages and domains that own them."""
    from congress.drafts.messages import STATUS_LABELS
    from congress.notices.texts import KIND_LABELS as NOTICE_KINDS
    from congress.web.dashboard import KIND_LABELS as UNIT_KINDS
    from congress.web.forms import BRANCH_KIND_LABELS, DEADLINE_KIND_LABELS
    from congress.web.transfers import KIND_LABELS as IMPORT_KINDS
    from congress.web.units import ROLE_LABELS

    return {"draft_status": STATUS_LABELS, "notice_kind": NOTICE_KINDS, "unit_kind": UNIT_KINDS,
            "branch_kind": BRANCH_KIND_LABELS, "deadline_kind": DEADLINE_KIND_LABELS, "import_kind": IMPORT_KINDS,
            "role": ROLE_LABELS}


def document_title(kind: str) -> str:
    from workflows.documents import DOCUMENT_KINDS

    found = DOCUMENT_KINDS.get(kind)
    if found is None:
        return kind
    return found.title_en if language() == "en" else found.title_vi


def _workflow(value: str) -> str:
    """"Chuẩn bị đại hội Đảng bộ cấp xã (bản 2)" from "commune_congress r2"."""
    from congress.progress.definitions import definitions

    key, _, revision = value.partition(" r")
    definition = definitions().get(key)
    if definition is None:
        return value
    title = definition.title_en if language() == "en" else definition.title_vi
    return gettext("%(title)s (revision %(revision)s)", title=title, revision=revision) if revision else title


def _kind(entity: str, value: str) -> str:
    labels = _labels()
    table = {"branch": labels["branch_kind"], "unit": labels["unit_kind"], "import": labels["import_kind"]}.get(entity)
    if table is not None and value in table:
        return str(table[value])
    if entity in ("paper", "paper_job", "paper_template"):
        return document_title(value)
    return value


def _preferences(value: dict) -> str:
    kinds, off = _labels()["notice_kind"], gettext("off")
    parts = []
    for kind, channels in value.items():
        chosen = [str(CHANNELS[c]) for c in CHANNELS if isinstance(channels, dict) and channels.get(c)]
        parts.append(f"{kinds.get(kind, kind)}: {', '.join(chosen) or off}")
    return "; ".join(parts)


def _moment(value) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return datetime_local(value if value.tzinfo else value.replace(tzinfo=UTC))
    return str(value)


def value_words(name: str, value, entity: str | None = None) -> str:
    """A stored value of the field ``name`` (of a record about ``entity``) as a person reads it."""
    from congress.messages import STATE_LABELS
    from workflows.rules import State

    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    labels = _labels()
    if name == "state" and value in State._value2member_map_:
        return str(STATE_LABELS[State(value)])
    if name == "status":
        found = labels["draft_status"].get(value) or ROUND_STATES.get(value)
        return str(found) if found is not None else str(value)
    if name == "kind":
        return _kind(entity or "", str(value))
    if name == "role" and value in labels["role"]:
        return str(labels["role"][value])
    if name in ("deadline_kind", "due_kind", "missed_due_kind") and value in labels["deadline_kind"]:
        return str(labels["deadline_kind"][value])
    if name == "scope" and value in SCOPES:
        return str(SCOPES[value])
    if name == "workflow" and isinstance(value, str):
        return _workflow(value)
    if name == "preferences" and isinstance(value, dict):
        return _preferences(value)
    if name in SIZES and isinstance(value, int):
        return file_size(value)
    if name in COUNTS and isinstance(value, int):
        return number(value)
    if name.endswith("_at") or name == "locked_until":
        return _moment(value)
    if isinstance(value, datetime):
        return _moment(value)
    if isinstance(value, date):
        return short_date(value)
    if isinstance(value, str) and name.endswith("_on"):
        try:
            return short_date(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return ", ".join(value_words(name, v, entity) for v in value)
    return str(value)


def _note(record) -> tuple[str | None, str | None]:
    """The record's note and its kind: the reason of a return, waiver, reopening or exception;
    the basis of a deadline or of an automatic change; the city's comment; else a plain note."""
    text = record.reason
    if not text and record.entity == "step":
        text = (record.new or {}).get("note")  # a step completed with a note keeps it on the step
    if not text:
        return None, None
    action = record.action
    if action.startswith("step.auto_"):
        return "basis", _rule_words(text)
    if action in REASON_ACTIONS:
        return "reason", text
    if action in COMMENT_ACTIONS:
        return "comment", text
    if action in BASIS_ACTIONS:
        return "basis", text
    if action == "user.locked":
        return "note", gettext("%(count)s wrong passwords in a row.", count=text.split(" ", 1)[0])
    if text in ACCOUNT_NOTES:
        return "note", str(ACCOUNT_NOTES[text])
    return "note", text


def _rule_words(text: str) -> str:
    """"all_branches_held: 40/40" in words."""
    rule, _, count = text.partition(": ")
    done, _, total = count.partition("/")
    if rule == "all_branches_held" and done.isdigit() and total.isdigit():
        return gettext("%(held)s of %(total)s branches have held their congress.", held=done, total=total)
    if rule == "all_children_held" and done.isdigit() and total.isdigit():
        return gettext("%(held)s of %(total)s subordinate organisations have held their congress.",
                       held=done, total=total)
    if rule == "branch_held":
        return gettext("The branch held its congress.") if done == "1" else gettext(
            "The branch has not held its congress.")
    return text


def _subject(record) -> str | None:
    """The document and draft of a draft or round record ("Báo cáo chính trị, dự thảo lần 2")."""
    if record.entity not in ("draft", "round") or not record.entity_key:
        return None
    parts = record.entity_key.split("/")
    if len(parts) < 2:
        return None
    title = document_title(parts[1])
    if len(parts) < 3 or not parts[2].isdigit():
        return title
    return gettext("%(document)s, draft %(number)s", document=title, number=parts[2])


def _shown(name: str, record) -> bool:
    if name in UNSHOWN:
        return False
    if record.entity in ("draft", "round") and name in SUBJECT_FIELDS:
        return False
    # a step's reason and note are the record's note; a reason cleared by a new submission is not news
    return not (record.entity == "step" and name in ("reason", "note"))


def describe(record) -> RecordWords:
    """One audit record in the reader's words."""
    old, new = record.old or {}, record.new or {}
    changes = []
    for name in dict.fromkeys([*old, *new]):
        if not _shown(name, record):
            continue
        after = value_words(name, new.get(name), record.entity)
        if name not in old:
            if new.get(name) not in (None, "", []):  # a field set to nothing is not news
                changes.append(Change(field_label(name), None, after))
            continue
        before = value_words(name, old.get(name), record.entity)
        if before != after:
            changes.append(Change(field_label(name), before, after))
    kind, note = _note(record)
    if note is not None and any(change.new == note for change in changes):
        kind, note = None, None  # already shown as the value it set (a deadline's basis)
    return RecordWords(action_words(record.action), _subject(record), tuple(changes), kind, note)
