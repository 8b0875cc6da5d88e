"""The drafts in the API: every kind of bad upload is refused with nothing stored, the whole cycle
(upload, compare, comment round, submit, return, re-submit, approve), downloads and the gate."""
from __future__ import annotations

import io
import zipfile
from urllib.parse import unquote

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from congress.audit.models import AuditRecord
from congress.drafts.models import DraftVersion
from congress.extensions import db
from tests.test_drafts import PDF, REPORT_1, REPORT_2, TU_MINH, awaiting_city, step
from tests.test_openapi import Checker

BASE = f"/api/v1/units/{TU_MINH}/drafts"


@pytest.fixture
def files(app, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path / "files")
    return tmp_path / "files"


@pytest.fixture
def clients(app, api_as):
    class Clients:
        staff = api_as("unit_staff", unit=TU_MINH)
        leader = api_as("unit_leader", unit=TU_MINH)
        city = api_as("city_staff", province="31")
        viewer = api_as("viewer", unit=TU_MINH)
        other = api_as("unit_staff", unit="11311")
    return Clients


@pytest.fixture
def checker():
    return Checker()


def multipart(content: bytes, name: str, **fields: str) -> dict:
    """A multipart body built in memory (the test client would spill a large one to an unclosed
    temporary file)."""
    values = MultiDict({"file": FileStorage(io.BytesIO(content), filename=name), **fields})
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(client, content: bytes, name: str = "du-thao.docx", kind: str = "political_report", note: str = ""):
    fields = {"note": note} if note else {}
    return client.post(f"{BASE}/{kind}/versions", **multipart(content, name, **fields))


def _rezip(content: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
           drop: tuple[str, ...] = ()) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename in drop:
                continue
            target.writestr(item.filename, (replace or {}).get(item.filename, source.read(item.filename)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def macro_docx() -> bytes:
    types = zipfile.ZipFile(io.BytesIO(REPORT_1)).read("[Content_Types].xml").replace(
        b"wordprocessingml.document.main+xml", b"wordprocessingml.document.main+xml").replace(
        b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    return _rezip(REPORT_1, replace={"[Content_Types].xml": types}, add={"word/vbaProject.bin": b"\x00" * 64})


def docm_main() -> bytes:
    types = zipfile.ZipFile(io.BytesIO(REPORT_1)).read("[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml")
    return _rezip(REPORT_1, replace={"[Content_Types].xml": types})


def zip_bomb() -> bytes:
    return _rezip(REPORT_1, add={"word/media/huge.xml": b"\0" * (8 * 1024 * 1024)})


def damaged_crc() -> bytes:
    """A part whose bytes were changed after it was packed: the checksum no longer matches."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for item in zipfile.ZipFile(io.BytesIO(REPORT_1)).infolist():
            target.writestr(item.filename, zipfile.ZipFile(io.BytesIO(REPORT_1)).read(item.filename))
    data = bytearray(out.getvalue())
    position = data.find(b"<w:body>")
    data[position + 1:position + 4] = b"xyz"
    return bytes(data)


BAD_UPLOADS = [
    ("empty", b"", "a.docx", 422, "upload_empty"),
    ("image named .docx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "a.docx", 422, "upload_wrong_type"),
    ("text named .pdf", "Báo cáo chính trị".encode(), "a.pdf", 422, "upload_wrong_type"),
    ("a zip that is no Word document", _rezip(REPORT_1, drop=("word/document.xml",)), "a.docx", 422,
     "upload_wrong_type"),
    ("macro part", macro_docx(), "a.docx", 422, "upload_macros"),
    ("macro-enabled main part", docm_main(), "a.docx", 422, "upload_macros"),
    ("truncated", REPORT_1[:len(REPORT_1) // 2], "a.docx", 422, "upload_corrupted"),
    ("damaged part", damaged_crc(), "a.docx", 422, "upload_corrupted"),
    ("Word body that does not parse", _rezip(REPORT_1, replace={"word/document.xml": b"<w:document"}), "a.docx",
     422, "upload_corrupted"),
    ("zip bomb", zip_bomb(), "a.docx", 422, "upload_zip_bomb"),
    ("PDF without its end", PDF[:30], "a.pdf", 422, "upload_corrupted"),
]


def versions_kept() -> int:
    """Every draft version stored (the demo's own drafts among them)."""
    return db.session.execute(db.select(db.func.count(DraftVersion.id))).scalar()


def uploads_audited() -> int:
    return db.session.execute(db.select(db.func.count(AuditRecord.id)).filter_by(action="draft.upload")).scalar()


@pytest.mark.parametrize(("label", "content", "name", "status", "code"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_uploads_are_refused_and_store_nothing(clients, files, label, content, name, status, code):
    versions, audited = versions_kept(), uploads_audited()
    response = upload(clients.staff, content, name)
    assert response.status_code == status, response.json
    assert response.json["error"] == code and response.json["message"]
    assert versions_kept() == versions
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))
    assert uploads_audited() == audited


def test_an_upload_over_the_limit_is_a_clear_413(clients, files, app):
    app.config["MAX_UPLOAD_MB"] = 1
    versions = versions_kept()
    big = PDF[:-7] + b"\0" * (1024 * 1024) + b"\n%%EOF\n"
    response = upload(clients.staff, big, "big.pdf")
    assert response.status_code == 413 and response.json["error"] == "upload_too_large"
    assert "1 MB" in response.json["message"]
    # a body over the request limit is refused by Flask before it is read, with the same message
    app.config["MAX_CONTENT_LENGTH"] = 512 * 1024
    response = upload(clients.staff, big, "big.pdf")
    assert response.status_code == 413 and response.json["error"] == "upload_too_large"
    assert versions_kept() == versions
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


def test_a_missing_file_and_unknown_kind(clients, files):
    response = clients.staff.post(f"{BASE}/political_report/versions", data={"note": "x"},
                                  content_type="multipart/form-data")
    assert response.status_code == 422 and response.json["error"] == "upload_missing"
    assert upload(clients.staff, REPORT_1, kind="shopping_list").status_code == 404
    assert upload(clients.viewer, REPORT_1).status_code == 403
    assert upload(clients.city, REPORT_1).status_code == 403
    assert upload(clients.other, REPORT_1).status_code == 403


def test_the_whole_cycle_through_the_api(clients, files, checker):
    def call(client, method, url, body=None, **kwargs):
        response = getattr(client, method)(url, json=body, **kwargs) if body is not None \
            else getattr(client, method)(url, **kwargs)
        checker.check(method, url, response, body)
        return response

    awaiting_city(TU_MINH)
    # the demo's drafts of the report (none approved now) come before the two uploaded here
    earlier = [v["number"] for v in next(k for k in call(clients.viewer, "get", BASE).json["kinds"]
                                         if k["kind"] == "political_report")["versions"]]
    one, two = len(earlier) + 1, len(earlier) + 2

    first = upload(clients.staff, REPORT_1, "BCCT lần 1.docx", note="Dự thảo lần 1")
    checker.check("post", f"{BASE}/political_report/versions", first)
    assert first.status_code == 201 and first.json["number"] == one
    assert first.json["original_name"] == "BCCT lần 1.docx"
    second = upload(clients.staff, REPORT_2, "BCCT lần 2.docx")
    assert second.json["number"] == two
    listing = call(clients.viewer, "get", BASE)
    political = next(k for k in listing.json["kinds"] if k["kind"] == "political_report")
    assert [v["number"] for v in political["versions"]] == [two, one, *earlier] and political["stage"] == "draft"
    assert listing.json["congress_missing_approvals"] == ["political_report"]
    congress = step(TU_MINH, "congress")
    refused = clients.staff.post(f"/api/v1/units/{TU_MINH}/steps/congress/transitions",
                                 json={"action": "complete", "version": congress.version})
    assert refused.status_code == 422 and refused.json["error"] == "congress_needs_approval"
    assert "Báo cáo chính trị" in refused.json["message"]

    compared = call(clients.viewer, "get", f"{BASE}/political_report/compare?from={one}&to={two}")
    assert compared.json["counts"] == {"same": 3, "added": 1, "removed": 1, "changed": 1}
    assert call(clients.viewer, "get", f"{BASE}/political_report/compare?from={one}").status_code == 422
    assert call(clients.viewer, "get", f"{BASE}/political_report/compare?from={one}&to={two + 7}").status_code == 404

    download = clients.viewer.get(first.json["file"])
    assert download.status_code == 200 and download.data == REPORT_1
    download.close()
    disposition = download.headers["Content-Disposition"]
    assert f'filename="bao-cao-chinh-tri-du-thao-lan-{one}-phuong-tu-minh.docx"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == \
        f"Báo cáo chính trị - dự thảo lần {one} - Phường Tứ Minh.docx"
    assert clients.other.get(first.json["file"]).status_code == 403

    opened = call(clients.staff, "post", f"{BASE}/political_report/versions/{two}/rounds",
                  {"audiences": ["cadres", "members", "fatherland_front"], "starts_on": "2025-07-20",
                   "ends_on": "2025-07-30"})
    assert opened.status_code == 201
    round_url = f"{BASE}/rounds/{opened.json['id']}"
    assert call(clients.staff, "post", f"{round_url}/comments", {"comments": [
        {"audience": "members", "count": 40}, {"audience": "fatherland_front", "text": "Bổ sung giải pháp"}]}
    ).status_code == 201
    assert call(clients.staff, "post", f"{round_url}/comments",
                {"comments": [{"audience": "residents", "count": 2}]}).status_code == 422
    assert call(clients.viewer, "post", f"{round_url}/comments",
                {"comments": [{"audience": "members"}]}).status_code == 403
    assert call(clients.viewer, "get", round_url).json["totals"] == {"members": 40, "fatherland_front": 1}
    closed = call(clients.staff, "post", f"{round_url}/close", {})
    # Tứ Minh had already completed its comment_round step: nothing to do, nothing refused
    assert closed.json["state"] == "closed" and closed.json["step_completed"] is True
    assert closed.json["step_refusal"] is None
    summary = clients.viewer.get(closed.json["summary"])
    assert summary.status_code == 200 and summary.data.startswith(b"PK")
    assert call(clients.staff, "post", f"{round_url}/close", {}).status_code == 409

    version_url = f"{BASE}/political_report/versions/{two}"
    assert call(clients.staff, "post", f"{version_url}/submit", {}).status_code == 403
    submitted = call(clients.leader, "post", f"{version_url}/submit", {"note": "Kính trình", "version": 1})
    assert submitted.json["status"] == "submitted"
    assert call(clients.leader, "post", f"{BASE}/political_report/versions/{one}/submit", {}).status_code == 409
    assert call(clients.leader, "post", f"{version_url}/reviews", {"verdict": "approve"}).status_code == 403
    assert call(clients.city, "post", f"{version_url}/reviews", {"verdict": "veto"}).status_code == 422
    assert call(clients.city, "post", f"{version_url}/reviews", {"verdict": "return"}).status_code == 422
    returned = call(clients.city, "post", f"{version_url}/reviews",
                    {"verdict": "return", "text": "Chưa nêu rõ khâu đột phá"})
    assert returned.json["status"] == "returned" and returned.json["verdict_reason"] == "Chưa nêu rõ khâu đột phá"
    resubmitted = call(clients.leader, "post", f"{version_url}/submit", {"version": returned.json["version"]})
    assert resubmitted.json["status"] == "submitted" and resubmitted.json["verdict_reason"] is None
    assert call(clients.city, "post", f"{version_url}/reviews",
                {"verdict": "approve", "version": 1}).status_code == 409
    approved = call(clients.city, "post", f"{version_url}/reviews", {"verdict": "approve", "text": "Đồng ý"})
    assert approved.json["status"] == "approved"
    assert [r["action"] for r in call(clients.viewer, "get", version_url).json["reviews"]] == [
        "submit", "return", "submit", "approve"]
    assert call(clients.viewer, "get", BASE).json["congress_missing_approvals"] == []
    assert call(clients.staff, "post", f"{BASE}/personnel_submission/exception", {"reason": "x"}).status_code == 403
    excepted = call(clients.city, "post", f"{BASE}/personnel_submission/exception",
                    {"reason": "Thành ủy chỉ định nhân sự"})
    assert excepted.status_code == 201
    assert call(clients.city, "post", f"{BASE}/personnel_submission/exception", {"reason": "y"}).status_code == 409
    done = clients.staff.post(f"/api/v1/units/{TU_MINH}/steps/congress/transitions",
                              json={"action": "complete", "version": congress.version})
    assert done.status_code == 200 and done.json["state"] == "done"

    statuses = {(m, p, s) for m, p, s in checker.checked}
    drafts_operations = {(m, p) for p, item in checker.spec["paths"].items() for m in item if "/drafts" in p}
    assert {(m, p) for m, p, s in statuses if s in ("200", "201")} >= drafts_operations
