"""Settings, read from the environment with safe defaults for the embedded mode.

``DATABASE_URL`` is read in every mode; without it the app uses SQLite under instance/.
"""
from __future__ import annotations

import os
import secrets
from datetime import date

MODES = ("embedded", "production", "testing")


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and use the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _date(value: str | None) -> date | None:
    """A fixed reference date, or None ("today" or unset) for the real local date."""
    if not value or value.strip().lower() == "today":
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"CONGRESS_TODAY must be a date YYYY-MM-DD or 'today', not {value!r}") from None


def from_environment(instance_path: str, mode: str | None = None) -> dict:
    env = os.environ
    mode = mode or env.get("CONGRESS_MODE", "production")
    if mode not in MODES:
        raise ValueError(f"CONGRESS_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    url = env.get("DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'congress.db')}"
    secret = env.get("SECRET_KEY")
    if not secret:
        secret_file = os.path.join(instance_path, "secret_key")
        if mode == "embedded":
            os.makedirs(instance_path, exist_ok=True)
            if not os.path.exists(secret_file):
                with open(secret_file, "w", encoding="utf-8") as fh:
                    fh.write(secrets.token_hex(32))
            with open(secret_file, encoding="utf-8") as fh:
                secret = fh.read().strip()
        else:
            # Without a configured key every process makes its own: sessions do not survive a
            # restart nor cross workers. The deployment guide sets SECRET_KEY.
            secret = secrets.token_hex(32)
    return {
        "CONGRESS_MODE": mode,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        #: Fixed "today" (YYYY-MM-DD) for the demo and tests; unset means the real local date.
        "CONGRESS_TODAY": _date(env.get("CONGRESS_TODAY")),
        #: The province the embedded default and the home page show.
        "CONGRESS_PROVINCE": env.get("CONGRESS_PROVINCE", "31"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": mode == "production" and env.get("CONGRESS_INSECURE_COOKIES") != "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "vi",
        #: language of the command line and scheduled jobs (pages follow the user's choice)
        "CONGRESS_LOCALE": env.get("CONGRESS_LOCALE", "vi"),
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "MAX_CONTENT_LENGTH": int(env.get("CONGRESS_MAX_BODY", 25 * 1024 * 1024)),
        "WTF_CSRF_TIME_LIMIT": None,
        "JSON_SORT_KEYS": False,
    }
