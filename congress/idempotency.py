"""A write sent twice is carried out once: request keys, and the recognition of a repeated step.

Every write form carries a one-time key, rendered beside its CSRF token (``ui.form_keys`` in
templates/_macros.html); API clients send the standard ``Idempotency-Key`` header. A write route
decorated with :func:`idempotent`:

1. claims the key for the signed-in user in a short transaction of its own: a ``request_keys`` row,
   pending. The unique constraint on (user, key) decides between two simultaneous clicks;
2. runs the view. The view's own commit marks the row done in the same transaction, so the row
   says "done" exactly when the write is kept;
3. keeps the answer (status, redirect target, flash messages or JSON body) on the row.

A second request with the same key waits (polling) until the first is done and gets its answer
again, without doing anything and without a new audit record; with the same key but another
body it is refused (422). A first request that fails (4xx, an error) changes nothing and gives
its key back, so the corrected form (shown again with a fresh key) or the resent call goes
through. Keys expire after :data:`LIFETIME`; old rows are swept when keys are claimed.

Clients without a key get :func:`repeats_last_transition`: a step action refused for its stale
version that is its sender's own last action on the step is the same request repeated.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, flash, g, has_app_context, request, session
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.exceptions import RequestEntityTooLarge

from congress.audit.models import AuditRecord
from congress.clock import utcnow
from congress.errors import Conflict, Unprocessable
from congress.extensions import db
from congress.messages import MESSAGES

#: the form field and the HTTP header that carry a request's key
FORM_FIELD = "request_key"
HEADER = "Idempotency-Key"
#: what a key may be: 1 to 64 visible ASCII characters
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,64}")
KEY_LIMIT = 64
#: how long a key is remembered
LIFETIME = timedelta(hours=24)
#: how long a repeated request waits for the first one to finish (IDEMPOTENCY_WAIT_SECONDS)
WAIT_SECONDS = 10.0
#: the form fields that are not part of what a request asks (a fresh token does not make it new)
UNHASHED_FIELDS = ("csrf_token", FORM_FIELD)
PENDING, DONE = "pending", "done"
STATES = (PENDING, DONE)
#: how often one process sweeps every user's expired keys (each user's own go at each claim)
SWEEP_EVERY = 3600.0

IDEMPOTENCY_MESSAGES = {
    "request_key_invalid": _l("The request key must be 1 to 64 visible ASCII characters (letters, digits, "
                              "- _ . and the like)."),
    "request_key_reused": _l("This request key was already used for a different request. Reload the page and "
                             "send the form again (API clients: send a new Idempotency-Key with every new "
                             "request)."),
    "request_in_progress": _l("The same request is still being carried out: wait a moment, then reload the "
                              "page to see its result."),
    "request_done_unknown": _l("This request was already carried out, but its answer was not kept: reload to "
                               "see the current state before sending anything else."),
}
MESSAGES.update(IDEMPOTENCY_MESSAGES)
#: what a repeated click on a form whose first answer was a page (not a redirect) is told
ALREADY_DONE = _l("Your earlier click already did this; nothing was done again.")


class RequestKey(db.Model):
    """One write request of one user, by the key its form or client sent, and its answer."""
    __tablename__ = "request_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_request_keys_user_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: the form's one-time key or the Idempotency-Key header
    key: Mapped[str] = mapped_column(sa.String(KEY_LIMIT))
    #: what was asked: the method, the path (with its query) and the SHA-256 of the body
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(1000))
    body_hash: Mapped[str] = mapped_column(sa.String(64))
    #: pending (being carried out) or done (its write is kept)
    state: Mapped[str] = mapped_column(sa.String(8), default=PENDING)
    #: the answer a repeat gets: status, redirect target, content type, JSON body, flash messages
    status: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(sa.String(2000))
    mimetype: Mapped[str | None] = mapped_column(sa.String(100))
    body: Mapped[str | None] = mapped_column(sa.Text)
    #: [[category, message], ...] in the user's language at the time
    flashes: Mapped[list | None] = mapped_column(sa.JSON)
    #: when claimed and when answered, in UTC
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


TABLE = RequestKey.__table__


@dataclass
class Claim:
    """The key this request holds (kept in ``g`` while the view runs)."""
    id: int
    user_id: int
    key: str
    #: the view's commit marked the row done (the write is kept)
    committed: bool = False
    committing: bool = False
    #: what operations did under this key, so that one called twice does it once (issue_document)
    effects: dict = field(default_factory=dict)


def new_key() -> str:
    """A fresh one-time key for a form."""
    return secrets.token_urlsafe(24)


def current_claim() -> Claim | None:
    """The key the current request holds, if any."""
    return g.get("request_claim") if has_app_context() else None


def earlier_effect(name: tuple) -> Any:
    """What an operation already did under the current request's key (None: not yet, or no key)."""
    claim = current_claim()
    return claim.effects.get(name) if claim is not None else None


def remember_effect(name: tuple, value: Any) -> None:
    claim = current_claim()
    if claim is not None:
        claim.effects[name] = value


# --- the decorator ---------------------------------------------------------------------------------

def idempotent(view=None, *, replay_message=None):
    """Answer a write sent again with the same key with its first answer (see the module).

    Place it under the route's login decorator. ``replay_message``: what a repeat is told when
    the first answer was a page rather than a redirect or JSON (the page is not kept: it may show
    a secret once).
    """
    if view is None:
        return lambda function: idempotent(function, replay_message=replay_message)

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            key = sent_key()
            asked = _fingerprint() if key is not None and current_user.is_authenticated else None
        except RequestEntityTooLarge:  # a body over the limit: the view refuses it in its own words
            asked = None
        if asked is None:
            return view(*args, **kwargs)
        claimed = _claim_or_replay(current_user.id, key, asked)
        if isinstance(claimed, Response):
            return claimed
        g.request_claim = claimed
        flashed = len(session.get("_flashes", []))
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            _settle(claimed, None, [], replay_message)
            raise
        finally:
            g.pop("request_claim", None)
        fresh = list(session.get("_flashes", []))[flashed:]
        _settle(claimed, response, fresh, replay_message)
        return response

    return wrapped


def sent_key() -> str | None:
    """The key of this request: the Idempotency-Key header, else the form's key field."""
    value = request.headers.get(HEADER)
    if value is None and request.form:
        value = next((v for name, v in request.form.items() if _is_field(name, FORM_FIELD)), None)
    if not value:
        return None
    if not KEY_PATTERN.fullmatch(value):
        raise Unprocessable("request_key_invalid")
    return value


def _is_field(name: str, wanted: str) -> bool:
    """A form's field, with or without the prefix a page gives its forms ("plan-start-request_key")."""
    name = name or ""  # a multipart part may come without a name
    return name == wanted or name.endswith("-" + wanted)


@dataclass(frozen=True)
class Asked:
    method: str
    path: str
    body_hash: str


def _fingerprint() -> Asked:
    """What the request asks, whatever encoding a browser chose this time (a multipart boundary
    differs between two clicks): the fields in order of name, each file by its name and content,
    the JSON body in canonical form."""
    digest = hashlib.sha256()
    if request.files or request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = sorted((name or "", value or "") for name, value in request.form.items(multi=True)
                        if not any(_is_field(name, unhashed) for unhashed in UNHASHED_FIELDS))
        digest.update(json.dumps(fields, ensure_ascii=False).encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0] or ""):
            digest.update(json.dumps([name, upload.filename], ensure_ascii=False).encode())
            digest.update(_file_digest(upload.stream))
    else:
        body = request.get_json(silent=True) if request.is_json else None
        if body is not None:
            digest.update(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
        else:
            digest.update(request.get_data(cache=True))
    path = request.full_path if request.query_string else request.path
    return Asked(request.method, path[:1000], digest.hexdigest())


def _file_digest(stream) -> bytes:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.digest()


# --- claiming, waiting, replaying ------------------------------------------------------------------

def _claim_or_replay(user_id: int, key: str, asked: Asked) -> Claim | Response:
    """Claim the key, or (someone holds it) wait for its answer and give it again."""
    waited_until = time.monotonic() + float(current_app.config.get("IDEMPOTENCY_WAIT_SECONDS", WAIT_SECONDS))
    pause = 0.02
    while True:
        row = _read(user_id, key)
        if row is None:
            claimed = _insert(user_id, key, asked)
            if claimed is not None:
                return claimed
            continue  # another request claimed it a moment before: read what it holds
        if (row.method, row.path, row.body_hash) != (asked.method, asked.path, asked.body_hash):
            raise Unprocessable("request_key_reused")
        if row.state == DONE and row.status is not None:
            return _replay(row)
        if row.state == DONE and row.finished_at is not None:
            raise Conflict("request_done_unknown")  # kept, then it failed: its answer is not known
        if time.monotonic() >= waited_until:
            if row.state == DONE:
                raise Conflict("request_done_unknown")
            raise Conflict("request_in_progress")
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _cutoff() -> datetime:
    return utcnow() - LIFETIME


def _read(user_id: int, key: str):
    with db.engine.connect() as conn:
        return conn.execute(sa.select(TABLE).where(
            TABLE.c.user_id == user_id, TABLE.c.key == key, TABLE.c.created_at >= _cutoff())).first()


_last_sweep = 0.0


def _insert(user_id: int, key: str, asked: Asked) -> Claim | None:
    """The pending row, in its own transaction (None: the key was taken meanwhile)."""
    global _last_sweep
    try:
        with db.engine.begin() as conn:
            cutoff = _cutoff()
            conn.execute(sa.delete(TABLE).where(TABLE.c.user_id == user_id, TABLE.c.created_at < cutoff))
            if time.monotonic() - _last_sweep > SWEEP_EVERY:
                conn.execute(sa.delete(TABLE).where(TABLE.c.created_at < cutoff))
                _last_sweep = time.monotonic()
            inserted = conn.execute(sa.insert(TABLE).values(
                user_id=user_id, key=key, method=asked.method, path=asked.path, body_hash=asked.body_hash,
                state=PENDING, created_at=utcnow()))
    except IntegrityError:
        return None
    return Claim(inserted.inserted_primary_key[0], user_id, key)


def sweep() -> int:
    """Forget every expired key; the number forgotten."""
    with db.engine.begin() as conn:
        return conn.execute(sa.delete(TABLE).where(TABLE.c.created_at < _cutoff())).rowcount


def _replay(row) -> Response:
    for category, message in row.flashes or []:
        flash(message, category)
    response = current_app.response_class(row.body or "", status=row.status,
                                          mimetype=row.mimetype or "text/plain")
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _settle(claim: Claim, response: Response | None, flashes: list, replay_message) -> None:
    """After the view: keep its answer on the row, or (it failed and kept nothing) give the key back."""
    # the request's own transaction ends first: on SQLite it would hold the lock the next statement needs
    db.session.rollback()
    failed = response is None or response.status_code >= 400
    with db.engine.begin() as conn:
        mine = (TABLE.c.id == claim.id)
        if failed and not claim.committed:
            conn.execute(sa.delete(TABLE).where(mine, TABLE.c.state == PENDING))
            return
        if response is None:  # the write was kept, then something failed: a repeat is told so
            conn.execute(sa.update(TABLE).where(mine).values(state=DONE, finished_at=utcnow()))
            return
        conn.execute(sa.update(TABLE).where(mine).values(state=DONE, finished_at=utcnow(),
                                                         **_answer(response, flashes, replay_message)))


def _answer(response: Response, flashes: list, replay_message) -> dict:
    """What a repeat gets: a redirect with its messages, a JSON body, or for a page (which is not
    kept) the way back to where the form was, with a word that it was already done."""
    if response.is_json or 300 <= response.status_code < 400:
        return {"status": response.status_code, "location": response.headers.get("Location"),
                "mimetype": response.mimetype, "body": response.get_data(as_text=True) if response.is_json else None,
                "flashes": [[str(category), str(message)] for category, message in flashes]}
    message = str(replay_message or ALREADY_DONE)
    return {"status": 303, "location": _back(), "mimetype": "text/html", "body": None,
            "flashes": [["info", message]]}


def _back() -> str:
    """Where the form was: the page that sent it when it is one of ours, else the start page."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        return "/" + referrer[len(request.host_url):]
    return "/"


@event.listens_for(Session, "before_commit")
def _done_with_the_write(session: Session) -> None:
    """The view's commit marks its key done in the same transaction: done means kept."""
    claim = current_claim()
    if claim is None or claim.committed or session is not db.session.registry():
        return
    session.execute(sa.update(TABLE).where(TABLE.c.id == claim.id, TABLE.c.state == PENDING).values(state=DONE))
    claim.committing = True


@event.listens_for(Session, "after_commit")
def _write_kept(session: Session) -> None:
    claim = current_claim()
    if claim is not None and claim.committing:
        claim.committed, claim.committing = True, False


# --- a repeated step action without a key ------------------------------------------------------------

def repeats_last_transition(step, *, action, actor, version: int | None) -> bool:
    """Whether a step action refused for its stale version is its sender's own last action on the
    step, sent again (a client without a key that missed the first answer): the step is one
    version past the version sent, and its latest audit record is this actor taking this action.
    Such a request is answered with the step as it is, not as a conflict with someone else."""
    if version is None or getattr(actor, "id", None) is None or step.version != version + 1:
        return False
    from congress.progress.operations import step_records

    last = db.session.execute(
        sa.select(AuditRecord.actor_id, AuditRecord.action).where(*step_records(step))
        .order_by(AuditRecord.id.desc()).limit(1)).first()
    return last is not None and last.actor_id == actor.id and last.action == f"step.{action.value}"


def already_done(step_title: str) -> str:
    """The page's word for a repeated step action."""
    return gettext("“%(step)s”: your earlier request already did this; nothing was changed again.",
                   step=step_title)

