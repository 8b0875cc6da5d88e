"""The congress-preparation engine: workflow definitions, deadlines, transitions, readiness.

Pure Python, no Flask: the web application, the CLI, the scheduler and the benchmarks all
call the same functions.
"""
from .deadlines import LOCAL_TZ, Deadline, DeadlineKind, WorkingCalendar, local_today
from .loader import DefinitionError, DueRule, StepDefinition, WorkflowDefinition, load_all
from .readiness import Risk, StepFacts, UnitReadiness, task_summary, unit_readiness, whole_percentages
from .rules import Action, Refusal, State

__all__ = [
    "LOCAL_TZ", "Deadline", "DeadlineKind", "WorkingCalendar", "local_today",
    "DefinitionError", "DueRule", "StepDefinition", "WorkflowDefinition", "load_all",
    "Risk", "StepFacts", "UnitReadiness", "task_summary", "unit_readiness", "whole_percentages",
    "Action", "Refusal", "State",
]
