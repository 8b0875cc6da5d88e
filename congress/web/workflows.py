"""Workflow definitions as managed data, for administrators: every workflow and its stored
revisions, uploading a definition (validated, stored once per content), the difference between two
revisions, and moving a campaign's units to another revision (previewed, then confirmed).

The logic is congress/progress/versions.py's (the same as ``flask versions``); these pages only
put it into words."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from congress.accounts import permissions
from congress.errors import OperationError, Unprocessable
from congress.extensions import db
from congress.idempotency import idempotent
from congress.messages import describe
from congress.progress import campaigns as campaign_ops
from congress.progress import versions
from congress.progress.definitions import definitions
from congress.progress.models import Campaign, Preparation, WorkflowVersion
from workflows.loader import WorkflowDefinition

from . import web
from .campaigns import _language
from .forms import ChoiceField, KeyedForm

#: the largest definition a page takes (a shipped one is about 20 KB)
UPLOAD_LIMIT = 256 * 1024
#: a preview lists every unit; past this many they are folded away
UNITS_SHOWN_OPEN = 30

FIELD_LABELS = {
    "title": _l("Step title"), "requires": _l("Prerequisites"), "due": _l("Due"), "approval": _l("City approval"),
    "done_when": _l("Done automatically when"), "weight": _l("Weight"), "document": _l("Document"),
    "phase": _l("Phase"), "skippable": _l("May be marked not applicable"),
}
ANCHOR_LABELS = {"deadline": _l("the deadline"), "congress": _l("the congress date"),
                 "campaign_start": _l("the campaign's start"), "branch_congress": _l("the branch's congress date")}
SUBJECT_LABELS = {"unit": _l("units"), "branch": _l("branches")}


def _admin_only() -> None:
    """Workflow definitions are managed by administrators (as document templates are)."""
    if not permissions.can_manage_templates(current_user):
        abort(403)


def _stamp(value: datetime | None) -> datetime | None:
    """A stored time, read back without its zone on SQLite: it was written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


# --- the forms ----------------------------------------------------------------------------------

class UploadForm(KeyedForm):
    #: its size is checked with the file's (no maxlength: a counter of 262,144 characters says nothing)
    text = TextAreaField(_l("Or paste the definition (YAML)"), validators=[Optional()],
                         render_kw={"rows": 8, "spellcheck": "false", "class": "code-input"})


class MigrateForm(KeyedForm):
    campaign = ChoiceField(_l("Campaign"))
    target = ChoiceField(_l("Revision to move its units to"))


def _revision_value(version: WorkflowVersion) -> str:
    return f"{version.key}:{version.revision}"


def _parse_revision_value(value: str | None) -> tuple[str, int] | None:
    key, _, number = (value or "").rpartition(":")
    if not key or not number.isdigit() or len(number) > 9:
        return None
    return key, int(number)


def _migrate_form(formdata=None, data: dict | None = None) -> MigrateForm:
    form = MigrateForm(formdata=formdata, data=data or {})
    language = _language()
    form.campaign.choices = [
        SelectChoice(str(c.id), c.name(language) + (f" · {c.province.name}" if c.province else "")
                     + (f" ({gettext('closed')})" if c.is_closed else ""))
        for c in campaign_ops.campaigns_for(current_user)]
    found = db.session.execute(sa.select(WorkflowVersion.key, WorkflowVersion.revision,
                                         WorkflowVersion.declared_version)
                               .order_by(WorkflowVersion.key, WorkflowVersion.revision.desc())).all()
    form.target.choices = [SelectChoice(f"{key}:{revision}", gettext(
        "%(key)s r%(revision)s (version %(declared)s)", key=key, revision=revision, declared=declared))
        for key, revision, declared in found]
    return form


# --- the list -----------------------------------------------------------------------------------

@dataclass
class Revision:
    version: WorkflowVersion
    definition: WorkflowDefinition
    #: (campaign, preparations) for each campaign whose units follow it
    uses: list[tuple[Campaign, int]] = field(default_factory=list)

    @property
    def preparations(self) -> int:
        return sum(count for _, count in self.uses)


@dataclass
class Workflow:
    key: str
    #: the file shipped in workflows/definitions (None: uploaded only)
    shipped: WorkflowDefinition | None
    #: newest first
    revisions: list[Revision] = field(default_factory=list)

    @property
    def newest(self) -> WorkflowDefinition | None:
        return self.revisions[0].definition if self.revisions else self.shipped

    @property
    def file_revision(self) -> int | None:
        """The stored revision the shipped file's content is (None: not stored yet)."""
        if self.shipped is None:
            return None
        return next((r.version.revision for r in self.revisions if r.version.checksum == self.shipped.checksum), None)

    def title(self, language: str) -> str:
        found = self.newest
        return (found.title_en if language == "en" else found.title_vi) if found is not None else self.key


def _uses() -> dict[int, list[tuple[int, int]]]:
    """version id -> [(campaign id, preparations)]: two grouped queries, however many revisions."""
    found: dict[int, list[tuple[int, int]]] = {}
    for column in (Preparation.workflow_version_id, Preparation.branch_workflow_version_id):
        rows = db.session.execute(sa.select(column, Preparation.campaign_id, sa.func.count())
                                  .where(column.is_not(None)).group_by(column, Preparation.campaign_id))
        for version_id, campaign_id, count in rows:
            found.setdefault(version_id, []).append((campaign_id, count))
    return found


def _campaigns_by_id(ids: set[int]) -> dict[int, Campaign]:
    known = {c.id: c for c in campaign_ops.campaigns_for(current_user)}
    missing = ids - set(known)
    if missing:
        known.update({c.id: c for c in db.session.execute(
            db.select(Campaign).where(Campaign.id.in_(missing))).scalars()})
    return known


def _workflows() -> list[Workflow]:
    shipped = definitions()
    stored = db.session.execute(db.select(WorkflowVersion).order_by(
        WorkflowVersion.key, WorkflowVersion.revision.desc())).scalars().all()
    uses = _uses()
    by_id = _campaigns_by_id({campaign_id for found in uses.values() for campaign_id, _ in found})
    found: dict[str, Workflow] = {key: Workflow(key, definition) for key, definition in shipped.items()}
    for version in stored:
        workflow = found.setdefault(version.key, Workflow(version.key, None))
        revision = Revision(version, version.definition())
        revision.uses = sorted(((by_id[c], n) for c, n in uses.get(version.id, []) if c in by_id),
                               key=lambda item: (item[0].is_closed, -item[0].starts_on.toordinal(), -item[0].id))
        workflow.revisions.append(revision)
    return [found[key] for key in sorted(found)]


def _list_page(upload: UploadForm | None = None, problems: list[str] | None = None, status: int = 200):
    return render_template("workflows/list.html", workflows=_workflows(), upload=upload or UploadForm(formdata=None),
                           problems=problems, language=_language(), subject_labels=SUBJECT_LABELS,
                           stamp=_stamp, upload_limit=UPLOAD_LIMIT), status


@web.get("/workflows")
@login_required
def workflows():
    """Every workflow, shipped or uploaded, with its stored revisions and who follows each."""
    _admin_only()
    return _list_page()


# --- uploading ----------------------------------------------------------------------------------

def _uploaded_text(form: UploadForm) -> tuple[str | None, str, list[str]]:
    """(text, source, problems) of the upload: a .yaml file, or pasted text, not both."""
    upload = request.files.get("file")
    pasted = (form.text.data or "").strip()
    if upload is not None and upload.filename:
        if pasted:
            return None, "", [gettext("Upload a file or paste the text, not both.")]
        name = PurePath(upload.filename.replace("\\", "/")).name.strip() or "upload"
        with upload.stream:
            content = upload.stream.read(UPLOAD_LIMIT + 1)
        if len(content) > UPLOAD_LIMIT:
            return None, name, [gettext("%(name)s: the file is larger than %(limit)s KB.", name=name,
                                        limit=UPLOAD_LIMIT // 1024)]
        try:
            return content.decode("utf-8-sig"), name, []
        except UnicodeDecodeError as exc:
            return None, name, [f"{name}: cannot read the file: {exc}".splitlines()[0]]
    if pasted:
        text = form.text.data.replace("\r\n", "\n")
        if len(text.encode()) > UPLOAD_LIMIT:
            return None, "upload", [gettext("%(name)s: the file is larger than %(limit)s KB.", name="upload",
                                            limit=UPLOAD_LIMIT // 1024)]
        return text, "upload", []
    return None, "", [gettext("Choose a .yaml file or paste the definition.")]


@web.post("/workflows")
@login_required
@idempotent
def upload_workflow():
    """Store a definition as the next revision of its workflow: validated first; the same content
    again is the revision already stored. Audited (workflow.add) by the operation."""
    _admin_only()
    form = UploadForm()
    if not form.validate():
        problems = [str(error) for errors in form.errors.values() for error in errors]
        return _list_page(form, problems, 422)
    text, source, problems = _uploaded_text(form)
    if problems:
        return _list_page(form, problems, 422)
    try:
        added = versions.store_definition(text, source, current_user._get_current_object())
    except OperationError as exc:
        db.session.rollback()
        if exc.code != "workflow_invalid":
            raise
        return _list_page(form, list(exc.params["problems"]), 422)
    version = added.version
    label = f"{version.key} r{version.revision}"
    db.session.commit()
    if added.new:
        flash(gettext("The definition is stored as %(label)s (version %(declared)s).", label=label,
                      declared=version.declared_version), "success")
    else:
        flash(gettext("This definition is already stored as %(label)s: nothing was stored.", label=label), "info")
    return redirect(url_for("web.workflows") + f"#wf-{version.key}")


# --- one revision, and the difference between two -------------------------------------------------

def _revisions_of(key: str) -> list[WorkflowVersion]:
    found = db.session.execute(db.select(WorkflowVersion).filter_by(key=key)
                               .order_by(WorkflowVersion.revision.desc())).scalars().all()
    if not found:
        versions.version_of(key, 1)  # says whether the key is unknown or only not stored yet
    return found


@web.get("/workflows/<key>/r<int:revision>")
@login_required
def workflow_revision(key: str, revision: int):
    """One stored revision as YAML (as stored: the comments of the file are not kept)."""
    _admin_only()
    version = versions.version_of(key, revision)
    return render_template("workflows/revision.html", version=version, definition=version.definition(),
                           text=versions.as_yaml(version), stamp=_stamp, language=_language(),
                           subject_labels=SUBJECT_LABELS)


def _title_of(definition: WorkflowDefinition, step_key: str, language: str) -> str:
    try:
        return definition.step(step_key).title(language)
    except KeyError:
        return ""


def _phase_title(definition: WorkflowDefinition, key: str | None, language: str) -> str:
    for phase in definition.phases:
        if phase.key == key:
            return f"{phase.title_en if language == 'en' else phase.title_vi} ({key})"
    return key or gettext("none")


def due_words(due: dict | None) -> str:
    """A due rule as a person says it: "5 days before the congress date", "by 20/8/2025"."""
    from congress.formatting import short_date

    if not due:
        return gettext("no due date")
    if "date" in due:
        from datetime import date

        day = short_date(date.fromisoformat(due["date"]))
        return gettext("before %(day)s", day=day) if due.get("kind") == "before" else gettext("by %(day)s", day=day)
    anchor = str(ANCHOR_LABELS.get(due.get("from"), due.get("from")))
    offset, working = int(due.get("offset") or 0), due.get("days") == "working"
    if offset == 0:
        return gettext("on %(anchor)s", anchor=anchor)
    count = abs(offset)
    if working:
        amount = ngettext("%(num)s working day", "%(num)s working days", count)
    else:
        amount = ngettext("%(num)s day", "%(num)s days", count)
    if offset < 0:
        return gettext("%(amount)s before %(anchor)s", amount=amount, anchor=anchor)
    return gettext("%(amount)s after %(anchor)s", amount=amount, anchor=anchor)


def _value_words(name: str, value: Any, definition: WorkflowDefinition, language: str) -> str:
    if name == "due":
        return due_words(value)
    if name in ("approval", "skippable"):
        return gettext("yes") if value else gettext("no")
    if name == "requires":
        return ", ".join(value) if value else gettext("none")
    if name == "phase":
        return _phase_title(definition, value, language)
    if value is None or value == "":
        return gettext("none")
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


def _field_changes(change, old: WorkflowDefinition, new: WorkflowDefinition, language: str) -> list[FieldChange]:
    found = []
    for name, (before, after) in change.fields.items():
        if name == "title":
            for part, label in (("vi", gettext("Step title (Vietnamese)")), ("en", gettext("Step title (English)"))):
                if before.get(part) != after.get(part):
                    found.append(FieldChange(label, before.get(part) or "", after.get(part) or ""))
            continue
        found.append(FieldChange(str(FIELD_LABELS.get(name, name)), _value_words(name, before, old, language),
                                 _value_words(name, after, new, language)))
    return found


def diff_lines(text: str) -> list[tuple[str, str]]:
    """The unified diff's lines, each with its kind: file, hunk, added, removed or same."""
    found = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "added"
        elif line.startswith("-"):
            kind = "removed"
        else:
            kind = "same"
        found.append((kind, line))
    return found


@web.get("/workflows/<key>/diff")
@login_required
def workflow_diff(key: str):
    """What changed between two revisions (default: the newest and the one before)."""
    _admin_only()
    revisions = _revisions_of(key)
    newest = revisions[0]
    to_number = request.args.get("to", type=int)
    from_number = request.args.get("from", type=int)
    new = versions.version_of(key, to_number) if to_number is not None else newest
    if from_number is None:
        from_number = new.revision - 1
    language = _language()
    context = {"key": key, "revisions": revisions, "new": new, "language": language}
    if from_number < 1:
        return render_template("workflows/diff.html", old=None, found=None, **context)
    old = versions.version_of(key, from_number)
    found = versions.diff_versions(old, new)
    before, after = old.definition(), new.definition()
    return render_template(
        "workflows/diff.html", old=old, found=found, lines=diff_lines(found.text),
        added=[(k, _title_of(after, k, language)) for k in found.steps_added],
        removed=[(k, _title_of(before, k, language)) for k in found.steps_removed],
        changed=[(c.key, _title_of(after, c.key, language), _field_changes(c, before, after, language))
                 for c in found.steps_changed],
        phases_added=[_phase_title(after, k, language) for k in found.phases_added],
        phases_removed=[_phase_title(before, k, language) for k in found.phases_removed], **context)


# --- moving a campaign's units to another revision ---------------------------------------------------

@dataclass
class MoveSummary:
    """The steps a plan adds or drops, each with its title and how many units it concerns."""
    key: str
    title: str
    units: int


@dataclass(frozen=True)
class Blocker:
    """A step that stops a migration: dropped with its progress on record ("lose"), or kept
    waiting on a verdict the new revision no longer asks for ("strand")."""
    unit: Any
    move: Any
    title: str
    kind: str


def _step_name(definition: WorkflowDefinition, key: str, language: str) -> str:
    title = _title_of(definition, key, language)
    return f"{title} ({key})" if title else key


def _summary(plan, kind: str, language: str) -> list[MoveSummary]:
    counts: dict[str, int] = {}
    titles: dict[str, str] = {}
    for unit in plan.units:
        moves = unit.add if kind == "add" else unit.drop
        definition = plan.to_version.definition() if kind == "add" else unit.from_version.definition()
        for key in dict.fromkeys(m.key for m in moves):
            counts[key] = counts.get(key, 0) + 1
            titles.setdefault(key, _title_of(definition, key, language))
    return [MoveSummary(key, titles[key], count) for key, count in counts.items()]


def _migration_page(form: MigrateForm, *, plan=None, campaign: Campaign | None = None, problem: str | None = None,
                    status: int = 200):
    language = _language()
    context = {"form": form, "plan": plan, "campaign": campaign, "problem": problem, "language": language,
               "units_open": UNITS_SHOWN_OPEN}
    if plan is not None:
        target = plan.to_version.definition()
        warnings: dict[tuple[str, str], int] = {}
        for _unit, warning in plan.warnings:
            pair = (warning.step, warning.prerequisite)
            warnings[pair] = warnings.get(pair, 0) + 1
        blockers = [Blocker(u, m, _title_of(u.from_version.definition(), m.key, language), "lose")
                    for u, m in plan.blockers]
        blockers += [Blocker(u, m, _title_of(target, m.key, language), "strand") for u, m in plan.stranded]
        context.update(added=_summary(plan, "add", language), dropped=_summary(plan, "drop", language),
                       blockers=blockers,
                       warnings=[(_step_name(target, step, language), _step_name(target, prerequisite, language), n)
                                 for (step, prerequisite), n in warnings.items()],
                       units=sorted(plan.units, key=lambda u: not (u.blockers or u.stranded)))
    return render_template("workflows/migrate.html", **context), status


def _target_for(campaign: Campaign, value: str | None) -> tuple[WorkflowVersion, str]:
    """The chosen revision and the scope it moves (the units' own steps, or their branches')."""
    parsed = _parse_revision_value(value)
    if parsed is None:
        abort(400)
    version = versions.version_of(*parsed)
    scope = version.definition().subject
    followed = campaign.unit_workflow if scope == "unit" else campaign.branch_workflow
    if followed != version.key:
        keys = ", ".join(k for k in (campaign.unit_workflow, campaign.branch_workflow) if k)
        raise Unprocessable("migration_wrong_workflow",
                            {"version": f"{version.key} r{version.revision}", "expected": keys})
    return version, scope


@web.route("/workflows/migrate", methods=["GET", "POST"])
@login_required
@idempotent
def migrate_workflow():
    """Move a campaign's units to another revision of their workflow: the preview says, unit by
    unit, what it adds, drops and keeps, and what blocks it; the confirmation applies it to every
    unit at once or to none."""
    _admin_only()
    if request.method == "GET":
        data = {"campaign": request.args.get("campaign", ""), "target": request.args.get("to", "")}
        return _migration_page(_migrate_form(data=data))
    form = _migrate_form(request.form)
    if not form.validate():
        return _migration_page(form, problem=gettext("Correct the fields marked below."), status=422)
    campaign = campaign_ops.campaign_or_404(form.campaign.data, current_user)
    language = _language()
    # a confirmation applies what was previewed: a choice changed since is previewed first
    confirming = (request.form.get("confirm") == "1"
                  and request.form.get("previewed") == f"{form.campaign.data}|{form.target.data}")
    try:
        target, scope = _target_for(campaign, form.target.data)
        if campaign.is_closed:
            raise Unprocessable("migration_campaign_closed", {"campaign": campaign.name(language)})
        plan = versions.migrate_campaign(campaign, target, actor=current_user._get_current_object(), scope=scope,
                                         confirm=confirming)
    except OperationError as exc:
        db.session.rollback()
        if exc.status == 403:
            raise
        plan = None
        if exc.code in ("migration_would_lose_steps", "migration_would_strand_steps", "stale_version"):
            plan = versions.migrate_campaign(campaign, target, actor=None, scope=scope)  # what blocks it, again
            db.session.rollback()
        return _migration_page(form, plan=plan, campaign=campaign, problem=describe(exc.code, exc.params),
                               status=exc.status)
    if not confirming:
        db.session.rollback()
        return _migration_page(form, plan=plan, campaign=campaign)
    moved = len(plan.units)
    db.session.commit()
    flash(ngettext("%(num)s unit of “%(campaign)s” now follows %(label)s.",
                   "%(num)s units of “%(campaign)s” now follow %(label)s.", moved,
                   campaign=campaign.name(language), label=f"{target.key} r{target.revision}")
          if moved else gettext("Every unit of “%(campaign)s” already follows %(label)s: nothing was changed.",
                                campaign=campaign.name(language), label=f"{target.key} r{target.revision}"),
          "success")
    return redirect(url_for("web.workflows") + f"#wf-{target.key}")
