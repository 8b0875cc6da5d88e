"""The kinds of document a step may produce, with the Party's type abbreviation (36-HD/VPTW) and
the day each is dated: the day it is issued, the day of the congress's session (what the congress
itself adopts and records), or that day or later (what is reported after it)."""
from __future__ import annotations

from dataclasses import dataclass

#: how a kind is dated
ISSUED, SESSION, AFTER_SESSION = "issue", "session", "after_session"


@dataclass(frozen=True)
class DocumentKind:
    key: str
    abbreviation: str  #: KH, QĐ, BC, TTr, NQ, BB, CTr ...
    title_vi: str
    title_en: str
    #: ISSUED (the day it is issued), SESSION (the congress's first day) or AFTER_SESSION
    dated: str = ISSUED


DOCUMENT_KINDS: dict[str, DocumentKind] = {kind.key: kind for kind in (
    DocumentKind("congress_plan", "KH", "Kế hoạch tổ chức đại hội", "Congress organisation plan"),
    DocumentKind("subcommittee_decisions", "QĐ", "Quyết định thành lập các tiểu ban",
                 "Decisions setting up the subcommittees"),
    DocumentKind("propaganda_plan", "KH", "Kế hoạch tuyên truyền, thi đua chào mừng đại hội",
                 "Propaganda and emulation plan"),
    DocumentKind("political_report", "BC", "Báo cáo chính trị", "Political report"),
    DocumentKind("self_review_report", "BC", "Báo cáo kiểm điểm của Ban Chấp hành",
                 "Executive committee self-review report"),
    DocumentKind("comment_summary", "BC", "Báo cáo tổng hợp ý kiến góp ý",
                 "Summary of comments received"),
    DocumentKind("personnel_submission", "TTr", "Tờ trình phương án nhân sự",
                 "Submission of the personnel plan"),
    DocumentKind("delegate_allocation", "QĐ", "Quyết định phân bổ đại biểu",
                 "Decision allocating delegates"),
    DocumentKind("congress_agenda", "CTr", "Chương trình đại hội", "Congress agenda"),
    DocumentKind("working_regulations", "QC", "Quy chế làm việc của đại hội",
                 "Congress working regulations"),
    DocumentKind("election_regulations", "QC", "Quy chế bầu cử trong đại hội",
                 "Congress election regulations"),
    DocumentKind("congress_resolution", "NQ", "Nghị quyết đại hội", "Congress resolution", SESSION),
    DocumentKind("congress_minutes", "BB", "Biên bản đại hội", "Congress minutes", SESSION),
    DocumentKind("action_programme", "CTr", "Chương trình hành động", "Action programme"),
    DocumentKind("result_report", "BC", "Báo cáo kết quả đại hội", "Report of the congress result",
                 AFTER_SESSION),
    DocumentKind("branch_political_report", "BC", "Báo cáo chính trị của chi bộ",
                 "Branch political report"),
    DocumentKind("branch_result_report", "BC", "Báo cáo kết quả đại hội chi bộ",
                 "Report of the branch congress result"),
)}
