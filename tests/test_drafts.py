"""Drafts of the congress documents: versions, the paragraph diff, comment rounds, submission,
the city's verdict, the workflow steps that follow them, and the gate on the congress step."""
from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document

from congress.audit.models import AuditRecord
from congress.drafts import diff, operations, storage
from congress.drafts.models import DraftVersion, RoundComment
from congress.errors import Conflict, Forbidden, Unprocessable
from congress.extensions import db
from congress.progress import operations as progress_ops
from congress.progress import queries as progress_queries
from congress.progress.models import Step
from congress.units.models import Unit
from tests.pdfs import tiny_pdf
from tests.steps import finish_prerequisites, plan_congress
from workflows.rules import Action

TU_MINH = "10891"
HONG_BANG = "11311"


def make_docx(*paragraphs: str) -> bytes:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


REPORT_1 = make_docx("BÁO CÁO CHÍNH TRỊ", "Phần thứ nhất: kết quả nhiệm kỳ 2020 – 2025.",
                     "Kinh tế tăng trưởng bình quân 7% mỗi năm.", "Đoạn sẽ bị xóa ở dự thảo lần 2.",
                     "Phần thứ hai: phương hướng nhiệm kỳ 2025 – 2030.")
REPORT_2 = make_docx("BÁO CÁO CHÍNH TRỊ", "Phần thứ nhất: kết quả nhiệm kỳ 2020 – 2025.",
                     "Kinh tế tăng trưởng bình quân 8% mỗi năm.", "Chuyển đổi số là khâu đột phá.",
                     "Phần thứ hai: phương hướng nhiệm kỳ 2025 – 2030.")
PDF = tiny_pdf()


@pytest.fixture
def files(tmp_path):
    from flask import current_app

    current_app.config["FILES_FOLDER"] = str(tmp_path / "files")
    return tmp_path / "files"


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def step(code: str, key: str) -> Step:
    prep = progress_queries.unit_preparation(unit(code))
    return db.session.execute(db.select(Step).where(
        Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.key == key)).scalar_one()


def awaiting_city(code: str) -> None:
    """Put the unit's political report back to "sent to the city, no verdict yet" (its approval
    step, and no version approved); the personnel plan's approval step stays done, as the congress
    step requires it. The congress is planned for today, the day it may be held."""
    found = step(code, "documents_approval")
    found.state, found.completed_on = "submitted", None
    found.version += 1
    for version in db.session.execute(db.select(DraftVersion).filter_by(
            unit_id=unit(code).id, kind="political_report", status="approved")).scalars():
        version.status = "returned"
    db.session.commit()
    plan_congress(code, date(2025, 8, 5))


def actions(name: str) -> list[AuditRecord]:
    return list(db.session.execute(db.select(AuditRecord).filter_by(action=name)
                                   .order_by(AuditRecord.id)).scalars())


@pytest.fixture
def people(base_app, make_user):
    class People:
        staff = make_user("tm.staff", "unit_staff", unit=TU_MINH)
        leader = make_user("tm.leader", "unit_leader", unit=TU_MINH)
        city = make_user("city.staff", "city_staff", province="31")
        city_leader = make_user("city.leader", "city_leader", province="31")
        viewer = make_user("tm.viewer", "viewer", unit=TU_MINH)
        other = make_user("hb.staff", "unit_staff", unit=HONG_BANG)
    return People


# --- versions --------------------------------------------------------------------------------------

def test_uploads_are_numbered_per_unit_and_kind_and_stored_by_hash(people, files):
    first = operations.upload_version(unit(TU_MINH), "political_report", filename="BCCT lần 1.docx",
                                      content=REPORT_1, note="Dự thảo đầu tiên", actor=people.staff)
    second = operations.upload_version(unit(TU_MINH), "political_report", filename="C:\\Users\\x\\BCCT 2.docx",
                                       content=REPORT_2, note=None, actor=people.leader)
    other_kind = operations.upload_version(unit(TU_MINH), "personnel_submission", filename="ns.pdf", content=PDF,
                                           note=None, actor=people.staff)
    other_unit = operations.upload_version(unit(HONG_BANG), "political_report", filename="a.docx",
                                           content=REPORT_1, note=None, actor=people.other)
    db.session.commit()
    assert (first.number, second.number, other_kind.number, other_unit.number) == (1, 2, 1, 1)
    assert (first.format, other_kind.format) == ("docx", "pdf")
    assert second.original_name == "BCCT 2.docx"  # only the name, never a path
    stored = storage.path_of(first.sha256)
    assert stored.parent.parent == files and stored.read_bytes() == REPORT_1
    assert other_unit.sha256 == first.sha256  # the same content is kept once
    assert sorted(p.name for p in files.rglob("*") if p.is_file()) == sorted({first.sha256, second.sha256,
                                                                             other_kind.sha256})
    assert not list(files.rglob(".upload-*"))
    uploads = actions("draft.upload")
    assert len(uploads) == 4 and uploads[0].new["version_number"] == 1 and uploads[0].reason == "Dự thảo đầu tiên"
    assert uploads[0].new["document"] == "Báo cáo chính trị" and uploads[0].actor == "tm.staff"


def test_a_taken_number_is_retried_never_duplicated(people, files, monkeypatch):
    operations.upload_version(unit(TU_MINH), "political_report", filename="a.docx", content=REPORT_1, note=None,
                              actor=people.staff)
    db.session.commit()
    real = operations._next_number
    calls = []

    def stale_then_real(preparation_id, kind):  # as if another upload had read the same maximum
        calls.append(1)
        return 1 if len(calls) == 1 else real(preparation_id, kind)

    monkeypatch.setattr(operations, "_next_number", stale_then_real)
    version = operations.upload_version(unit(TU_MINH), "political_report", filename="b.docx", content=REPORT_2,
                                        note=None, actor=people.staff)
    db.session.commit()
    assert version.number == 2 and len(calls) == 2
    monkeypatch.setattr(operations, "_next_number", lambda preparation_id, kind: 1)
    with pytest.raises(Conflict) as refused:
        operations.upload_version(unit(TU_MINH), "political_report", filename="c.docx", content=REPORT_1,
                                  note=None, actor=people.staff)
    assert refused.value.code == "draft_number_taken"
    db.session.rollback()
    numbers = db.session.execute(db.select(DraftVersion.number).filter_by(kind="political_report")).scalars().all()
    assert sorted(numbers) == [1, 2]


def test_who_may_upload_submit_and_review(people, files):
    found = unit(TU_MINH)
    for actor in (people.city, people.viewer, people.other):
        with pytest.raises(Forbidden):
            operations.upload_version(found, "political_report", filename="a.docx", content=REPORT_1, note=None,
                                      actor=actor)
    version = operations.upload_version(found, "political_report", filename="a.docx", content=REPORT_1, note=None,
                                        actor=people.staff)
    with pytest.raises(Forbidden):
        operations.submit_version(version, actor=people.staff)
    with pytest.raises(Forbidden):
        operations.review_version(version, verdict="comment", text="Góp ý", actor=people.leader)
    with pytest.raises(Forbidden):
        operations.record_exception(found, "political_report", reason="Lý do", actor=people.leader)
    operations.submit_version(version, actor=people.leader)
    operations.review_version(version, verdict="approve", text=None, actor=people.city_leader)
    assert version.status == "approved"


# --- the paragraph diff ----------------------------------------------------------------------------

def test_paragraphs_come_in_reading_order_with_tables():
    document = Document()
    document.add_paragraph("Mở đầu")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Chỉ tiêu"
    table.cell(0, 1).text = "Kết quả"
    document.add_paragraph("  ")
    document.add_paragraph("Kết   luận")
    buffer = io.BytesIO()
    document.save(buffer)
    assert diff.paragraphs(buffer.getvalue()) == ["Mở đầu", "Chỉ tiêu", "Kết quả", "Kết luận"]


def test_paragraph_diff_pairs_changed_paragraphs_and_marks_words():
    rows = diff.compare(diff.paragraphs(REPORT_1), diff.paragraphs(REPORT_2))
    assert [r.kind for r in rows] == ["same", "same", "changed", "removed", "added", "same"]
    changed = rows[2]
    assert (changed.left_no, changed.right_no) == (3, 3)
    assert [p.text for p in changed.left if p.marked] == ["7"]
    assert [p.text for p in changed.right if p.marked] == ["8"]
    assert changed.left_text == "Kinh tế tăng trưởng bình quân 7% mỗi năm."
    assert rows[3].left_text == "Đoạn sẽ bị xóa ở dự thảo lần 2." and rows[3].right == ()
    assert rows[4].right_text == "Chuyển đổi số là khâu đột phá." and rows[4].left == ()
    assert diff.summary(rows) == {"same": 3, "added": 1, "removed": 1, "changed": 1}


def test_diff_of_insertions_only_and_of_identical_versions():
    assert [r.kind for r in diff.compare(["a b c"], ["x y z", "a b c", "w"])] == ["added", "same", "added"]
    assert diff.summary(diff.compare(["một", "hai"], ["một", "hai"])) == {"same": 2, "added": 0, "removed": 0,
                                                                       "changed": 0}


def test_comparison_needs_two_docx_versions(people, files):
    found = unit(TU_MINH)
    docx = operations.upload_version(found, "political_report", filename="a.docx", content=REPORT_1, note=None,
                                     actor=people.staff)
    pdf = operations.upload_version(found, "political_report", filename="b.pdf", content=PDF, note=None,
                                    actor=people.staff)
    with pytest.raises(Unprocessable) as refused:
        diff.compare_versions(docx, pdf)
    assert refused.value.code == "compare_needs_docx" and refused.value.params == {"number": 2}


# --- a full comment round and the steps that follow ------------------------------------------------

def _complete(code: str, key: str, actor) -> None:
    found = step(code, key)
    progress_ops.transition(found, action=Action.COMPLETE, actor=actor, version=found.version)


def test_full_comment_round_completes_the_comment_round_step(people, files):
    found = unit(TU_MINH)
    finish_prerequisites(TU_MINH, "political_report")
    version = operations.upload_version(found, "political_report", filename="a.docx", content=REPORT_1, note=None,
                                        actor=people.staff)
    assert step(TU_MINH, "political_report").state == "in_progress"  # the first upload started the step
    round_ = operations.open_round(version, audiences=["residents", "cadres", "members", "fatherland_front"],
                                   starts_on=date(2025, 7, 20), ends_on=date(2025, 7, 30), actor=people.staff)
    assert round_.audiences == ["cadres", "members", "fatherland_front", "residents"]  # the fixed order
    with pytest.raises(Conflict):
        operations.open_round(version, audiences=["cadres"], starts_on=date(2025, 7, 20),
                              ends_on=date(2025, 7, 30), actor=people.staff)
    operations.add_comments(round_, [operations.CommentEntry("members", 35)], actor=people.staff)
    entries = operations.parse_comment_lines(
        "Đảng viên | 2 | Cần làm rõ nguyên nhân hạn chế\n\nMTTQ | Đề nghị bổ sung chỉ tiêu chuyển đổi số\n"
        "nhân dân | 120\ncan bo|Rút gọn phần đánh giá")
    assert entries == [operations.CommentEntry("members", 2, "Cần làm rõ nguyên nhân hạn chế"),
                       operations.CommentEntry("fatherland_front", 1, "Đề nghị bổ sung chỉ tiêu chuyển đổi số"),
                       operations.CommentEntry("residents", 120, None),
                       operations.CommentEntry("cadres", 1, "Rút gọn phần đánh giá")]
    operations.add_comments(round_, entries, actor=people.staff)
    db.session.commit()
    assert len(actions("round.comment")) == 5
    # a line for an audience the round did not ask writes nothing
    with pytest.raises(Unprocessable) as refused:
        operations.add_comments(round_, [operations.CommentEntry("cadres", 1, "ok"),
                                         operations.CommentEntry("branch_secretaries", 1, "x")], actor=people.staff)
    assert refused.value.code == "audience_not_in_round"
    db.session.rollback()
    assert db.session.execute(db.select(db.func.count(RoundComment.id))).scalar() == 5

    # the prerequisites of the comment_round step are not done: the round closes, the step says why
    closed = operations.close_round(round_, actor=people.staff)
    db.session.commit()
    assert round_.state == "closed" and round_.closed_on == date(2025, 8, 5)
    assert closed.step_refusal is not None and closed.step_refusal.code == "prerequisites_incomplete"
    assert step(TU_MINH, "comment_round").state == "not_started"
    with pytest.raises(Conflict):
        operations.add_comments(round_, [operations.CommentEntry("cadres", 1)], actor=people.staff)

    # with them done, closing the next round completes the step, audited with the same actor
    for key in ("political_report", "self_review"):
        _complete(TU_MINH, key, people.staff)
    second = operations.open_round(version, audiences=["branch_secretaries"], starts_on=date(2025, 8, 1),
                                   ends_on=date(2025, 8, 4), actor=people.staff)
    closed = operations.close_round(second, actor=people.staff)
    db.session.commit()
    assert closed.step_refusal is None
    assert step(TU_MINH, "comment_round").state == "done"
    completion = [r for r in actions("step.complete") if r.step_key == "comment_round"]
    assert len(completion) == 1 and completion[0].actor == "tm.staff"
    assert [r.new["comments"] for r in actions("round.close")] == [159, 0]


def test_summary_docx_is_a_party_format_report(people, files):
    from congress.drafts.summary import summary_docx

    found = unit(TU_MINH)
    version = operations.upload_version(found, "political_report", filename="a.docx", content=REPORT_1, note=None,
                                        actor=people.staff)
    round_ = operations.open_round(version, audiences=["cadres", "members"], starts_on=date(2025, 7, 20),
                                   ends_on=date(2025, 7, 30), actor=people.staff)
    operations.add_comments(round_, [operations.CommentEntry("members", 1250),
                                     operations.CommentEntry("cadres", 1, "Cần nêu rõ khâu đột phá")],
                            actor=people.staff)
    operations.close_round(round_, actor=people.staff)
    db.session.commit()
    filename, content = summary_docx(round_)
    assert filename == "Báo cáo tổng hợp ý kiến góp ý - Báo cáo chính trị lần 1 - Phường Tứ Minh.docx"
    document = Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    heading = "\n".join(c.text for row in document.tables[0].rows for c in row.cells)
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in heading and "ĐẢNG ỦY PHƯỜNG TỨ MINH" in heading
    assert "Số    -BC/ĐU" in heading and "ngày 05 tháng 8 năm 2025" in heading
    assert "BÁO CÁO" in text and "dự thảo lần 1" in text and "Cần nêu rõ khâu đột phá" in text
    counts = [[c.text for c in row.cells] for row in document.tables[1].rows]
    assert counts == [["TT", "Đối tượng lấy ý kiến", "Số ý kiến"], ["1", "Cán bộ", "1"], ["2", "Đảng viên", "1.250"],
                      ["", "Tổng cộng", "1.251"]]
    everything = text + heading + "".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "Nơi nhận" in everything and "Lưu Văn phòng Đảng ủy." in everything and "T/M BAN THƯỜNG VỤ" in everything


def test_round_refusals(people, files):
    version = operations.upload_version(unit(TU_MINH), "self_review_report", filename="a.docx", content=REPORT_1,
                                        note=None, actor=people.staff)
    for audiences, start, end, code in ((["cadres"], date(2025, 8, 2), date(2025, 8, 1), "round_dates"),
                                        ([], date(2025, 8, 1), date(2025, 8, 2), "audiences_required"),
                                        (["everyone"], date(2025, 8, 1), date(2025, 8, 2), "unknown_audience")):
        with pytest.raises(Unprocessable) as refused:
            operations.open_round(version, audiences=audiences, starts_on=start, ends_on=end, actor=people.staff)
        assert refused.value.code == code
    for text, code in (("chi bộ 5 | 3", "unknown_audience"), ("chỉ một cột", "comment_line_invalid"),
                       ("Đảng viên | 0 | x", "comment_count_invalid"), ("\n \n", "comments_required")):
        with pytest.raises(Unprocessable) as refused:
            operations.parse_comment_lines(text)
        assert refused.value.code == code


# --- submit, return, re-submit, approve ------------------------------------------------------------

def test_submit_return_resubmit_approve_and_the_approval_step_follows(people, files):
    found = unit(TU_MINH)
    finish_prerequisites(TU_MINH, "documents_approval")
    first = operations.upload_version(found, "political_report", filename="a.docx", content=REPORT_1, note=None,
                                      actor=people.staff)
    operations.submit_version(first, actor=people.leader, note="Kính trình")
    db.session.commit()
    assert first.status == "submitted" and first.submitted_on == date(2025, 8, 5)
    assert step(TU_MINH, "documents_approval").state == "submitted"
    second = operations.upload_version(found, "political_report", filename="b.docx", content=REPORT_2, note=None,
                                       actor=people.staff)
    with pytest.raises(Conflict) as refused:
        operations.submit_version(second, actor=people.leader)
    assert refused.value.code == "draft_already_submitted"
    with pytest.raises(Unprocessable):
        operations.review_version(first, verdict="return", text="  ", actor=people.city)
    operations.review_version(first, verdict="comment", text="Cần ngắn gọn hơn", actor=people.city)
    operations.review_version(first, verdict="return", text="Chưa nêu rõ khâu đột phá", actor=people.city)
    db.session.commit()
    assert first.status == "returned" and first.verdict_reason == "Chưa nêu rõ khâu đột phá"
    documents_approval = step(TU_MINH, "documents_approval")
    assert documents_approval.state == "in_progress" and documents_approval.reason == "Chưa nêu rõ khâu đột phá"
    with pytest.raises(Conflict):
        operations.review_version(first, verdict="approve", text=None, actor=people.city)
    operations.submit_version(second, actor=people.leader, expected=second.version)
    db.session.commit()
    assert step(TU_MINH, "documents_approval").state == "submitted"
    with pytest.raises(Conflict):
        operations.review_version(second, verdict="approve", text=None, actor=people.city, expected=1)
    operations.review_version(second, verdict="approve", text="Đồng ý", actor=people.city_leader)
    db.session.commit()
    assert second.status == "approved" and step(TU_MINH, "documents_approval").state == "approved"
    assert [r.action for r in first.reviews] == ["submit", "comment", "return"]
    assert [(r.action, r.actor) for r in second.reviews] == [("submit", "tm.leader"), ("approve", "city.leader")]
    step_actions = [(r.action, r.actor) for r in db.session.execute(
        db.select(AuditRecord).filter_by(step_key="documents_approval").order_by(AuditRecord.id)).scalars()]
    assert step_actions == [("step.start", "tm.leader"), ("step.submit", "tm.leader"), ("step.return", "city.staff"),
                            ("step.submit", "tm.leader"), ("step.approve", "city.leader")]
    assert [r.action for r in db.session.execute(db.select(AuditRecord).filter(
        AuditRecord.action.like("draft.%")).order_by(AuditRecord.id)).scalars()] == [
        "draft.upload", "draft.submit", "draft.upload", "draft.comment", "draft.return", "draft.submit",
        "draft.approve"]


# --- the gate on the congress step -----------------------------------------------------------------

def test_congress_cannot_be_marked_held_without_the_approvals(app, make_user, files):
    """Phường Tứ Minh has every other step done: only the city's approval of its political report
    stands in the way, and the city's approval of the version opens it."""
    awaiting_city(TU_MINH)
    staff = make_user("tm.staff2", "unit_staff", unit=TU_MINH)
    leader = db.session.execute(db.select(type(staff)).filter_by(username="tuminh.bithu")).scalar_one()
    city = db.session.execute(db.select(type(staff)).filter_by(username="thanhuy.vanphong")).scalar_one()
    congress = step(TU_MINH, "congress")
    with pytest.raises(Unprocessable) as refused:
        progress_ops.transition(congress, action=Action.COMPLETE, actor=staff, version=congress.version)
    assert refused.value.code == "congress_needs_approval"
    assert refused.value.params["kinds"] == ["political_report"]
    db.session.rollback()
    assert step(TU_MINH, "congress").state == "not_started"
    report = operations.upload_version(unit(TU_MINH), "political_report", filename="a.docx", content=REPORT_1,
                                       note=None, actor=staff)
    operations.submit_version(report, actor=leader)
    db.session.commit()
    with pytest.raises(Unprocessable):  # submitted is not approved
        progress_ops.transition(congress, action=Action.COMPLETE, actor=staff, version=congress.version)
    db.session.rollback()
    operations.review_version(report, verdict="approve", text=None, actor=city)
    db.session.commit()
    assert step(TU_MINH, "documents_approval").state == "approved"
    congress = step(TU_MINH, "congress")
    progress_ops.transition(congress, action=Action.COMPLETE, actor=staff, version=congress.version)
    db.session.commit()
    assert step(TU_MINH, "congress").state == "done"


def test_an_exception_lets_the_congress_be_held_without_the_approval(app, make_user):
    awaiting_city(TU_MINH)
    staff = make_user("tm.staff2", "unit_staff", unit=TU_MINH)
    city = db.session.execute(db.select(type(staff)).filter_by(username="thanhuy.vanphong")).scalar_one()
    with pytest.raises(Forbidden):
        operations.record_exception(unit(TU_MINH), "political_report", reason="x", actor=staff)
    with pytest.raises(Unprocessable):
        operations.record_exception(unit(TU_MINH), "political_report", reason=" ", actor=city)
    with pytest.raises(Unprocessable):
        operations.record_exception(unit(TU_MINH), "self_review_report", reason="x", actor=city)
    db.session.rollback()
    reason = "Thành ủy cho phép dùng báo cáo đã thông qua tại hội nghị Ban Chấp hành"
    operations.record_exception(unit(TU_MINH), "political_report", reason=reason, actor=city)
    db.session.commit()
    with pytest.raises(Conflict):
        operations.record_exception(unit(TU_MINH), "political_report", reason="lần nữa", actor=city)
    db.session.rollback()
    congress = step(TU_MINH, "congress")
    progress_ops.transition(congress, action=Action.COMPLETE, actor=staff, version=congress.version)
    db.session.commit()
    assert step(TU_MINH, "congress").state == "done"
    exception = actions("draft.exception")
    assert len(exception) == 1 and exception[0].reason == reason
    # the waived approval step follows: returned, then not applicable, with the same reason
    assert step(TU_MINH, "documents_approval").state == "not_applicable"
    assert [r.action for r in actions("step.return") + actions("step.mark_not_applicable")
            if r.step_key == "documents_approval"] == ["step.return", "step.mark_not_applicable"]
    assert actions("step.mark_not_applicable")[-1].reason == reason


def test_an_approval_recorded_on_the_steps_opens_the_gate(app, make_user):
    """Approvals given before drafts were kept here are the approval steps the city completed."""
    staff = make_user("tm.staff3", "unit_staff", unit=TU_MINH)
    db.session.execute(db.update(DraftVersion).values(status="draft"))
    db.session.commit()
    plan_congress(TU_MINH, date(2025, 8, 5))
    assert step(TU_MINH, "documents_approval").state in ("approved", "done")
    congress = step(TU_MINH, "congress")
    progress_ops.transition(congress, action=Action.COMPLETE, actor=staff, version=congress.version)
    db.session.commit()
    assert step(TU_MINH, "congress").state == "done"


def test_only_the_city_waives_an_approval_step(app, make_user):
    staff = make_user("tm.staff4", "unit_leader", unit=TU_MINH)
    awaiting_city(TU_MINH)
    found = step(TU_MINH, "personnel_plan")
    found.state = "in_progress"
    db.session.commit()
    with pytest.raises(Forbidden) as refused:
        progress_ops.transition(found, action=Action.MARK_NOT_APPLICABLE, actor=staff, version=found.version,
                                note="không cần")
    assert refused.value.code == "approval_waiver_forbidden"
    db.session.rollback()
    assert step(TU_MINH, "personnel_plan").state == "in_progress"

