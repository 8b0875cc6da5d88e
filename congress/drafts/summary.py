"""The compiled summary of a comment round, "Báo cáo tổng hợp ý kiến góp ý", in the Party's format.

The page is laid out by congress.papers.layout (heading, place and date, signature, "Nơi nhận");
this module only says what the report contains: the round, the comments counted per audience,
and the text of the notable ones.
"""
from __future__ import annotations

from congress.formatting import long_date, short_date
from congress.papers import generate, layout, numbering
from congress.papers.context import place_name
from congress.papers.names import safe_filename

from .messages import AUDIENCE_VI
from .models import CommentRound
from .queries import title_vi, totals

ABBREVIATION = "BC"


def _vi_number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


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
    audiences = ", ".join(AUDIENCE_VI[a].lower() if a != "fatherland_front" else AUDIENCE_VI[a]
                          for a in found.audiences)
    span = layout.Span
    blocks: list = [
        layout.Paragraph((span(
            f"Thực hiện kế hoạch tổ chức Đại hội, từ ngày {short_date(found.starts_on, locale='vi')} đến ngày "
            f"{short_date(found.ends_on, locale='vi')}, Ban Thường vụ Đảng ủy {place_name(unit.name)} đã tổ chức "
            f"lấy ý kiến góp ý vào dự thảo {document} (dự thảo lần {version.number}) của {audiences}. "
            f"Kết quả tổng hợp như sau:"),)),
        layout.Paragraph((span("I. KẾT QUẢ LẤY Ý KIẾN", bold=True),), "h1"),
        layout.Paragraph((span(f"Tổng số ý kiến góp ý nhận được: {_vi_number(total)} ý kiến."),)),
    ]
    rows = [("TT", "Đối tượng lấy ý kiến", "Số ý kiến")]
    for index, audience in enumerate(found.audiences, start=1):
        rows.append((str(index), AUDIENCE_VI[audience], _vi_number(counts.get(audience, 0))))
    rows.append(("", "Tổng cộng", _vi_number(total)))
    blocks.append(layout.Table(tuple(rows), widths=(0.8, 6.0, 2.2), align=("center", "left", "center")))
    blocks.append(layout.Paragraph((span("II. NỘI DUNG CÁC Ý KIẾN TIÊU BIỂU", bold=True),), "h1"))
    notable = [c for c in found.comments if c.text]
    if not notable:
        blocks.append(layout.Paragraph((span("Không có ý kiến tiêu biểu được ghi nhận."),)))
    for number, audience in enumerate((a for a in found.audiences if any(c.audience == a for c in notable)),
                                      start=1):
        blocks.append(layout.Paragraph((span(f"{number}. Ý kiến của {AUDIENCE_VI[audience]}", bold=True),), "h2"))
        for comment in (c for c in notable if c.audience == audience):
            blocks.append(layout.Paragraph((span(f"- {comment.text}"),)))
    blocks.append(layout.Paragraph((span("III. TIẾP THU VÀ HOÀN THIỆN DỰ THẢO", bold=True),), "h1"))
    blocks.append(layout.Paragraph((span(
        f"Ban Thường vụ Đảng ủy chỉ đạo Tiểu ban Văn kiện nghiên cứu, tiếp thu các ý kiến góp ý hợp lý để "
        f"hoàn thiện dự thảo {document} (dự thảo lần {version.number + 1}) trước khi trình Ban Thường vụ "
        f"Thành ủy cho ý kiến."),)))
    committee = "Thành ủy" if province.name.startswith("Thành phố") else "Tỉnh ủy"
    return layout.Paper(
        heading=heading, type_name="BÁO CÁO",
        summary=("Tổng hợp ý kiến góp ý vào dự thảo", f"{document} (dự thảo lần {version.number})"),
        blocks=tuple(blocks), signature=layout.Signature(("T/M BAN THƯỜNG VỤ", "BÍ THƯ")),
        recipients=(f"Ban Thường vụ {committee} (để báo cáo),", "Tiểu ban Văn kiện Đại hội,",
                    "Lưu Văn phòng Đảng ủy."))


def summary_docx(found: CommentRound) -> tuple[str, bytes]:
    """(file name, .docx bytes) of the round's compiled summary."""
    settings = layout.current_settings()
    version = found.draft
    title = f"Báo cáo tổng hợp ý kiến góp ý - {title_vi(version.kind)} lần {version.number} - {version.unit.name}"
    content = layout.render([paper(found, settings)], None, settings, title=title)
    return safe_filename(title, "docx"), content
