"""The unit's history speaks to people: every action and field in words in both languages, states
and statuses by their labels, sizes in KB, dates as 5/8/2025, a note headed "Ghi chú" and only a
return, a waiver, a reopening or an exception headed "Lý do", which stays in the history after
the unit submits again."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from congress.accounts.models import User
from congress.audit import words
from congress.audit.models import AuditRecord
from congress.drafts import operations
from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.formatting import file_size
from congress.units.models import Unit
from tests.test_drafts import make_docx
from tests.test_web_units import signed_in
from workflows.rules import Action

HONG_BANG = "11311"
RETURN_REASON = "Đề nghị làm rõ giải pháp trọng tâm về chuyển đổi số."
UPLOAD_NOTE = "Bản tiếp thu ý kiến của Ban Thường vụ Đảng ủy"
SOURCE = Path(__file__).resolve().parent.parent / "congress"
VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "base", "col", "embed",
                  "track"})


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, no attributes, no scripts or styles, nor the words meant
    for screen readers only."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.open: list[bool] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        hidden = tag in ("script", "style") or "visually-hidden" in (dict(attrs).get("class") or "").split()
        if tag not in VOID:
            self.open.append(hidden)
        self.hidden += hidden and tag not in VOID

    def handle_endtag(self, tag):
        if tag not in VOID and self.open:
            self.hidden -= self.open.pop()

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def history_entries(html: str) -> list[str]:
    """The visible text of each entry of a history page."""
    return [visible(part.split("</ol>")[0]) for part in html.split('<li class="entry">')[1:]]


def person(username: str) -> User:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def pages_of(client, code: str, language: str = "vi") -> list[str]:
    """Every page of the unit's history."""
    first = client.get(f"/units/{code}/history?lang={language}").get_data(as_text=True)
    found = re.search(r"Trang 1/(\d+)|Page 1 of (\d+)", visible(first))
    count = int(next(g for g in found.groups() if g)) if found else 1
    return [first] + [client.get(f"/units/{code}/history?page={n}&lang={language}").get_data(as_text=True)
                      for n in range(2, count + 1)]


@pytest.fixture
def returned_and_resubmitted(app):
    """Hồng Bàng's political report, waiting for the city in the demo, returned with a reason;
    the unit uploads a new draft with a note and submits it again."""
    found = unit(HONG_BANG)
    pending = db.session.execute(db.select(DraftVersion).filter_by(
        unit_id=found.id, kind="political_report", status="submitted")).scalar_one()
    operations.review_version(pending, verdict="return", text=RETURN_REASON, actor=person("thanhuy.lanhdao"))
    again = operations.upload_version(found, "political_report", filename="BCCT tiếp thu.docx",
                                      content=make_docx("BÁO CÁO CHÍNH TRỊ", "Dự thảo tiếp thu ý kiến."),
                                      note=UPLOAD_NOTE, actor=person("hongbang.vanphong"))
    operations.submit_version(again, actor=person("hongbang.bithu"))
    db.session.commit()
    return again


def test_the_history_of_a_returned_and_resubmitted_report_is_in_words(app, returned_and_resubmitted):
    client = signed_in(app, "hongbang.vanphong")
    pages = pages_of(client, HONG_BANG)
    text = " ".join(visible(page) for page in pages)
    entries = [entry for page in pages for entry in history_entries(page)]
    # no code, no byte count, no ISO date anywhere in the unit's history
    assert "→ submitted" not in text and "draft →" not in text
    assert "_" not in text, re.findall(r"\S*_\S*", text)[:5]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert str(returned_and_resubmitted.size) not in text
    # the upload: its file, its size in KB, its note headed as a note
    upload = next(e for e in entries if e.startswith("Tải lên dự thảo") and UPLOAD_NOTE in e)
    assert f"Dung lượng: {file_size(returned_and_resubmitted.size, 'vi')}" in upload
    assert "Báo cáo chính trị, dự thảo lần" in upload and "Tệp: BCCT tiếp thu.docx" in upload
    assert f"Ghi chú: {UPLOAD_NOTE}" in upload and "Lý do" not in upload
    # the statuses and states by their labels
    assert "Trạng thái: dự thảo → chờ Thành ủy cho ý kiến" in text
    assert "Trạng thái: chờ Thành ủy cho ý kiến → Thành ủy trả lại" in text
    assert "Trạng thái: đang thực hiện → đã trình Thành ủy" in text
    # the return's reason, on the draft and on the step, though the step's reason is cleared since
    returns = [e for e in entries if f"Lý do: {RETURN_REASON}" in e]
    assert [e.split(" ", 3)[:3] for e in returns] == [["Thành", "ủy", "trả"]] * 2
    resubmitted = db.session.execute(sa.select(AuditRecord).filter_by(
        action="step.submit", entity_key=f"{HONG_BANG}/documents_approval").order_by(
        AuditRecord.id.desc()).limit(1)).scalar_one()
    assert resubmitted.old["reason"] == RETURN_REASON  # the resubmission cleared it ...
    submissions = [e for e in entries if e.startswith("Trình Thành ủy Trình Ban Thường vụ Thành ủy")]
    assert len(submissions) >= 2 and not any("Lý do" in e for e in submissions)  # ... which is not news there
    # dates the Vietnamese way, in the changes and in the time of each entry
    assert re.search(r"Ngày trình: \S+ → 5/8/2025", text)
    assert re.search(r"\d{2}:\d{2} 5/8/2025", text)


def test_the_history_in_english(app, returned_and_resubmitted):
    client = signed_in(app, "hongbang.vanphong")
    text = " ".join(visible(page) for page in pages_of(client, HONG_BANG, "en"))
    assert f"Reason: {RETURN_REASON}" in text and f"Note: {UPLOAD_NOTE}" in text
    assert "Draft uploaded" in text and "Political report, draft" in text
    assert "draft → waiting for the city" in text
    assert "_" not in text and not re.search(r"\d{4}-\d{2}-\d{2}", text)


def test_every_demo_unit_history_is_in_words(app):
    """The first page of every Hải Phòng unit's history, as its readers see it."""
    client = signed_in(app, "thanhuy.vanphong")
    for code in db.session.execute(sa.select(Unit.code).where(Unit.province_code == "31")).scalars():
        text = visible(client.get(f"/units/{code}/history").get_data(as_text=True))
        assert "_" not in text and not re.search(r"\d{4}-\d{2}-\d{2}", text), code
        assert not re.search(r"(?<![\d.,/])(?!20\d\d\b)\d{4,}(?![\d.,/]| KB| MB)", text.replace(code, "")), code


# --- every action, every field, in both languages ----------------------------------------------------

#: call sites whose action is not a literal, and the actions they write
DYNAMIC_ACTIONS = {
    'f"step.{action.value}"': {f"step.{a.value}" for a in Action},
    'f"draft.{verdict}"': {f"draft.{v}" for v in operations.VERDICTS},
    "action": {"step.auto_complete", "step.auto_update", "step.auto_reopen", "step.auto_start"},
    '"deadline.set" if day else "deadline.clear"': {"deadline.set", "deadline.clear"},
}


def recorded_actions() -> set[str]:
    """Every action a ``record(action=...)`` call across congress/ writes."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        for match in re.finditer(r"record\(action=(.+?),\s*entity=", path.read_text(encoding="utf-8"), re.S):
            expression = " ".join(match.group(1).split())
            if re.fullmatch(r'"[a-z_.]+"', expression):
                found.add(expression.strip('"'))
            else:
                assert expression in DYNAMIC_ACTIONS, f"{path.name}: {expression}"
                found |= DYNAMIC_ACTIONS[expression]
    return found


def test_every_recorded_action_has_words_in_both_languages(app):
    actions = recorded_actions()
    assert {"draft.upload", "round.close", "user.login", "import.apply", "step.auto_reopen"} <= actions
    missing = actions - set(words.ACTIONS)
    assert not missing, missing
    labels = {**{f"action {k}": v for k, v in words.ACTIONS.items()},
              **{f"field {k}": v for k, v in words.FIELDS.items()},
              **{f"note {k}": v for k, v in words.NOTE_LABELS.items()}}
    with app.test_request_context():
        with force_locale("vi"):
            vietnamese = {k: str(v) for k, v in labels.items()}
        with force_locale("en"):
            english = {k: str(v) for k, v in labels.items()}
    untranslated = sorted(k for k in labels if vietnamese[k] == english[k])
    assert not untranslated, untranslated


@pytest.mark.parametrize(("name", "value", "entity", "expected"), [
    ("state", "submitted", "step", "đã trình Thành ủy"),
    ("status", "draft", "draft", "dự thảo"),
    ("status", "submitted", "draft", "chờ Thành ủy cho ý kiến"),
    ("status", "closed", "round", "đã kết thúc"),
    ("size", 250880, "draft", "245 KB"),
    ("size", 812, "draft", "812 B"),
    ("size", 3 * 1024 * 1024 + 200_000, "draft", "3,2 MB"),
    ("submitted_on", "2025-08-05", "step", "5/8/2025"),
    ("members", 2450, "branch", "2.450"),
    ("kind", "dang_bo_bo_phan", "branch", "Đảng bộ bộ phận"),
    ("kind", "phuong", "unit", "phường"),
    ("kind", "political_report", "paper", "Báo cáo chính trị"),
    ("role", "city_leader", "user", "lãnh đạo"),
    ("revoked", True, "calendar_feed", "có"),
    ("locked_until", "2025-08-05T03:15:00+00:00", "user", "10:15 5/8/2025"),
    ("workflow", "commune_congress r2", "preparation", "Chuẩn bị đại hội Đảng bộ cấp xã"),
    ("note", None, "step", "—"),
])
def test_each_value_is_put_into_words(app, name, value, entity, expected):
    with app.test_request_context(), force_locale("vi"):
        assert expected.lower() in words.value_words(name, value, entity).lower()


def test_a_note_is_headed_by_what_it_is(app):
    def note_of(action, reason, entity="draft", new=None):
        record = AuditRecord(action=action, entity=entity, reason=reason, new=new, old=None)
        return words.describe(record).note_kind

    assert note_of("draft.upload", "Bản đầu") == "note"
    assert note_of("draft.submit", "Kính trình") == "note"
    assert note_of("draft.return", "Viết ngắn gọn") == "reason"
    assert note_of("draft.exception", "Đã xin ý kiến") == "reason"
    assert note_of("draft.approve", "Đồng ý") == "comment"
    for action in ("step.return", "step.mark_not_applicable", "step.reopen"):
        assert note_of(action, "Lý do", entity="step") == "reason"
    assert note_of("step.complete", None, entity="step", new={"note": "Hoàn thành dự thảo lần 2"}) == "note"
    assert note_of("step.auto_complete", "all_branches_held: 40/40", entity="step") == "basis"
    with app.test_request_context(), force_locale("vi"):
        auto = words.describe(AuditRecord(action="step.auto_complete", entity="step", reason="all_branches_held: 4/4"))
        assert auto.note_label == "Căn cứ" and "4" in auto.note and "_" not in auto.note
