"""The OpenAPI 3.1 description of the JSON API under /api/v1, served at /api/v1/openapi.json.

Built from the same enums and limits the views use, so a new state, action or kind shows up
here by itself. tests/test_openapi.py checks that every route of the app is described, that
the document is valid, and that real responses match the schemas below.
"""
from __future__ import annotations

from typing import Any

from congress.accounts.models import ROLES
from congress.idempotency import HEADER as IDEMPOTENCY_HEADER
from congress.idempotency import KEY_LIMIT
from congress.progress.accountability import REASON_LIMIT
from congress.units.models import BRANCH_KINDS, UNIT_KINDS
from congress.units.operations import TEXT_LIMITS
from workflows.deadlines import DeadlineKind
from workflows.readiness import RISK_ORDER
from workflows.rules import Action, State

API_VERSION = "1.0.0"
PREFIX = "/api/v1"
NOTE_LIMIT = 2000
BASIS_LIMIT = 200
MAX_DELEGATES = 250

Schema = dict[str, Any]


# --- small builders ----------------------------------------------------------------------------

def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """The schema or null (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    out = dict(schema)
    out["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def obj(properties: dict[str, Schema], required: list[str] | None = None, description: str | None = None,
        optional: tuple[str, ...] = ()) -> Schema:
    """An object; every property is required unless listed in ``optional``."""
    schema: Schema = {"type": "object", "properties": properties,
                      "required": required if required is not None
                      else [k for k in properties if k not in optional]}
    if description:
        schema["description"] = description
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "format": "date", "description": "A local date (Asia/Ho_Chi_Minh), YYYY-MM-DD."}
DATETIME = {"type": "string", "format": "date-time", "description": "An instant in UTC, ISO 8601 with offset."}
PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
COUNT = {"type": "integer", "minimum": 0}
UNIT_CODE = {"type": "string", "pattern": r"^\d{5}$", "examples": ["10891"],
             "description": "Official five-digit code of a commune-level unit (GSO 1027/CTK-CSCL); "
                            "a string that keeps its leading zeros."}
PROVINCE_CODE = {"type": "string", "pattern": r"^\d{2}$", "examples": ["31"],
                 "description": "Official two-digit province code (Hải Phòng is 31)."}
BRANCH_CODE = {"type": "string", "examples": ["10891-007"],
               "description": "The unit's code, a dash and a three-digit number."}
VERSION = {"type": "integer", "minimum": 1,
           "description": "Optimistic lock: send back the version you read; a write against an older "
                          "version is refused with 409 and the current state."}


def enum_of(values, description: str | None = None) -> Schema:
    schema: Schema = {"type": "string", "enum": [getattr(v, "value", v) for v in values]}
    if description:
        schema["description"] = description
    return schema


def text(limit: int, description: str | None = None) -> Schema:
    schema: Schema = {"type": "string", "maxLength": limit}
    if description:
        schema["description"] = description
    return schema


# --- schemas -----------------------------------------------------------------------------------

#: the explicit confirmation a move against a deadline needs (congress/progress/accountability.py)
CONFIRMATION: dict[str, Schema] = {
    "confirm": {"type": "boolean", "default": False,
                "description": "Confirms a move that needs it: a congress planned after the unit's deadline, "
                               "a deadline already passed. Needs `reason`."},
    "reason": nullable(text(REASON_LIMIT, "Why, for the audit (required with `confirm`; else 422 "
                                          "`confirmation_reason_required`).")),
}

#: the confirmation a branch write needs to reopen the unit's completed "branch_congresses" step
CONFIRM_REOPEN: Schema = {
    "type": "boolean", "default": False,
    "description": "Confirms reopening the unit's completed step `branch_congresses` (\"Hoàn thành đại hội các "
                   "chi bộ\"), which a branch not yet held, added or with its `held_on` removed, reopens while "
                   "every other branch has held its congress. Without it such a write is refused (422 "
                   "`completed_step_reopen`, naming the step in `details`) and changes nothing."}

DEADLINE_DESCRIPTION = (
    "A deadline: a day and its wording, which decides the last allowed day. "
    "`before` is \"trước ngày D\" (before day D): the last allowed day is D−1. "
    "`by` is \"chậm nhất ngày D\" / \"đến ngày D\" (by day D): D itself is allowed. "
    "A deadline passes at local midnight (Asia/Ho_Chi_Minh, UTC+7) after its last allowed day. "
    "`text` says it in the user's language, e.g. \"trước ngày 20/8/2025\" or \"chậm nhất ngày 20/8/2025\".")

TEXT_INPUT = ("Text is stored as Unicode NFC with control characters removed and surrounding "
              "spaces trimmed; an empty text counts as none.")


def _schemas() -> dict[str, Schema]:
    unit_summary_props = {
        "code": UNIT_CODE,
        "name": {"type": "string", "examples": ["Phường Tứ Minh"]},
        "kind": enum_of(UNIT_KINDS, "xa (rural commune, xã), phuong (urban ward, phường) or "
                                    "dac_khu (special zone, đặc khu)."),
        "province_code": PROVINCE_CODE,
        "members": nullable({**COUNT, "description": "Party members of the whole committee, when known."}),
    }
    step_props = {
        "key": {"type": "string", "examples": ["personnel_plan"]},
        "title": {"type": "string", "description": "The title in the user's language."},
        "title_vi": STRING,
        "title_en": STRING,
        "phase": STRING,
        "requires": {"type": "array", "items": STRING,
                     "description": "Keys of the steps that must be finished (done or not applicable) "
                                    "before this one can be completed."},
        "approval_required": {"type": "boolean",
                              "description": "The step goes to the level above for approval (the "
                                             "workflow's approver, named in `state_label`): "
                                             "start → submit → approve (or return) → complete."},
        "document": nullable({"type": "string", "description": "The document kind this step produces."}),
        "weight": {"type": "integer", "minimum": 0, "description": "Share of the unit's readiness."},
        "done_when": nullable({"type": "string", "description": "A rule that completes the step by itself, "
                               "e.g. all_branches_held (every branch has held its congress)."}),
        "state": ref("State"),
        "state_label": {"type": "string", "description": "The state in the user's language."},
        "overdue": {"type": "boolean", "description": "The last allowed day has passed and the step is not "
                                                      "finished. Never stored: derived from `due` and today."},
        "due": nullable(ref("Deadline")),
        "started_on": nullable(DATE),
        "submitted_on": nullable(DATE),
        "approved_on": nullable(DATE),
        "completed_on": nullable(DATE),
        "note": nullable(STRING),
        "reason": nullable({"type": "string", "description": "Why the city returned the step, or why it "
                                                             "was reopened or marked not applicable."}),
        "version": VERSION,
        "actions": {"type": "array", "items": ref("StepAction"),
                    "description": "The actions this user may take now (state machine and role)."},
    }
    branch_props = {
        "code": BRANCH_CODE,
        "unit_code": UNIT_CODE,
        "name": text(TEXT_LIMITS["name"]),
        "kind": enum_of(BRANCH_KINDS, "chi_bo (chi bộ, a branch) or dang_bo_bo_phan (đảng bộ bộ phận, "
                                      "a sub-committee)."),
        "members": nullable(COUNT),
        "secretary": nullable(text(TEXT_LIMITS["secretary"])),
        "planned_on": nullable({**DATE, "description": "Planned date of the branch congress."}),
        "held_on": nullable({**DATE, "description": "The day the branch congress was held; set means held."}),
        "delegates": nullable({**COUNT, "maximum": MAX_DELEGATES}),
        "new_secretary": nullable(text(TEXT_LIMITS["new_secretary"])),
        "held": {"type": "boolean"},
        "version": VERSION,
        "steps": {"type": "array", "items": ref("Step"), "description": "The branch's own workflow."},
    }
    readiness_props = {
        "percent": {**PERCENT, "description": "Weighted share of the work done (100 only when every "
                                              "applicable step is done)."},
        "steps_done": COUNT,
        "steps_total": {**COUNT, "description": "Applicable steps (not-applicable ones left out)."},
        "steps_not_applicable": COUNT,
        "branches_held": COUNT,
        "branches_total": COUNT,
        "overdue_steps": {"type": "array", "items": STRING},
        "deadline": ref("Deadline"),
        "days_left": {"type": "integer", "description": "Days to the last allowed day: 0 on that day, "
                                                        "negative once missed."},
        "projected_finish": nullable({**DATE, "description": "When the unit finishes at its current pace."}),
        "finished_on": nullable(DATE),
        "risk": ref("Risk"),
        "risk_label": {"type": "string", "description": "The risk in the user's language."},
        "reasons": {"type": "array", "items": obj({"code": STRING, "text": STRING}),
                    "description": "Why the unit has its risk level, in the user's language."},
    }
    campaign_props = {
        "id": INTEGER,
        "province_code": PROVINCE_CODE,
        "term": {"type": "string", "examples": ["2025–2030"]},
        "name": {"type": "string", "description": "The Vietnamese name."},
        "name_en": STRING,
        "starts_on": {**DATE, "description": "No step may be dated before this day."},
        "deadline": ref("Deadline"),
        "deadline_basis": nullable({"type": "string", "examples": ["Chỉ thị số 45-CT/TW ngày 14/4/2025"]}),
        "organisation": {"type": "string", "examples": ["party", "fatherland_front"]},
        "level": {"type": "string", "enum": ["commune", "province"]},
        "status": {"type": "string", "enum": ["open", "closed"],
                   "description": "A closed campaign is read-only: every write to it is refused "
                                  "(409 campaign_closed)."},
        "unit_workflow": {"type": "string", "examples": ["commune_congress", "province_congress"]},
        "branch_workflow": nullable({"type": "string", "examples": ["branch_congress"]}),
        "child_campaign_id": nullable({**INTEGER, "description": "The campaign whose units its roll-ups read."}),
        "version": VERSION,
    }
    risk_counts = obj({r.value: COUNT for r in RISK_ORDER})
    risk_shares = obj({r.value: PERCENT for r in RISK_ORDER},
                      description="Whole percentages of units per risk, adding up to 100 (0 each without units).")

    return {
        "Error": obj({
            "error": {"type": "string", "description": "A stable code, e.g. stale_version, prerequisites_incomplete."},
            "message": {"type": "string", "description": "What went wrong, in the user's language."},
            "status": {"type": "integer", "description": "The HTTP status, repeated."},
            "details": {"type": "object", "description": "The parameters of the refusal (field, steps, dates …)."},
            "current": {"type": "object", "description": "For a 409: the current state of what you tried to "
                                                         "change, with its version."},
        }, optional=("details", "current"), description="Every error of the API, never HTML."),
        "State": enum_of(State, "not_started, in_progress, submitted (sent to the level above, the "
                                "workflow's approver), approved (by it; the unit then completes the step), "
                                "done, not_applicable. Overdue is not a state: see `overdue`."),
        "Action": enum_of(Action, "start, submit (unit leader, approval steps), approve and return (city "
                                  "roles, approval steps; return needs a reason), complete, "
                                  "mark_not_applicable (needs a reason), reopen (needs a reason)."),
        "Risk": enum_of(RISK_ORDER, "done, on_track, at_risk (projected after the deadline, or no progress "
                                    "close to it) or late (deadline missed or a step overdue)."),
        "DeadlineKind": enum_of(DeadlineKind, "before = \"trước ngày D\" (last allowed day D−1); "
                                              "by = \"chậm nhất ngày D\" (D allowed)."),
        "Deadline": obj({
            "date": {**DATE, "description": "The day D named in the wording."},
            "kind": ref("DeadlineKind"),
            "last_allowed_day": {**DATE, "description": "D−1 for `before`, D for `by`."},
            "text": {"type": "string", "examples": ["trước ngày 20/8/2025", "chậm nhất ngày 20/8/2025"]},
        }, description=DEADLINE_DESCRIPTION),
        "Me": obj({"username": STRING, "display_name": STRING, "role": enum_of(ROLES),
                   "unit_code": nullable(UNIT_CODE), "province_code": nullable(PROVINCE_CODE)}),
        "Readiness": obj(readiness_props, description="How far one unit is and whether it will make its deadline."),
        "UnitSummary": obj(unit_summary_props, description="A commune-level unit."),
        "UnitListItem": obj({**unit_summary_props, "congress_on": nullable(DATE), "readiness": ref("Readiness")}),
        "UnitList": obj({"as_of": {**DATE, "description": "The day readiness is computed for: today, or the "
                                                           "`as_of` asked for."},
                         "count": COUNT, "units": {"type": "array", "items": ref("UnitListItem")}}),
        "UnitOrigin": obj({"code": STRING, "name": STRING, "share": enum_of(("full", "partial"))},
                          description="A former unit this one was formed from on 1/7/2025, wholly or in part."),
        "Preparation": obj({
            "campaign": obj({"id": INTEGER, "name": STRING, "term": STRING, "starts_on": DATE}),
            "workflow": obj({"key": STRING, "revision": INTEGER, "version": INTEGER},
                            description="The workflow version the unit's steps were created from."),
            "congress_on": nullable({**DATE, "description": "The planned first day of the congress."}),
            "deadline": ref("Deadline"),
            "deadline_is_override": {"type": "boolean",
                                     "description": "The city set this unit its own deadline."},
            "deadline_basis": nullable(STRING),
            "version": VERSION,
        }, description="The unit's preparation: its campaign, workflow, dates. Its version guards the "
                       "deadline and congress-date writes."),
        "UnitDetail": obj({
            **unit_summary_props,
            "province_name": STRING,
            "formed_from": {"type": "array", "items": ref("UnitOrigin")},
            "as_of": {**DATE, "description": "The day the unit is shown as of: today, or the `as_of` asked for."},
            "preparation": ref("Preparation"),
            "readiness": ref("Readiness"),
            "steps": {"type": "array", "items": ref("Step")},
            "branches": {"type": "array", "items": ref("Branch")},
        }),
        "StepAction": obj({"action": ref("Action"), "label": STRING}),
        "Step": obj({**step_props, "repeated": {
            "type": "boolean", "description": "Only in the answer to a transition sent without an Idempotency-Key "
                                              "whose `version` was one behind because the sender's own same action "
                                              "was applied just before (a request sent twice): true, and the step "
                                              "as it is; nothing was applied again."}},
                    optional=("repeated",), description="A step of a unit's workflow or of a branch's."),
        "Branch": obj(branch_props, optional=("steps",),
                      description="A subordinate party organisation (chi bộ, đảng bộ bộ phận)."),
        "Campaign": obj(campaign_props, description="One organisation's round of congresses at one level over "
                                                    "the units it covers."),
        "CampaignPreview": obj({
            "preview": {"type": "boolean", "const": True}, "units": COUNT, "steps": COUNT, "steps_per_unit": COUNT,
            "branch_steps": COUNT, "new_units": {"type": "array", "items": STRING,
                                                 "description": "Province committees added as units."},
            "child_campaign_id": nullable(INTEGER),
            "days_off": {"type": "array", "items": obj({"date": DATE, "why": {"type": "string",
                                                                               "enum": ["weekend", "holiday"]},
                                                         "what": STRING})},
        }, description="What starting the campaign would create; nothing was written."),
        "CampaignList": obj({"campaigns": {"type": "array", "items": ref("Campaign")}}),
        "Tasks": obj({
            "assigned": COUNT, "done": COUNT, "in_progress": COUNT, "overdue": COUNT,
            "done_percent": PERCENT, "in_progress_percent": PERCENT, "overdue_percent": PERCENT,
            "text": {"type": "string", "examples": [
                "6.084 nhiệm vụ được giao; hoàn thành 4.678 (77%), đang thực hiện 1.331 (22%), "
                "quá hạn 75 (1%)"]},
        }, description="The city's report shape: steps counted as tasks (not-applicable ones are not "
                       "assigned); whole percentages adding up to 100; `text` in the user's language "
                       "with its thousands separator (\".\" in Vietnamese)."),
        "ProvinceReadiness": obj({
            "as_of": {**DATE, "description": "The day the figures are for: today, or the `as_of` asked for."},
            "province": nullable(obj({"code": PROVINCE_CODE, "name": STRING})),
            "campaign": nullable(ref("Campaign")),
            "unit_count": COUNT,
            "percent": {**PERCENT, "description": "Mean readiness of the units."},
            "by_risk": risk_counts,
            "risk_percentages": risk_shares,
            "branches_held": COUNT,
            "branches_total": COUNT,
            "tasks": ref("Tasks"),
            "units": {"type": "array", "items": obj({**unit_summary_props, "readiness": ref("Readiness")})},
        }, description="A province's figures (or every readable province's, for an admin without `province`)."),
        "AuditRecord": obj({
            "id": INTEGER,
            "at": DATETIME,
            "actor": {"type": "string", "description": "The user name at the time, or \"system\"."},
            "action": {"type": "string", "examples": ["step.complete", "branch.update", "deadline.set",
                                                      "step.auto_complete"]},
            "entity": {"type": "string", "examples": ["step", "branch", "preparation", "campaign"]},
            "entity_key": nullable(STRING),
            "step_key": nullable(STRING),
            "old": nullable({"type": "object", "description": "The changed fields before the write."}),
            "new": nullable({"type": "object", "description": "The changed fields after the write."}),
            "reason": nullable(STRING),
        }, description="One write, appended and never changed."),
        "AuditPage": obj({"records": {"type": "array", "items": ref("AuditRecord")},
                          "next_before": nullable({"type": "integer", "description": "Pass as `before` for "
                                                   "the next (older) page; null on the last page."})}),
        "TransitionRequest": {**obj({
            "action": ref("Action"),
            "version": VERSION,
            "on": nullable({**DATE, "description": "The day it happened (start, submit, approve, return, "
                                                   "complete): not in the future, not before the campaign "
                                                   "started, not before a prerequisite's completion. "
                                                   "Default today."}),
            "note": nullable(text(NOTE_LIMIT, "A note; the reason for return, mark_not_applicable and "
                                              "reopen, where it is required. " + TEXT_INPUT)),
        }, required=["action", "version"]), "additionalProperties": False},
        "BranchPatch": {**obj({
            "version": VERSION,
            "name": text(TEXT_LIMITS["name"]),
            "kind": enum_of(BRANCH_KINDS),
            "members": nullable(COUNT),
            "secretary": nullable(text(TEXT_LIMITS["secretary"])),
            "planned_on": nullable({**DATE, "description": "Not before the campaign start; the branch's "
                                                           "due dates follow."}),
            "held_on": nullable({**DATE, "description": "Not in the future nor before the campaign start. "
                                                        "Setting it completes the branch's congress step; "
                                                        "when every branch of the unit is held, the unit's "
                                                        "branch_congresses step completes by itself. "
                                                        "null reopens them."}),
            "delegates": nullable({**COUNT, "maximum": MAX_DELEGATES}),
            "new_secretary": nullable(text(TEXT_LIMITS["new_secretary"])),
            "confirm_reopen": CONFIRM_REOPEN,
        }, required=["version"]), "additionalProperties": False,
            "description": "Only the fields sent are changed. " + TEXT_INPUT},
        "BranchCreate": {**obj({
            "name": text(TEXT_LIMITS["name"], "Unique within the unit."),
            "kind": enum_of(BRANCH_KINDS),
            "members": nullable(COUNT),
            "secretary": nullable(text(TEXT_LIMITS["secretary"])),
            "planned_on": nullable(DATE),
            "held_on": nullable({**DATE, "description": "Not in the future nor before the campaign start."}),
            "delegates": nullable({**COUNT, "maximum": MAX_DELEGATES}),
            "new_secretary": nullable(text(TEXT_LIMITS["new_secretary"])),
            "confirm_reopen": CONFIRM_REOPEN,
        }, required=["name"]), "additionalProperties": False, "description": TEXT_INPUT},
        "UnitDeadlineRequest": {**obj({
            "version": {**VERSION, "description": "The preparation's version."},
            "date": nullable({**DATE, "description": "The day D; null goes back to the campaign's deadline. A "
                                                     "deadline whose last allowed day is before today needs "
                                                     "`confirm` and `reason` (else 422 "
                                                     "`deadline_in_past_unconfirmed`)."}),
            "kind": {**ref("DeadlineKind"), "default": "by"},
            "basis": nullable(text(BASIS_LIMIT, "What set the deadline, e.g. a city document.")),
            **CONFIRMATION,
        }, required=["version", "date"]), "additionalProperties": False},
        "UnitDeadline": obj({"deadline": ref("Deadline"), "deadline_is_override": BOOLEAN,
                             "deadline_basis": nullable(STRING), "version": VERSION}),
        "CongressDateRequest": {**obj({
            "version": {**VERSION, "description": "The preparation's version."},
            "date": nullable({**DATE, "description": "The planned first day; not before the campaign start. "
                                                     "null: not planned yet. After the unit's last allowed day: "
                                                     "refused for the unit's users (422 "
                                                     "`congress_after_deadline`); city staff and admins send "
                                                     "`confirm` and `reason` (else 422 "
                                                     "`congress_after_deadline_unconfirmed`). The readiness then "
                                                     "names it (reason `congress_after_deadline`)."}),
            **CONFIRMATION,
        }, required=["version", "date"]), "additionalProperties": False},
        "CongressDate": obj({"congress_on": nullable(DATE), "version": VERSION}),
        "Signers": obj({
            "secretary": nullable({**STRING, "maxLength": 80,
                                   "description": "Printed under \"BÍ THƯ\"; null: written by hand."}),
            "deputy": nullable({**STRING, "maxLength": 80, "description": "Printed under \"PHÓ BÍ THƯ\"."}),
            "version": VERSION,
        }, description="Who signs the unit committee's documents."),
        "SignersRequest": {**obj({
            "version": {**VERSION, "description": "The preparation's version."},
            "secretary": nullable({**STRING, "maxLength": 80}),
            "deputy": nullable({**STRING, "maxLength": 80}),
        }, required=["version", "secretary", "deputy"]), "additionalProperties": False},
        "PaperNumber": obj({
            "part": {**COUNT, "description": "1, 2, 3 for a file of several documents (the subcommittee "
                                             "decisions take one number each)."},
            "number": {"type": "integer", "minimum": 1},
            "symbol": {"type": "string", "examples": ["01-KH/ĐU", "01-NQ/ĐH"],
                       "description": "As the document shows it after \"Số\": number (two digits), hyphen, "
                                      "type, slash, issuer."},
            "abbreviation": {"type": "string", "examples": ["KH", "QĐ", "BC", "TTr", "NQ", "BB", "CTr", "QC"]},
            "issuer": {"type": "string", "examples": ["ĐU", "ĐH"],
                       "description": "ĐU: the unit's party committee; ĐH: the congress. Each counts from 01 "
                                      "per type and term."},
            "term": {"type": "string", "examples": ["2025–2030"]},
        }),
        "PaperIssue": obj({
            "id": INTEGER, "kind": STRING, "issued_on": {**DATE, "description": "The date the document bears."},
            "actor": STRING, "numbers": {"type": "array", "items": ref("PaperNumber")},
        }, description="A document issued with its number(s); numbers are never given again."),
        "PaperKind": obj({
            "kind": {"type": "string", "examples": ["congress_plan"]},
            "abbreviation": STRING, "title": STRING, "title_en": STRING,
            "dated": {"type": "string", "enum": ["issue", "session", "after_session"],
                      "description": "The day the document bears: the day it is issued; the congress's day (the "
                                     "resolution, the minutes); that day or later (the report of the result). The "
                                     "last two can be issued only once the congress has been held."},
            "docx": {"type": "string", "description": "Download address (browser session): the issued version, "
                                                      "or a draft (\"DỰ THẢO\", blank number); add ?draft=1 for a "
                                                      "draft, &draft_no=2 for \"Dự thảo lần 2\"."},
            "pdf": {"type": "string", "description": "The same as PDF (LibreOffice)."},
            "issues": {"type": "array", "items": ref("PaperIssue"), "description": "Newest first."},
        }),
        "UnitPapers": obj({"unit_code": UNIT_CODE,
                           "campaign_id": {**INTEGER, "description": "The campaign whose document set is listed."},
                           "kinds": {"type": "array", "items": ref("PaperKind")},
                           "signers": ref("Signers"),
                           "zip": {"type": "string", "description": "Every document of the unit as a ZIP."}}),
        "IssueRequest": {"type": "object", "properties": {
            "issued_on": {**DATE, "description": "Optional: the date the document bears, for the report of the "
                                                 "result (the congress's day or later, not after today). Without "
                                                 "it: today, or the congress's day for what the congress adopts."}},
                         "additionalProperties": False,
                         "description": "The number is the server's; the date too unless given."},
        "CampaignRequest": {**obj({
            "name": text(200), "name_en": nullable(text(200)), "term": text(20),
            "unit_workflow": {"type": "string", "examples": ["front_commune_congress", "province_congress"]},
            "provinces": {"type": "array", "items": PROVINCE_CODE, "description": "Every unit of the workflow's "
                          "level in these provinces (a province-level workflow: the province's own committee)."},
            "units": {"type": "array", "items": STRING, "description": "Or exactly these units."},
            "child_campaign_id": nullable({**INTEGER, "description": "Required when the workflow rolls up the "
                                                                    "units of a lower campaign."}),
            "starts_on": DATE,
            "deadline": obj({"date": DATE, "kind": {**ref("DeadlineKind"), "default": "before"},
                             "basis": nullable(text(BASIS_LIMIT))}, required=["date"]),
            "unit_deadlines": {"type": "object", "additionalProperties": DATE,
                               "description": "A unit's own deadline, by its code."},
            "confirm": {"type": "boolean", "default": False,
                        "description": "false: only the preview (CampaignPreview); true: start it (201)."},
        }, required=["name", "term", "unit_workflow", "starts_on", "deadline"]), "additionalProperties": False},
        "CloseRequest": {**obj({"version": VERSION}, required=["version"]), "additionalProperties": False},
        "CampaignDeadlineRequest": {**obj({
            "version": {**VERSION, "description": "The campaign's version."},
            "date": {**DATE, "description": "The day D; not before the campaign start. A deadline whose last "
                                            "allowed day is before today needs `confirm` and `reason` (else 422 "
                                            "`deadline_in_past_unconfirmed`)."},
            "kind": {**ref("DeadlineKind"), "default": "by"},
            "basis": nullable(text(BASIS_LIMIT)),
            **CONFIRMATION,
        }, required=["version", "date"]), "additionalProperties": False},
    }


# --- responses, parameters, security ------------------------------------------------------------

ERROR_RESPONSES = {
    "400": ("BadRequest", "The body is not a JSON object (`invalid_json`), or a session-authenticated write "
                          "came without a valid X-CSRFToken header (`csrf_missing`)."),
    "401": ("Unauthorized", "No session and no valid bearer token (missing, wrong or revoked): `unauthorized`."),
    "403": ("Forbidden", "Outside your scope (another unit, another province: `forbidden`) or not allowed "
                         "for your role (`action_forbidden`, `deadline_forbidden`, `congress_date_forbidden`, "
                         "`branch_forbidden`, `paper_issue_forbidden`). Nothing is changed."),
    "404": ("NotFound", "No such unit, branch, step, province or campaign (`unit_not_found`, "
                        "`branch_not_found`, `step_not_found`, `province_not_found`, `not_found`, "
                        "`not_enrolled`, `paper_kind_not_found`)."),
    "409": ("Conflict", "`stale_version`: someone changed it since you read it. `current` holds the current "
                        "state and version; nothing is changed. `paper_number_taken`: a simultaneous issue took "
                        "the number; try again. `request_in_progress`: a request with the same Idempotency-Key "
                        "is still being carried out; ask again in a moment. `request_done_unknown`: it was "
                        "carried out but its answer was lost; read the current state."),
    "422": ("Unprocessable", "Well formed but not acceptable; nothing is changed. `error` says why: "
                             "version_required, unknown_fields, invalid_field (e.g. a date not YYYY-MM-DD), "
                             "field_required, unknown_action, unknown_filter, unknown_deadline_kind, "
                             "invalid_transition, approval_not_required, reason_required, date_in_future, "
                             "date_before_campaign, prerequisites_incomplete (`details.steps` names them), "
                             "completed_before_prerequisite, rule_not_satisfied, must_not_be_negative, "
                             "too_many_delegates, unknown_branch_kind, request_key_invalid (an Idempotency-Key "
                             "that is not 1–64 visible ASCII characters), request_key_reused (the key was used "
                             "for another request)."),
}
DEFAULT_RESPONSE = {"description": "Any other error (405 method not allowed, 413 body too large, "
                                   "503 database unavailable, 500), with the same JSON body.",
                    "content": {"application/json": {"schema": ref("Error")}}}


def _responses_components() -> dict:
    return {name: {"description": description, "content": {"application/json": {"schema": ref("Error")}}}
            for name, description in ERROR_RESPONSES.values()}


def _parameters() -> dict:
    return {
        "Lang": {"name": "lang", "in": "query", "required": False, "schema": enum_of(("vi", "en")),
                 "description": "The language of labels, texts and messages (else the session's choice, "
                                "else Accept-Language, else Vietnamese)."},
        "AcceptLanguage": {"name": "Accept-Language", "in": "header", "required": False, "schema": STRING,
                           "description": "vi (the default) or en."},
        "IdempotencyKey": {"name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                           "schema": {"type": "string", "minLength": 1, "maxLength": KEY_LIMIT,
                                      "pattern": "^[!-~]+$", "examples": ["3f0c9a52-7d1e-4b8a-9e55-2c4b1a7d6e10"]},
                           "description": IDEMPOTENCY_DESCRIPTION},
        "UnitCode": {"name": "code", "in": "path", "required": True, "schema": UNIT_CODE},
        "BranchCode": {"name": "code", "in": "path", "required": True, "schema": BRANCH_CODE},
        "StepKey": {"name": "key", "in": "path", "required": True,
                    "schema": {"type": "string", "examples": ["plan", "personnel_plan", "congress"]},
                    "description": "The step's key in the workflow definition."},
        "PaperKind": {"name": "kind", "in": "path", "required": True,
                      "schema": {"type": "string", "examples": ["congress_plan", "congress_resolution"]},
                      "description": "A document kind (workflows/documents.py) with a template in documents/."},
        "CampaignId": {"name": "campaign_id", "in": "path", "required": True, "schema": INTEGER},
        "CampaignFilter": {"name": "campaign", "in": "query", "required": False, "schema": INTEGER,
                           "description": "The campaign shown (its round, across provinces); 404 if it is not "
                                          "within your reach. Default: the one your account last chose, else "
                                          "the newest open one."},
        "ProvinceFilter": {"name": "province", "in": "query", "required": False, "schema": PROVINCE_CODE,
                           "description": "One province (404 if unknown, 403 if outside your scope). "
                                          "Default: every province you may read."},
        "KindFilter": {"name": "kind", "in": "query", "required": False, "schema": enum_of(UNIT_KINDS),
                       "description": "Only units of this kind (another value: 422 unknown_filter)."},
        "AsOf": {"name": "as_of", "in": "query", "required": False,
                 "schema": {"type": "string", "examples": ["2025-07-31", "31/7/2025"]},
                 "description": AS_OF_DESCRIPTION},
        "RiskFilter": {"name": "risk", "in": "query", "required": False, "schema": ref("Risk"),
                       "description": "Only units at this risk level (another value: 422 unknown_filter)."},
        "AuditUnit": {"name": "unit", "in": "query", "required": False, "schema": UNIT_CODE,
                      "description": "Only this unit's records (404 unknown, 403 outside your scope). Without "
                                     "it: every unit of your province; a unit's own staff see their unit."},
        "AuditLimit": {"name": "limit", "in": "query", "required": False,
                       "schema": {"type": "integer", "default": 100, "minimum": 1, "maximum": 500},
                       "description": "Records per page, clamped to 1–500 (not an integer: 422)."},
        "AuditBefore": {"name": "before", "in": "query", "required": False, "schema": INTEGER,
                        "description": "Only records older than this id: the previous page's `next_before`."},
    }


AS_OF_DESCRIPTION = (
    "The day the answer is for, YYYY-MM-DD (or d/m/yyyy, as the progress report's field takes it); default "
    "today. A past day is that day's picture: every step, branch, congress date and deadline as it was at "
    "the end of that day (local midnight, Asia/Ho_Chi_Minh), rebuilt from the audit log, read with that day "
    "as \"today\" for due dates and deadlines; what was done or changed after it does not count, a branch "
    "added after it is not there, a unit enrolled after it is left out (for one unit: 404 `not_enrolled`). "
    "On a past day the steps offer no `actions`. Not a date: 422 `invalid_field`; after today: 422 "
    "`date_in_future`.")
IDEMPOTENCY_DESCRIPTION = (
    "A key of your choosing, new for every write you mean (a UUID, say). Send the same request again with "
    "the same key (after a timeout, a lost answer) and it is carried out once: the repeat gets the first "
    "answer again (with the header `Idempotent-Replayed: true`), nothing is applied or audited twice. A "
    "repeat that arrives while the first is still being carried out waits for it. The same key with another "
    "method, path or body: 422 `request_key_reused`. A first request that was refused (4xx) keeps nothing, so "
    "the corrected request may use the same key. Keys are per user and remembered for 24 hours.")
READ_SECURITY = [{"bearerAuth": []}, {"sessionCookie": []}]
WRITE_SECURITY = [{"bearerAuth": []}, {"sessionCookie": [], "csrfHeader": []}]


def _param(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _operation(operation_id: str, summary: str, description: str, ok_schema: str, ok_description: str,
               errors: tuple[str, ...], *, tags: list[str], params: tuple[str, ...] = (),
               body: str | None = None, write: bool = False, created: tuple[str, str] | None = None) -> dict:
    op: dict[str, Any] = {
        "operationId": operation_id, "summary": summary, "description": description, "tags": tags,
        "parameters": [_param(p) for p in (*params, "Lang", "AcceptLanguage", *(("IdempotencyKey",) if write else ()))],
        "security": WRITE_SECURITY if write else READ_SECURITY,
        "responses": {
            "200": {"description": ok_description, "content": {"application/json": {"schema": ref(ok_schema)}}},
            **{code: {"$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"} for code in errors},
            "default": DEFAULT_RESPONSE,
        },
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    if created:  # a write that may also create: 201 with what it made
        op["responses"]["201"] = {"description": created[1],
                                  "content": {"application/json": {"schema": ref(created[0])}}}
    return op


READ_ERRORS = ("401", "403", "404")
WRITE_ERRORS = ("400", "401", "403", "404", "409", "422")

TRANSITION_DESCRIPTION = (
    "Move a step by one action. The state machine: not_started →start→ in_progress; a step without "
    "approval →complete→ done; a step with approval →submit→ submitted →approve→ approved →complete→ "
    "done, or →return (with a reason)→ in_progress; mark_not_applicable (with a reason) from "
    "not_started or in_progress; reopen (with a reason) from done, not_applicable or approved. "
    "Roles: start, complete and mark_not_applicable by the unit's staff and leader; submit by the unit "
    "leader only; approve and return by city_leader, city_staff or admin; reopen by the unit leader, "
    "city_staff or admin. Completing needs every step in `requires` finished, and is refused when "
    "dated before one of them was completed. Audited. Sent again without an Idempotency-Key after its own "
    "action was applied (the answer was lost), with the version it read then: 200 with the step as it is and "
    "`repeated: true`, not 409.")


def _created(operation: dict) -> dict:
    """An operation that answers 201 Created instead of 200."""
    responses = dict(operation["responses"])
    ok = responses.pop("200")
    return {**operation, "responses": {"201": {**ok, "description": "Created: " + ok["description"]},
                                       **responses}}


def _paths() -> dict:
    return {
        "/me": {"get": _operation(
            "getMe", "Who is asking", "The authenticated user, their role and scope.", "Me", "The user.",
            ("401",), tags=["accounts"])},
        "/units": {"get": _operation(
            "listUnits", "List units with their readiness",
            "The units the user may read, with readiness: a unit's staff and viewers see their own unit, "
            "city roles their province, an admin every province.", "UnitList", "The units, by province and name.",
            ("401", "403", "404", "422"), tags=["units"],
            params=("KindFilter", "ProvinceFilter", "RiskFilter", "AsOf"))},
        "/units/{code}": {"get": _operation(
            "getUnit", "One unit: preparation, readiness, steps and branches",
            "Everything about one unit, with the actions the user may take on each step; with `as_of`, as it "
            "was at the end of that day.",
            "UnitDetail", "The unit.", (*READ_ERRORS, "422"), tags=["units"],
            params=("UnitCode", "AsOf", "CampaignFilter"))},
        "/units/{code}/steps/{key}/transitions": {"post": _operation(
            "transitionUnitStep", "Take an action on a unit's step", TRANSITION_DESCRIPTION, "Step",
            "The step after the action.", WRITE_ERRORS, tags=["steps"], params=("UnitCode", "StepKey"),
            body="TransitionRequest", write=True)},
        "/units/{code}/deadline": {"put": _operation(
            "setUnitDeadline", "Give a unit its own deadline (city staff, admin)",
            "Sets (or with `date` null clears) the unit's own deadline, e.g. \"hoàn thành trước ngày 20/8/2025\" "
            "is {\"date\": \"2025-08-20\", \"kind\": \"before\"}: last allowed day 2025-08-19. The due dates of "
            "the unit's steps are recomputed. Only city_staff of the unit's province and admins. Audited.",
            "UnitDeadline", "The unit's deadline now.", WRITE_ERRORS, tags=["units"], params=("UnitCode",),
            body="UnitDeadlineRequest", write=True)},
        "/units/{code}/congress-date": {"put": _operation(
            "setCongressDate", "Plan the unit's congress date",
            "Sets (or clears) the planned first day of the congress; due dates counted from it follow. "
            "The unit's leader, city_staff of its province, or an admin. Audited.",
            "CongressDate", "The planned date now.", WRITE_ERRORS, tags=["units"], params=("UnitCode",),
            body="CongressDateRequest", write=True)},
        "/units/{code}/signers": {"put": _operation(
            "setSigners", "Name who signs the unit's documents (the unit's leader or staff, admin)",
            "The names printed under the signatures of the committee's documents: the secretary's under "
            "\"BÍ THƯ\", the deputy's under \"K/T BÍ THƯ / PHÓ BÍ THƯ\" (null or empty: left to be written by "
            "hand). Audited when it changes something.", "Signers", "The names now.", WRITE_ERRORS,
            tags=["papers"], params=("UnitCode",), body="SignersRequest", write=True)},
        "/units/{code}/branches": {"post": _created(_operation(
            "addBranch", "Add a subordinate branch to a unit (the unit's own staff, admin)",
            "Creates the branch, in the campaign shown (`campaign`), with the next code of the unit "
            "(\"11311-042\") and its congress steps. "
            "A unit whose branches were all held gets its branch_congresses step reopened, only with "
            "`confirm_reopen` (else 422 `completed_step_reopen`). Audited.",
            "Branch", "The new branch, with its steps.", WRITE_ERRORS, tags=["branches"],
            params=("UnitCode", "CampaignFilter"),
            body="BranchCreate", write=True))},
        "/branches/{code}": {
            "get": _operation("getBranch", "One branch and its steps",
                              "A subordinate organisation of a unit, as one campaign knows it: a later round "
                              "over the unit starts from a copy of its roster under the same codes, so "
                              "`campaign` chooses (default: the campaign shown).",
                              "Branch", "The branch with its steps.", READ_ERRORS, tags=["branches"],
                              params=("BranchCode", "CampaignFilter")),
            "patch": _operation(
                "updateBranch", "Change a branch (the unit's own staff, admin)",
                "Changes the fields sent, all or nothing. Setting `held_on` completes the branch's congress "
                "step and, on the unit's last branch not yet held, the unit's branch_congresses step; "
                "removing it reopens them (the unit's completed step only with `confirm_reopen`, else 422 "
                "`completed_step_reopen`). Audited, the automatic changes too.",
                "Branch", "The branch after the change, with its steps.", WRITE_ERRORS, tags=["branches"],
                params=("BranchCode", "CampaignFilter"), body="BranchPatch", write=True),
        },
        "/branches/{code}/steps/{key}/transitions": {"post": _operation(
            "transitionBranchStep", "Take an action on a branch's step", TRANSITION_DESCRIPTION, "Step",
            "The step after the action.", WRITE_ERRORS, tags=["steps"],
            params=("BranchCode", "StepKey", "CampaignFilter"),
            body="TransitionRequest", write=True)},
        "/units/{code}/papers": {"get": _operation(
            "listUnitPapers", "A unit's document set",
            "The kinds of document a unit can download (the congress plan, the subcommittee decisions, the "
            "reports, the regulations, the resolution, the minutes …), their download addresses and the "
            "numbers they were issued with.", "UnitPapers", "The unit's documents.", READ_ERRORS,
            tags=["papers"], params=("UnitCode",))},
        "/units/{code}/papers/{kind}/issue": {"post": _created(_operation(
            "issueUnitPaper", "Issue a document with its number (the unit's leader or staff, admin)",
            "Takes the next number(s) of the document's sequence (per issuer, committee or congress, per "
            "type, per term, from 01) and dates it (today; the congress's day for the resolution and the "
            "minutes, which with the report of the result are refused with `congress_not_held` before the "
            "congress). A number is never given again; issuing again gives a new number, but the same "
            "request sent again with its Idempotency-Key gets the first issue. Audited.", "PaperIssue",
            "The issued document.", WRITE_ERRORS, tags=["papers"], params=("UnitCode", "PaperKind"),
            body="IssueRequest", write=True))},
        "/campaigns": {"get": _operation(
            "listCampaigns", "Campaigns", "The campaigns within the user's reach (a unit's users: those their "
            "unit is in), open ones first. Pages and `/readiness` show the one chosen with `?campaign=ID`, else "
            "the one the account last chose, else the newest open one.", "CampaignList", "The campaigns.",
            READ_ERRORS, tags=["campaigns"], params=("ProvinceFilter",)),
            "post": _operation(
            "startCampaign", "Start a campaign (city staff in their province, admin)",
            "Without `confirm`: the preview (how many units and steps, deadlines on weekends or holidays); "
            "nothing is written. With `confirm: true`: the campaign, every unit's preparation and steps, all "
            "or nothing, audited; 201. An unknown workflow, a deadline before the start, a unit outside your "
            "province (403 campaign_outside_scope), or a round already running there is refused.",
            "CampaignPreview", "The preview.", WRITE_ERRORS, tags=["campaigns"], body="CampaignRequest",
            write=True, created=("Campaign", "The campaign, started."))},
        "/campaigns/{campaign_id}/close": {"post": _operation(
            "closeCampaign", "Close a campaign (admin; city staff for their province's)",
            "It stays readable and exportable; every write to it is then refused (409 campaign_closed). "
            "Closing a closed campaign changes nothing. Audited.", "Campaign", "The campaign now.", WRITE_ERRORS,
            tags=["campaigns"], params=("CampaignId",), body="CloseRequest", write=True)},
        "/campaigns/{campaign_id}/deadline": {"put": _operation(
            "setCampaignDeadline", "Change a campaign's default deadline (city staff, admin)",
            "The deadline of every unit without its own; every due date is recomputed. A campaign outside "
            "your scope is reported as not found. Audited.", "Campaign", "The campaign now.", WRITE_ERRORS,
            tags=["campaigns"], params=("CampaignId",), body="CampaignDeadlineRequest", write=True)},
        "/readiness": {"get": _operation(
            "getReadiness", "A province's readiness, as the city reports it",
            "Counts by risk, percentages adding up to 100, the task summary in the city's wording "
            "(\"N nhiệm vụ được giao; …\"), and every unit's readiness. City roles, province viewers and "
            "admins; a unit's staff get 403. With `as_of`, the figures of that day, as the city's progress "
            "report for that day gives them.", "ProvinceReadiness", "The figures.",
            ("401", "403", "404", "422"), tags=["readiness"],
            params=("ProvinceFilter", "KindFilter", "AsOf", "CampaignFilter"))},
        "/audit": {"get": _operation(
            "listAudit", "The audit log, newest first",
            "Every write with its actor, time, old and new values and reason; paginate with `before`.",
            "AuditPage", "A page of records.", ("401", "403", "404", "422"), tags=["audit"],
            params=("AuditUnit", "AuditLimit", "AuditBefore"))},
        "/openapi.json": {"get": {
            "operationId": "getOpenApi", "summary": "This document", "tags": ["meta"], "security": [],
            "responses": {"200": {"description": "The OpenAPI document.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }


def document() -> dict:
    """The OpenAPI 3.1 document of /api/v1."""
    from congress.api import accounts, drafts, notices, transfers

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "congress API",
            "version": API_VERSION,
            "summary": "Preparing the 2025–2030 commune-level party congresses: units, steps, branches, "
                       "deadlines, readiness and the audit log.",
            "description": (
                "JSON over HTTPS. Authenticate with a bearer token (`Authorization: Bearer cgt_…`, made with "
                "`flask tokens create`) or with the browser session; session writes also send the "
                "X-CSRFToken header. Every write carries the `version` it read (optimistic locking), is "
                "checked, applied and audited in one transaction, or refused with nothing changed. A write "
                "may carry an `Idempotency-Key` header: sent again with the same key, it is carried out once "
                "and answered with its first answer. "
                "Errors are JSON: {\"error\": code, \"message\": text, \"status\": n}. Texts and messages "
                "are Vietnamese by default, English with `lang=en` or `Accept-Language: en`.\n\n"
                "Dates are local dates in Asia/Ho_Chi_Minh. Deadlines keep their wording: \"trước ngày D\" "
                "(before D) allows up to D−1, \"chậm nhất ngày D\" (by D) allows D itself."),
        },
        "servers": [{"url": PREFIX}],
        "tags": [{"name": n} for n in ("accounts", "units", "steps", "branches", "campaigns", "readiness",
                                       "papers", "drafts", "notifications", "imports", "audit",
                                       "meta")],
        "paths": {**_paths(), **drafts.openapi_paths(), **notices.openapi_paths(), **transfers.openapi_paths(),
                  **accounts.openapi_paths()},
        "components": {
            "schemas": {**_schemas(), **drafts.openapi_schemas(), **notices.openapi_schemas(),
                        **transfers.openapi_schemas(), **accounts.openapi_schemas()},
            "responses": _responses_components(),
            "parameters": {**_parameters(), **drafts.openapi_parameters(), **notices.openapi_parameters(),
                           **transfers.openapi_parameters(), **accounts.openapi_parameters()},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "cgt_…",
                               "description": "An API token; only its SHA-256 is stored. A revoked token, or "
                                              "the token of a deactivated account, gets 401."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                                  "description": "The browser session after POST /login."},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                               "description": "With the session cookie, writes send the CSRF token of the "
                                              "session (as in the page's forms); without it: 400 csrf_missing."},
            },
        },
    }
