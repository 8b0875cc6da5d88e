"""Errors a person can understand, as JSON for the API and as a page for the browser.

Operations raise :class:`OperationError` subclasses with a code and parameters; the message
is put into words (in the user's language) only when the response is made.
"""
from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import OperationalError, StatementError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from congress.extensions import db


class OperationError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, code: str | None = None, params: Mapping[str, Any] | None = None,
                 current: Mapping[str, Any] | None = None):
        super().__init__(code or self.code)
        self.code = code or self.code
        self.params = dict(params or {})
        #: for a conflict: the current state of what the user tried to change
        self.current = current


class BadRequest(OperationError):
    status = 400
    code = "bad_request"


class Forbidden(OperationError):
    status = 403
    code = "forbidden"


class NotFound(OperationError):
    status = 404
    code = "not_found"


class Conflict(OperationError):
    status = 409
    code = "stale_version"


class Unprocessable(OperationError):
    status = 422
    code = "unprocessable"


class StorageFull(OperationError):
    """The disk the files are kept on is full: nothing was kept, the user may try again later."""
    status = 507
    code = "storage_full"


#: errno values of a file system that has no room left (no space, over quota)
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def error_response(status: int, code: str, message: str, **extra):
    if wants_json():
        body = {"error": code, "message": message, "status": status}
        body.update({k: v for k, v in extra.items() if v is not None})
        return jsonify(body), status
    return render_template("error.html", status=status, code=code, message=message, **extra), status


def register_error_handlers(app: Flask) -> None:
    from congress.messages import describe, http_message

    @app.errorhandler(OperationError)
    def _operation_error(exc: OperationError):
        db.session.rollback()
        return error_response(exc.status, exc.code, describe(exc.code, exc.params),
                              details=_jsonable(exc.params) or None,
                              current=_jsonable(exc.current) if exc.current is not None else None)

    @app.errorhandler(StaleDataError)
    def _stale(exc):
        db.session.rollback()
        return error_response(409, "stale_version", describe("stale_version", {}))

    @app.errorhandler(OperationalError)
    def _database_down(exc):
        from flask import g

        try:
            db.session.rollback()
        except OperationalError:
            pass
        app.logger.error("database error: %s", exc)
        # the error page must not reach for the database again (the signed-in user, the bell)
        g._login_user = app.login_manager.anonymous_user()
        return error_response(503, "database_unavailable", describe("database_unavailable", {}))

    @app.errorhandler(StatementError)
    def _bad_statement(exc):
        db.session.rollback()
        app.logger.warning("rejected statement: %s", exc)
        return error_response(400, "bad_request", describe("bad_request", {}))

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return error_response(400, "csrf_missing", describe("csrf_missing", {}))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return error_response(exc.code or 500, _http_code(exc.code), http_message(exc.code))

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError):
        """JSON nested deeper than the parser goes (``[[[[...`` 100,000 times): a bad request,
        whichever route read the body. Any other runaway recursion stays a server error."""
        db.session.rollback()
        if request.is_json or _raised_by_json(exc):
            return error_response(400, "invalid_json",
                                  gettext("The request body is not usable JSON: it is nested too deeply."))
        app.logger.exception("unexpected error")
        return error_response(500, "internal_error", http_message(500))

    @app.errorhandler(OverflowError)
    def _too_large_number(exc: OverflowError):
        """A whole number past what the database stores (2^63 and more: SQLite cannot bind it),
        from a query parameter, a form field or a JSON field that reached a query."""
        db.session.rollback()
        app.logger.warning("number out of range: %s", exc)
        return error_response(400, "number_too_large", gettext("A number in the request is too large."))

    @app.errorhandler(OSError)
    def _disk(exc: OSError):
        db.session.rollback()
        if exc.errno in NO_ROOM:
            app.logger.error("no room left on a file system: %s", exc)
            return error_response(507, "storage_full", describe("storage_full", {}))
        app.logger.exception("unexpected error")
        return error_response(500, "internal_error", http_message(500))

    @app.errorhandler(Exception)
    def _unexpected(exc):
        db.session.rollback()
        app.logger.exception("unexpected error")
        return error_response(500, "internal_error", http_message(500))


def _raised_by_json(exc: BaseException) -> bool:
    """Whether the traceback ends in the json module (the body was being parsed)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__, limit=None)
    return any("/json/" in frame.filename for frame in frames[-5:])


def _http_code(status: int | None) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
            422: "unprocessable", 429: "too_many_requests",
            507: "storage_full"}.get(status or 500, "http_error")


def _jsonable(params: Mapping[str, Any]) -> dict:
    from congress.audit.operations import _plain

    return _plain(dict(params))
