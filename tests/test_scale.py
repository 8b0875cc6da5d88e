"""Every list page and list endpoint issues as many SQL queries for 1,000 units as for 10.

The routes come from the application's URL map, so a list added later is covered without
touching this file. A route addressing one thing (an integer id, a token, one document, a
comparison) is not a list and is left out; so are sign-in, language, health and static files.
The two databases are built with multi-row inserts: 10 and 1,000 units of one province, each
with branches, steps in every state, submissions waiting for the city and audit records.
"""
from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import pytest
import sqlalchemy as sa

from congress import create_app
from congress.extensions import db
from tests.conftest import TODAY, make_test_app
from tests.test_queries import count_queries

PROVINCE = "31"
BRANCHES_PER_UNIT = 3
SIZES = (10, 1000)
#: endpoints that are not lists of units, branches or records
NOT_LISTS = {
    "static", "web.login", "web.logout", "web.set_language", "web.health", "health.readyz", "api.openapi",
    "api.me",
    "web.unit_paper",  # one document
    "web.unit_papers",  # a redirect to the unit's documents page
    "web.unit_papers_zip",  # one unit's documents, generated
    "web.import_template",  # an empty template file
    "web.choose_campaign",  # a redirect after remembering a choice
    "web.new_campaign",  # the form to start a campaign (its preview is tests/test_campaigns.py's)
}
#: words in a rule that mark one item or a comparison (of drafts, of workflow revisions), not a list
ONE_ITEM = re.compile(r"<int:|<token>|<path:|/compare|/diff")
#: values tried for a rule's parameters; those the application answers with 404 do not exist
CANDIDATES = {
    "kind": ("congress_plan", "political_report"),
    "fmt": ("xlsx", "csv", "docx"),
    "name": ("matrix", "overdue", "due-soon", "approvals", "branches", "progress", "history", "units"),
}


def _unit_code(number: int) -> str:
    return f"9{number:04d}"


def build_scaled(units: int, app) -> None:
    """One province with ``units`` units, their branches and steps, some progress and history."""
    from congress.accounts.operations import add_user
    from congress.audit.models import AuditRecord
    from congress.progress.models import Preparation, Step
    from congress.progress.operations import enrol_units
    from congress.seeding.seed import ensure_campaign
    from congress.units.models import Branch, Province, Unit

    db.session.execute(sa.insert(Province.__table__), [{"code": PROVINCE, "name": "Thành phố Hải Phòng"}])
    db.session.execute(sa.insert(Unit.__table__), [
        {"code": _unit_code(i), "name": f"Phường Thử Nghiệm {i}", "kind": ("phuong", "xa", "dac_khu")[i % 3],
         "province_code": PROVINCE, "members": 1200} for i in range(units)])
    unit_ids = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    campaign, _ = ensure_campaign(PROVINCE)
    db.session.execute(sa.insert(Branch.__table__), [
        {"code": f"{code}-{j + 1:03d}", "unit_id": unit_id, "campaign_id": campaign.id,
         "name": f"Chi bộ Tổ dân phố số {j + 1}",
         "kind": "chi_bo", "members": 30, "planned_on": date(2025, 7, 20) + timedelta(days=j),
         "held_on": date(2025, 7, 20) + timedelta(days=j) if j < BRANCHES_PER_UNIT - 1 else None, "version": 1}
        for code, unit_id in unit_ids.items() for j in range(BRANCHES_PER_UNIT)])
    all_units = list(db.session.execute(db.select(Unit).order_by(Unit.code)).scalars())
    enrol_units(campaign, all_units, {u.id: date(2025, 8, 20) for u in all_units}, actor="seed")
    db.session.flush()
    steps = Step.__table__
    first_keys = [row[0] for row in db.session.execute(
        sa.select(steps.c.key).where(steps.c.branch_id.is_(None)).distinct().limit(3))]
    db.session.execute(sa.update(steps).where(steps.c.key.in_(first_keys[:2]), steps.c.branch_id.is_(None))
                       .values(state="done", started_on=date(2025, 7, 2), completed_on=date(2025, 7, 5)))
    prep_ids = [p for p in db.session.execute(sa.select(Preparation.id).order_by(Preparation.id)).scalars()]
    db.session.execute(sa.update(steps).where(
        steps.c.key == first_keys[2], steps.c.branch_id.is_(None), steps.c.preparation_id.in_(prep_ids[::2]))
        .values(state="submitted", started_on=date(2025, 7, 6), submitted_on=date(2025, 7, 10)))
    db.session.execute(sa.update(steps).where(steps.c.branch_id.is_not(None), steps.c.key == "plan")
                       .values(state="done", completed_on=date(2025, 7, 8)))
    db.session.execute(sa.insert(AuditRecord.__table__), [
        {"at": _at(TODAY), "actor": "seed", "action": "step.complete", "entity": "step",
         "entity_key": f"{code}/{key}", "unit_id": unit_id, "step_key": key, "old": {"state": "in_progress"},
         "new": {"state": "done"}, "reason": None}
        for code, unit_id in unit_ids.items() for key in first_keys[:2]])
    add_user("admin", role="admin", password="daihoi-2025")
    add_user("thanhuy.vanphong", role="city_staff", password="daihoi-2025",
             province=db.session.get(Province, PROVINCE))


def _at(day: date) -> datetime:
    return datetime.combine(day, time(3, 0), tzinfo=UTC)


def list_rules(app) -> list:
    """The GET rules that list things, with the values of their parameters to try."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in NOT_LISTS or ONE_ITEM.search(rule.rule):
            continue
        found.append(rule)
    return found


def urls_of(rule) -> list[str]:
    """Every address of a rule with sample values (a unit, a branch, the province)."""
    choices = []
    for name in sorted(rule.arguments):
        if name == "code":
            if rule.rule.startswith(("/provinces/", "/api/v1/provinces/")):
                choices.append([(name, PROVINCE)])
            elif "/branches/<code>" in rule.rule:
                choices.append([(name, f"{_unit_code(0)}-001")])
            else:
                choices.append([(name, _unit_code(0))])
        elif name in CANDIDATES:
            choices.append([(name, value) for value in CANDIDATES[name]])
        else:
            pytest.fail(f"{rule.rule}: no sample value for <{name}>; add one to CANDIDATES or list "
                        f"{rule.endpoint} in NOT_LISTS")
    urls = []
    for combination in itertools.product(*choices):
        path = rule.rule
        for name, value in combination:
            path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
        urls.append(path + ("?province=" + PROVINCE if "<" not in path and rule.rule in (
            "/dashboard", "/api/v1/readiness", "/api/v1/units") else ""))
    return urls


_RULE_APP = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "rules"}, mode="testing")
LIST_RULES = [(rule.endpoint, rule.rule) for rule in list_rules(_RULE_APP)]


@pytest.fixture(scope="module")
def scaled(databases):
    """An app per size, each with a signed-in administrator (web) and a bearer token (API)."""
    from congress.accounts.models import User
    from congress.accounts.operations import create_token
    from tests.test_web import login

    made = {}
    for size in SIZES:
        url = databases.copy(databases.template(f"scale{size}", partial(build_scaled, size)))
        app = make_test_app(url)
        web_client = app.test_client()
        assert login(web_client, "admin").status_code == 302
        with app.app_context():
            user = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
            _, token = create_token(user, "scale")
            db.session.commit()
        made[size] = (app, web_client, {"Authorization": f"Bearer {token}"}, url)
    yield made
    for app, _, _, url in made.values():
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        databases.drop(url)


def _count(app, client, headers, url: str) -> tuple[int, int]:
    client.get(url, headers=headers)  # warm caches (definitions, a token's first use)
    with app.app_context(), count_queries() as statements:
        response = client.get(url, headers=headers)
    return response.status_code, len(statements)


def test_the_datasets_differ_in_size(scaled):
    from congress.units.models import Branch, Unit

    for size, (app, *_rest) in scaled.items():
        with app.app_context():
            assert db.session.execute(sa.select(sa.func.count(Unit.id))).scalar_one() == size
            assert db.session.execute(sa.select(sa.func.count(Branch.id))).scalar_one() == size * BRANCHES_PER_UNIT


def test_list_routes_are_found():
    endpoints = {endpoint for endpoint, _ in LIST_RULES}
    assert {"web.dashboard", "api.list_units", "api.readiness", "api.audit", "web.branches"} <= endpoints
    assert "web.unit_paper" not in endpoints and "web.login" not in endpoints


@pytest.mark.parametrize(("endpoint", "rule"), LIST_RULES, ids=[rule for _, rule in LIST_RULES])
def test_query_count_is_the_same_for_10_and_1000_units(scaled, endpoint, rule):
    small_app, small_web, small_headers, _ = scaled[SIZES[0]]
    large_app, large_web, large_headers, _ = scaled[SIZES[1]]
    api = rule.startswith("/api/")
    tried = []
    for url in urls_of(next(small_app.url_map.iter_rules(endpoint))):
        small = _count(small_app, small_app.test_client() if api else small_web,
                       small_headers if api else {}, url)
        if small[0] == 404:
            continue  # a sample value this route does not know (a format, an export's name)
        large = _count(large_app, large_app.test_client() if api else large_web,
                       large_headers if api else {}, url)
        assert small[0] == large[0] and small[0] < 400, (url, small, large)
        assert small[1] == large[1], f"{url}: {small[1]} queries for {SIZES[0]} units, {large[1]} for {SIZES[1]}"
        tried.append(url)
    assert tried, f"{rule}: no address answered; give it sample values"
