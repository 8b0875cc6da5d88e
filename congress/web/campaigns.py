"""The campaigns: the list a user can look at and switch between, starting one (preview, then
confirm) and closing one."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from congress.accounts import permissions
from congress.errors import OperationError
from congress.extensions import db
from congress.idempotency import idempotent
from congress.messages import describe
from congress.progress import campaigns
from congress.progress.definitions import definitions
from congress.progress.models import Preparation
from congress.text import vi_sort_key
from congress.units.models import Province

from . import web
from .auth import safe_next
from .forms import (
    DEADLINE_KIND_LABELS,
    ChoiceField,
    DayField,
    KeyedForm,
    VersionField,
    clean,
    parse_day,
    too_long,
)

#: how a campaign's organisation and level read on the pages
ORGANISATION_LABELS = {"party": _l("Party"), "fatherland_front": _l("Vietnam Fatherland Front")}
LEVEL_LABELS = {"commune": _l("commune level"), "province": _l("province level")}
STATUS_LABELS = {"open": _l("under way"), "closed": _l("closed (read-only)")}
#: the most unit codes and per-unit deadlines one form takes
LIST_LIMIT = 20000


class CampaignForm(KeyedForm):
    name_vi = StringField(_l("Name (Vietnamese)"), filters=[clean], validators=[Optional(), too_long(200)])
    name_en = StringField(_l("Name (English)"), filters=[clean], validators=[Optional(), too_long(200)])
    term = StringField(_l("Term"), filters=[clean], validators=[Optional(), too_long(20)],
                       render_kw={"placeholder": "2025–2030"})
    unit_workflow = ChoiceField(_l("Workflow"))
    provinces = SelectMultipleField(_l("Provinces it covers"), validators=[Optional()])
    unit_codes = TextAreaField(_l("Or exactly these units (codes)"), filters=[clean],
                               validators=[Optional(), too_long(LIST_LIMIT)])
    child_campaign = ChoiceField(_l("Roll-ups read the campaign"), validators=[Optional()])
    starts_on = DayField(_l("Start date"))
    deadline_on = DayField(_l("Deadline day"))
    deadline_kind = ChoiceField(_l("Wording"), default="before",
                                choices=[SelectChoice(k, label) for k, label in DEADLINE_KIND_LABELS.items()])
    deadline_basis = StringField(_l("Basis"), filters=[clean], validators=[Optional(), too_long(200)],
                                 render_kw={"placeholder": "Chỉ thị số 45-CT/TW ngày 14/4/2025"})
    unit_deadlines = TextAreaField(_l("Units with their own deadline"), filters=[clean],
                                   validators=[Optional(), too_long(LIST_LIMIT)],
                                   render_kw={"placeholder": "11311 20/8/2025"})


class CloseForm(KeyedForm):
    version = VersionField()


def _language() -> str:
    from flask_babel import get_locale

    return "en" if str(get_locale() or "vi") == "en" else "vi"


def _unit_workflows() -> list[SelectChoice]:
    from congress.progress.versions import latest_version

    language = _language()
    choices = []
    for key in campaigns.unit_workflow_keys():
        shipped = definitions().get(key)
        d = shipped if shipped is not None else latest_version(key).definition()
        choices.append(SelectChoice(key, f"{d.title_en if language == 'en' else d.title_vi} ({key})"))
    return choices


def _startable_provinces() -> list[Province]:
    found = db.session.execute(db.select(Province)).scalars()
    return sorted((p for p in found if permissions.can_start_campaign(current_user, p.code)),
                  key=lambda p: vi_sort_key(p.name))


def _campaign_form(formdata=None) -> CampaignForm:
    form = CampaignForm(formdata=formdata)
    form.unit_workflow.choices = _unit_workflows()
    form.provinces.choices = [SelectChoice(p.code, f"{p.name} ({p.code})") for p in _startable_provinces()]
    language = _language()
    form.child_campaign.choices = [SelectChoice("", gettext("none"))] + [
        SelectChoice(str(c.id), c.name(language) + (f" · {c.province.name}" if c.province else ""))
        for c in campaigns.campaigns_for(current_user)]
    if formdata is None and len(form.provinces.choices) == 1:
        form.provinces.data = [form.provinces.choices[0].value]
    return form


def _unit_codes(text: str | None) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text or "") if c]


def _spec(form: CampaignForm) -> campaigns.CampaignSpec:
    deadlines = {}
    for number, line in enumerate((form.unit_deadlines.data or "").splitlines(), start=1):
        parts = line.replace(",", " ").replace(";", " ").split()
        if not parts:
            continue
        try:
            if len(parts) != 2:
                raise ValueError(line)
            deadlines[parts[0]] = parse_day(parts[1])
        except ValueError:
            from congress.errors import Unprocessable

            raise Unprocessable("unit_deadline_line", {"field": "unit_deadlines", "line": number,
                                                       "text": line[:60]}) from None
    child = form.child_campaign.data
    return campaigns.CampaignSpec(
        name_vi=form.name_vi.data, name_en=form.name_en.data, term=form.term.data,
        unit_workflow=form.unit_workflow.data, starts_on=form.starts_on.data, deadline_on=form.deadline_on.data,
        deadline_kind=form.deadline_kind.data or "before", deadline_basis=form.deadline_basis.data,
        province_codes=list(form.provinces.data or []), unit_codes=_unit_codes(form.unit_codes.data),
        child_campaign_id=int(child) if child and child.isdigit() and len(child) < 10 else None,
        unit_deadlines=deadlines)


def _field_of(form: CampaignForm, exc: OperationError):
    name = (exc.params or {}).get("field")
    mapping = {"child_campaign_id": "child_campaign", "province_codes": "provinces"}
    return getattr(form, mapping.get(name, name or ""), None)


def _units_enrolled(ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Preparation.campaign_id, sa.func.count(Preparation.id))
                                   .where(Preparation.campaign_id.in_(ids)).group_by(Preparation.campaign_id)).all())


@web.get("/campaigns")
@login_required
def campaign_list():
    found = campaigns.campaigns_for(current_user)
    shown = campaigns.chosen_campaign()
    return render_template(
        "campaigns/list.html", campaigns=found, shown=shown, enrolled=_units_enrolled([c.id for c in found]),
        can_start=bool(_startable_provinces()), organisation_labels=ORGANISATION_LABELS,
        level_labels=LEVEL_LABELS, status_labels=STATUS_LABELS, language=_language(),
        close_forms={c.id: CloseForm(formdata=None, data={"version": c.version}) for c in found
                     if not c.is_closed and permissions.can_manage_campaign(current_user, c)})


@web.get("/campaigns/choose")
@login_required
def choose_campaign():
    """Show another campaign: every page follows the choice, which the account remembers (a
    preference of the reader's, like the language: no record changes, so every role may)."""
    campaign = campaigns.campaign_or_404(request.args.get("campaign"), current_user)
    campaigns.remember_choice(current_user, campaign)
    db.session.commit()
    return redirect(_without_campaign(safe_next(request.args.get("next"))) or url_for("web.home"))


def _without_campaign(target: str | None) -> str | None:
    """The page to go back to, without a ?campaign= that would override the choice just made."""
    if not target:
        return target
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(target)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "campaign"])
    return urlunsplit(parts._replace(query=query))


@web.route("/campaigns/new", methods=["GET", "POST"])
@login_required
@idempotent
def new_campaign():
    """Start a campaign: the form, then a preview of what it would create, then the start."""
    if not _startable_provinces():
        abort(403)
    if request.method == "GET":
        return render_template("campaigns/new.html", form=_campaign_form(), plan=None, problem=None)
    form = _campaign_form(request.form)
    if not form.validate():
        return render_template("campaigns/new.html", form=form, plan=None,
                               problem=gettext("Correct the fields marked below.")), 422
    confirming = request.form.get("confirm") == "1"
    try:
        spec = _spec(form)
        if not confirming:
            found = campaigns.plan(spec, current_user)
            db.session.rollback()
            return render_template("campaigns/new.html", form=form, plan=found, problem=None)
        campaign = campaigns.start(spec, current_user)
    except OperationError as exc:
        db.session.rollback()
        if exc.status == 403 and exc.code != "campaign_outside_scope":
            raise
        message = describe(exc.code, exc.params)
        field = _field_of(form, exc)
        if field is not None:
            field.errors = list(field.errors) + [message]
        return render_template("campaigns/new.html", form=form, plan=None, problem=message), exc.status
    campaigns.remember_choice(current_user, campaign)
    db.session.commit()
    flash(gettext("The campaign “%(name)s” has started: %(count)s units.", name=campaign.name(_language()),
                  count=_units_enrolled([campaign.id]).get(campaign.id, 0)), "success")
    return redirect(url_for("web.home"))


@web.post("/campaigns/<int:campaign_id>/close")
@login_required
@idempotent
def close_campaign(campaign_id: int):
    campaign = campaigns.campaign_or_404(campaign_id, current_user)
    if not permissions.can_manage_campaign(current_user, campaign):
        abort(403)
    form = CloseForm()
    if not form.validate():
        abort(400)
    if request.form.get("confirm") != "1":
        flash(gettext("Tick the box to confirm that the campaign is over."), "error")
        return redirect(url_for("web.campaign_list"))
    try:
        campaigns.close_campaign(campaign, actor=current_user, version=form.version.data)
    except OperationError as exc:
        db.session.rollback()
        if exc.status == 403:
            raise
        flash(describe(exc.code, exc.params), "error")
        return redirect(url_for("web.campaign_list"))
    db.session.commit()
    flash(gettext("The campaign “%(name)s” is closed: it stays readable and exportable, and takes no more "
                  "changes.", name=campaign.name(_language())), "success")
    return redirect(url_for("web.campaign_list"))


@web.app_context_processor
def _campaign_switcher():
    def switcher():
        """The campaigns the header offers and the one shown (one query, kept for the request)."""
        if not current_user.is_authenticated:
            return None
        try:
            shown = campaigns.chosen_campaign()
        except OperationError:  # the page is the answer to an unknown ?campaign=: show the list
            shown = None
        found = campaigns.campaigns_for(current_user)
        return {"shown": shown, "campaigns": found} if found else None
    return {"campaign_switcher": switcher, "campaign_language": _language}

