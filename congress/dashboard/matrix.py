"""The units × steps matrix, filtered, searched and sorted; the overdue and due-soon lists."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from congress.progress.queries import UnitRow
from congress.text import fold, vi_sort_key
from congress.units.models import UNIT_KINDS, Unit
from workflows.deadlines import Deadline
from workflows.loader import Phase, StepDefinition, WorkflowDefinition
from workflows.readiness import DUE_SOON_DAYS, RISK_ORDER, Risk, UnitReadiness, is_due_soon, is_overdue
from workflows.rules import State

SORTS = ("name", "percent", "risk", "deadline", "days_left")
#: Worst first: ascending by risk lists the late units at the top.
RISK_RANK = {risk: rank for rank, risk in enumerate(RISK_ORDER)}
#: How far ahead the "due soon" list looks is workflows.readiness.DUE_SOON_DAYS.


@dataclass(frozen=True)
class MatrixParams:
    """What the reader asked for in the query string; unknown values fall back to the default,
    so an old bookmark still opens the page."""
    kind: str | None = None
    risk: Risk | None = None
    phase: str | None = None
    q: str = ""
    sort: str = "name"
    descending: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str], phases: Sequence[Phase]) -> MatrixParams:
        kind = args.get("kind") if args.get("kind") in UNIT_KINDS else None
        risk = args.get("risk") if args.get("risk") in Risk._value2member_map_ else None
        phase = args.get("phase") if args.get("phase") in {p.key for p in phases} else None
        sort = args.get("sort") if args.get("sort") in SORTS else "name"
        q = " ".join((args.get("q") or "").split())[:80]
        return cls(kind=kind, risk=Risk(risk) if risk else None, phase=phase, q=q, sort=sort,
                   descending=args.get("dir") == "desc")

    @property
    def filtered(self) -> bool:
        return bool(self.kind or self.risk or self.phase or self.q)

    def args(self, **changes) -> dict[str, str]:
        """The query string for a link that keeps these choices but ``changes``."""
        chosen = replace(self, **changes)
        values = {"kind": chosen.kind, "risk": chosen.risk.value if chosen.risk else None,
                  "phase": chosen.phase, "q": chosen.q or None,
                  "sort": chosen.sort if chosen.sort != "name" else None,
                  "dir": "desc" if chosen.descending else None}
        return {k: v for k, v in values.items() if v}

    def sort_link(self, key: str) -> dict:
        """The change that sorts by ``key``: ascending first, a second click reverses."""
        return {"sort": key, "descending": self.sort == key and not self.descending}


@dataclass(frozen=True)
class Column:
    number: int
    step: StepDefinition
    #: the first column of its phase (the matrix draws a line before it)
    starts_phase: bool = False


@dataclass(frozen=True)
class ColumnGroup:
    phase: Phase
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Cell:
    key: str
    #: None when the unit's workflow version has no such step
    state: State | None
    due: Deadline | None
    overdue: bool


@dataclass(frozen=True)
class MatrixRow:
    unit: Unit
    readiness: UnitReadiness
    cells: tuple[Cell, ...]
    #: the unit's place in alphabetical order, and its name folded for search (for the script)
    name_rank: int
    search: str


@dataclass(frozen=True)
class Matrix:
    #: every phase with its steps, numbered 1.. in the definition's order (for the legend)
    groups: tuple[ColumnGroup, ...]
    #: the groups shown (one phase when filtered by phase)
    shown: tuple[ColumnGroup, ...]
    rows: tuple[MatrixRow, ...]
    total: int

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(c for g in self.shown for c in g.columns)


def column_groups(definition: WorkflowDefinition) -> tuple[ColumnGroup, ...]:
    numbers = {step.key: n for n, step in enumerate(definition.steps, start=1)}
    groups = []
    for phase in definition.phases:
        steps = [s for s in definition.steps if s.phase == phase.key]
        groups.append(ColumnGroup(phase, tuple(Column(numbers[s.key], s, i == 0) for i, s in enumerate(steps))))
    return tuple(groups)


def matches(unit: Unit, folded_query: str) -> bool:
    """Search by name with or without diacritics ("tu minh" finds "Phường Tứ Minh"), or by code
    ("108" finds 10891)."""
    return not folded_query or folded_query in fold(unit.name) or unit.code.startswith(folded_query)


def build_matrix(rows: Sequence[UnitRow], definition: WorkflowDefinition, params: MatrixParams,
                 today: date) -> Matrix:
    groups = column_groups(definition)
    shown = tuple(g for g in groups if params.phase in (None, g.phase.key))
    keys = [c.step.key for g in shown for c in g.columns]
    folded = fold(params.q)
    chosen = [r for r in rows
              if (params.kind is None or r.unit.kind == params.kind)
              and (params.risk is None or r.readiness.risk is params.risk)
              and matches(r.unit, folded)]
    name_ranks = {r.unit.id: rank for rank, r in enumerate(sort_rows(rows, "name"))}
    matrix_rows = []
    for row in sort_rows(chosen, params.sort, params.descending):
        facts = {f.key: f for f in row.steps}
        cells = []
        for key in keys:
            fact = facts.get(key)
            if fact is None:
                cells.append(Cell(key, None, None, False))
            else:
                cells.append(Cell(key, fact.state, fact.due, is_overdue(fact.state, fact.due, today)))
        matrix_rows.append(MatrixRow(row.unit, row.readiness, tuple(cells), name_ranks[row.unit.id],
                                     fold(row.unit.name)))
    return Matrix(groups, shown, tuple(matrix_rows), len(rows))


def sort_rows(rows: Sequence[UnitRow], by: str, descending: bool = False) -> list[UnitRow]:
    """Sorted by ``by``; equal values stay in name order whichever the direction."""
    by_name = sorted(rows, key=lambda r: (vietnamese_order(r.unit.name), r.unit.code))
    if by == "name":
        return list(reversed(by_name)) if descending else by_name
    keys = {
        "percent": lambda r: r.readiness.percent,
        "risk": lambda r: RISK_RANK[r.readiness.risk],
        "deadline": lambda r: r.readiness.deadline.last_allowed_day,
        "days_left": lambda r: r.readiness.days_left,
    }
    return sorted(by_name, key=keys[by], reverse=descending)


#: the sort key of names (congress.text.vi_sort_key), under the name this module has always used
vietnamese_order = vi_sort_key


@dataclass(frozen=True)
class DueItem:
    unit: Unit
    step: StepDefinition
    state: State
    due: Deadline
    #: days late (overdue list) or days left (due-soon list)
    days: int


def _items(rows: Sequence[UnitRow], definition: WorkflowDefinition, today: date, wanted) -> list[DueItem]:
    items = []
    for row in rows:
        for fact in row.steps:
            if fact.due is not None and wanted(fact):
                items.append(DueItem(row.unit, _step_of(row, definition, fact.key), fact.state, fact.due,
                                     fact.due.days_left(today)))
    return items


def _step_of(row: UnitRow, definition: WorkflowDefinition, key: str) -> StepDefinition:
    """The step in the campaign's definition; in the unit's own version if that one differs."""
    if key in definition.step_keys:
        return definition.step(key)
    return row.preparation.definition().step(key)


def overdue_items(rows: Sequence[UnitRow], definition: WorkflowDefinition, today: date) -> list[DueItem]:
    """Unit steps past their last allowed day and not finished, the longest overdue first."""
    items = [replace(item, days=-item.days)
             for item in _items(rows, definition, today, lambda f: is_overdue(f.state, f.due, today))]
    return sorted(items, key=lambda i: (-i.days, vietnamese_order(i.unit.name)))


def due_soon(rows: Sequence[UnitRow], definition: WorkflowDefinition, today: date,
             days: int = DUE_SOON_DAYS) -> list[DueItem]:
    """Unit steps not finished whose last allowed day is in the next ``days`` days, today included."""
    items = _items(rows, definition, today, lambda f: is_due_soon(f.state, f.due, today, days))
    return sorted(items, key=lambda i: (i.due.last_allowed_day, vietnamese_order(i.unit.name)))
