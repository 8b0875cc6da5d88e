"""Notifications in words, in the reader's language (pages) or the jobs' language (e-mail).

A notification keeps its facts (kind, params); its words are made here when it is read, so the
same notice reads in Vietnamese or English.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask import render_template
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l

from congress.formatting import deadline_and_last_day, deadline_phrase, number, short_date
from congress.messages import STATE_LABELS, approver_from_params, approver_words, sentence, still_to_do
from workflows.deadlines import Deadline

from .models import Notification

KIND_LABELS = {
    "due_soon": _l("Reminders before a step falls due"),
    "overdue": _l("A step has become overdue"),
    "city_alert": _l("A unit is late (city)"),
    "digest": _l("End-of-day digest"),
    "submitted": _l("A unit submitted something to the city (city)"),
    "verdict": _l("The city approved or returned a submission"),
}
RISK_WORDS = {"done": _l("done"), "on_track": _l("on track"), "at_risk": _l("at risk"), "late": _l("late")}


def language() -> str:
    return "en" if str(get_locale() or "vi") == "en" else "vi"


def title_of(titles: dict | None, fallback: str = "") -> str:
    if not titles:
        return fallback
    return titles.get(language()) or titles.get("vi") or fallback


def day_of(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def deadline_from(item: dict) -> Deadline:
    return Deadline.from_last_day(day_of(item["last_day"]), item.get("due_kind") or "by")


def deadline_of(item: dict) -> str:
    """"trước ngày 20/8/2025" from a step's last allowed day and its wording."""
    return deadline_phrase(deadline_from(item))


def action_label(action: str, approver: dict | None = None) -> str:
    """An audit action in words, as the unit's history names it; ``approver``: the words of the
    approver of the campaign it was made in, as a digest keeps them."""
    from congress.audit.words import action_words

    return action_words(action, approver_from_params(approver))


def digest_sections(params: dict) -> list[dict]:
    """The parts of a unit's digest, one per open campaign the unit is in; a digest made before
    digests had parts is one part without a name."""
    return params["campaigns"] if "campaigns" in params else [params]


def submission_of(p: dict) -> str:
    """What a submission or verdict is about: "Báo cáo chính trị, dự thảo lần 2", or a step's title."""
    if p.get("subject") == "draft":
        return gettext("%(document)s, draft %(number)s", document=title_of(p.get("titles"), p.get("kind", "")),
                       number=p.get("number"))
    return title_of(p.get("titles"), p.get("step", ""))


def approver_of(p: dict) -> str:
    """The words of who approves what a submission or a verdict is about, as its notice keeps them."""
    return approver_words(workflow=approver_from_params(p.get("approver")))


def title(notification: Notification) -> str:
    p = notification.params
    if notification.kind == "submitted":
        return gettext("%(unit)s submitted to %(approver)s: %(what)s", unit=p["unit_name"], approver=approver_of(p),
                       what=submission_of(p))
    if notification.kind == "verdict":
        if p.get("verdict") == "approve":
            return sentence(gettext("%(approver)s approved: %(what)s (%(unit)s)", approver=approver_of(p),
                                    what=submission_of(p), unit=p["unit_name"]))
        return sentence(gettext("%(approver)s returned: %(what)s (%(unit)s)", approver=approver_of(p),
                                what=submission_of(p), unit=p["unit_name"]))
    if notification.kind == "due_soon":
        step = title_of(p.get("titles"), p.get("step", ""))
        if p.get("days_left", 0) <= 0:
            return gettext("Last day today: %(step)s (%(unit)s)", step=step, unit=p["unit_name"])
        return ngettext("Due in %(num)s day: %(step)s (%(unit)s)", "Due in %(num)s days: %(step)s (%(unit)s)",
                        p["days_left"], step=step, unit=p["unit_name"])
    if notification.kind == "overdue":
        return gettext("Overdue: %(step)s (%(unit)s)", step=title_of(p.get("titles"), p.get("step", "")),
                       unit=p["unit_name"])
    if notification.kind == "city_alert":
        return ngettext("%(unit)s is %(num)s day late", "%(unit)s is %(num)s days late", p["days_late"],
                        unit=p["unit_name"])
    if notification.kind == "digest":
        day = short_date(day_of(p["day"]))
        if p.get("scope") == "province":
            return gettext("End-of-day digest %(day)s: %(province)s", day=day,
                           province=p.get("province_name") or p["province_code"])
        return gettext("End-of-day digest %(day)s: %(unit)s", day=day, unit=p["unit_name"])
    return notification.kind


def summary(notification: Notification) -> str:
    """One or two sentences under the title."""
    p = notification.params
    if notification.kind == "submitted":
        waiting = gettext("It waits for the verdict of %(approver)s in the queue of the city dashboard.",
                          approver=approver_of(p))
        if p.get("note"):
            return " ".join((waiting, gettext("Note from the unit: “%(note)s”", note=p["note"])))
        return waiting
    if notification.kind == "verdict":
        day = short_date(notification.day)
        if p.get("verdict") == "approve":
            approved = sentence(gettext("%(approver)s approved “%(what)s” on %(day)s.", approver=approver_of(p),
                                        what=submission_of(p), day=day))
            if p.get("text"):
                return " ".join((approved, gettext("Comment: %(text)s", text=p["text"])))
            return approved
        return sentence(gettext("%(approver)s returned “%(what)s” on %(day)s. Reason: %(reason)s",
                                approver=approver_of(p), what=submission_of(p), day=day, reason=p.get("text") or ""))
    if notification.kind in ("due_soon", "overdue"):
        step = title_of(p.get("titles"), p.get("step", ""))
        if notification.kind == "overdue":
            text = gettext("The step “%(step)s” was to be finished %(deadline)s and is not finished yet.",
                           step=step, deadline=deadline_of(p))
        else:
            text = gettext("The step “%(step)s” must be finished %(deadline)s.", step=step,
                           deadline=deadline_and_last_day(deadline_from(p)))
        left = still_to_do(p["state"]) if p.get("state") else None
        return f"{text} {left}." if left else text
    if notification.kind == "city_alert":
        steps = ", ".join(f"“{title_of(s.get('titles'), s['step'])}” ({deadline_of(s)})" for s in p["steps"])
        return ngettext("%(num)s step overdue: %(steps)s.", "%(num)s steps overdue: %(steps)s.", p["count"],
                        steps=steps)
    if notification.kind == "digest":
        if p.get("scope") == "province":
            tasks = p["tasks"]
            return gettext("%(assigned)s tasks assigned; %(done)s completed (%(done_percent)s%%), %(in_progress)s "
                           "in progress (%(in_progress_percent)s%%), %(overdue)s overdue (%(overdue_percent)s%%).",
                           assigned=number(tasks["assigned"]), done=number(tasks["done"]),
                           done_percent=tasks["done_percent"], in_progress=number(tasks["in_progress"]),
                           in_progress_percent=tasks["in_progress_percent"], overdue=number(tasks["overdue"]),
                           overdue_percent=tasks["overdue_percent"])
        sections = digest_sections(p)
        return _unit_digest_line(p["changes_count"], sum(len(s["due"]) for s in sections),
                                 short_date(day_of(p["next_day"])), sum(len(s["overdue"]) for s in sections))
    return ""


def helpers(notifications: Iterable[Notification] = ()) -> dict:
    """What the notice templates use to put params into words; ``person`` names the people of the
    notifications shown (a digest's changes keep the actor's user name) by their display names,
    looked up in one query."""
    from congress.audit.words import people

    person = people(c.get("actor") for n in notifications if n.kind == "digest"
                    for s in digest_sections(n.params or {}) for c in s.get("changes") or ())
    return {"notice_title": title, "notice_summary": summary, "title_of": title_of, "deadline_of": deadline_of,
            "day_of": day_of, "action_label": action_label, "risk_words": RISK_WORDS, "kind_labels": KIND_LABELS,
            "person": person, "state_labels": STATE_LABELS, "digest_sections": digest_sections}


def email_text(notification: Notification, base_url: str) -> tuple[str, str]:
    """Subject and plain-text body of a notification's e-mail (in the current locale)."""
    body = render_template("notices/email.txt", n=notification, base_url=base_url, **helpers([notification]))
    return title(notification), body


def _unit_digest_line(changes: int, due: int, next_day: str, overdue: int) -> str:
    """"3 changes today; 2 steps due by 12/8/2025; none overdue.", each count in its own words."""
    parts = [
        ngettext("%(num)s change today", "%(num)s changes today", changes) if changes
        else gettext("no change today"),
        ngettext("%(num)s step due by %(day)s", "%(num)s steps due by %(day)s", due, day=next_day) if due
        else gettext("no step due by %(day)s", day=next_day),
        ngettext("%(num)s step overdue", "%(num)s steps overdue", overdue) if overdue
        else gettext("no step overdue"),
    ]
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
