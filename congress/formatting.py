"""The one place that formats dates and numbers the Vietnamese way."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import get_locale

from workflows.deadlines import LOCAL_TZ, Deadline, DeadlineKind


def _locale() -> str:
    try:
        return str(get_locale() or "vi")
    except (RuntimeError, AttributeError):
        return "vi"


def language() -> str:
    """The reader's language: "en" or "vi" (the default, also outside a request)."""
    return "en" if _locale() == "en" else "vi"


def short_date(day: date | None, locale: str | None = None) -> str:
    """20/8/2025 (Vietnamese style: no leading zeros, day first); the user's language unless
    ``locale`` says."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(LOCAL_TZ).date()
    if (locale or _locale()) == "en":
        return f"{day.day} {day.strftime('%b')} {day.year}"
    return f"{day.day}/{day.month}/{day.year}"


def day_month(day: date) -> str:
    """20/8 (a chart's axis, where the year is plain from the context); 20 Aug in English."""
    if _locale() == "en":
        return f"{day.day} {day.strftime('%b')}"
    return f"{day.day}/{day.month}"


def long_date(day: date, place: str | None = None) -> str:
    """"ngày 05 tháng 8 năm 2025" as in Party documents (day with two digits, month as is)."""
    months = day.month if day.month > 2 else f"{day.month:02d}"
    text = f"ngày {day.day:02d} tháng {months} năm {day.year}"
    return f"{place}, {text}" if place else text


def number(value: int | float | None, locale: str | None = None) -> str:
    """6.084 in Vietnamese (thousands separated by "."), 6,084 in English; the user's language
    unless ``locale`` says (documents are always Vietnamese)."""
    if value is None:
        return ""
    text = f"{int(value):,}"
    return text if (locale or _locale()) == "en" else text.replace(",", ".")


def count(value: int | None) -> str:
    """A count in a document, by the one rule the documents follow: plain digits, "." for thousands,
    no leading zero ("Bí thư: 1 đồng chí", "2 Phó Bí thư", "không quá 2 ngày", "1.250 đảng viên").
    Two digits belong only to the day of a date ("ngày 05 tháng 8") and to a document's number
    ("Số 01-KH/ĐU"); the templates' own figures follow the same rule (tests/test_papers_wording.py)."""
    return number(value, locale="vi")


def file_size(size: int | None, locale: str | None = None) -> str:
    """"245 KB", "1,2 MB" ("1.2 MB" in English), "812 B": the size of a file as people say it
    (1 KB = 1,024 bytes)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1000:
        return f"{number(round(size / 1024), locale)} KB"
    text = f"{size / (1024 * 1024):.1f} MB"
    return text if (locale or _locale()) == "en" else text.replace(".", ",")


def deadline_phrase(deadline: Deadline | None) -> str:
    """"trước ngày 20/8/2025" or "chậm nhất ngày 20/8/2025", in the user's language."""
    from flask_babel import gettext

    if deadline is None:
        return ""
    if deadline.kind is DeadlineKind.BEFORE:
        return gettext("before %(day)s", day=short_date(deadline.day))
    return gettext("by %(day)s", day=short_date(deadline.day))


def deadline_and_last_day(deadline: Deadline | None) -> str:
    """The deadline as worded, with its last allowed day only when the wording does not say it:
    "trước ngày 20/8/2025 (ngày cuối cùng: 19/8/2025)", but "chậm nhất ngày 20/8/2025"."""
    from flask_babel import gettext

    if deadline is None or deadline.kind is not DeadlineKind.BEFORE:
        return deadline_phrase(deadline)
    return gettext("%(rule)s (last allowed day: %(last)s)", rule=deadline_phrase(deadline),
                   last=short_date(deadline.last_allowed_day))


def datetime_local(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LOCAL_TZ)
    return f"{local:%H:%M} {short_date(local.date())}"


def register_filters(app: Flask) -> None:
    app.add_template_filter(short_date, "short_date")
    app.add_template_filter(day_month, "day_month")
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(number, "number")
    app.add_template_filter(deadline_phrase, "deadline")
    app.add_template_filter(datetime_local, "datetime_local")
    app.add_template_filter(file_size, "file_size")

    from workflows.readiness import Risk
    from workflows.rules import State

    app.add_template_filter(State, "state_enum")
    app.add_template_filter(Risk, "risk_enum")

    from congress.messages import ACTION_LABELS, RISK_LABELS, STATE_LABELS, approver_words, describe_reason, sentence

    app.add_template_filter(sentence, "sentence")
    # globals, not a context processor: imported macro files see globals only; approver() is the
    # words of who approves the steps shown (congress.messages.current_approver)
    app.jinja_env.globals.update(get_locale=_locale, risk_labels=RISK_LABELS, state_labels=STATE_LABELS,
                                 action_labels=ACTION_LABELS, describe_reason=describe_reason,
                                 approver=approver_words)
