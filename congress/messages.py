"""Messages a person reads, keyed by the stable codes the engine and operations use.

Every text goes through Flask-Babel (English message ids, Vietnamese translations in
translations/vi), so the API and pages speak the user's language, Vietnamese by default.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l

from workflows.deadlines import Deadline
from workflows.lifecycle import Approver
from workflows.readiness import Reason, Risk
from workflows.rules import LIFECYCLE, Action, State

from .formatting import deadline_phrase, language, short_date


def document_title(kind) -> str:
    """A document kind's title in the reader's language ("Báo cáo chính trị" / "Political report"):
    of a kind's key, or of the kind itself (a DocumentKind, such as the city's progress report)."""
    from workflows.documents import DOCUMENT_KINDS

    info = DOCUMENT_KINDS[kind] if isinstance(kind, str) else kind
    return info.title_en if language() == "en" else info.title_vi


@dataclass(frozen=True)
class Plural:
    """A message with a singular and a plural form, chosen by the number in its ``count`` parameter
    (Vietnamese has one form; English "1 day", "2 days")."""
    singular: str
    plural: str
    count: str = "count"


def _n(singular: str, plural: str, count: str = "count") -> Plural:
    """A plural message of MESSAGES or REASONS (extracted for translation as ngettext)."""
    return Plural(singular, plural, count)

MESSAGES = {
    # operations and the engine's refusals
    "stale_version": _l("Someone changed this while you were editing it: reload to see the current "
                        "state, then try again."),
    "version_required": _l("The version you saw is missing: send \"version\" with the write."),
    "approval_waiver_forbidden": _l("Only the city may mark a step it must approve as not applicable."),
    "action_forbidden": _l("Your role does not allow the action \"%(action)s\" on this unit."),
    "deadline_forbidden": _l("Only city staff may set deadlines."),
    "congress_date_forbidden": _l("Only the unit's leader or city staff may plan the congress date."),
    "branch_forbidden": _l("Only the unit's own staff may change its branches."),
    "approval_not_required": _l("This step does not go to %(approver)s for approval, so \"%(action)s\" "
                                "does not apply."),
    "invalid_transition": _l("The action \"%(action)s\" is not possible while the step is "
                             "\"%(state)s\"."),
    "reason_required": _l("Give a reason for \"%(action)s\"."),
    "date_in_future": _l("The date %(on)s is in the future (today is %(today)s)."),
    "date_before_campaign": _l("The date %(on)s is before the campaign started (%(start)s)."),
    "date_before_earlier_event": _l("The date %(on)s is before an earlier event of the same step "
                                    "(%(earlier)s)."),
    "prerequisites_incomplete": _l("Finish these steps first: %(steps)s."),
    "completed_before_prerequisite": _l("The step cannot be completed on %(on)s: its prerequisite "
                                        "\"%(step)s\" was completed later, on %(prerequisite_on)s."),
    "rule_not_satisfied": _l("Not yet: %(done)s of %(total)s branches have held their congress."),
    "dated_before_prerequisite": _l("The step cannot be dated %(on)s: its prerequisite \"%(step)s\" was completed "
                                    "later, on %(prerequisite_on)s."),
    "approval_needs_approved_draft": _l("%(approver)s approves this step by approving a version of its draft: "
                                        "approve the draft on the drafts page (or record an exception)."),
    "congress_not_on_planned_date": _l("The congress is planned for %(planned)s, not %(on)s: if it was held on "
                                       "another day, change the planned congress date first."),
    "step_not_skippable": _l("This step cannot be marked not applicable."),
    # moves of dates and changes to completed steps that must be explicit (progress/accountability.py)
    "congress_after_deadline": _l("The congress cannot be planned on %(on)s: the unit must hold it %(deadline)s. "
                                  "Only the city may plan it after the deadline, with a reason."),
    "congress_after_deadline_unconfirmed": _l("%(on)s is after the unit's deadline (%(deadline)s): confirm that "
                                              "the congress is planned after the deadline and give the reason."),
    "deadline_in_past_unconfirmed": _l("The deadline %(deadline)s has already passed (today is %(today)s): "
                                       "confirm that you set a deadline already passed and give the reason."),
    "confirmation_reason_required": _l("Give the reason for this confirmation."),
    "completed_step_reopen": _l("This would reopen “%(step)s” of %(unit_name)s, completed on %(completed_on)s: "
                                "that needs an explicit confirmation."),
    "completed_step_redate": _l("This would move the completion of “%(step)s” of %(unit_name)s from "
                                "%(completed_on)s to %(new_on)s: that needs an explicit confirmation."),
    "completed_after_dependent": _l("“%(step)s” cannot be completed on %(on)s: %(steps)s, which depends on it, "
                                    "was completed earlier, on %(dependent_on)s. Reopen that step first."),
    "field_required": _l("The field \"%(field)s\" is required."),
    "must_not_be_negative": _l("The field \"%(field)s\" must not be negative."),
    "too_many_delegates": _l("A congress has at most %(limit)s delegates."),
    "duplicate_branch": _l("The unit already has a branch named \"%(name)s\"."),
    "unknown_branch_kind": _l("Unknown branch kind \"%(value)s\"."),
    "invalid_field": _l("The field \"%(field)s\" is not valid: %(problem)s."),
    "unknown_fields": _l("Unknown fields: %(fields)s."),
    "invalid_json": _l("The request body must be a JSON object."),
    "unknown_action": _l("Unknown action \"%(action)s\"."),
    "unknown_deadline_kind": _l("The deadline kind must be \"before\" or \"by\"."),
    "unknown_filter": _l("Unknown value \"%(value)s\" for the filter \"%(field)s\"."),
    "unit_not_found": _l("There is no unit with the code \"%(code)s\"."),
    "branch_not_found": _l("There is no branch with the code \"%(code)s\"."),
    "step_not_found": _l("There is no step \"%(key)s\" here."),
    "province_not_found": _l("There is no province with the code \"%(code)s\"."),
    "not_enrolled": _l("The unit %(code)s has no congress preparation yet."),
    "campaign_without_branches": _l("The campaign \"%(campaign)s\" tracks no branches of this unit."),
    "unauthorized": _l("Log in, or send a valid API token."),
    "forbidden": _l("You may not see or change this."),
    "storage_full": _l("The server has no room left to keep files: nothing was saved. Try again later "
                       "or tell the administrator."),
    "database_unavailable": _l("The database cannot be reached right now. Try again in a moment."),
    "bad_request": _l("The request could not be understood."),
    "csrf_missing": _l("The form's security token is missing or expired: reload the page and try "
                       "again (API clients send the X-CSRFToken header, or use a bearer token)."),
    "login_failed": _l("Wrong user name or password."),
    "password_too_short": _l("The password must have at least %(length)s characters."),
    "password_too_long": _l("The password may have at most %(length)s characters."),
    "password_has_username": _l("The password must not contain the user name."),
    "password_too_common": _l("This password is too easy to guess: choose a longer phrase of your own."),
    "password_wrong": _l("The current password is not right."),
    "password_mismatch": _l("The two new passwords are not the same."),
    "password_unchanged": _l("The new password must differ from the current one."),
    "login_locked": _l("Too many wrong passwords: this account is locked until %(until)s. "
                       "Try again then, or ask the administrator."),
    "too_many_requests": _l("Too many attempts from this address: wait a minute and try again."),
    "unknown_role": _l("Unknown role \"%(role)s\" (one of: %(allowed)s)."),
    "unit_required": _l("The role \"%(role)s\" needs a unit (--unit CODE)."),
    "province_required": _l("The role \"%(role)s\" needs a province (--province CODE)."),
    "scope_required": _l("A viewer needs a unit or a province to read."),
    "user_exists": _l("The user name \"%(username)s\" is taken."),
    # campaigns (progress/campaigns.py)
    "campaign_not_found": _l("There is no campaign %(id)s within your reach."),
    "campaign_closed": _l("The campaign “%(campaign)s” is closed: its records stay as they were and take no "
                          "more changes."),
    "campaign_forbidden": _l("Only an administrator, or the city's staff for a campaign of their own province, "
                             "may close a campaign."),
    "campaign_outside_scope": _l("You may start a campaign only over units of your own province: %(codes)s "
                                 "is outside it."),
    "campaign_exists": _l("“%(name)s” already runs this round (term %(term)s) in these provinces."),
    "campaign_without_units": _l("The campaign covers no unit: choose a province or list the units' codes."),
    "child_campaign_required": _l("This workflow counts the congresses of the units below it: choose the "
                                  "campaign whose units it reads."),
    "child_campaign_level": _l("“%(name)s” is not a campaign of %(level)s units, which this workflow reads."),
    "deadline_before_start": _l("The deadline (%(deadline)s) is before the campaign starts (%(start)s)."),
    "unit_wrong_level": _l("These units are not of the level the workflow covers (%(level)s): %(codes)s."),
    "unit_not_in_campaign": _l("These units are not in the campaign: %(codes)s."),
    "unit_deadline_line": _l("Line %(line)s (“%(text)s”) is not a unit code and a date, e.g. 11311 20/8/2025."),
    "text_too_long": _l("The field \"%(field)s\" holds at most %(limit)s characters."),
    # workflow definitions as stored versions, and moving units to another version (progress/versions.py)
    "workflow_invalid": _n("The workflow definition has %(count)s problem: %(lines)s",
                           "The workflow definition has %(count)s problems: %(lines)s"),
    "workflow_not_found": _l("There is no workflow \"%(key)s\"."),
    "workflow_revision_not_found": _l("The workflow \"%(key)s\" has no revision %(revision)s."),
    "migration_wrong_workflow": _l("%(version)s is not a version of the workflow these units follow "
                                   "(%(expected)s)."),
    "migration_would_lose_steps": _n(
        "Moving to %(version)s would remove %(count)s step whose progress is on record: %(steps)s (%(units)s). "
        "Nothing was changed: keep the step in the new version, or leave these units out.",
        "Moving to %(version)s would remove %(count)s steps whose progress is on record: %(steps)s (%(units)s). "
        "Nothing was changed: keep the steps in the new version, or leave these units out."),
    "migration_would_strand_steps": _n(
        "Moving to %(version)s would strand %(count)s step submitted to or approved by the city, which the new "
        "version no longer asks the city to approve: %(steps)s (%(units)s). Nothing was changed.",
        "Moving to %(version)s would strand %(count)s steps submitted to or approved by the city, which the new "
        "version no longer asks the city to approve: %(steps)s (%(units)s). Nothing was changed."),
    "migration_campaign_closed": _l("The campaign \"%(campaign)s\" is closed: its units stay on their "
                                    "workflow versions."),
}

HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Log in, or send a valid API token."),
    403: _l("You may not see or change this."),
    404: _l("This page or resource does not exist."),
    405: _l("This method is not allowed here."),
    409: _l("Someone changed this while you were editing it."),
    413: _l("The request is too large."),
    415: _l("This kind of content is not accepted here."),
    422: _l("The request is well formed but cannot be accepted."),
    429: _l("Too many requests: wait a moment."),
    500: _l("Something went wrong on our side. The error has been logged."),
    503: _l("The service is unavailable right now. Try again in a moment."),
}

# --- who approves: the words of the level above, as the step's workflow names them ------------

def shows_workflow(workflow) -> None:
    """The request shows the steps of ``workflow`` (a unit's page, its exports, the API's unit): their
    words name its approver (see :func:`current_approver`). ``workflow``: a definition, or a unit's
    preparation, whose workflow is read only when words first need its approver."""
    if has_request_context():
        g.congress_shown_workflow = workflow


def current_approver() -> Approver:
    """The approver whose words a step's life says where no step is at hand: the workflow the request
    shows (:func:`shows_workflow`), else the unit workflow of the campaign the request shows
    (congress.progress.campaigns.chosen_campaign), else, outside a request, the lifecycle's (the
    city's party committee)."""
    if not has_request_context():
        return LIFECYCLE.approver
    shown = _approver_of(g.get("congress_shown_workflow"))
    if shown is not None:
        return shown
    return _campaign_approver() or LIFECYCLE.approver


def _campaign_approver() -> Approver | None:
    """The chosen campaign's approver, read once a request (labels are put into words many times a
    page)."""
    from congress.extensions import db
    from congress.progress.campaigns import chosen_campaign
    from congress.progress.models import WorkflowVersion

    cached = g.get("congress_campaign_approver")
    if cached is not None and "congress_campaign_id" in g and cached[0] == g.congress_campaign_id:
        return cached[1]
    campaign = chosen_campaign()
    approver = None
    if campaign is not None:
        # a stored version never changes: its approver is read once per database and version
        key = (str(db.engine.url), campaign.unit_workflow_version_id)
        if key not in _VERSION_APPROVERS:
            _VERSION_APPROVERS[key] = db.session.get(WorkflowVersion, key[1]).definition().approver
        approver = _VERSION_APPROVERS[key]
    g.congress_campaign_approver = (campaign.id if campaign is not None else None, approver)
    return approver


#: the approver of each stored version, by database and version id (see _campaign_approver)
_VERSION_APPROVERS: dict[tuple[str, int], Approver] = {}


def _approver_of(workflow) -> Approver | None:
    """The approver of ``workflow``: an Approver itself, a workflow definition, or a unit's
    preparation (its unit workflow's); None for None."""
    if workflow is None or isinstance(workflow, Approver):
        return workflow
    if hasattr(workflow, "workflow_version"):
        return workflow.definition().approver
    return workflow.approver


def approver_words(long: bool = False, workflow=None) -> str:
    """The approver's words in the reader's language: of ``workflow`` (a definition, an Approver or a
    unit's preparation), else the one in context; ``long`` where a sentence names the body in full."""
    return (_approver_of(workflow) or current_approver()).words(language(), long=long)


def approver_params(approver: Approver) -> dict[str, str]:
    """An approver's words as a notice keeps them in its params (it is put into words when read)."""
    return {"vi": approver.vi, "en": approver.en}


def approver_from_params(words: Mapping | None) -> Approver:
    """The approver a notice's params name (see :func:`approver_params`); the lifecycle's for a notice
    made before notices named it."""
    if isinstance(words, Mapping) and words.get("vi") and words.get("en"):
        return Approver(str(words["vi"]), str(words["en"]))
    return LIFECYCLE.approver


def sentence(text):
    """``text`` with its first letter a capital: a message that opens with the approver's words
    ("the Politburo approves ...")."""
    return text[:1].upper() + text[1:] if text else text


@cache
def _shipped_approvers() -> tuple[Approver, ...]:
    from workflows.loader import load_all

    return tuple(d.approver for d in load_all().values())


def known_approvers() -> tuple[Approver, ...]:
    """The lifecycle's approver and that of every workflow shipped (and, in the application, loaded),
    each once: the words a spreadsheet may say for a state."""
    found = [LIFECYCLE.approver, *_shipped_approvers()]
    if has_app_context():
        found += [d.approver for d in current_app.extensions.get("congress_workflows", {}).values()]
    return tuple(dict.fromkeys(found))


class LifecycleLabel:
    """A state's or an action's words in the reader's language, from workflows/lifecycle.yaml
    (the one place that names them): str() gives them in the current locale, naming the approver
    of the workflow bound to the label (:meth:`bind`), else the one in context
    (:func:`current_approver`)."""

    def __init__(self, name: str, workflow=None):
        self.name = name
        #: a definition, an Approver or a unit's preparation; read only when the words name the approver
        self.workflow = workflow

    def bind(self, workflow) -> LifecycleLabel:
        """The same words naming the approver of ``workflow`` (a definition, an Approver or a unit's
        preparation; None keeps the one in context)."""
        return LifecycleLabel(self.name, workflow if workflow is not None else self.workflow)

    @property
    def approver(self) -> Approver:
        return _approver_of(self.workflow) or current_approver()

    def __str__(self) -> str:
        return LIFECYCLE.label(self.name, language(), self.approver if LIFECYCLE.names_approver(self.name) else None)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))

    def __mod__(self, other):
        return str(self) % other

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.name)


STATE_LABELS = {state: LifecycleLabel(state.value) for state in State}
ACTION_LABELS = {action: LifecycleLabel(action.value) for action in Action}


class SpreadsheetStateWords(Mapping):
    """The Vietnamese words of each state in a spreadsheet (congress.transfers). Written
    (``words[state]``): naming the approver in context, the unit's workflow on its own export and the
    chosen campaign's on the city's lists. Read back (``items()``, what the import matches a cell
    against): each state once per spelling, in either language, naming every known approver
    (:func:`known_approvers`), so a sheet written for any shipped workflow reads back."""

    def __getitem__(self, state: str) -> str:
        if state not in LIFECYCLE.states:
            raise KeyError(state)
        return LIFECYCLE.label(state, "vi", current_approver() if LIFECYCLE.names_approver(state) else None)

    def __iter__(self) -> Iterator[str]:
        return iter(LIFECYCLE.states)

    def __len__(self) -> int:
        return len(LIFECYCLE.states)

    def items(self) -> list[tuple[str, str]]:
        approvers = known_approvers()
        return [(state, words) for state in LIFECYCLE.states
                for words in dict.fromkeys(LIFECYCLE.label(state, language, approver)
                                           for language in ("vi", "en") for approver in approvers)]


class _Others(dict):
    """The values of a message's placeholders, keeping those it does not give for a later %."""

    def __missing__(self, key: str) -> str:
        return f"%({key})s"


class NamingApprover:
    """A message that names the approver ("Submit to %(approver)s"): put into words when read, with
    the approver bound to it, else the one in context (see :func:`current_approver`)."""

    def __init__(self, message, workflow=None):
        self.message = message
        self.workflow = workflow

    def bind(self, workflow) -> NamingApprover:
        """The same message naming the approver of ``workflow`` (see LifecycleLabel.bind)."""
        return NamingApprover(self.message, workflow if workflow is not None else self.workflow)

    def __str__(self) -> str:
        return str(self.message) % _Others(approver=approver_words(workflow=self.workflow))

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))

    def __mod__(self, other: Mapping):
        return str(self.message) % {"approver": approver_words(workflow=self.workflow), **other}

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self.message))


#: the buttons of the step actions, on the pages and in the words that name them
ACTION_BUTTONS = {
    Action.START: _l("Start"),
    Action.COMPLETE: _l("Complete"),
    Action.SUBMIT: NamingApprover(_l("Submit to %(approver)s")),
    Action.APPROVE: _l("Approve"),
    Action.RETURN: _l("Return to the unit"),
    Action.MARK_NOT_APPLICABLE: _l("Mark not applicable"),
    Action.REOPEN: _l("Reopen"),
}


def still_to_do(state: str | State) -> str | None:
    """What is left of a step the city approved (not finished: the lifecycle leaves completing it to
    the unit, so it stays due, late and reminded until then), in words; None for any other state."""
    if State(state) is not State.APPROVED:
        return None
    return gettext("Approved: still to press “%(action)s”", action=ACTION_BUTTONS[Action.COMPLETE])


RISK_LABELS = {
    Risk.DONE: _l("done"),
    Risk.ON_TRACK: _l("on track"),
    Risk.AT_RISK: _l("at risk"),
    Risk.LATE: _l("late"),
}

REASONS = {
    "finished": _l("All steps done (finished on %(on)s)."),
    "deadline_missed": _n("The deadline (%(deadline)s) passed %(days)s day ago.",
                          "The deadline (%(deadline)s) passed %(days)s days ago.", "days"),
    "steps_overdue": _n("%(count)s step overdue: %(steps)s.", "%(count)s steps overdue: %(steps)s."),
    "projected_after_deadline": _l("At the current pace the unit finishes on %(projected)s, after "
                                   "its deadline (%(deadline)s)."),
    "no_progress": _n("No step completed yet, %(days_left)s day before the deadline.",
                      "No step completed yet, %(days_left)s days before the deadline.", "days_left"),
    "on_track": _n("At the current pace the unit finishes on %(projected)s; %(days_left)s day left until "
                   "the deadline.", "At the current pace the unit finishes on %(projected)s; %(days_left)s days "
                   "left until the deadline.", "days_left"),
    "branches_pending": _l("%(held)s of %(total)s branches have held their congress."),
    "congress_after_deadline": _l("The congress is planned on %(congress_on)s, after the unit's deadline "
                                  "(%(deadline)s)."),
}


def _format(value: Any) -> Any:
    if isinstance(value, Deadline):
        return deadline_phrase(value)
    if isinstance(value, date):
        return short_date(value)
    if isinstance(value, State):
        return str(STATE_LABELS[value])
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_format(v)) for v in value)
    if value is None:
        return "—"
    return value


def _titled(params: Mapping[str, Any]) -> dict:
    """Step keys replaced by their titles in the user's language, where the params carry them."""
    titles = params.get("titles")
    if not titles:
        return dict(params)
    language = "en" if str(get_locale() or "vi") == "en" else "vi"

    def title(key):
        return f"“{titles[key][language]}”" if key in titles else key

    params = dict(params)
    if params.get("steps"):
        params["steps"] = [title(k) for k in params["steps"]]
    if params.get("step"):
        params["step"] = title(params["step"]).strip("“”")
    return params


def _fill(template, params: Mapping[str, Any]) -> str:
    values = {k: _format(v) for k, v in _titled(params).items() if k != "titles"}
    if "state" in values and values["state"] in State._value2member_map_:
        values["state"] = str(STATE_LABELS[State(values["state"])])
    if "action" in values and values["action"] in Action._value2member_map_:
        values["action"] = str(ACTION_LABELS[Action(values["action"])])
    text = str(template.singular if isinstance(template, Plural) else template)
    if "%(approver)s" in text and "approver" not in values:
        values["approver"] = approver_words()
    filled = _fill_template(template, values, params)
    return sentence(filled) if text.startswith("%(approver)s") else filled


def _fill_template(template, values: dict, params: Mapping[str, Any]) -> str:
    if isinstance(template, Plural):
        try:
            number = int(params.get(template.count) or 0)
        except (TypeError, ValueError):
            number = 0
        try:
            return ngettext(template.singular, template.plural, number, **values)
        except (KeyError, TypeError, ValueError):
            return template.plural
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return str(template)


def describe(code: str, params: Mapping[str, Any] | None = None) -> str:
    template = MESSAGES.get(code)
    if template is None:
        return gettext("The request cannot be accepted (%(code)s).", code=code)
    return _fill(template, params or {})


def describe_reason(reason: Reason) -> str:
    return _fill(REASONS[reason.code], reason.params)


def http_message(status: int | None) -> str:
    return str(HTTP_MESSAGES.get(status or 500, HTTP_MESSAGES[500]))
