"""The forms of a unit's pages: step actions, deadlines, the congress date and branches.

Forms only parse what people type (a date, a whole number, clean text). Whether a value is
acceptable (not in the future, not before the campaign, at most 250 delegates ...) is decided by
the operations, in one place, and their refusals are shown beside the form.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import FieldList
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import NumberInput

from congress.idempotency import new_key
from congress.progress.accountability import REASON_LIMIT
from congress.progress.operations import SIGNER_NAME_LIMIT
from congress.text import clean_text
from congress.units.models import BRANCH_KINDS
from congress.units.operations import TEXT_LIMITS
from workflows.deadlines import DeadlineKind

from . import web

#: the wordings of a deadline (workflows.deadlines.DeadlineKind), as a person reads them
DEADLINE_KIND_LABELS = {DeadlineKind.BEFORE.value: _l("before the day (the day itself excluded)"),
                        DeadlineKind.BY.value: _l("by the day (the day itself included)")}
BRANCH_KIND_LABELS = {BRANCH_KINDS[0]: _l("Branch (chi bộ)"), BRANCH_KINDS[1]: _l("Sub-committee (đảng bộ bộ phận)")}
#: the longest note or reason a step keeps
NOTE_LIMIT = 2000
BASIS_LIMIT = 200

ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
VIETNAMESE_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


def parse_day(text: str) -> date:
    """A date typed as the browser sends it (2025-08-20) or the Vietnamese way (20/8/2025)."""
    text = text.strip()
    iso = ISO_DAY.fullmatch(text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    else:
        local = VIETNAMESE_DAY.fullmatch(text)
        if not local:
            raise ValueError(text)
        day, month, year = (int(part) for part in local.groups())
    return date(year, month, day)


def clean(value):
    """Typed text in NFC, without control characters, trimmed; None when empty."""
    return clean_text(value) if isinstance(value, str) else value


def field_problem(field, problem: str) -> str:
    """A field's refusal as the page shows it, named by the field's label ("As of: ...")."""
    return gettext("%(field)s: %(problem)s", field=field.label.text, problem=problem)


class DayField(StringField):
    """The one date input of the pages: written the Vietnamese way, 20/8/2025, in both languages
    (2025-08-20 is accepted too), shown pre-filled the same way.

    A text input rather than type=date: a browser shows a date input in its own locale, and an
    office browser set to English would show and expect 08/20/2025. No pattern either: the
    browser would refuse in its own language, where the page names the field in the page's.
    """

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"placeholder": _l("day/month/year"), "autocomplete": "off",
                                        "inputmode": "numeric", "size": 10, "maxlength": 20, "class": "day"})
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data.day}/{self.data.month}/{self.data.year}" if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            self.data = parse_day(valuelist[0])
        except ValueError:
            raise ValueError(field_problem(self, gettext(
                "“%(value)s” is not a date: write it as day/month/year, e.g. 20/8/2025.",
                value=valuelist[0][:20]))) from None


class WholeNumberField(StringField):
    """A whole number; the operations decide its range."""
    widget = NumberInput(min=0)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        text = valuelist[0].strip()
        if not re.fullmatch(r"-?[0-9]{1,9}", text):
            raise ValueError(_l("“%(value)s” is not a whole number.", value=text[:20]))
        self.data = int(text)


class VersionField(HiddenField):
    """The version of the record the user saw; the operation refuses a write without it."""

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        self.data = int(text) if text.isdigit() and len(text) < 10 else None


class ChoiceField(SelectField):
    """A select whose refusal of an unknown value is in the user's language."""

    def pre_validate(self, form):
        if self.data not in {choice.value for choice in self.iter_choices()}:
            raise ValidationError(_l("Choose one of the options."))


def too_long(limit: int):
    return Length(max=limit, message=_l("At most %(max)d characters.", max=limit))


# --- the shared base of every write form ----------------------------------------------------

class RequestKeyField(HiddenField):
    """The form's one-time request key (congress.idempotency): a second click on the same form
    sends the same key and gets the first click's answer. Each showing of the form gets a new
    key, so a form shown again after a refusal is a new request."""

    def _value(self) -> str:
        return new_key()


class KeyedForm(FlaskForm):
    """A write form: the CSRF token and the request key, rendered together by ui.form_keys(form)."""
    request_key = RequestKeyField()


# forms written by hand in the templates get their key from here
web.add_app_template_global(new_key, "request_key")


# --- a step -------------------------------------------------------------------------------

class StepActionForm(KeyedForm):
    """One action on one step. Prefixed with "<step>-<action>" so a page can hold many."""
    version = VersionField()
    on = DayField(_l("Date"), validators=[Optional()])
    note = TextAreaField(_l("Note"), filters=[clean], validators=[Optional(), too_long(NOTE_LIMIT)],
                         render_kw={"maxlength": NOTE_LIMIT})


# --- the unit's dates ----------------------------------------------------------------------

class DeadlineForm(KeyedForm):
    version = VersionField()
    day = DayField(_l("Deadline day"), validators=[Optional()])
    kind = ChoiceField(_l("Wording"), choices=[SelectChoice(k, label) for k, label in DEADLINE_KIND_LABELS.items()],
                       default=DeadlineKind.BEFORE.value)
    basis = StringField(_l("Basis"), filters=[clean], validators=[Optional(), too_long(BASIS_LIMIT)])
    #: a deadline already passed is set only with this ticked and a reason (progress/accountability.py)
    confirm = BooleanField(_l("I confirm a deadline that has already passed"))
    reason = TextAreaField(_l("Reason for the confirmation"), filters=[clean],
                           validators=[Optional(), too_long(REASON_LIMIT)], render_kw={"maxlength": REASON_LIMIT})


class CongressDateForm(KeyedForm):
    version = VersionField()
    day = DayField(_l("Planned congress date"),
                   validators=[InputRequired(message=_l("Choose the planned date."))])
    #: a date after the unit's deadline: the city ticks this and gives the reason
    confirm = BooleanField(_l("I confirm a congress date after the unit's deadline"))
    reason = TextAreaField(_l("Reason for the confirmation"), filters=[clean],
                           validators=[Optional(), too_long(REASON_LIMIT)], render_kw={"maxlength": REASON_LIMIT})


class SignersForm(KeyedForm):
    """Who signs the committee's documents: printed under "BÍ THƯ" and "PHÓ BÍ THƯ"."""
    version = VersionField()
    secretary = StringField(_l("Secretary (signs as BÍ THƯ)"), filters=[clean],
                            validators=[Optional(), too_long(SIGNER_NAME_LIMIT)])
    deputy = StringField(_l("Deputy secretary (signs as PHÓ BÍ THƯ)"), filters=[clean],
                         validators=[Optional(), too_long(SIGNER_NAME_LIMIT)])


# --- branches ------------------------------------------------------------------------------

#: what the bulk table lets a user record for each branch
RECORDED_FIELDS = ("held_on", "delegates", "new_secretary")


class BranchRowForm(Form):
    """One row of the bulk table: the branch, the version and values the user saw, the new values."""
    code = HiddenField()
    version = VersionField()
    seen_held_on = HiddenField()
    seen_delegates = HiddenField()
    seen_new_secretary = HiddenField()
    held_on = DayField(_l("Held on"), validators=[Optional()])
    delegates = WholeNumberField(_l("Delegates"), validators=[Optional()])
    new_secretary = StringField(_l("New secretary"), filters=[clean],
                                validators=[Optional(), too_long(TEXT_LIMITS["new_secretary"])])

    def seen(self) -> dict:
        """The values shown to the user when the page was made."""
        delegates = (self.seen_delegates.data or "").strip()
        return {"held_on": _iso_or_none(self.seen_held_on.data),
                "delegates": int(delegates) if re.fullmatch(r"-?[0-9]{1,9}", delegates) else None,
                "new_secretary": clean(self.seen_new_secretary.data)}

    def entered(self) -> dict:
        return {field: getattr(self, field).data for field in RECORDED_FIELDS}

    def changes(self) -> dict:
        """Only what the user changed on this row (compared with what they saw)."""
        seen = self.seen()
        return {field: value for field, value in self.entered().items() if value != seen[field]}


def _iso_or_none(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


class BranchTableForm(KeyedForm):
    rows = FieldList(FormField(BranchRowForm), min_entries=0)


def branch_row_data(branch) -> dict:
    values = {field: getattr(branch, field) for field in RECORDED_FIELDS}
    return {"code": branch.code, "version": branch.version, **values,
            "seen_held_on": branch.held_on.isoformat() if branch.held_on else "",
            "seen_delegates": "" if branch.delegates is None else str(branch.delegates),
            "seen_new_secretary": branch.new_secretary or ""}


class AddBranchForm(KeyedForm):
    name = StringField(_l("Name"), filters=[clean],
                       validators=[DataRequired(message=_l("Give the branch a name.")), too_long(TEXT_LIMITS["name"])])
    kind = ChoiceField(_l("Kind"), choices=[SelectChoice(k, label) for k, label in BRANCH_KIND_LABELS.items()])
    secretary = StringField(_l("Secretary"), filters=[clean],
                            validators=[Optional(), too_long(TEXT_LIMITS["secretary"])])
    members = WholeNumberField(_l("Party members"), validators=[Optional()])
    planned_on = DayField(_l("Planned congress date"), validators=[Optional()])

    def fields_for_operation(self) -> dict:
        return {"name": self.name.data, "kind": self.kind.data, "secretary": self.secretary.data,
                "members": self.members.data, "planned_on": self.planned_on.data}


# --- the forms written by hand around a date: the progress report, a comment round --------

class ReportDayForm(Form):
    """The day the city's progress report is made for: a GET form, so no keys; empty is today."""
    as_of = DayField(_l("As of"), validators=[Optional()])


class RoundDatesForm(Form):
    """The days of a comment round on one draft (the rest of the form is written in the page)."""
    starts_on = DayField(_l("Starts on"), validators=[InputRequired(message=_l("Write the day."))])
    ends_on = DayField(_l("Ends on"), validators=[InputRequired(message=_l("Write the day."))])

    def __init__(self, formdata=None, *, number: int, **kwargs):
        super().__init__(formdata, **kwargs)
        #: the page holds one such form per draft
        self.starts_on.id, self.ends_on.id = f"starts-{number}", f"ends-{number}"
        self.number = number

    def problems(self) -> list[str]:
        return [str(message) for messages in self.errors.values() for message in messages]
