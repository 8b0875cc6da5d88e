"""The kinds of document a step may produce, with the type abbreviation (36-HD/VPTW for the Party,
Nghị định 30/2020/NĐ-CP for the state format) and the day each is dated: the day it is issued,
the day of the congress's session (what the congress itself adopts and records), or that day or
later (what is reported after it).

A new kind needs no code: its template in documents/ (or documents/<workflow>/) declares it in its
first header::

    ---
    abbreviation: KH
    title_vi: Kế hoạch tổ chức đại hội Mặt trận Tổ quốc
    title_en: Fatherland Front congress plan
    dated: issue                      issue (default), session or after_session
    type: KẾ HOẠCH
    ...

The kinds below are the ones code refers to by name (the drafts, the comment summary) or that
have no template of their own; a template's declaration of one of them replaces its entry. The
headers are read once, at import (the workflow loader checks every definition's kinds against
DOCUMENT_KINDS then); what is wrong with a declaration is in DECLARATION_PROBLEMS, which
``flask papers check`` and the tests report.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: how a kind is dated
ISSUED, SESSION, AFTER_SESSION = "issue", "session", "after_session"
DATINGS = (ISSUED, SESSION, AFTER_SESSION)

#: the templates: documents/<kind>.txt, and documents/<workflow key>/<kind>.txt for one workflow
DOCUMENTS_DIR = Path(__file__).resolve().parents[1] / "documents"
#: the header keys that declare a kind
DECLARATION_KEYS = ("abbreviation", "title_vi", "title_en", "dated")


@dataclass(frozen=True)
class DocumentKind:
    key: str
    abbreviation: str  #: KH, QĐ, BC, TTr, NQ, BB, CTr ...
    title_vi: str
    title_en: str
    #: ISSUED (the day it is issued), SESSION (the congress's first day) or AFTER_SESSION
    dated: str = ISSUED


BUILT_IN_KINDS: tuple[DocumentKind, ...] = (
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
)


def template_files(root: Path = DOCUMENTS_DIR) -> list[Path]:
    """Every template: documents/*.txt first, then each workflow's folder in name order."""
    if not root.is_dir():
        return []
    files = sorted(root.glob("*.txt"))
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        files += sorted(folder.glob("*.txt"))
    return files


def read_declaration(text: str) -> dict[str, str]:
    """The declaration keys of a template's first header (``---`` ... ``---``), as written; a
    cheap reading (the full parser is congress.papers.templates)."""
    found: dict[str, str] = {}
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not inside:
            if not line or raw.startswith("%%"):
                continue
            if line != "---":
                return {}
            inside = True
            continue
        if line == "---":
            break
        if raw.startswith(("%%", " ", "- ")) or ":" not in raw:
            continue
        key, _, value = raw.partition(":")
        if key.strip() in DECLARATION_KEYS:
            found[key.strip()] = value.strip()
    return found


def declared_kinds(root: Path = DOCUMENTS_DIR, built_in: tuple[DocumentKind, ...] = BUILT_IN_KINDS
                   ) -> tuple[dict[str, DocumentKind], list[str]]:
    """The kinds with the templates' declarations applied, and what is wrong with those (one
    line each, naming the file): a missing abbreviation or Vietnamese title for a new kind, an
    unknown ``dated``, two templates declaring one kind differently."""
    kinds = {kind.key: kind for kind in built_in}
    problems: list[str] = []
    declared_by: dict[str, tuple[str, DocumentKind]] = {}
    for path in template_files(root):
        where = path.relative_to(root.parent).as_posix()
        try:
            values = read_declaration(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{where}: cannot be read ({exc})")
            continue
        if not values:
            continue
        key = path.stem
        base = kinds.get(key) if key not in declared_by else declared_by[key][1]
        dated = values.get("dated") or (base.dated if base else ISSUED)
        if dated not in DATINGS:
            problems.append(f"{where}: dated must be one of {', '.join(DATINGS)}, not {dated!r}")
            continue
        abbreviation = values.get("abbreviation") or (base.abbreviation if base else "")
        title_vi = values.get("title_vi") or (base.title_vi if base else "")
        title_en = values.get("title_en") or (base.title_en if base else "") or title_vi
        if not abbreviation or not title_vi:
            problems.append(f"{where}: a new document kind declares its 'abbreviation' and 'title_vi'")
            continue
        kind = DocumentKind(key, abbreviation, title_vi, title_en, dated)
        if key in declared_by:
            if declared_by[key][1] != kind:
                problems.append(f"{where}: declares '{key}' otherwise than {declared_by[key][0]}")
            continue
        declared_by[key] = (where, kind)
        kinds[key] = kind
    return kinds, problems


DOCUMENT_KINDS: dict[str, DocumentKind]
#: what is wrong with the templates' declarations (empty when every one is right)
DECLARATION_PROBLEMS: list[str]
DOCUMENT_KINDS, DECLARATION_PROBLEMS = declared_kinds()
