"""The drafts domain's words: refusals (added to congress.messages.MESSAGES), audiences, statuses
and the history's names for its actions (English ids, Vietnamese translations in translations/vi)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from congress.messages import MESSAGES, NamingApprover

DRAFT_MESSAGES = {
    "draft_edit_forbidden": _l("Only the unit's own leader or staff may upload drafts and run comment rounds."),
    "draft_submit_forbidden": _l("Only the unit's leader may submit a draft to %(approver)s."),
    "draft_review_forbidden": _l("Only the city's leaders and staff may comment on, approve or return a draft, "
                                 "or record an exception."),
    "draft_kind_not_found": _l("There is no draft document kind \"%(kind)s\"."),
    "draft_not_found": _l("There is no draft version %(number)s of this document."),
    "round_not_found": _l("There is no such comment round."),
    "draft_number_taken": _l("Someone uploaded a draft of the same document at the same moment: try again."),
    "upload_missing": _l("Choose a file (.docx or .pdf) to upload."),
    "upload_empty": _l("The file is empty."),
    "upload_too_large": _l("The file is larger than the limit of %(limit)s MB."),
    "upload_wrong_type": _l("The file is neither a Word document (.docx) nor a PDF, whatever its name says. "
                            "Save it as \"Word Document (.docx)\" or as PDF and upload it again."),
    "upload_macros": _l("The file contains macros (a macro-enabled document). Save it as a plain .docx "
                        "without macros and upload it again."),
    "upload_corrupted": _l("The file is damaged and cannot be read (%(detail)s)."),
    "upload_zip_bomb": _l("The file unpacks to an implausible size; it is not accepted."),
    "upload_pdf_active": _l("The PDF contains active content (%(what)s), which is not accepted. Print it again "
                            "to PDF (File → Print → Save as PDF) without scripts or attachments and upload it "
                            "again."),
    "upload_pdf_encrypted": _l("The PDF is encrypted or protected by a password, so reviewers cannot be sure to "
                               "read, print or compare it. Save it again as PDF without a password or "
                               "restrictions and upload it again."),
    "upload_pdf_no_pages": _l("The PDF has no pages. Save the document again as PDF and upload it again."),
    "upload_pdf_too_complex": _l("The PDF has more than %(limit)s objects and cannot be checked. Print it again "
                                 "to PDF (File → Print → Save as PDF) and upload it again."),
    "compare_needs_docx": _l("Comparison needs two Word (.docx) versions: version %(number)s is a PDF."),
    "draft_already_submitted": _l("Version %(number)s of this document is already waiting for the verdict of "
                                  "%(approver)s."),
    "draft_not_submittable": _l("Version %(number)s cannot be submitted: it is \"%(status)s\"."),
    "draft_not_submitted": _l("Only a submitted version can be approved or returned; this one is \"%(status)s\"."),
    "verdict_reason_required": _l("Give the reasons for returning the draft."),
    "comment_text_required": _l("Write the comment."),
    "unknown_verdict": _l("Unknown verdict \"%(verdict)s\" (comment, approve or return)."),
    "round_already_open": _l("A comment round on this version is already open."),
    "round_closed": _l("The comment round is closed."),
    "round_dates": _l("The round cannot end (%(ends_on)s) before it starts (%(starts_on)s)."),
    "audiences_required": _l("Choose at least one audience."),
    "unknown_audience": _l("Unknown audience \"%(audience)s\"."),
    "audience_not_in_round": _l("The audience \"%(audience)s\" was not asked in this round."),
    "comment_count_invalid": _l("Line %(line)s: the number of comments must be a whole number from 1 to "
                                "100000."),
    "comment_line_invalid": _l("Line %(line)s cannot be read: write \"audience | number | text\" or "
                               "\"audience | text\"."),
    "comments_required": _l("Enter at least one comment."),
    "exception_reason_required": _l("Give the reason for the exception."),
    "exception_kind": _l("An exception can only be recorded for the political report or the personnel plan."),
    "exception_exists": _l("An exception for this document is already recorded."),
    "congress_needs_approval": _l("The congress cannot be marked held: %(approver)s has not approved "
                                  "%(documents)s and no exception is recorded."),
}
MESSAGES.update(DRAFT_MESSAGES)

AUDIENCE_LABELS = {
    "cadres": _l("Cadres"),
    "members": _l("Members of the Party"),
    "branch_secretaries": _l("Branch secretaries"),
    "fatherland_front": _l("Fatherland Front (MTTQ)"),
    "residents": _l("Residents"),
}
#: the audiences as the Party's papers name them (the summary is always in Vietnamese)
AUDIENCE_VI = {
    "cadres": "Cán bộ",
    "members": "Đảng viên",
    "branch_secretaries": "Bí thư chi bộ",
    "fatherland_front": "Mặt trận Tổ quốc (MTTQ)",
    "residents": "Nhân dân",
}
#: the words name the approver of the workflow shown (the city for a commune's party congress)
STATUS_LABELS = {
    "draft": _l("draft"),
    "submitted": NamingApprover(_l("waiting for %(approver)s")),
    "returned": NamingApprover(_l("returned by %(approver)s")),
    "approved": NamingApprover(_l("approved by %(approver)s")),
}
REVIEW_LABELS = {
    "submit": NamingApprover(_l("Submitted to %(approver)s")),
    "comment": NamingApprover(_l("Comment by %(approver)s")),
    "approve": _l("Approved"),
    "return": _l("Returned"),
}


def in_words(labels: dict, workflow=None) -> dict[str, str]:
    """The labels as text in the request's language, naming the approver of ``workflow`` (a unit's
    preparation; else the workflow the request shows): put into words once for a page that shows
    them many times."""
    return {key: str(label.bind(workflow) if isinstance(label, NamingApprover) else label)
            for key, label in labels.items()}
