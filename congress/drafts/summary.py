"""The compiled summary of a comment round, "Báo cáo tổng hợp ý kiến góp ý", in the Party's format.

The page is laid out by congress.papers.layout (heading, place and date, signature, "Nơi nhận");
this module only says what the report contains: the round, the comments counted per audience,
and the text of the notable ones. It is the committee's own report ("Báo cáo tổng hợp ý kiến góp
ý", its own BC number, left blank for the office) and a draft until signed, so it carries
"DỰ THẢO" (without a draft number: the "lần" in its text is the commented document's).
"""
from __future__ import annotations

from congress.formatting import count, long_date, short_date
from congress.papers import generate, layout, numbering
from congress.papers.context import join_vi, lower_first, province_words
from congress.papers.names import safe_filename
from workflows.documents import DOCUMENT_KINDS

from .messages import AUDIENCE_VI
from .models import CommentRound
from .queries import title_vi, totals

KIND = DOCUMENT_KINDS["comment_summary"]
ABBREVIATION = KIND.abbreviation


def audience_words(audience: str, unit) -> str:
    """An audience as a sentence names it: "cán bộ", "đảng viên", "bí thư chi bộ", "nhân dân" in
    lower case; the Front by its name, "Ủy ban Mặt trận Tổ quốc Việt Nam phường Tứ Minh"."""
    if audience == "fatherland_front":
        return "Ủy ban Mặt trận Tổ quốc Việt Nam " + lower_first(unit.name)
    return lower_first(AUDIENCE_VI[audience])


def paper(found: CommentRound, settings: layout.LayoutSettings) -> layout.Paper:
    version = found.draft
    unit = version.unit
    province = unit.province
    superior, issuer = generate.heading_lines("committee", unit, province, max_chars=settings.issuer_max_chars)
    day = found.closed_on or found.ends_on
    heading = layout.Heading(superior, issuer,
                             numbering.number_line(None, ABBREVIATION, numbering.ISSUER_SYMBOLS["committee"]),
                             f"{generate.place_of(unit, province, settings)}, {long_date(day)}")
    document = title_vi(version.kind)
    counts = totals(found.comments)
    total = sum(counts.values())
    body = "Đảng ủy " + lower_first(unit.name)
    city = province_words(province)["province.committee"]
    audiences = join_vi([audience_words(a, unit) for a in found.audiences])
    span = layout.Span
    blocks: list = [
        layout.Paragraph((span(
            f"Thực hiện Kế hoạch tổ chức Đại hội, từ ngày {short_date(found.starts_on, locale='vi')} đến ngày "
            f"{short_date(found.ends_on, locale='vi')}, Ban Thường vụ {body} đã tổ chức "
            f"lấy ý kiến góp ý vào dự thảo {document} (dự thảo lần {version.number}) của {audiences}. "
            f"Kết quả tổng hợp như sau:"),)),
        layout.Paragraph((span("I. KẾT QUẢ LẤY Ý KIẾN", bold=True),), "h1"),
        layout.Paragraph((span(f"Tổng số ý kiến góp ý nhận được: {count(total)} ý kiến."),)),
    ]
    rows = [("TT", "Đối tượng lấy ý kiến", "Số ý kiến")]
    for index, audience in enumerate(found.audiences, start=1):
        rows.append((str(index), AUDIENCE_VI[audience], count(counts.get(audience, 0))))
    rows.append(("", "Tổng cộng", count(total)))
    blocks.append(layout.Table(tuple(rows), widths=(0.8, 6.0, 2.2), align=("center", "left", "center")))
    blocks.append(layout.Paragraph((span("II. NỘI DUNG CÁC Ý KIẾN TIÊU BIỂU", bold=True),), "h1"))
    notable = [c for c in found.comments if c.text]
    if not notable:
        blocks.append(layout.Paragraph((span("Không có ý kiến tiêu biểu được ghi nhận."),)))
    for number, audience in enumerate((a for a in found.audiences if any(c.audience == a for c in notable)),
                                      start=1):
        blocks.append(layout.Paragraph((span(f"{number}. Ý kiến của {audience_words(audience, unit)}", bold=True),),
                                       "h2"))
        for comment in (c for c in notable if c.audience == audience):
            blocks.append(layout.Paragraph((span(f"- {comment.text}"),)))
    blocks.append(layout.Paragraph((span("III. TIẾP THU VÀ HOÀN THIỆN DỰ THẢO", bold=True),), "h1"))
    blocks.append(layout.Paragraph((span(
        f"Ban Thường vụ Đảng ủy chỉ đạo Tiểu ban Văn kiện nghiên cứu, tiếp thu các ý kiến góp ý hợp lý để "
        f"hoàn thiện dự thảo {document} (dự thảo lần {version.number + 1}) trước khi trình Ban Thường vụ "
        f"{city} cho ý kiến."),)))
    return layout.Paper(
        heading=heading, type_name="BÁO CÁO",
        summary=("Tổng hợp ý kiến góp ý vào dự thảo", f"{document} (dự thảo lần {version.number})"),
        blocks=tuple(blocks), signature=layout.Signature(("T/M BAN THƯỜNG VỤ", "BÍ THƯ")),
        recipients=(f"Ban Thường vụ {city} (để báo cáo),", "Tiểu ban Văn kiện Đại hội,",
                    "Lưu Văn phòng Đảng ủy."))


def summary_docx(found: CommentRound) -> tuple[str, bytes]:
    """(file name, .docx bytes) of the round's compiled summary."""
    settings = layout.current_settings()
    version = found.draft
    title = f"{KIND.title_vi} - {title_vi(version.kind)} lần {version.number} - {version.unit.name}"
    content = layout.render([paper(found, settings)], layout.DraftMark(), settings, title=title)
    return safe_filename(title, "docx"), content
