"""The city's dashboard in the browser's place: figures, the matrix, the lists, the queue, the charts."""
from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections import Counter
from datetime import UTC, date

import pytest
import sqlalchemy as sa

from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.dashboard.matrix import RISK_RANK, vietnamese_order
from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.messages import describe
from congress.progress import queries
from congress.progress.models import Preparation, Step
from congress.progress.operations import transition
from congress.text import fold
from congress.units.models import Unit
from tests.conftest import TODAY
from tests.steps import approve_draft, submit_without_draft
from tests.test_queries import count_queries
from tests.test_web import login
from workflows.deadlines import LOCAL_TZ
from workflows.readiness import Risk
from workflows.rules import Action

ROW = re.compile(r'<tr data-name="(\d+)" data-percent="(\d+)" data-risk="(\d)" data-deadline="([0-9-]+)" '
                 r'data-days_left="(-?\d+)" data-search="([^"]*)" data-code="(\d+)">\s*'
                 r'<th scope="row" class="sticky"><a href="/units/\d+">([^<]+)</a>')
STEP_HEADER = re.compile(r'<th scope="col" class="step[^"]*" title="(\d+)\. ([^"]+)"')


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302, username
    return client


@pytest.fixture
def city(app):
    return signed_in(app, "thanhuy.vanphong")


def page(client, path="/dashboard", status=200, **query) -> str:
    response = client.get(path, query_string=query or None)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def rows(html: str) -> list[dict]:
    found = []
    for m in ROW.finditer(html):
        found.append({"rank": int(m[1]), "percent": int(m[2]), "risk": int(m[3]), "deadline": m[4],
                      "days_left": int(m[5]), "code": m[7], "name": html_lib.unescape(m[8])})
    return found


def csrf(html: str) -> str:
    return re.search(r'csrf_token"[^>]*value="([^"]+)"', html).group(1)


def submitted_steps() -> list[Step]:
    db.session.expire_all()
    return list(db.session.execute(db.select(Step).where(
        Step.branch_id.is_(None), Step.state == "submitted").order_by(Step.id)).scalars())


def submitted_drafts() -> list[DraftVersion]:
    db.session.expire_all()
    return list(db.session.execute(db.select(DraftVersion).where(
        DraftVersion.status == "submitted").order_by(DraftVersion.id)).scalars())


#: xã An Hưng: both approval steps in progress, no draft sent to the city, none approved
AN_HUNG = "11674"
#: the draft kind each approval step records (commune_congress.yaml, ``drafts:``)
DRAFT_OF = {"documents_approval": "political_report", "personnel_plan": "personnel_submission"}


@pytest.fixture
def outside(app) -> list[Step]:
    """Xã An Hưng's two approval steps sent to the city without a draft (the step's own submit):
    the queue lists them as steps, decided by ``POST /dashboard/approvals/<step_id>``. In the demo
    every submitted step came with its draft; these have none approved yet."""
    admin = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
    return [submit_without_draft(AN_HUNG, key, admin) for key in ("documents_approval", "personnel_plan")]


def with_approved_draft(step: Step) -> Step:
    """The city approved a version of the draft the step records: the step may now be approved."""
    approve_draft(step.preparation.unit.code, DRAFT_OF[step.key])
    db.session.expire_all()
    return db.session.get(Step, step.id)


def audit_total() -> int:
    return db.session.execute(sa.select(sa.func.count(AuditRecord.id))).scalar_one()


def decide(client, step: Step, action: str, token: str, version: int | None = None, **fields):
    prefix = f"s{step.id}-{action}"
    data = {"action": action, f"{prefix}-csrf_token": token,
            f"{prefix}-version": step.version if version is None else version}
    data.update({f"{prefix}-{k}": v for k, v in fields.items()})
    return client.post(f"/dashboard/approvals/{step.id}", data=data)


# --- who may see it ---------------------------------------------------------------------------

def test_unit_staff_get_403_and_viewers_see_it(app):
    assert signed_in(app, "tuminh.vanphong").get("/dashboard").status_code == 403
    html = page(signed_in(app, "xem.thanhpho"))
    assert "nhiệm vụ được giao" in html
    assert 'name="action"' not in html, "a reader gets the queue without forms"


def test_leader_and_admin_see_it(app):
    assert "Phê duyệt" in page(signed_in(app, "thanhuy.lanhdao"))
    admin = signed_in(app, "admin")
    html = page(admin)
    assert '<select id="province" name="province">' in html and "Thành phố Hải Phòng" in html
    assert admin.get("/dashboard?province=99").status_code == 404


def test_city_staff_cannot_pick_another_province(city):
    assert city.get("/dashboard?province=01").status_code == 403


def test_dashboard_leads_to_the_province_documents(city):
    html = page(city)
    assert 'href="/provinces/31/papers">Tài liệu và báo cáo tiến độ</a>' in html
    assert "Báo cáo tiến độ" in page(city, "/provinces/31/papers")


# --- the figures --------------------------------------------------------------------------------

def test_headline_figures_are_the_readiness_apis(city):
    api = city.get("/api/v1/readiness?province=31").get_json()
    html = page(city)
    tasks = api["tasks"]
    assert tasks["text"] in html
    assert tasks["done_percent"] + tasks["in_progress_percent"] + tasks["overdue_percent"] == 100
    assert re.search(r"\d\.\d{3} nhiệm vụ được giao; hoàn thành \d\.\d{3} \(\d+%\)", html), "Vietnamese numbers"
    risks = re.findall(r'<strong>(\d+)</strong> \((\d+)%\)', html)
    assert [int(n) for n, _ in risks] == [api["by_risk"][r.value] for r in (Risk.LATE, Risk.AT_RISK,
                                                                             Risk.ON_TRACK, Risk.DONE)]
    assert sum(int(p) for _, p in risks) == 100
    held, total = api["branches_held"], api["branches_total"]
    assert f"{held:,}".replace(",", ".") + " / " + f"{total:,}".replace(",", ".") in html


# --- the matrix ---------------------------------------------------------------------------------

def test_matrix_has_every_unit_and_every_step(city):
    html = page(city)
    found = rows(html)
    assert len(found) == 114 and len({r["code"] for r in found}) == 114
    headers = STEP_HEADER.findall(html)
    assert [int(n) for n, _ in headers] == list(range(1, 18))
    assert headers[0][1] == "Ban hành kế hoạch tổ chức đại hội"
    assert html.count('<td class="c c-') == 114 * 17
    assert '<a href="/units/10891#step-plan" title="' in html
    assert "Đang hiển thị 114 trên 114 đơn vị." in html


def test_matrix_cells_say_overdue_in_words(city):
    html = page(city)
    overdue_cells = re.findall(r'<td class="c c-\w+ c-overdue[^"]*"><a href="[^"]+" title="([^"]+)">'
                               r'<i aria-hidden="true"><svg class="icon icon-warning"', html)
    api = city.get("/api/v1/readiness?province=31").get_json()
    assert len(overdue_cells) == api["tasks"]["overdue"]
    assert all(title.endswith(", quá hạn") for title in overdue_cells)


@pytest.mark.parametrize("kind, count", [("dac_khu", 2), ("phuong", 45), ("xa", 67)])
def test_filter_by_kind(city, kind, count):
    assert len(rows(page(city, f"/dashboard?kind={kind}"))) == count


def test_filter_by_risk(city):
    api = city.get("/api/v1/readiness?province=31").get_json()
    late = rows(page(city, "/dashboard?risk=late"))
    assert len(late) == api["by_risk"]["late"] and {r["risk"] for r in late} == {RISK_RANK[Risk.LATE]}


def test_filter_by_phase_shows_only_its_columns(city):
    html = page(city, "/dashboard?phase=documents")
    assert [int(n) for n, _ in STEP_HEADER.findall(html)] == [5, 6, 7, 8]
    assert html.count('<td class="c c-') == 114 * 4
    assert len(rows(html)) == 114


@pytest.mark.parametrize("query, expected", [
    ("tu minh", {"Phường Tứ Minh"}),
    ("Tứ Minh", {"Phường Tứ Minh"}),
    (unicodedata.normalize("NFD", "tứ minh"), {"Phường Tứ Minh"}),
    ("do son", {"Phường Đồ Sơn", "Phường Nam Đồ Sơn"}),
    ("đồ sơn", {"Phường Đồ Sơn", "Phường Nam Đồ Sơn"}),
    ("  ĐỒ   SƠN ", {"Phường Đồ Sơn", "Phường Nam Đồ Sơn"}),
    ("10891", {"Phường Tứ Minh"}),
])
def test_search_with_or_without_diacritics(city, query, expected):
    html = page(city, q=query)
    assert {r["name"] for r in rows(html)} == expected


def test_search_and_filters_combine(city):
    assert rows(page(city, "/dashboard?q=an&kind=dac_khu")) == []
    names = {r["name"] for r in rows(page(city, "/dashboard?q=an&kind=phuong"))}
    assert names and all("an" in fold(n) for n in names) and all(n.startswith("Phường") for n in names)


def test_default_order_is_vietnamese_alphabetical(city):
    names = [r["name"] for r in rows(page(city))]
    assert names == sorted(names, key=vietnamese_order)
    assert names.index("Phường Dương Kinh") < names.index("Phường Đồ Sơn") < names.index("Phường Gia Viên")
    assert [r["rank"] for r in rows(page(city))] == list(range(114))
    assert [r["name"] for r in rows(page(city, "/dashboard?sort=name&dir=desc"))] == names[::-1]


@pytest.mark.parametrize("key", ["percent", "risk", "deadline", "days_left"])
def test_sort_orders(city, key):
    ascending = rows(page(city, f"/dashboard?sort={key}"))
    descending = rows(page(city, f"/dashboard?sort={key}&dir=desc"))
    assert len(ascending) == len(descending) == 114
    values = [r[key] for r in ascending]
    assert values == sorted(values)
    assert [r[key] for r in descending] == sorted(values, reverse=True)
    for ordered in (ascending, descending):  # ties stay in name order whichever the direction
        for a, b in zip(ordered, ordered[1:], strict=False):
            if a[key] == b[key]:
                assert a["rank"] < b["rank"]


def test_risk_sort_puts_late_units_first(city):
    found = rows(page(city, "/dashboard?sort=risk"))
    assert found[0]["risk"] == RISK_RANK[Risk.LATE] and found[-1]["risk"] == RISK_RANK[Risk.DONE]


def test_sort_links_keep_the_filters(city):
    html = page(city, "/dashboard?kind=xa&q=an")
    link = re.search(r'data-sort="percent"[^>]*>\s*<a href="([^"]+)"', html).group(1)
    assert "kind=xa" in link and "q=an" in link and "sort=percent" in link


def test_unknown_filter_values_fall_back(city):
    assert len(rows(page(city, "/dashboard?kind=zzz&risk=nope&phase=x&sort=evil"))) == 114


# --- the lists ----------------------------------------------------------------------------------

def test_overdue_and_due_soon_lists(city):
    html = page(city)
    api = city.get("/api/v1/readiness?province=31").get_json()
    overdue = re.search(r'id="overdue".*?</section>', html, re.S).group(0)
    assert f"Quá hạn ({api['tasks']['overdue']})" in overdue
    assert overdue.count("#step-") == api["tasks"]["overdue"]
    days = [int(d) for d in re.findall(r'class="num late-days" data-label="[^"]+">(\d+)</td>', overdue)]
    assert days == sorted(days, reverse=True) and min(days) >= 1

    soon = re.search(r'id="due-soon".*?</section>', html, re.S).group(0)
    expected = db.session.execute(
        sa.select(sa.func.count(Step.id)).join(Preparation).where(
            Step.branch_id.is_(None), Step.state.not_in(("done", "not_applicable")),
            Step.due_on >= TODAY, Step.due_on <= date(2025, 8, 11))).scalar_one()
    assert f"Đến hạn trong 7 ngày tới ({expected})" in soon
    assert soon.count("#step-") == expected
    assert re.search(r'href="/units/\d{5}#step-\w+"', soon)


# --- the approval queue -------------------------------------------------------------------------

def test_queue_lists_every_submission(city, outside):
    approvable = with_approved_draft(outside[0])
    html = page(city)
    drafts, steps = submitted_drafts(), submitted_steps()
    with_draft = {(d.unit_id, d.kind): d for d in drafts}
    alone = []
    for step in steps:
        draft = with_draft.get((step.preparation.unit_id, DRAFT_OF[step.key]))
        if draft is None:  # sent without a draft: listed as the step, with its own forms
            alone.append(step)
            assert f'id="approval-{step.id}"' in html
            assert f'name="s{step.id}-return-version" type="hidden" value="{step.version}"' in html
            # approving is offered only once the city approved a version of the step's draft
            approve = f'name="s{step.id}-approve-version" type="hidden" value="{step.version}"'
            assert (approve in html) is (step.id == approvable.id)
        else:  # sent with its draft: listed once, as the draft, which names the step it moves
            assert f'id="approval-{step.id}"' not in html and f'name="s{step.id}-approve-version"' not in html
            item = html.split(f'id="approval-draft-{draft.id}"')[1].split("</li>")[0]
            assert f"#step-{step.key}" in item
    assert {s.id for s in alone} == {s.id for s in outside}, "every demo submission came with its draft"
    for draft in drafts:
        assert html.count(f'id="approval-draft-{draft.id}"') == 1
        assert f'name="d{draft.id}-approve-version" type="hidden" value="{draft.version}"' in html
    assert f"Chờ Thành ủy cho ý kiến ({len(drafts) + len(alone)})" in html


def test_approve_from_the_queue(city, outside):
    step = outside[0]
    before = audit_total()
    # approved only once the city approved a version of its draft
    refused = decide(city, step, "approve", csrf(page(city)), on="2025-08-05")
    assert refused.status_code == 422
    assert describe("approval_needs_approved_draft", {}) in html_lib.unescape(refused.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Step, step.id).state == "submitted" and audit_total() == before
    step = with_approved_draft(step)
    token = csrf(page(city))
    response = decide(city, step, "approve", token, on="2025-08-05")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard#approvals")
    db.session.expire_all()
    changed = db.session.get(Step, step.id)
    assert changed.state == "approved" and changed.approved_on == TODAY
    assert audit_total() == before + 1
    record = db.session.execute(db.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).scalar_one()
    assert (record.action, record.actor, record.step_key) == ("step.approve", "thanhuy.vanphong", step.key)
    html = page(city)
    assert "Đã phê duyệt" in html and f'id="approval-{step.id}"' not in html


def test_return_from_the_queue_with_a_reason(city, outside):
    step = outside[1]
    token = csrf(page(city))
    response = decide(city, step, "return", token, note="Bổ sung số liệu kinh tế – xã hội")
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(Step, step.id)
    assert changed.state == "in_progress" and changed.reason == "Bổ sung số liệu kinh tế – xã hội"
    record = db.session.execute(db.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).scalar_one()
    assert record.action == "step.return" and record.reason == "Bổ sung số liệu kinh tế – xã hội"
    assert "Đã trả lại" in page(city)


def test_return_without_a_reason_is_422_and_changes_nothing(city, outside):
    step = outside[0]
    token = csrf(page(city))
    before = audit_total()
    response = decide(city, step, "return", token, note="   ")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Hãy nêu lý do trả lại" in html and 'role="alert"' in html
    assert '<details class="dash-return" open>' in html.split(f'id="approval-{step.id}"')[1].split("</li>")[0]
    db.session.expire_all()
    assert db.session.get(Step, step.id).state == "submitted" and audit_total() == before


def test_refused_date_is_422_with_the_reason(city, outside):
    step = with_approved_draft(outside[0])
    response = decide(city, step, "approve", csrf(page(city)), on="1/9/2025")
    assert response.status_code == 422
    expected = describe("date_in_future", {"on": date(2025, 9, 1), "today": TODAY})
    assert expected in html_lib.unescape(response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Step, step.id).state == "submitted"


def test_stale_version_is_409_with_the_current_state(city, app, outside):
    step = with_approved_draft(outside[0])
    seen = step.version
    token = csrf(page(city))
    other = signed_in(app, "thanhuy.lanhdao")
    assert decide(other, step, "approve", csrf(page(other))).status_code == 302
    before = audit_total()
    response = decide(city, step, "return", token, version=seen, note="Chưa đạt")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    # who decided first, by their display name (not their user name)
    leader = db.session.execute(db.select(User).filter_by(username="thanhuy.lanhdao")).scalar_one()
    assert "đã phê duyệt" in html and f"người thực hiện: {html_lib.escape(leader.display_name)}" in html
    assert "thanhuy.lanhdao" not in html
    db.session.expire_all()
    assert db.session.get(Step, step.id).state == "approved" and audit_total() == before


@pytest.mark.parametrize("username", ["xem.thanhpho", "tuminh.vanphong", "xem.tuminh"])
def test_readers_and_unit_staff_cannot_decide(app, city, outside, username):
    step = with_approved_draft(outside[0])
    token = csrf(page(city))
    client = signed_in(app, username)
    own_token = csrf(client.get("/login").get_data(as_text=True))
    before = audit_total()
    for action in ("approve", "return"):
        response = decide(client, step, action, own_token, note="không")
        assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Step, step.id).state == "submitted" and audit_total() == before
    assert decide(city, step, "approve", token).status_code == 302, "the city's own form still works"


# --- the charts ---------------------------------------------------------------------------------

def direct_completions(province_code: str = "31") -> dict[date, int]:
    """Completions less reopenings of unit steps per local day, counted in Python row by row."""
    codes = dict(db.session.execute(sa.select(Unit.id, Unit.code).where(Unit.province_code == province_code)).all())
    counted: Counter = Counter()
    for record in db.session.execute(db.select(AuditRecord).where(AuditRecord.entity == "step")).scalars():
        if record.unit_id not in codes or record.entity_key != f"{codes[record.unit_id]}/{record.step_key}":
            continue
        at = record.at if record.at.tzinfo else record.at.replace(tzinfo=UTC)
        day = at.astimezone(LOCAL_TZ).date()
        if record.action in ("step.complete", "step.auto_complete"):
            counted[day] += 1
        elif record.action in ("step.reopen", "step.auto_reopen"):
            counted[day] -= 1
    return {d: n for d, n in counted.items() if n}


def test_progress_chart_is_the_audit_history(city):
    direct = direct_completions()
    grouped = {d: n for d, n in queries.unit_steps_done_by_day({"31"}) if n}
    assert grouped == direct
    assert sum(direct.values()) == db.session.execute(sa.select(sa.func.count(Step.id)).where(
        Step.branch_id.is_(None), Step.state == "done")).scalar_one()
    html = page(city)
    table = re.search(r'<caption>Nhiệm vụ hoàn thành theo ngày.*?</table>', html, re.S).group(0)
    days = re.findall(r'<tr><th scope="row">(\d+)/(\d+)/(\d+)</th><td>([\d.]+)</td><td>([\d.]+)</td></tr>', table)
    assert days[0][:3] == ("1", "7", "2025") and days[-1][:3] == ("5", "8", "2025")
    for d, m, y, change, _ in days:
        assert int(change.replace(".", "")) == direct.get(date(int(y), int(m), int(d)), 0)
    assert int(days[-1][4].replace(".", "")) == sum(direct.values())
    assert '<svg class="dash-svg"' in html and '<title id="progress-chart-title">' in html


def test_progress_chart_follows_a_completion(city, outside):
    before = queries.unit_steps_done_by_day({"31"})
    step = with_approved_draft(outside[0])
    assert decide(city, step, "approve", csrf(page(city))).status_code == 302
    db.session.expire_all()
    admin = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
    fresh = db.session.get(Step, step.id)
    transition(fresh, action=Action.COMPLETE, actor=admin, version=fresh.version)
    db.session.commit()
    after = queries.unit_steps_done_by_day({"31"})
    assert sum(n for _, n in after) == sum(n for _, n in before) + 1
    html = page(city)
    totals = re.findall(r'<tr><th scope="row">[\d/]+</th><td>[\d.]+</td><td>([\d.]+)</td></tr>',
                        re.search(r'<caption>Nhiệm vụ hoàn thành theo ngày.*?</table>', html, re.S).group(0))
    assert int(totals[-1].replace(".", "")) == sum(n for _, n in after)


def test_branch_chart_counts_weeks_to_the_total(city):
    html = page(city)
    api = city.get("/api/v1/readiness?province=31").get_json()
    table = re.search(r'<caption>Đại hội chi bộ theo tuần.*?</table>', html, re.S).group(0)
    weeks = re.findall(r'<td>([\d.]+)</td><td>([\d.]+)</td><td>(\d+)%</td>', table)
    counts = [int(c.replace(".", "")) for c, _, _ in weeks]
    totals = [int(t.replace(".", "")) for _, t, _ in weeks]
    assert sum(counts) == totals[-1] == api["branches_held"]
    assert totals == sorted(totals)
    assert "Thời hạn: trước ngày 31/8/2025" in html and 'class="marker marker-deadline"' in html


# --- query count --------------------------------------------------------------------------------

def test_query_count_does_not_grow_with_units(city):
    city.get("/dashboard")  # warm caches
    counts = {}
    for label, path in (("2 units", "/dashboard?kind=dac_khu"), ("45 units", "/dashboard?kind=phuong"),
                        ("114 units", "/dashboard"), ("114 sorted", "/dashboard?sort=risk&dir=desc")):
        with count_queries() as statements:
            assert city.get(path).status_code == 200
        counts[label] = len(statements)
    assert len(set(counts.values())) == 1, counts
    assert counts["114 units"] <= 13, counts  # 12, and the campaigns the header's switcher offers


def test_english(city):
    city.get("/lang/en")
    html = page(city)
    assert "tasks assigned" in html and "Waiting for the city" in html and "Units and steps" in html
