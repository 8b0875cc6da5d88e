"""Accounts in the API: one's own tokens (listed, made, revoked) and, for an administrator, the
accounts (listed, deactivated, reactivated). The same operations as the account pages."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify
from flask_login import current_user

from congress.accounts import operations as account_ops
from congress.accounts import permissions
from congress.accounts.models import ApiToken, User
from congress.errors import Forbidden, NotFound, Unprocessable
from congress.extensions import db
from congress.idempotency import idempotent
from congress.text import clean_text

from .views import api, check_fields, json_body, login_required, required

#: the longest name of a token
TOKEN_NAME_LIMIT = 80


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).isoformat()


def token_json(token: ApiToken) -> dict:
    return {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": _iso(token.created_at),
            "last_used_at": _iso(token.last_used_at), "revoked_at": _iso(token.revoked_at),
            "active": token.revoked_at is None}


def account_json(user: User) -> dict:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "unit_code": user.unit.code if user.unit else None, "province_code": user.province_code,
            "active": user.active}


@api.get("/account/tokens")
@login_required
def list_account_tokens():
    return jsonify({"tokens": [token_json(t) for t in account_ops.tokens_of(current_user)]})


@api.post("/account/tokens")
@login_required
@idempotent
def create_account_token():
    body = json_body()
    check_fields(body, {"name"})
    name = required(body, "name")
    if not isinstance(name, str):
        raise Unprocessable("invalid_field", {"field": "name", "problem": "text"})
    try:
        name = clean_text(name, max_length=TOKEN_NAME_LIMIT)
    except ValueError:
        raise Unprocessable("invalid_field", {"field": "name", "problem": f"≤ {TOKEN_NAME_LIMIT}"}) from None
    if not name:
        raise Unprocessable("field_required", {"field": "name"})
    token, plain = account_ops.create_token(current_user._get_current_object(), name)
    db.session.commit()
    return jsonify({**token_json(token), "token": plain}), 201


@api.post("/account/tokens/<int:token_id>/revoke")
@login_required
@idempotent
def revoke_account_token(token_id: int):
    check_fields(json_body(), set())
    token = account_ops.own_token(current_user, token_id)
    account_ops.revoke_token(token, actor=current_user._get_current_object())
    db.session.commit()
    return jsonify(token_json(token))


def _account(username: str) -> User:
    if not permissions.can_manage_accounts(current_user):
        raise Forbidden()
    user = db.session.execute(db.select(User).filter_by(username=username[:80])).scalar_one_or_none()
    if user is None:
        raise NotFound()
    return user


@api.get("/accounts")
@login_required
def list_accounts():
    if not permissions.can_manage_accounts(current_user):
        raise Forbidden()
    users = db.session.execute(db.select(User).order_by(User.username)).scalars()
    return jsonify({"accounts": [account_json(u) for u in users]})


def _change_account(username: str, change) -> tuple:
    user = _account(username)
    check_fields(json_body(), set())
    change(user, actor=current_user._get_current_object())
    db.session.commit()
    return jsonify(account_json(user))


@api.post("/accounts/<username>/deactivate")
@login_required
@idempotent
def deactivate_account(username: str):
    return _change_account(username, account_ops.deactivate)


@api.post("/accounts/<username>/reactivate")
@login_required
@idempotent
def reactivate_account(username: str):
    return _change_account(username, account_ops.reactivate)


def openapi_paths() -> dict:
    from .openapi import READ_ERRORS, WRITE_ERRORS, _created, _operation

    change = ("Deactivating ends the account's sessions at once and revokes its API tokens; reactivating "
              "lets it sign in again with a new session, its old sessions and tokens staying ended. An "
              "administrator cannot deactivate their own account (403). Audited; doing it again changes "
              "nothing.")
    return {
        "/account/tokens": {
            "get": _operation("listAccountTokens", "Your API tokens",
                              "Your own tokens, newest first: name, first characters, when made, last used, "
                              "revoked. Never the token itself.", "TokenList", "Your tokens.", ("401",),
                              tags=["accounts"]),
            "post": _created(_operation(
                "createAccountToken", "Make an API token",
                "A new bearer token for your account; the token itself is in this answer only (only its "
                "SHA-256 is kept). Audited.", "NewToken", "The token.", WRITE_ERRORS, tags=["accounts"],
                body="TokenRequest", write=True)),
        },
        "/account/tokens/{token_id}/revoke": {"post": _operation(
            "revokeAccountToken", "Revoke one of your API tokens",
            "It stops working at once (a request made with it gets 401); revoking it again changes nothing. "
            "Another's token is not found. Audited.", "Token", "The token, revoked.", WRITE_ERRORS,
            tags=["accounts"], params=("TokenId",), body="EmptyRequest", write=True)},
        "/accounts": {"get": _operation(
            "listAccounts", "Every account (administrators)", "User name, display name, role, scope and "
            "whether it may sign in.", "AccountList", "The accounts.", READ_ERRORS, tags=["accounts"])},
        "/accounts/{username}/deactivate": {"post": _operation(
            "deactivateAccount", "Deactivate an account (administrators)", change, "Account", "The account.",
            WRITE_ERRORS, tags=["accounts"], params=("Username",), body="EmptyRequest", write=True)},
        "/accounts/{username}/reactivate": {"post": _operation(
            "reactivateAccount", "Reactivate an account (administrators)", change, "Account", "The account.",
            WRITE_ERRORS, tags=["accounts"], params=("Username",), body="EmptyRequest", write=True)},
    }


def openapi_schemas() -> dict:
    from congress.accounts.models import ROLES

    from .openapi import BOOLEAN, DATETIME, INTEGER, STRING, UNIT_CODE, enum_of, nullable, obj
    from .openapi import ref as ref_

    token = {"id": INTEGER, "name": STRING,
             "prefix": {**STRING, "description": "The token's first characters, to recognise it."},
             "created_at": DATETIME, "last_used_at": nullable(DATETIME), "revoked_at": nullable(DATETIME),
             "active": BOOLEAN}
    return {
        "Token": obj(token),
        "NewToken": obj({**token, "token": {**STRING, "description": "The bearer token, shown this once."}}),
        "TokenList": obj({"tokens": {"type": "array", "items": ref_("Token")}}),
        "TokenRequest": {**obj({"name": {**STRING, "minLength": 1, "maxLength": TOKEN_NAME_LIMIT,
                                         "description": "A name to recognise it by."}}, required=["name"]),
                         "additionalProperties": False},
        "Account": obj({"username": STRING, "display_name": nullable(STRING), "role": enum_of(ROLES),
                        "unit_code": nullable(UNIT_CODE), "province_code": nullable(STRING),
                        "active": BOOLEAN}),
        "AccountList": obj({"accounts": {"type": "array", "items": ref_("Account")}}),
    }


def openapi_parameters() -> dict:
    from .openapi import INTEGER

    return {
        "TokenId": {"name": "token_id", "in": "path", "required": True, "schema": INTEGER},
        "Username": {"name": "username", "in": "path", "required": True,
                     "schema": {"type": "string", "maxLength": 80}},
    }
