"""User names told apart without regard to case; each role's kinds of notification; the settled
rule of a reminder (issue 16)."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from congress.accounts.models import CITY_ROLES, ROLES, UNIT_ROLES, User
from congress.accounts.operations import add_user
from congress.errors import Unprocessable
from congress.extensions import db
from congress.notices import jobs, operations
from congress.notices.models import NOTICE_KINDS, NoticePreference, Notification
from congress.progress.models import Step
from congress.units.models import Unit
from tests.test_accounts_security import account, audit, text
from tests.test_web import login
from workflows.deadlines import LOCAL_TZ


def test_a_user_name_signs_in_whatever_its_case(app):
    client = app.test_client()
    response = login(client, "HongBang.VanPhong")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert len(audit("user.login")) == 1  # audited under the account's own name


def test_wrong_passwords_in_any_case_count_on_one_account(app):
    client = app.test_client()
    for spelling in ("HONGBANG.VANPHONG", "hongbang.VanPhong", "HongBang.vanphong", " hongbang.vanphonG",
                     "Hongbang.Vanphong"):
        assert login(client, spelling, "sai-mat-khau").status_code == 401
    assert account().locked_until is not None  # the fifth wrong password, however spelt, locked it
    response = login(client, "hongbang.vanphong")
    assert response.status_code == 401 and "tài khoản này bị tạm khóa đến" in text(response)


def test_a_new_user_name_differing_only_by_case_is_refused(app):
    unit = db.session.execute(db.select(Unit).filter_by(code="11311")).scalar_one()
    with pytest.raises(Unprocessable) as refused:
        add_user("HongBang.VanPhong", role="unit_staff", password="song-cam-cau-rao-1955", unit=unit)
    assert refused.value.code == "user_exists" and refused.value.params == {"username": "hongbang.vanphong"}
    db.session.rollback()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "TUMINH.BITHU", "--role", "unit_leader", "--unit", "10891",
                                 "--password-stdin"], input="song-cam-cau-rao-1955\n")
    assert result.exit_code != 0 and "tuminh.bithu" in result.output
    assert db.session.execute(sa.select(sa.func.count(User.id)).where(
        sa.func.lower(User.username) == "tuminh.bithu")).scalar_one() == 1


def test_each_role_is_offered_the_kinds_it_can_receive():
    from congress.notices.models import NOTICE_AUDIENCES, kinds_for

    assert kinds_for("unit_staff") == kinds_for("unit_leader") == ("due_soon", "overdue", "digest", "verdict")
    assert kinds_for("city_staff") == kinds_for("city_leader") == ("city_alert", "digest", "submitted")
    assert kinds_for("admin") == kinds_for("viewer") == ()
    assert set(NOTICE_AUDIENCES) == set(NOTICE_KINDS)
    assert all(set(roles) <= set(UNIT_ROLES) | set(CITY_ROLES) for roles in NOTICE_AUDIENCES.values())
    assert all(kinds_for(role) or role in ("admin", "viewer") for role in ROLES)


def test_the_unit_settings_neither_show_nor_touch_the_city_kinds(app):
    from tests.test_notices_web import signed_in, token_of

    client = signed_in(app, "tuminh.vanphong")
    html = text(client.get("/notifications/settings"))
    assert 'name="city_alert-in_app"' not in html and 'name="submitted-email"' not in html
    assert 'name="due_soon-in_app"' in html and 'name="verdict-email"' in html
    token = token_of(client, "/notifications/settings")
    saved = client.post("/notifications/settings", data={"csrf_token": token, "due_soon-in_app": "on"})
    assert saved.status_code == 302
    staff = account("tuminh.vanphong")
    stored = {p.kind: (p.in_app, p.email) for p in db.session.execute(
        db.select(NoticePreference).filter_by(user_id=staff.id)).scalars()}
    assert stored["due_soon"] == (True, False) and stored["verdict"] == (False, False)
    # what the form did not offer is left as it was: on
    assert stored.get("city_alert", (True, True)) == (True, True)
    city = signed_in(app, "thanhuy.vanphong")
    html = text(city.get("/notifications/settings"))
    assert 'name="city_alert-in_app"' in html and 'name="due_soon-in_app"' not in html
    # who receives nothing is told so, with no table of kinds
    html = text(signed_in(app, "admin").get("/notifications/settings"))
    assert 'type="checkbox"' not in html and 'id="no-kinds"' in html


def test_a_reminder_is_settled_once_its_step_is_finished(app):
    jobs.send_reminders(datetime(2025, 8, 5, 8, tzinfo=LOCAL_TZ))
    staff = account("tuminh.vanphong")
    reminder = db.session.execute(db.select(Notification).where(
        Notification.user_id == staff.id, Notification.kind.in_(("due_soon", "overdue")))
        .order_by(Notification.id)).scalars().first()
    step_id = reminder.params["step_id"]
    before = operations.unread_count(staff)
    same_step = db.session.execute(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == staff.id, Notification.read_at.is_(None),
        Notification.kind.in_(("due_soon", "overdue")))).scalar_one()
    assert before >= same_step >= 1
    db.session.execute(sa.update(Step).where(Step.id == step_id).values(state="not_applicable"))
    settled = db.session.execute(sa.select(Notification.id, operations.finished_step_state())
                                 .where(Notification.user_id == staff.id)).all()
    assert dict(settled)[reminder.id] == "not_applicable"
    assert operations.unread_count(staff) == before - sum(1 for _, state in settled if state)
    # a reminder made before step ids were kept is matched by its unit and step key
    del reminder.params["step_id"]
    sa.orm.attributes.flag_modified(reminder, "params")
    db.session.flush()
    assert db.session.execute(sa.select(operations.finished_step_state()).select_from(Notification)
                              .where(Notification.id == reminder.id)).scalar_one() == "not_applicable"


def test_the_api_says_which_notices_are_settled(app, api_as):
    jobs.send_reminders(datetime(2025, 8, 5, 8, tzinfo=LOCAL_TZ))
    client = api_as("unit_staff", unit="10891", username="tuminh.vanphong")
    body = client.get("/api/v1/notifications").json
    assert body["unread"] == len(body["notifications"]) and not any(n["settled"] for n in body["notifications"])
    reminder = next(n for n in body["notifications"] if n["kind"] in ("due_soon", "overdue"))
    db.session.execute(sa.update(Step).where(Step.id == reminder["params"]["step_id"]).values(state="done"))
    db.session.commit()
    body = client.get("/api/v1/notifications").json
    settled = [n for n in body["notifications"] if n["settled"]]
    assert reminder["id"] in {n["id"] for n in settled}
    assert body["unread"] == sum(1 for n in body["notifications"] if not n["read"] and not n["settled"])
    assert client.post(f"/api/v1/notifications/{reminder['id']}/read", json={}).json["settled"] is True
