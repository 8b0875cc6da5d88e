"""The drafts pages: upload (and bad uploads), versions, the side-by-side comparison, a comment
round with bulk entry, the city's verdict on the unit's page and the dashboard, the history, the
congress gate through the step form, and who may see what."""
from __future__ import annotations

import io
import re

import pytest
from docx import Document

from congress.drafts.models import DraftVersion
from congress.extensions import db
from tests.test_drafts import PDF, REPORT_1, REPORT_2, TU_MINH, awaiting_city, make_docx, step
from tests.test_drafts_api import multipart
from tests.test_queries import count_queries
from tests.test_web_units import csrf_token, signed_in

PAGES = f"/units/{TU_MINH}/drafts"


@pytest.fixture
def files(app, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path / "files")
    return tmp_path / "files"


@pytest.fixture
def staff(app, files):
    return signed_in(app, "tuminh.vanphong")


@pytest.fixture
def leader(app, files):
    return signed_in(app, "tuminh.bithu")


@pytest.fixture
def city(app, files):
    return signed_in(app, "thanhuy.vanphong")


def post_upload(client, content: bytes, name: str = "du-thao.docx", kind: str = "political_report", **extra):
    return client.post(PAGES, **multipart(content, name, csrf_token=csrf_token(client, PAGES), kind=kind, **extra))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def next_number(kind: str = "political_report") -> int:
    """The number the next upload of ``kind`` of phường Tứ Minh takes (after the demo's drafts)."""
    from tests.test_drafts import unit

    return (db.session.execute(db.select(db.func.max(DraftVersion.number)).filter_by(
        unit_id=unit(TU_MINH).id, kind=kind)).scalar() or 0) + 1


def versions_kept() -> int:
    return db.session.execute(db.select(db.func.count(DraftVersion.id))).scalar()


def test_pages_speak_vietnamese_and_only_to_readers(app, staff, files):
    awaiting_city(TU_MINH)
    html = text_of(staff.get(PAGES))
    assert "Dự thảo các văn kiện đại hội" in html and "Tải lên dự thảo mới" in html
    assert "Chưa thể ghi nhận đã tổ chức đại hội cho đến khi Thành ủy phê duyệt:" in html
    assert 'aria-current="page">Dự thảo văn kiện</a>' in html
    viewer = signed_in(app, "xem.tuminh")
    html = text_of(viewer.get(PAGES))
    assert "Tải lên dự thảo mới" not in html and "Ghi nhận ngoại lệ" not in html
    other = signed_in(app, "hongbang.vanphong")
    assert other.get(PAGES).status_code == 403
    assert other.get(f"{PAGES}/political_report").status_code == 403
    assert staff.get(f"{PAGES}/shopping_list").status_code == 404
    assert staff.get(f"{PAGES}/rounds/999").status_code == 404


def test_upload_through_the_page_and_download(staff, files):
    number = next_number()
    response = post_upload(staff, REPORT_1, "Báo cáo chính trị (lần 1).docx", note="Bản đầu")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{PAGES}/political_report")
    html = text_of(staff.get(f"{PAGES}/political_report"))
    assert f"Đã tải lên: Báo cáo chính trị, dự thảo lần {number}." in html
    assert "Báo cáo chính trị (lần 1).docx" in html and "Bản đầu" in html
    download = staff.get(f"{PAGES}/political_report/{number}/file")
    assert download.status_code == 200 and download.data == REPORT_1
    assert download.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20ch%C3%ADnh%20tr%E1%BB%8B" in download.headers["Content-Disposition"]
    download.close()


@pytest.mark.parametrize(("content", "name", "status", "message"), [
    (b"", "a.docx", 422, "Tệp trống."),
    (b"GIF89a" + b"\0" * 50, "a.docx", 422, "không phải văn bản Word (.docx) hay PDF"),
    (PDF[:20], "a.pdf", 422, "Tệp bị hỏng"),
], ids=["empty", "wrong type", "corrupted"])
def test_a_bad_upload_comes_back_with_the_reason(staff, files, content, name, status, message):
    versions = versions_kept()
    response = post_upload(staff, content, name)
    assert response.status_code == status
    assert message in text_of(response) and 'role="alert"' in text_of(response)
    assert versions_kept() == versions


def test_an_upload_over_the_limit_on_the_page(app, staff, files):
    app.config["MAX_UPLOAD_MB"] = 1
    response = post_upload(staff, PDF[:-7] + b"\0" * (1024 * 1024) + b"\n%%EOF\n", "lon.pdf")
    assert response.status_code == 413 and "Tệp lớn hơn giới hạn 1 MB." in text_of(response)


def test_the_comparison_is_side_by_side_and_escaped(staff, files):
    one = next_number()
    post_upload(staff, REPORT_1)
    post_upload(staff, make_docx("BÁO CÁO CHÍNH TRỊ", "Phần thứ nhất: kết quả nhiệm kỳ 2020 – 2025.",
                                 "Kinh tế tăng trưởng bình quân 8% mỗi năm.", "<script>alert('x')</script>",
                                 "Phần thứ hai: phương hướng nhiệm kỳ 2025 – 2030."))
    html = text_of(staff.get(f"{PAGES}/political_report"))
    assert 'id="compare-from"' in html
    response = staff.get(f"{PAGES}/political_report/compare?from={one}&to={one + 1}")
    assert response.status_code == 200
    html = text_of(response)
    assert f"Dự thảo lần {one} và dự thảo lần {one + 1}" in html
    assert "<del>7</del>" in html and "<ins>8</ins>" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert 'class="diff-row diff-changed"' in html and 'class="diff-row diff-added"' in html
    assert "1 đoạn thêm mới" in html and "1 đoạn bị bỏ" in html
    post_upload(staff, PDF, "ban-in.pdf")
    refused = staff.get(f"{PAGES}/political_report/compare?from={one + 1}&to={one + 2}")
    assert refused.status_code == 422 and f"dự thảo lần {one + 2} là tệp PDF" in text_of(refused)
    assert staff.get(f"{PAGES}/political_report/compare?from=x&to={one + 1}").status_code == 422


def test_comment_round_with_bulk_entry_and_summary(staff, files):
    number = next_number()
    post_upload(staff, REPORT_1)
    token = csrf_token(staff, f"{PAGES}/political_report")
    opened = staff.post(f"{PAGES}/political_report/{number}/rounds", data={
        "csrf_token": token, "audiences": ["members", "fatherland_front", "residents"],
        "starts_on": "2025-07-20", "ends_on": "2025-07-30"})
    assert opened.status_code == 302
    round_url = opened.headers["Location"]
    html = text_of(staff.get(round_url))
    assert f"Lấy ý kiến góp ý dự thảo lần {number}" in html and "Mặt trận Tổ quốc (MTTQ)" in html
    token = csrf_token(staff, round_url)
    bad = staff.post(f"{round_url}/comments", data={"csrf_token": token, "mode": "bulk",
                                                     "bulk": "Đảng viên | 12\nkhông rõ ai | 3"})
    assert bad.status_code == 422 and "Không rõ đối tượng" in text_of(bad) and "không rõ ai | 3" in text_of(bad)
    saved = staff.post(f"{round_url}/comments", data={
        "csrf_token": token, "mode": "bulk",
        "bulk": "Đảng viên | 12\nMTTQ | Đề nghị bổ sung giải pháp <b>đột phá</b>\nNhân dân | 30 | Quan tâm việc làm"})
    assert saved.status_code == 302
    one = staff.post(f"{round_url}/comments", data={"csrf_token": token, "mode": "one", "audience": "members",
                                                    "count": "3", "text": ""})
    assert one.status_code == 302
    html = text_of(staff.get(round_url))
    assert "Đã ghi nhận 1 mục ý kiến." in html
    assert "Đề nghị bổ sung giải pháp &lt;b&gt;đột phá&lt;/b&gt;" in html
    assert re.search(r"Đảng viên</th><td>15</td>", html) and re.search(r"Tổng cộng</th><td>46</td>", html)
    round_id = int(round_url.rsplit("/", 1)[1])
    closed = staff.post(f"{round_url}/close", data={"csrf_token": token, "version": "1"})
    assert closed.status_code == 302
    html = text_of(staff.get(round_url))
    assert "kết thúc ngày 5/8/2025" in html and "Ghi nhận ý kiến góp ý" not in html
    summary = staff.get(f"{PAGES}/rounds/{round_id}/summary.docx")
    assert summary.status_code == 200
    paragraphs = [p.text for p in Document(io.BytesIO(summary.data)).paragraphs]
    assert "- Đề nghị bổ sung giải pháp <b>đột phá</b>" in paragraphs
    history = text_of(staff.get(f"/units/{TU_MINH}/history"))
    for words in ("Tải lên dự thảo", "Mở đợt lấy ý kiến", "Ghi nhận ý kiến góp ý", "Kết thúc đợt lấy ý kiến",
                  "Báo cáo chính trị"):
        assert words in history, words


def test_submit_and_the_city_verdict_on_the_pages(app, staff, leader, city, files):
    one = next_number()
    post_upload(staff, REPORT_1)
    kind_page = f"{PAGES}/political_report"
    assert "Trình Thành ủy</button>" not in text_of(staff.get(kind_page))  # staff do not submit
    token = csrf_token(leader, kind_page)
    assert staff.post(f"{kind_page}/{one}/submit",
                      data={"csrf_token": csrf_token(staff, kind_page)}).status_code == 403
    assert leader.post(f"{kind_page}/{one}/submit", data={"csrf_token": token, "version": "1"}).status_code == 302
    html = text_of(city.get(kind_page))
    assert "Phê duyệt</button>" in html and "Trả lại kèm lý do</button>" in html
    token = csrf_token(city, kind_page)
    refused = city.post(f"{kind_page}/{one}/review", data={"csrf_token": token, "verdict": "return", "text": ""})
    assert refused.status_code == 422 and "Nêu lý do trả lại dự thảo." in text_of(refused)
    returned = city.post(f"{kind_page}/{one}/review", data={"csrf_token": token, "verdict": "return",
                                                        "text": "Cần nêu rõ khâu đột phá", "version": "2"})
    assert returned.status_code == 302
    unit_page = text_of(staff.get(f"/units/{TU_MINH}"))
    assert "Ý kiến của Thành ủy về các dự thảo" in unit_page and "Cần nêu rõ khâu đột phá" in unit_page
    assert "Thành ủy trả lại ngày 5/8/2025:" in text_of(staff.get(kind_page))
    post_upload(staff, REPORT_2)
    leader.post(f"{kind_page}/{one + 1}/submit", data={"csrf_token": csrf_token(leader, kind_page)})
    approved = city.post(f"{kind_page}/{one + 1}/review", data={"csrf_token": csrf_token(city, kind_page),
                                                        "verdict": "approve", "text": ""})
    assert approved.status_code == 302
    unit_page = text_of(staff.get(f"/units/{TU_MINH}"))
    assert "đã phê duyệt ngày 5/8/2025" in unit_page
    dashboard = text_of(city.get("/dashboard"))
    campaign = step(TU_MINH, "congress").preparation.campaign_id  # the row links to the drafts of its campaign
    assert "Tiến độ văn kiện" in dashboard
    assert f'href="/units/{TU_MINH}/drafts?campaign={campaign}">Phường Tứ Minh</a>' in dashboard
    assert "Thành ủy đã phê duyệt" in dashboard
    history = text_of(city.get(f"/units/{TU_MINH}/history"))
    assert "Thành ủy trả lại dự thảo" in history and "Thành ủy phê duyệt dự thảo" in history


def test_gate_through_the_step_form_and_the_exception(app, staff, city, files):
    awaiting_city(TU_MINH)
    congress = step(TU_MINH, "congress")
    token = csrf_token(staff, f"/units/{TU_MINH}")
    refused = staff.post(f"/units/{TU_MINH}/steps/congress/complete", data={
        "congress-complete-csrf_token": token, "congress-complete-version": str(congress.version),
        "congress-complete-on": "2025-08-05"})
    assert refused.status_code == 422
    assert "Chưa thể ghi nhận đã tổ chức đại hội: Thành ủy chưa phê duyệt" in text_of(refused)
    assert step(TU_MINH, "congress").state == "not_started"
    token = csrf_token(city, PAGES)
    for kind in ("political_report", "personnel_submission"):
        assert city.post(f"{PAGES}/exception", data={"csrf_token": token, "kind": kind,
                                                      "reason": "Thành ủy chỉ định"}).status_code == 302
    assert staff.post(f"{PAGES}/exception", data={"csrf_token": csrf_token(staff, PAGES), "kind": "political_report",
                                                   "reason": "x"}).status_code == 403
    html = text_of(staff.get(PAGES))
    assert "Thành ủy đã phê duyệt các văn kiện cần cho đại hội (hoặc đã ghi nhận ngoại lệ)." in html
    done = staff.post(f"/units/{TU_MINH}/steps/congress/complete", data={
        "congress-complete-csrf_token": csrf_token(staff, f"/units/{TU_MINH}"),
        "congress-complete-version": str(congress.version), "congress-complete-on": "2025-08-05"})
    assert done.status_code == 302 and step(TU_MINH, "congress").state == "done"


def test_dashboard_document_stage_keeps_its_query_count(app, city, make_user, files):
    from congress.drafts import operations
    from congress.units.models import Unit

    city.get("/dashboard")
    counts = []
    for code in ("10891", "11311", "10645"):
        found = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()
        staff = make_user(f"staff-{code}", "unit_staff", unit=code)
        operations.upload_version(found, "political_report", filename="a.docx", content=REPORT_1, note=None,
                                  actor=staff)
        operations.upload_version(found, "self_review_report", filename="b.pdf", content=PDF, note=None, actor=staff)
        db.session.commit()
        with count_queries() as statements:
            html = text_of(city.get("/dashboard"))
        counts.append(len(statements))
        assert f'href="/units/{code}/drafts?campaign=' in html
    assert len(set(counts)) == 1, counts


def test_no_submit_offered_while_a_version_awaits_the_city(app, staff, leader, files):
    """Draft N+1 sent to the city: neither it nor draft N is offered for submitting (the operation
    would refuse both), the page offers "Submit" again once the verdict is in."""
    one = next_number()
    post_upload(staff, REPORT_1)
    post_upload(staff, REPORT_2)
    kind_page = f"{PAGES}/political_report"
    assert text_of(leader.get(kind_page)).count("Trình Thành ủy</button>") >= 2
    assert leader.post(f"{kind_page}/{one + 1}/submit",
                       data={"csrf_token": csrf_token(leader, kind_page)}).status_code == 302
    html = text_of(leader.get(kind_page))
    assert "Trình Thành ủy</button>" not in html
    refused = leader.post(f"{kind_page}/{one}/submit", data={"csrf_token": csrf_token(leader, kind_page)})
    assert refused.status_code == 409


def test_people_are_named_by_their_display_names(app, staff, leader, city, files):
    from congress.accounts.models import User

    names = {u.username: u.display_name for u in db.session.execute(db.select(User)).scalars()}
    one = next_number()
    post_upload(staff, REPORT_1)
    kind_page = f"{PAGES}/political_report"
    leader.post(f"{kind_page}/{one}/submit", data={"csrf_token": csrf_token(leader, kind_page), "version": "1"})
    city.post(f"{kind_page}/{one}/review", data={"csrf_token": csrf_token(city, kind_page), "verdict": "return",
                                                 "text": "Cần bổ sung số liệu", "version": "2"})
    html = text_of(staff.get(kind_page))
    assert names["tuminh.vanphong"] in html and names["thanhuy.vanphong"] in html
    assert "tuminh.vanphong" not in html and "thanhuy.vanphong" not in html
    token = csrf_token(city, PAGES)
    assert city.post(f"{PAGES}/exception", data={"csrf_token": token, "kind": "personnel_submission",
                                          "reason": "Thành ủy chỉ định"}).status_code == 302
    index = text_of(staff.get(PAGES))
    assert names["thanhuy.vanphong"] in index and "thanhuy.vanphong" not in index
