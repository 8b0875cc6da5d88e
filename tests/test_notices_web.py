"""The bell, the notification pages, the settings and the two-scheduler run on PostgreSQL."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.notices import jobs
from congress.notices.models import NoticeLedger, Notification
from tests.conftest import needs_postgresql
from tests.test_queries import count_queries
from tests.test_web import login
from workflows.deadlines import LOCAL_TZ

ROOT = Path(__file__).resolve().parent.parent


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def token_of(client, path="/notifications"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_bell_counts_unread_in_one_query_and_marks_read(app):
    jobs.send_digests(datetime(2025, 8, 5, 17, 30, tzinfo=LOCAL_TZ))
    jobs.send_reminders(datetime(2025, 8, 5, 9, tzinfo=LOCAL_TZ))
    client = signed_in(app, "tuminh.vanphong")
    html = client.get("/notifications").get_data(as_text=True)
    count = int(re.search(r'id="bell-count">(\d+)<', html).group(1))
    assert count >= 2 and "Tổng hợp cuối ngày 5/8/2025" in html
    with count_queries() as statements:
        client.get("/notifications")
    assert sum(1 for s in statements if "notifications" in s and "count(" in s.lower()) == 1
    staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    mine = db.session.execute(db.select(Notification).join(NoticeLedger, NoticeLedger.notification_id
                                                           == Notification.id)
                              .where(Notification.kind == "digest", Notification.user_id == staff.id)).scalar_one()
    page = signed_in(app, "tuminh.vanphong")
    # without the CSRF token: refused, nothing changed
    assert page.post(f"/notifications/{mine.id}/read").status_code == 400
    token = token_of(page)
    response = page.post(f"/notifications/{mine.id}/read", data={"csrf_token": token})
    assert response.status_code == 302
    assert db.session.get(Notification, mine.id).read_at is not None
    # another's notification is not found
    other = signed_in(app, "hongbang.vanphong")
    assert other.post(f"/notifications/{mine.id}/read", data={"csrf_token": token_of(other)}).status_code == 404
    assert other.get(f"/notifications/{mine.id}").status_code == 404
    page.post("/notifications/read-all", data={"csrf_token": token})
    assert 'id="bell-count"' not in page.get("/notifications").get_data(as_text=True)


def test_digest_page_shows_what_changed_due_and_blocked(app):
    jobs.send_digests(datetime(2025, 8, 5, 17, 30, tzinfo=LOCAL_TZ))
    client = signed_in(app, "hongbang.vanphong")
    staff = db.session.execute(db.select(User).filter_by(username="hongbang.vanphong")).scalar_one()
    digest = db.session.execute(db.select(Notification).filter_by(kind="digest", user_id=staff.id)
                                .where(Notification.params["unit_code"].as_string() == "11311")).scalar_one()
    html = client.get(f"/notifications/{digest.id}").get_data(as_text=True)
    for heading in ("Thay đổi trong ngày", "Đến hạn đến ngày 6/8/2025", "Vướng mắc và lý do", "quá hạn"):
        assert heading in html


def test_province_digest_page_lists_the_units_changed_due_and_blocked(app):
    jobs.send_digests(datetime(2025, 8, 5, 17, 30, tzinfo=LOCAL_TZ))
    client = signed_in(app, "thanhuy.lanhdao")
    leader = db.session.execute(db.select(User).filter_by(username="thanhuy.lanhdao")).scalar_one()
    digest = db.session.execute(db.select(Notification).filter_by(kind="digest", user_id=leader.id)
                                .where(Notification.params["scope"].as_string() == "province")).scalar_one()
    assert digest.params["changed"], "the demo has changes on its day"
    response = client.get(f"/notifications/{digest.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for heading in ("Đơn vị có thay đổi trong ngày", "Đến hạn đến ngày 6/8/2025", "Vướng mắc và lý do"):
        assert heading in html
    first = digest.params["changed"][0]
    assert f'{first["unit_name"]}</a>: {first["count"]} thay đổi' in html


def test_settings_save_audited_and_bad_address_refused(app):
    client = signed_in(app, "tuminh.vanphong")
    token = token_of(client, "/notifications/settings")
    bad = client.post("/notifications/settings", data={"csrf_token": token, "email": "not an address",
                                                       "digest-in_app": "on"})
    assert bad.status_code == 422 and "không phải là địa chỉ thư điện tử" in bad.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(AuditRecord.id))
                              .where(AuditRecord.action == "notices.settings")).scalar_one() == 0
    good = client.post("/notifications/settings", data={"csrf_token": token, "email": "vp@tuminh.example.vn",
                                                        "digest-in_app": "on", "due_soon-in_app": "on"})
    assert good.status_code == 302
    assert db.session.execute(sa.select(sa.func.count(AuditRecord.id))
                              .where(AuditRecord.action == "notices.settings")).scalar_one() == 1


def test_calendar_address_made_shown_once_and_revoked(app):
    client = signed_in(app, "tuminh.vanphong")
    token = token_of(client, "/notifications/settings")
    html = client.post("/notifications/calendars", data={"csrf_token": token, "scope": "unit",
                                                         "unit": "10891"}).get_data(as_text=True)
    # shown whole, as text (not a field that cuts it), with its copy button
    address = re.search(r'id="new-calendar-url"[^>]*>(http[^<]+\.ics)</code>', html).group(1)
    assert "/calendar/cal_" in address and 'data-copy="new-calendar-url"' in html
    path = address[address.index("/calendar/"):]
    assert app.test_client().get(path).status_code == 200
    feed_id = int(re.search(r'/notifications/calendars/(\d+)/revoke', html).group(1))
    client.post(f"/notifications/calendars/{feed_id}/revoke", data={"csrf_token": token})
    assert app.test_client().get(path).status_code == 404
    assert client.post("/notifications/calendars", data={"csrf_token": token, "scope": "unit",
                                                         "unit": "11311"}).status_code == 403


def test_api_lists_and_marks_read(app, api_as):
    jobs.send_reminders(datetime(2025, 8, 5, 9, tzinfo=LOCAL_TZ))
    client = api_as("unit_staff", unit="10891", username="tuminh.vanphong")
    body = client.get("/api/v1/notifications").json
    assert body["unread"] == len(body["notifications"]) > 0
    first = body["notifications"][0]
    assert client.post(f"/api/v1/notifications/{first['id']}/read", json={}).json["read"] is True
    assert client.post("/api/v1/notifications/read-all", json={}).json["unread"] == 0
    assert client.post("/api/v1/notifications/999999/read", json={}).status_code == 404


def test_two_scheduler_processes_send_each_reminder_once(app):
    needs_postgresql(db.engine.dialect.name, "the advisory lock (PostgreSQL's)")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "DATABASE_URL": url, "CONGRESS_TODAY": "2025-08-05", "CONGRESS_MODE": "testing",
           "SECRET_KEY": "test", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "flask", "--app", "congress", "scheduler", "run", "--retry", "1", "--for", "12"]
    db.session.remove()
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    acting = [o for o in outputs if "scheduler: acting" in o]
    assert acting, outputs
    assert any("standing by" in o for o in outputs), outputs  # one waited while the other held the lock
    rows = db.session.execute(sa.select(Notification.user_id, Notification.kind, Notification.params)).all()
    keys = db.session.execute(sa.select(NoticeLedger.job, NoticeLedger.day, NoticeLedger.recipient_id,
                                        NoticeLedger.subject)).all()
    assert rows and len(keys) == len(set(keys)) == len(rows)
    reminders = [(r.user_id, r.params.get("step"), r.params.get("offset")) for r in rows if r.kind == "due_soon"]
    assert reminders and len(reminders) == len(set(reminders))
