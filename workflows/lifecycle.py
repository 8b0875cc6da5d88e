"""The lifecycle of a step, read from ``lifecycle.yaml``: states, actions, roles and guards.

Every surface asks this module (through :mod:`workflows.rules`), never a copy of its facts: which
actions leave a state, where they lead, who may take them and which guards may refuse them.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LIFECYCLE_FILE = Path(__file__).parent / "lifecycle.yaml"


class ProblemsError(Exception):
    """Every problem found in a file of workflows/, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class LifecycleError(ProblemsError):
    """lifecycle.yaml has problems."""


#: the one placeholder a label may hold: the words of the level that approves the step
APPROVER_PLACEHOLDER = "%(approver)s"
#: the most characters an approver's words may have (they go into badges and buttons)
APPROVER_MAX = 100


@dataclass(frozen=True)
class Approver:
    """Who decides the steps a unit submits: the level above its units, as a workflow names it
    ("approver" in its definition; lifecycle.yaml names the one a workflow without it has). The
    short words go into a step's life ("đã trình %(approver)s"); the long ones, where a sentence
    names the body in full."""
    vi: str
    en: str
    long_vi: str = ""
    long_en: str = ""

    def words(self, locale: str, long: bool = False) -> str:
        if locale == "en":
            return (self.long_en or self.en) if long else self.en
        return (self.long_vi or self.vi) if long else self.vi


def _approver_words(raw: Any) -> tuple[str, str] | None:
    """(vi, en) of {vi: ..., en: ...}, else None. No '%': the words end up in labels that are
    themselves filled in (LifecycleLabel % ...), where a '%' would be read as a placeholder."""
    if not isinstance(raw, dict) or set(raw) - {"vi", "en"}:
        return None
    words = tuple(raw.get(k) for k in ("vi", "en"))
    if not all(isinstance(w, str) and w.strip() and len(w.strip()) <= APPROVER_MAX and "%" not in w
               and "\n" not in w for w in words):
        return None
    return unicodedata.normalize("NFC", words[0].strip()), words[1].strip()


def parse_approver(raw: Any, where: str, problems: list[str]) -> Approver | None:
    """The approver a file names ({vi: ..., en: ..., long: {vi: ..., en: ...}}), or None with one
    problem line naming what is wrong."""
    short = _approver_words({k: v for k, v in raw.items() if k != "long"}) if isinstance(raw, dict) else None
    long = ("", "")
    if isinstance(raw, dict) and "long" in raw:
        long = _approver_words(raw["long"])
    if short is None or long is None:
        problems.append(f"{where}: 'approver' must give the words of the level that approves the steps, "
                        f"{{vi: ..., en: ...}} (at most {APPROVER_MAX} characters each, no '%'), and may "
                        "give them in full as long: {vi: ..., en: ...}")
        return None
    return Approver(short[0], short[1], long[0], long[1])


@dataclass(frozen=True)
class ActionRule:
    key: str
    sources: frozenset[str]  #: from these states on an ordinary step
    sources_approval: frozenset[str]  #: from these states on a step the city approves
    target: str
    dated: bool
    reason: bool
    roles: frozenset[str]
    roles_approval: frozenset[str]
    guards: tuple[str, ...]
    label_vi: str = ""
    label_en: str = ""
    #: an action that undoes a move (return, reopen)
    backward: bool = False

    def sources_for(self, approval: bool) -> frozenset[str]:
        return self.sources_approval if approval else self.sources

    def roles_for(self, approval: bool) -> frozenset[str]:
        return self.roles_approval if approval else self.roles


@dataclass(frozen=True)
class Lifecycle:
    roles: tuple[str, ...]
    states: tuple[str, ...]
    finished: frozenset[str]
    actions: Mapping[str, ActionRule]
    #: each state's words: {"vi": ..., "en": ...}, where %(approver)s names the approver
    state_labels: Mapping[str, Mapping[str, str]]
    #: the approver of a workflow that names none
    approver: Approver = Approver("", "")

    def label(self, name: str, locale: str, approver: Approver | None = None) -> str:
        """A state's or an action's words in ``locale`` (Vietnamese unless "en"), naming
        ``approver`` (by default, the approver of a workflow that names none)."""
        language = "en" if locale == "en" else "vi"
        return self.label_template(name, language) % {"approver": (approver or self.approver).words(language)}

    def names_approver(self, name: str) -> bool:
        """Whether a state's or an action's words name the approver (in either language)."""
        return any(APPROVER_PLACEHOLDER in self.label_template(name, locale) for locale in ("vi", "en"))

    def label_template(self, name: str, locale: str) -> str:
        """A state's or an action's words before the approver is put in."""
        language = "en" if locale == "en" else "vi"
        if name in self.state_labels:
            return self.state_labels[name][language]
        rule = self.actions[name]
        return rule.label_en if language == "en" else rule.label_vi


def _names(raw: Any, where: str, known: tuple[str, ...] | frozenset[str], what: str,
           problems: list[str]) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        problems.append(f"{where}: must be a list of {what}")
        return frozenset()
    for name in raw:
        if name not in known:
            problems.append(f"{where}: unknown {what[:-1]} {name!r}")
    return frozenset(raw)


def _label(raw: Any, where: str, problems: list[str]) -> tuple[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) and raw[k].strip() for k in ("vi", "en")):
        problems.append(f"{where}: 'label' needs both 'vi' and 'en' words")
        return "", ""
    words = unicodedata.normalize("NFC", raw["vi"].strip()), raw["en"].strip()
    for text in words:
        try:
            text % {"approver": ""}
        except (KeyError, TypeError, ValueError):
            problems.append(f"{where}: 'label' may name only {APPROVER_PLACEHOLDER} (and write '%' as '%%'), "
                            f"not {text!r}")
            return "", ""
    return words


def parse_lifecycle(raw: Any, *, guards: frozenset[str], states: tuple[str, ...],
                    actions: tuple[str, ...], source: str = LIFECYCLE_FILE.name) -> Lifecycle:
    """Build the lifecycle, or raise LifecycleError naming every problem, one line each.

    ``guards`` are the guard names the engine implements; ``states`` and ``actions`` the ones
    the code knows (a state or an action the code cannot handle is a problem, and so is one the
    file forgets).
    """
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise LifecycleError([f"{source}: the file must hold a mapping with roles, states, actions"])
    approver = parse_approver(raw.get("approver"), source, problems)
    roles = raw.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        problems.append(f"{source}: 'roles' must be a list of role names")
        roles = []
    raw_states = raw.get("states")
    if not isinstance(raw_states, dict):
        problems.append(f"{source}: 'states' must be a mapping")
        raw_states = {}
    if set(raw_states) != set(states):
        missing, extra = sorted(set(states) - set(raw_states)), sorted(set(raw_states) - set(states))
        problems.append(f"{source}: states must be exactly {', '.join(states)}"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(extra)}" if extra else ""))
    finished = frozenset(k for k, v in raw_states.items() if isinstance(v, dict) and v.get("finished") is True)
    state_labels = {}
    for key, value in raw_states.items():
        label = _label(value.get("label") if isinstance(value, dict) else None, f"{source}: state '{key}'", problems)
        state_labels[key] = {"vi": label[0], "en": label[1]}
    raw_actions = raw.get("actions")
    if not isinstance(raw_actions, dict):
        problems.append(f"{source}: 'actions' must be a mapping")
        raw_actions = {}
    if set(raw_actions) != set(actions):
        problems.append(f"{source}: actions must be exactly {', '.join(actions)}")
    rules: dict[str, ActionRule] = {}
    for key, item in raw_actions.items():
        where = f"{source}: action '{key}'"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        unknown = set(item) - {"label", "backward", "from", "from_approval", "to", "dated", "reason", "roles",
                               "roles_approval", "guards"}
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        sources = _names(item.get("from", []), f"{where}: 'from'", tuple(raw_states), "states", problems)
        sources_approval = _names(item.get("from_approval", []), f"{where}: 'from_approval'",
                                  tuple(raw_states), "states", problems)
        target = item.get("to")
        if target not in raw_states:
            problems.append(f"{where}: 'to' must be a state, not {target!r}")
        role_set = _names(item.get("roles", []), f"{where}: 'roles'", tuple(roles), "roles", problems)
        roles_approval = (_names(item["roles_approval"], f"{where}: 'roles_approval'", tuple(roles), "roles",
                                 problems) if "roles_approval" in item else role_set)
        guard_list = item.get("guards", [])
        _names(guard_list, f"{where}: 'guards'", guards, "guards", problems)
        for flag in ("dated", "reason", "backward"):
            if not isinstance(item.get(flag, False), bool):
                problems.append(f"{where}: '{flag}' must be true or false")
        if item.get("reason") and "reason_given" not in (guard_list or []):
            problems.append(f"{where}: an action whose reason is required must have the guard 'reason_given'")
        label_vi, label_en = _label(item.get("label"), where, problems)
        rules[key] = ActionRule(key, sources, sources_approval, str(target), bool(item.get("dated", False)),
                                bool(item.get("reason", False)), role_set, roles_approval,
                                tuple(guard_list) if isinstance(guard_list, list) else (), label_vi, label_en,
                                bool(item.get("backward", False)))
    if problems:
        raise LifecycleError(problems)
    return Lifecycle(tuple(roles), tuple(raw_states), finished, rules, state_labels, approver)


def load_lifecycle(*, guards: frozenset[str], states: tuple[str, ...], actions: tuple[str, ...],
                   path: Path = LIFECYCLE_FILE) -> Lifecycle:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LifecycleError([f"{path.name}: cannot read the file: {exc}".splitlines()[0]]) from exc
    return parse_lifecycle(raw, guards=guards, states=states, actions=actions, source=path.name)
