"""E-mail over SMTP (smtplib), sent after the commit that created the notification.

Without CONGRESS_SMTP_HOST nothing is sent and nothing fails: notices stay in the app. A
notification waiting for its e-mail (state "pending") is sent by the next run of any job, so a
crash between the commit and the sending delays the e-mail but never duplicates the notice.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from congress.clock import utcnow
from congress.extensions import db

from .models import Notification

log = logging.getLogger(__name__)
#: an e-mail that failed this many times is given up (state "failed"); it stays in the app
MAX_ATTEMPTS = 5
BATCH = 200
TIMEOUT = 30


def configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def _sender() -> str:
    config = current_app.config
    return config.get("SMTP_SENDER") or config.get("SMTP_USER") or "congress@localhost"


def connect() -> smtplib.SMTP:
    """An SMTP connection as configured: STARTTLS (default), implicit TLS ("ssl") or none."""
    config = current_app.config
    mode = config.get("SMTP_TLS") or "starttls"
    host = config["SMTP_HOST"]
    if mode in ("ssl", "tls", "implicit"):
        server = smtplib.SMTP_SSL(host, config.get("SMTP_PORT") or 465, timeout=TIMEOUT,
                                  context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, config.get("SMTP_PORT") or (587 if mode == "starttls" else 25), timeout=TIMEOUT)
        if mode in ("starttls", "1", "true", "yes"):
            server.starttls(context=ssl.create_default_context())
    if config.get("SMTP_USER"):
        server.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    return server


def message_for(notification: Notification) -> EmailMessage:
    from .texts import email_text

    with force_locale(current_app.config.get("CONGRESS_LOCALE", "vi")):
        subject, body = email_text(notification, current_app.config.get("NOTICES_BASE_URL", ""))
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr(("Chuẩn bị đại hội", _sender()))
    message["To"] = notification.email_to
    # the same for every attempt: a message sent again after a crash between sending and recording
    # it is recognised as the same one by the receiving side
    domain = _sender().rpartition("@")[2] or "congress"
    stamp = int(notification.created_at.timestamp()) if notification.created_at else 0
    message["Message-ID"] = f"<notice-{notification.id}-{stamp}@{domain}>"
    message.set_content(body)
    return message


def deliver_pending(limit: int = BATCH) -> int:
    """Send the e-mails waiting to be sent; each is marked sent in its own commit. Returns how many."""
    if not configured():
        return 0
    query = (db.select(Notification).where(Notification.email_state == "pending")
             .order_by(Notification.id).limit(limit))
    pending = list(db.session.execute(query).scalars())
    if not pending:
        db.session.commit()
        return 0
    sent = 0
    try:
        server = connect()
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP server unreachable: %s", exc)
        _count_failure(pending)
        return 0
    try:
        for notification in pending:
            try:
                server.send_message(message_for(notification))
            except smtplib.SMTPException as exc:
                log.warning("e-mail of notification %s refused: %s", notification.id, exc)
                _count_failure([notification], commit=False)
                continue
            notification.email_state = "sent"
            notification.emailed_at = utcnow()
            db.session.commit()
            sent += 1
        db.session.commit()
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return sent


def _count_failure(notifications: list[Notification], commit: bool = True) -> None:
    for notification in notifications:
        notification.email_attempts = (notification.email_attempts or 0) + 1
        if notification.email_attempts >= MAX_ATTEMPTS:
            notification.email_state = "failed"
    if commit:
        db.session.commit()


def pending_count() -> int:
    return db.session.execute(sa.select(sa.func.count(Notification.id))
                              .where(Notification.email_state == "pending")).scalar_one()
