"""The workflow definitions pages (/workflows), for administrators: the list of workflows and
their revisions, uploading a definition (its problems listed, nothing stored; a repeat stores
nothing), the difference between two revisions, and moving a campaign's units to another revision
(a preview that writes nothing, a confirmation that moves them all, refusals that change nothing)."""
from __future__ import annotations

import html
import io
import re

import pytest
import sqlalchemy as sa

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.progress import campaigns
from congress.progress.models import Campaign, Preparation, Step, WorkflowVersion
from tests.test_queries import count_queries
from tests.test_web import login
from tests.test_workflow_versions import dump, next_commune, raw

ADMIN = "admin"
NOT_ADMINS = ("thanhuy.vanphong", "tuminh.vanphong", "xem.thanhpho")


def _keys(page: str) -> dict[str, str]:
    """The CSRF token and the first request key on a page."""
    text = page if isinstance(page, str) else page.get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)
    key = re.search(r'name="request_key"[^>]*value="([^"]+)"', text)
    return {"csrf_token": token, **({"request_key": key.group(1)} if key else {})}


def _admin(app):
    client = app.test_client()
    assert login(client, ADMIN).status_code == 302
    return client


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _campaign() -> Campaign:
    return db.session.execute(db.select(Campaign).filter_by(unit_workflow="commune_congress")).scalar_one()


def _counts() -> dict[str, object]:
    return {"versions": db.session.execute(sa.select(sa.func.count(WorkflowVersion.id))).scalar_one(),
            "steps": db.session.execute(sa.select(sa.func.count(Step.id))).scalar_one(),
            "audit": db.session.execute(sa.select(sa.func.count(AuditRecord.id))).scalar_one(),
            "followed": sorted(db.session.execute(sa.select(
                Preparation.id, Preparation.workflow_version_id, Preparation.version)).all()),
            "campaigns": sorted(db.session.execute(sa.select(
                Campaign.id, Campaign.unit_workflow_version_id, Campaign.version)).all())}


def _upload(client, *, text: str | None = None, file: tuple[bytes, str] | None = None):
    data = _keys(client.get("/workflows"))
    if text is not None:
        data["text"] = text
    if file is not None:
        data["file"] = (io.BytesIO(file[0]), file[1])
    return client.post("/workflows", data=data, content_type="multipart/form-data")


def _store(client, text: str, name: str = "next.yaml") -> WorkflowVersion:
    answer = _upload(client, file=(text.encode(), name))
    assert answer.status_code == 302, _text(answer)
    return db.session.execute(db.select(WorkflowVersion).filter_by(key="commune_congress")
                              .order_by(WorkflowVersion.revision.desc()).limit(1)).scalar_one()


def _migrate(client, campaign: Campaign, target: WorkflowVersion, *, confirm: bool):
    page = client.get(f"/workflows/migrate?campaign={campaign.id}&to={target.key}:{target.revision}")
    data = {**_keys(page), "campaign": str(campaign.id), "target": f"{target.key}:{target.revision}", "confirm": "0"}
    preview = client.post("/workflows/migrate", data=data)
    if not confirm:
        return preview
    assert preview.status_code == 200, _text(preview)
    data = {**_keys(preview), "campaign": str(campaign.id), "target": f"{target.key}:{target.revision}",
            "confirm": "1", "previewed": f"{campaign.id}|{target.key}:{target.revision}"}
    return client.post("/workflows/migrate", data=data)


# --- who may ------------------------------------------------------------------------------------

def test_an_administrator_sees_every_workflow_with_its_revisions_and_who_follows_them(app):
    client = _admin(app)
    answer = client.get("/workflows")
    assert answer.status_code == 200
    page = _text(answer)
    for key in ("commune_congress", "branch_congress", "front_commune_congress", "province_congress"):
        assert f'id="wf-{key}"' in page, key
    assert "Chuẩn bị đại hội Đảng bộ cấp xã" in page
    assert 'href="/workflows/commune_congress/r1"' in page
    # the demo's 114 units follow r1 of the commune workflow, in its one campaign
    commune = page[page.index('id="wf-commune_congress"'):page.index('id="wf-front_commune_congress"')]
    assert f"{_campaign().name_vi}: 114" in commune
    assert "commune_congress.yaml" in commune and "lưu thành r1" in commune
    yaml_page = client.get("/workflows/commune_congress/r1")
    assert yaml_page.status_code == 200
    assert "<pre" in yaml_page.get_data(as_text=True) and "key: commune_congress" in _text(yaml_page)
    assert client.get("/workflows/commune_congress/r9").status_code == 404
    assert client.get("/workflows/nowhere/diff").status_code == 404


@pytest.mark.parametrize("username", NOT_ADMINS)
def test_everyone_but_an_administrator_is_refused(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    token = _keys(client.get("/campaigns"))
    before = _counts()
    for path in ("/workflows", "/workflows/commune_congress/r1", "/workflows/commune_congress/diff",
                 "/workflows/migrate"):
        assert client.get(path).status_code == 403, path
    assert client.post("/workflows", data={**token, "text": dump(raw())}).status_code == 403
    campaign = _campaign()
    assert client.post("/workflows/migrate", data={**token, "campaign": campaign.id, "target": "commune_congress:1",
                                                   "confirm": "1"}).status_code == 403
    assert _counts() == before


# --- uploading ----------------------------------------------------------------------------------

def test_a_bad_upload_lists_its_problems_and_stores_nothing(app):
    client = _admin(app)
    body = raw()
    body["steps"][1]["requires"] = ["nowhere"]
    body["steps"][2]["phase"] = "elsewhere"
    before = _counts()
    answer = _upload(client, file=(dump(body).encode(), "broken.yaml"))
    assert answer.status_code == 422
    page = _text(answer)
    assert "không được lưu" in page
    assert f"broken.yaml: step '{body['steps'][1]['key']}': unknown prerequisite 'nowhere'" in page
    assert re.findall(r'<ul class="wf-problems">(.*?)</ul>', answer.get_data(as_text=True), re.S)[0].count("<li>") >= 2
    # unreadable YAML, pasted: the loader's one line
    pasted = _upload(client, text="key: commune_congress\nsteps: [plan\n  - key: x\n")
    assert pasted.status_code == 422 and "upload: cannot read the file:" in _text(pasted)
    # neither a file nor text, or both
    assert _upload(client).status_code == 422
    both = _upload(client, text=dump(raw()), file=(dump(raw()).encode(), "a.yaml"))
    assert both.status_code == 422 and "không cả hai" in _text(both)
    assert _counts() == before


def test_a_good_upload_stores_a_revision_and_a_repeat_stores_nothing(app):
    client = _admin(app)
    before = _counts()
    answer = _upload(client, file=(next_commune().encode(), "commune_congress_v4.yaml"))
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/workflows#wf-commune_congress")
    stored = db.session.execute(db.select(WorkflowVersion).filter_by(key="commune_congress", revision=2)).scalar_one()
    assert stored.source == "commune_congress_v4.yaml" and "survey" in stored.definition().step_keys
    [entry] = db.session.execute(db.select(AuditRecord).filter_by(action="workflow.add")).scalars().all()
    assert (entry.actor, entry.entity_key) == (ADMIN, "commune_congress r2")
    page = _text(client.get("/workflows"))
    assert "commune_congress r2" in page and 'href="/workflows/commune_congress/r2"' in page
    assert "/workflows/commune_congress/diff?from=1&to=2" in page
    after = _counts()
    assert after["versions"] == before["versions"] + 1
    # the same content again, pasted this time: already stored, nothing written
    again = _upload(client, text=next_commune())
    assert again.status_code == 302
    assert "đã được lưu thành commune_congress r2" in _text(client.get("/workflows"))
    assert _counts() == after


# --- the difference -----------------------------------------------------------------------------

def test_the_diff_page_names_the_added_and_removed_steps_and_shows_the_text(app):
    client = _admin(app)
    _store(client, next_commune())
    answer = client.get("/workflows/commune_congress/diff?from=1&to=2")
    assert answer.status_code == 200
    page = _text(answer)
    assert "2 bước được thêm" in page and "Khảo sát tình hình tổ chức đảng trước đại hội" in page
    assert "1 bước bị bỏ" in page and "<code>archive</code>" in page
    # a changed step, field by field, in words
    assert "6 ngày trước ngày đại hội" in page and "5 ngày trước ngày đại hội" in page
    raw_page = answer.get_data(as_text=True)
    assert '<span class="wf-line wf-line-added">+- key: survey</span>' in raw_page
    assert '<span class="wf-line wf-line-removed">-- key: archive</span>' in raw_page
    # the default: the newest against the one before; a lone revision has nothing to compare
    default = _text(client.get("/workflows/commune_congress/diff"))
    assert "Thay đổi của commune_congress từ r1 đến r2" in default and "+- key: survey" in default
    alone = client.get("/workflows/branch_congress/diff")
    assert alone.status_code == 200 and "không có bản nào trước r1" in _text(alone)


def test_the_diff_escapes_what_a_definition_says(app):
    client = _admin(app)
    body = raw()
    body["version"] += 1
    body["steps"][0]["title"]["vi"] = "<script>alert(1)</script> Kế hoạch"
    _store(client, dump(body))
    page = client.get("/workflows/commune_congress/diff").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in client.get("/workflows/commune_congress/r2").get_data(as_text=True)


# --- migrating a campaign -----------------------------------------------------------------------

def test_the_preview_writes_nothing_and_the_confirmation_moves_the_campaign(app):
    client = _admin(app)
    target = _store(client, next_commune(drop=None))
    campaign = _campaign()
    before = _counts()
    preview = _migrate(client, campaign, target, confirm=False)
    assert preview.status_code == 200
    page = _text(preview)
    assert "114 đơn vị cần chuyển" in page and "Khảo sát tình hình tổ chức đảng trước đại hội" in page
    assert "Chuyển 114 đơn vị" in page  # the confirmation is offered
    assert _counts() == before
    moved = _migrate(client, campaign, target, confirm=True)
    assert moved.status_code == 302, _text(moved)
    db.session.expire_all()
    followed = set(db.session.execute(sa.select(Preparation.workflow_version_id)
                                      .filter_by(campaign_id=campaign.id)).scalars())
    assert followed == {target.id}
    assert db.session.get(Campaign, campaign.id).unit_workflow_version_id == target.id
    assert _counts()["steps"] == before["steps"] + 114 * 2
    assert len(db.session.execute(db.select(AuditRecord).filter_by(action="preparation.migrate")).all()) == 114
    listed = _text(client.get("/workflows"))
    assert "114 đơn vị của “" in listed  # the flash
    # a confirmation for a choice that was not the one previewed is only previewed
    data = {**_keys(client.get("/workflows/migrate")), "campaign": str(campaign.id), "target": "commune_congress:1",
            "confirm": "1", "previewed": f"{campaign.id}|commune_congress:2"}
    before = _counts()
    assert client.post("/workflows/migrate", data=data).status_code == 200
    assert _counts() == before


def test_a_migration_that_drops_a_recorded_step_is_refused_and_changes_nothing(app):
    client = _admin(app)
    target = _store(client, next_commune())  # without the archive, which 3 demo units have recorded
    campaign = _campaign()
    before = _counts()
    preview = _migrate(client, campaign, target, confirm=False)
    assert preview.status_code == 200
    page = _text(preview)
    assert "Những gì ngăn việc chuyển" in page
    assert page.count("Lưu trữ hồ sơ đại hội (archive) sẽ bị bỏ, nhưng tiến độ của bước đã được ghi nhận") == 3
    assert "Chuyển 114 đơn vị" not in page  # no confirmation is offered
    data = {**_keys(preview), "campaign": str(campaign.id), "target": f"commune_congress:{target.revision}",
            "confirm": "1", "previewed": f"{campaign.id}|commune_congress:{target.revision}"}
    refused = client.post("/workflows/migrate", data=data)
    assert refused.status_code == 422
    assert "bước đã ghi nhận tiến độ" in _text(refused)
    assert _counts() == before


def test_a_closed_campaign_is_refused_with_its_message(app):
    client = _admin(app)
    target = _store(client, next_commune(drop=None))
    campaign = _campaign()
    if not campaign.is_closed:
        from congress.accounts.models import User

        admin = db.session.execute(db.select(User).filter_by(username=ADMIN)).scalar_one()
        campaigns.close_campaign(campaign, actor=admin, version=campaign.version)
        db.session.commit()
    before = _counts()
    for confirm in (False, True):
        data = {**_keys(client.get("/workflows/migrate")), "campaign": str(campaign.id),
                "target": f"commune_congress:{target.revision}", "confirm": "1" if confirm else "0",
                "previewed": f"{campaign.id}|commune_congress:{target.revision}"}
        answer = client.post("/workflows/migrate", data=data)
        assert answer.status_code == 422
        assert "đã đóng" in _text(answer) and campaign.name_vi in _text(answer)
    assert _counts() == before


def test_a_revision_of_another_workflow_is_refused_with_the_campaigns_workflows(app):
    client = _admin(app)
    campaign = _campaign()
    front = db.session.execute(db.select(WorkflowVersion).filter_by(key="front_commune_congress")).scalars().first()
    if front is None:
        from congress.progress.definitions import current_version

        front = current_version("front_commune_congress")
        db.session.commit()
    before = _counts()
    answer = _migrate(client, campaign, front, confirm=False)
    assert answer.status_code == 422
    assert "commune_congress, branch_congress" in _text(answer)
    assert _counts() == before


# --- query counts -------------------------------------------------------------------------------

def test_the_list_reads_as_many_queries_however_many_revisions_are_stored(app):
    client = _admin(app)
    assert client.get("/workflows").status_code == 200
    with count_queries() as statements:
        assert client.get("/workflows").status_code == 200
    first = len(statements)
    for bump in range(1, 5):
        body = raw()
        body["version"] += bump
        body["steps"][0]["weight"] = bump + 1
        _store(client, dump(body), f"v{bump}.yaml")
    assert db.session.execute(sa.select(sa.func.count()).select_from(WorkflowVersion)
                              .filter_by(key="commune_congress")).scalar_one() == 5
    client.get("/workflows")
    with count_queries() as statements:
        answer = client.get("/workflows")
    assert answer.status_code == 200 and "/workflows/commune_congress/r5" in answer.get_data(as_text=True)
    assert len(statements) == first, statements
