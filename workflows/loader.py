"""Load workflow definitions from YAML and validate them.

Validation collects every problem, one line each, naming the file, the step and the problem,
so ``flask workflows check`` can print them all at once.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .deadlines import DEFAULT_CALENDAR, Deadline, DeadlineKind, WorkingCalendar
from .documents import DOCUMENT_KINDS
from .lifecycle import Approver, ProblemsError, parse_approver
from .rules import AUTO_RULE_SUBJECTS, AUTO_RULES, LIFECYCLE

DEFINITIONS_DIR = Path(__file__).parent / "definitions"

SUBJECTS = ("unit", "branch")
#: Dates a due rule may count from, per subject. ``congress`` is the unit's planned congress
#: date, ``branch_congress`` a branch's; each falls back to the next when unknown.
ANCHORS = {
    "unit": ("deadline", "congress", "campaign_start"),
    "branch": ("deadline", "congress", "campaign_start", "branch_congress"),
}
ANCHOR_FALLBACK = {"branch_congress": "congress", "congress": "deadline"}
DAY_KINDS = ("calendar", "working")
#: the levels of the units a campaign covers (congress.progress.models.LEVELS says the same)
LEVELS = ("commune", "province")


class DefinitionError(ProblemsError):
    """A workflow definition has problems."""


@dataclass(frozen=True)
class DueRule:
    """Either a fixed deadline, or an offset in days from an anchor date."""
    fixed: Deadline | None = None
    anchor: str | None = None
    offset: int = 0
    days: str = "calendar"

    def resolve(self, anchors: Mapping[str, Deadline | None],
                calendar: WorkingCalendar = DEFAULT_CALENDAR) -> Deadline | None:
        """The step's deadline given the subject's anchor dates (None if none is known)."""
        if self.fixed is not None:
            return self.fixed
        name: str | None = self.anchor
        base = None
        while name is not None and base is None:
            base = anchors.get(name)
            name = ANCHOR_FALLBACK.get(name)
        if base is None:
            return None
        if self.offset == 0:
            return base
        start = base.last_allowed_day
        if self.days == "working":
            return Deadline(calendar.add_working_days(start, self.offset), DeadlineKind.BY)
        return Deadline(start + timedelta(days=self.offset), DeadlineKind.BY)

    def as_dict(self) -> dict:
        if self.fixed is not None:
            return {"date": self.fixed.day.isoformat(), "kind": self.fixed.kind.value}
        return {"from": self.anchor, "offset": self.offset, "days": self.days}


@dataclass(frozen=True)
class StepDefinition:
    key: str
    title_vi: str
    title_en: str
    phase: str
    requires: tuple[str, ...]
    due: DueRule | None
    approval: bool
    document: str | None
    weight: int
    done_when: str | None
    #: False for a step that can never be marked not applicable (the congress itself)
    skippable: bool = True

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_vi


@dataclass(frozen=True)
class Phase:
    key: str
    title_vi: str
    title_en: str


@dataclass(frozen=True)
class DraftFacts:
    """How the drafts of one document kind move the workflow: the step its first upload starts,
    and the approval step its submission submits and the city's verdict approves or returns."""
    kind: str
    starts: str | None = None
    approved_by: str | None = None


@dataclass(frozen=True)
class CongressFacts:
    """The step that is the congress itself: it is completed on the planned congress date, once the
    city approved every document kind named here (or recorded an exception to it, which waives the
    kind's approval step with the same reason)."""
    step: str
    needs_approved: tuple[str, ...] = ()


#: Where a unit's roll-up steps read their children: its own subordinate branches (each following
#: the ``workflow`` named), or the lower-level units of the campaign's child campaign.
CHILD_SOURCES = ("branches", "units")


@dataclass(frozen=True)
class ChildrenFacts:
    """The subordinate organisations a unit's roll-up steps count ("done_when: all_children_held")."""
    source: str
    label_vi: str
    label_en: str
    #: branches: the workflow each branch follows
    workflow: str | None = None
    #: units: the level the child campaign covers, and the step of its workflow that says a
    #: child held its congress
    level: str | None = None
    held_step: str | None = None

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_vi


IMPLIED_BRANCHES = ChildrenFacts("branches", "chi bộ, đảng bộ bộ phận", "branches")


@dataclass(frozen=True)
class WorkflowDefinition:
    key: str
    version: int
    subject: str
    title_vi: str
    title_en: str
    phases: tuple[Phase, ...]
    steps: tuple[StepDefinition, ...]
    source: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: document kinds drafted in versions, and the steps their drafts move
    drafts: Mapping[str, DraftFacts] = field(default_factory=dict, compare=False)
    #: the step a closed comment round completes
    comment_round_step: str | None = None
    congress: CongressFacts | None = None
    #: the subordinate organisations the roll-up steps count (None: the units have none tracked)
    children: ChildrenFacts | None = None
    #: the document kinds the workflow produces, in the order they are offered
    documents: tuple[str, ...] = ()
    #: the organisation and level of the units a campaign of this workflow covers
    organisation: str = "party"
    level: str = "commune"
    #: who decides the steps its units submit (the level above them); a definition that names
    #: none has the lifecycle's (the city's party committee)
    approver: Approver = LIFECYCLE.approver

    def draft_of_approval(self, step_key: str) -> str | None:
        """The document kind whose approved draft an approval step records, if any."""
        return next((d.kind for d in self.drafts.values() if d.approved_by == step_key), None)

    @property
    def checksum(self) -> str:
        """Stable hash of the definition's content: a changed YAML gives a new checksum."""
        text = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def step(self, key: str) -> StepDefinition:
        try:
            return self._steps_by_key[key]
        except KeyError:
            raise KeyError(key) from None

    # A definition never changes once built: its lookups are computed once, on first use.
    @cached_property
    def _steps_by_key(self) -> dict[str, StepDefinition]:
        return {s.key: s for s in self.steps}

    @cached_property
    def step_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.steps)

    @cached_property
    def step_order(self) -> dict[str, int]:
        """Each step key's position in the definition, for sorting a unit's steps."""
        return {key: i for i, key in enumerate(self.step_keys)}

    @property
    def total_weight(self) -> int:
        return sum(s.weight for s in self.steps)


def _title(raw: Any, where: str, problems: list[str]) -> tuple[str, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("vi"), str) or not isinstance(raw.get("en"), str):
        problems.append(f"{where}: title needs both 'vi' and 'en' text")
        return "", ""
    return raw["vi"].strip(), raw["en"].strip()


def _due_rule(raw: Any, subject: str, where: str, problems: list[str]) -> DueRule | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: bad due rule: expected a mapping with 'from' or 'date'")
        return None
    if "date" in raw:
        unknown = set(raw) - {"date", "kind"}
        value = raw["date"]
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        kind = raw.get("kind", "by")
        if unknown:
            problems.append(f"{where}: bad due rule: unknown field(s) {', '.join(sorted(unknown))}")
        elif not isinstance(value, date):
            problems.append(f"{where}: bad due rule: date {raw['date']!r} is not a YYYY-MM-DD date")
        elif kind not in ("before", "by"):
            problems.append(f"{where}: bad due rule: kind {kind!r} must be 'before' or 'by'")
        else:
            return DueRule(fixed=Deadline(value, DeadlineKind(kind)))
        return None
    unknown = set(raw) - {"from", "offset", "days"}
    anchor, offset, days = raw.get("from"), raw.get("offset", 0), raw.get("days", "calendar")
    if unknown:
        problems.append(f"{where}: bad due rule: unknown field(s) {', '.join(sorted(unknown))}")
    elif anchor not in ANCHORS[subject]:
        problems.append(f"{where}: bad due rule: 'from' must be one of {', '.join(ANCHORS[subject])}, "
                        f"not {anchor!r}")
    elif not isinstance(offset, int) or isinstance(offset, bool):
        problems.append(f"{where}: bad due rule: offset {offset!r} is not a whole number of days")
    elif days not in DAY_KINDS:
        problems.append(f"{where}: bad due rule: days {days!r} must be 'calendar' or 'working'")
    else:
        return DueRule(anchor=anchor, offset=offset, days=days)
    return None


def _find_cycle(requires: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A cycle among prerequisites as a list of keys (first == last), or None."""
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(key: str) -> list[str] | None:
        colour[key] = 1
        stack.append(key)
        for nxt in requires.get(key, ()):
            if nxt not in requires:
                continue
            if colour.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if colour.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[key] = 2
        return None

    for key in requires:
        if colour.get(key) is None:
            found = visit(key)
            if found:
                return found
    return None


def parse_definition(raw: Any, source: str) -> WorkflowDefinition:
    """Build a definition from parsed YAML, or raise DefinitionError listing every problem."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise DefinitionError([f"{source}: the file must hold a mapping with key, subject, phases, steps"])
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        problems.append(f"{source}: missing workflow 'key'")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"{source}: 'version' must be a whole number from 1")
    subject = raw.get("subject")
    if subject not in SUBJECTS:
        problems.append(f"{source}: 'subject' must be 'unit' or 'branch', not {subject!r}")
        subject = "unit"
    title_vi, title_en = _title(raw.get("title"), source, problems)

    phases: list[Phase] = []
    for i, item in enumerate(raw.get("phases") or []):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            problems.append(f"{source}: phase #{i + 1} needs a 'key'")
            continue
        vi, en = _title(item.get("title"), f"{source}: phase '{item['key']}'", problems)
        phases.append(Phase(item["key"], vi, en))
    phase_keys = {p.key for p in phases}
    if not phases:
        problems.append(f"{source}: no phases defined")

    steps: list[StepDefinition] = []
    seen: set[str] = set()
    raw_steps = raw.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(f"{source}: no steps defined")
        raw_steps = []
    for i, item in enumerate(raw_steps):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            problems.append(f"{source}: step #{i + 1}: missing 'key'")
            continue
        skey = item["key"]
        where = f"{source}: step '{skey}'"
        if skey in seen:
            problems.append(f"{where}: duplicate key")
            continue
        seen.add(skey)
        unknown_fields = set(item) - {"key", "title", "phase", "requires", "due", "approval",
                                      "document", "weight", "done_when", "skippable"}
        if unknown_fields:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown_fields))}")
        vi, en = _title(item.get("title"), where, problems)
        phase = item.get("phase")
        if phase not in phase_keys:
            problems.append(f"{where}: unknown phase {phase!r}")
        requires = item.get("requires") or []
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            problems.append(f"{where}: 'requires' must be a list of step keys")
            requires = []
        due = _due_rule(item.get("due"), subject, where, problems)
        approval = item.get("approval", False)
        if not isinstance(approval, bool):
            problems.append(f"{where}: 'approval' must be true or false")
            approval = False
        document = item.get("document")
        if document is not None and document not in DOCUMENT_KINDS:
            problems.append(f"{where}: unknown document kind {document!r}")
        weight = item.get("weight", 1)
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
            problems.append(f"{where}: weight {weight!r} must be a whole number from 1")
            weight = 1
        done_when = item.get("done_when")
        if done_when is not None:
            if done_when not in AUTO_RULES:
                problems.append(f"{where}: unknown done_when rule {done_when!r}")
            elif AUTO_RULE_SUBJECTS[done_when] != subject:
                problems.append(f"{where}: done_when rule {done_when!r} does not apply to a {subject}")
            elif done_when == "all_children_held" and not raw.get("children"):
                problems.append(f"{where}: done_when rule {done_when!r} needs a 'children' section saying "
                                "what it counts")
        skippable = item.get("skippable", True)
        if not isinstance(skippable, bool):
            problems.append(f"{where}: 'skippable' must be true or false")
            skippable = True
        steps.append(StepDefinition(skey, vi, en, phase, tuple(requires), due, approval,
                                    document, weight, done_when, skippable))

    keys = {s.key for s in steps}
    for step in steps:
        for req in step.requires:
            if req not in keys:
                problems.append(f"{source}: step '{step.key}': unknown prerequisite '{req}'")
            elif req == step.key:
                problems.append(f"{source}: step '{step.key}': requires itself")
    cycle = _find_cycle({s.key: tuple(r for r in s.requires if r != s.key) for s in steps})
    if cycle:
        problems.append(f"{source}: step '{cycle[0]}': prerequisites form a cycle: {' -> '.join(cycle)}")
    by_key = {s.key: s for s in steps}
    drafts = _drafts(raw.get("drafts"), by_key, source, problems)
    comment_round_step = _comment_rounds(raw.get("comment_rounds"), by_key, source, problems)
    congress = _congress(raw.get("congress"), by_key, drafts, source, problems)
    children = _children(raw.get("children"), subject, source, problems)
    if children is None and any(s.done_when == "all_branches_held" for s in steps):
        children = IMPLIED_BRANCHES  # a definition written before "children" was
    if children is not None and children.source != "branches" and any(
            s.done_when == "all_branches_held" for s in steps):
        problems.append(f"{source}: 'all_branches_held' counts branches, but 'children' reads {children.source}")
    documents = _documents(raw.get("documents"), steps, drafts, source, problems)
    organisation = raw.get("organisation", "party")
    if not isinstance(organisation, str) or not organisation:
        problems.append(f"{source}: 'organisation' must name the organisation (party, fatherland_front ...)")
        organisation = "party"
    level = raw.get("level", "commune")
    if level not in LEVELS:
        problems.append(f"{source}: 'level' must be one of {', '.join(LEVELS)}, not {level!r}")
        level = "commune"
    approver = LIFECYCLE.approver
    if "approver" in raw:
        if subject != "unit":
            problems.append(f"{source}: only a unit's workflow names its 'approver' (a branch's steps go to "
                            "its unit)")
        approver = parse_approver(raw["approver"], source, problems) or approver
    unknown_top = set(raw) - {"key", "version", "subject", "title", "phases", "steps", "drafts",
                              "comment_rounds", "congress", "children", "documents", "organisation",
                              "level", "approver"}
    if unknown_top:
        problems.append(f"{source}: unknown field(s) {', '.join(sorted(unknown_top))}")
    if problems:
        raise DefinitionError(problems)
    return WorkflowDefinition(key, version, subject, title_vi, title_en, tuple(phases), tuple(steps),
                              source, raw, drafts, comment_round_step, congress, children, documents,
                              organisation, level, approver)


def _children(raw: Any, subject: str, source: str, problems: list[str]) -> ChildrenFacts | None:
    if raw is None:
        return None
    where = f"{source}: children"
    allowed = {"source", "label", "workflow", "level", "held_step"}
    if not isinstance(raw, dict) or set(raw) - allowed:
        problems.append(f"{where}: takes only {', '.join(sorted(allowed))}")
        return None
    if subject != "unit":
        problems.append(f"{where}: only a unit's workflow has children")
    kind = raw.get("source")
    if kind not in CHILD_SOURCES:
        problems.append(f"{where}: 'source' must be one of {', '.join(CHILD_SOURCES)}, not {kind!r}")
        return None
    vi, en = _title(raw.get("label"), f"{where} 'label'", problems)
    if kind == "branches":
        workflow = raw.get("workflow")
        if not isinstance(workflow, str) or not workflow or "level" in raw or "held_step" in raw:
            problems.append(f"{where}: branches name the 'workflow' each branch follows (and no level or held_step)")
            return None
        return ChildrenFacts(kind, vi, en, workflow=workflow)
    level, held = raw.get("level"), raw.get("held_step")
    if level not in LEVELS or not isinstance(held, str) or not held or "workflow" in raw:
        problems.append(f"{where}: units name the 'level' of the child campaign ({', '.join(LEVELS)}) and "
                        "its 'held_step' (and no workflow)")
        return None
    return ChildrenFacts(kind, vi, en, level=level, held_step=held)


def _documents(raw: Any, steps, drafts, source: str, problems: list[str]) -> tuple[str, ...]:
    """The document set: as listed, else every kind a step or a draft names, in order."""
    if raw is None:
        named = [s.document for s in steps if s.document] + list(drafts)
        return tuple(dict.fromkeys(named))
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        problems.append(f"{source}: 'documents' must be a list of document kinds")
        return ()
    for kind in raw:
        if kind not in DOCUMENT_KINDS:
            problems.append(f"{source}: documents: unknown document kind {kind!r}")
    for kind in [s.document for s in steps if s.document] + list(drafts):
        if kind not in raw:
            problems.append(f"{source}: documents: {kind!r} is produced by a step or drafted but not listed")
    return tuple(dict.fromkeys(raw))


def _step_ref(value: Any, by_key: Mapping[str, StepDefinition], where: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if value not in by_key:
        problems.append(f"{where}: unknown step {value!r}")
        return None
    return value


def _drafts(raw: Any, by_key: Mapping[str, StepDefinition], source: str,
            problems: list[str]) -> dict[str, DraftFacts]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{source}: 'drafts' must map document kinds to the steps they move")
        return {}
    found = {}
    for kind, item in raw.items():
        where = f"{source}: drafts '{kind}'"
        if kind not in DOCUMENT_KINDS:
            problems.append(f"{where}: unknown document kind")
            continue
        item = item or {}
        if not isinstance(item, dict) or set(item) - {"starts", "approved_by"}:
            problems.append(f"{where}: only 'starts' and 'approved_by' may be given")
            continue
        starts = _step_ref(item.get("starts"), by_key, f"{where}: 'starts'", problems)
        approved_by = _step_ref(item.get("approved_by"), by_key, f"{where}: 'approved_by'", problems)
        if approved_by is not None and not by_key[approved_by].approval:
            problems.append(f"{where}: 'approved_by' step '{approved_by}' is not a step the city approves")
        found[kind] = DraftFacts(kind, starts, approved_by)
    taken = [d.approved_by for d in found.values() if d.approved_by]
    for step_key in sorted({k for k in taken if taken.count(k) > 1}):
        problems.append(f"{source}: step '{step_key}' records the approval of more than one draft kind")
    return found


def _comment_rounds(raw: Any, by_key, source: str, problems: list[str]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"completes"}:
        problems.append(f"{source}: 'comment_rounds' takes only 'completes' (a step key)")
        return None
    return _step_ref(raw.get("completes"), by_key, f"{source}: comment_rounds 'completes'", problems)


def _congress(raw: Any, by_key, drafts: Mapping[str, DraftFacts], source: str,
              problems: list[str]) -> CongressFacts | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"step", "needs_approved"}:
        problems.append(f"{source}: 'congress' takes 'step' and 'needs_approved'")
        return None
    step = _step_ref(raw.get("step"), by_key, f"{source}: congress 'step'", problems)
    needs = raw.get("needs_approved") or []
    if not isinstance(needs, list):
        problems.append(f"{source}: congress 'needs_approved' must be a list of draft kinds")
        needs = []
    for kind in needs:
        if kind not in drafts or drafts[kind].approved_by is None:
            problems.append(f"{source}: congress 'needs_approved': {kind!r} is not a draft kind with an "
                            "'approved_by' step")
    if step is None:
        return None
    if by_key[step].skippable:
        problems.append(f"{source}: step '{step}': the congress itself must be 'skippable: false'")
    return CongressFacts(step, tuple(needs))


def load_file(path: Path) -> WorkflowDefinition:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DefinitionError([f"{path.name}: cannot read the file: {exc}".splitlines()[0]]) from exc
    return parse_definition(raw, path.name)


def load_all(directory: Path = DEFINITIONS_DIR) -> dict[str, WorkflowDefinition]:
    """Every definition in ``directory``, keyed by workflow key; DefinitionError lists all problems."""
    problems: list[str] = []
    found: dict[str, WorkflowDefinition] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            definition = load_file(path)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if definition.key in found:
            problems.append(f"{path.name}: workflow key '{definition.key}' is already defined in "
                            f"{found[definition.key].source}")
            continue
        found[definition.key] = definition
    if problems:
        raise DefinitionError(problems)
    return found


def definition_from_snapshot(body: Mapping[str, Any], source: str = "snapshot") -> WorkflowDefinition:
    """Rebuild a definition from the copy stored with a unit's steps."""
    return parse_definition(dict(body), source)
