"""Settings, read from the environment with safe defaults for the embedded mode.

``DATABASE_URL`` is read in every mode; without it the app uses SQLite under instance/.
"""
from __future__ import annotations

import json
import os
import secrets
from datetime import date

MODES = ("embedded", "production", "testing")
#: the backup key of a test run without CONGRESS_BACKUP_KEY: one for the whole process, so that an
#: archive one test app makes restores into another
_TESTING_BACKUP_KEY = secrets.token_hex(32)


class MissingSecretKey(RuntimeError):
    """Production was started without SECRET_KEY: refused, rather than each worker making a key
    of its own (a session signed by one worker would be refused by the others)."""

    def __init__(self) -> None:
        super().__init__(
            "SECRET_KEY is not set. In production every worker and every app host must sign sessions "
            "with the same key: set SECRET_KEY in the environment (e.g. in /etc/congress/congress.env) "
            "to 64 random hex characters, made with: "
            "python -c 'import secrets; print(secrets.token_hex(32))'")


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


def from_environment(instance_path: str, mode: str | None = None, given: dict | None = None) -> dict:
    """The settings; ``given`` are the ones the caller sets itself (a SECRET_KEY there counts)."""
    env = os.environ
    mode = mode or env.get("CONGRESS_MODE", "production")
    if mode not in MODES:
        raise ValueError(f"CONGRESS_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    url = env.get("DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'congress.db')}"
    secret = (given or {}).get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret:
        secret_file = os.path.join(instance_path, "secret_key")
        if mode == "embedded":
            os.makedirs(instance_path, exist_ok=True)
            if not os.path.exists(secret_file):
                with open(secret_file, "w", encoding="utf-8") as fh:
                    fh.write(secrets.token_hex(32))
            with open(secret_file, encoding="utf-8") as fh:
                secret = fh.read().strip()
        elif mode == "production":
            raise MissingSecretKey()
        else:  # testing: a key of this process's own
            secret = secrets.token_hex(32)
    return {
        "CONGRESS_MODE": mode,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        #: SQLite: how long a write waits for the database's one write lock (held by another write,
        #: e.g. a large import being applied) before it is refused with 503
        "SQLITE_BUSY_SECONDS": float(env.get("CONGRESS_SQLITE_BUSY_SECONDS", 60)),
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
        "MAX_CONTENT_LENGTH": max(int(env.get("CONGRESS_MAX_BODY", 25 * 1024 * 1024)),
                                  (_upload_mb(env.get("CONGRESS_MAX_UPLOAD_MB")) + 1) * 1024 * 1024),
        "WTF_CSRF_TIME_LIMIT": None,
        #: sign-in protection: attempts per client address (Flask-Limiter syntax; several app hosts
        #: share counts through e.g. redis://host:6379), and the wrong passwords in a row that lock an
        #: account for a while
        "LOGIN_RATE_LIMIT": env.get("CONGRESS_LOGIN_RATE_LIMIT",
                                    "1000 per minute" if mode == "testing" else "20 per minute;200 per hour"),
        "RATELIMIT_STORAGE_URI": env.get("CONGRESS_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_KEY_PREFIX": env.get("CONGRESS_RATELIMIT_PREFIX", "congress"),
        #: proxies in front of the app whose X-Forwarded-For/-Proto are believed (nginx on the
        #: same host: 1); 0 believes none, and the client is the address the connection came from
        "TRUSTED_PROXIES": _count("CONGRESS_TRUSTED_PROXIES", env.get("CONGRESS_TRUSTED_PROXIES")),
        "LOGIN_LOCKOUT_ATTEMPTS": int(env.get("CONGRESS_LOGIN_LOCKOUT_ATTEMPTS", 5)),
        "LOGIN_LOCKOUT_MINUTES": int(env.get("CONGRESS_LOGIN_LOCKOUT_MINUTES", 15)),
        #: the document set (congress/papers): page figures overriding layout.LayoutSettings (JSON),
        #: LibreOffice's program, the seconds one PDF may take, where province-wide ZIPs are kept
        "PAPERS_LAYOUT": json.loads(env["CONGRESS_PAPERS_LAYOUT"]) if env.get("CONGRESS_PAPERS_LAYOUT") else None,
        "PAPERS_SOFFICE": env.get("CONGRESS_SOFFICE") or None,
        "PAPERS_PDF_TIMEOUT": int(env.get("CONGRESS_PDF_TIMEOUT", 120)),
        "PAPERS_FOLDER": env.get("CONGRESS_PAPERS_FOLDER") or os.path.join(instance_path, "papers"),
        #: LibreOffice conversions running at once on this host, across threads and worker processes
        #: (slots are file locks in PAPERS_LOCKS_FOLDER), and the seconds a download waits for one
        #: before it is told to try again (a background job waits as long as it takes)
        "PAPERS_MAX_CONVERSIONS": int(env.get("CONGRESS_PDF_CONCURRENCY", 2)),
        "PAPERS_CONVERSION_WAIT": float(env.get("CONGRESS_PDF_WAIT", 30)),
        "PAPERS_LOCKS_FOLDER": env.get("CONGRESS_LOCKS_FOLDER") or os.path.join(instance_path, "locks"),
        #: hours a finished province-wide ZIP is kept before the sweep removes it; seconds between
        #: a running job's heartbeats (a job that misses six is failed: its worker died)
        "PAPERS_JOB_HOURS": float(env.get("CONGRESS_PAPERS_KEEP_HOURS", 24)),
        "PAPERS_JOB_HEARTBEAT": float(env.get("CONGRESS_JOB_HEARTBEAT", 5)),
        "JSON_SORT_KEYS": False,
        #: notices (congress/notices): e-mail over SMTP (no host: in-app only), reminder offsets in
        #: days before a step's last allowed day, days late before the city is alerted, the digest's hour
        "SMTP_HOST": env.get("CONGRESS_SMTP_HOST") or None,
        "SMTP_PORT": int(env["CONGRESS_SMTP_PORT"]) if env.get("CONGRESS_SMTP_PORT") else None,
        "SMTP_TLS": (env.get("CONGRESS_SMTP_TLS") or "starttls").strip().lower(),
        "SMTP_USER": env.get("CONGRESS_SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("CONGRESS_SMTP_PASSWORD") or None,
        "SMTP_SENDER": env.get("CONGRESS_SMTP_SENDER") or None,
        "NOTICES_REMINDER_DAYS": tuple(sorted({int(d) for d in env.get("CONGRESS_REMINDER_DAYS", "7,3,1").split(",")
                                              if d.strip()}, reverse=True)),
        "NOTICES_CITY_ALERT_DAYS": int(env.get("CONGRESS_CITY_ALERT_DAYS", 3)),
        "NOTICES_DIGEST_HOUR": int(env.get("CONGRESS_DIGEST_HOUR", 17)),
        #: the address e-mails and calendar feeds link to, e.g. https://daihoi.example.vn
        "NOTICES_BASE_URL": (env.get("CONGRESS_BASE_URL") or "").rstrip("/"),
        #: python -m congress runs the scheduler in-process unless this is 0
        "NOTICES_SCHEDULER": env.get("CONGRESS_SCHEDULER", "1") != "0",
        #: uploaded drafts (congress/drafts): the folder their files are kept in (by content hash)
        #: and the largest file accepted, in MB; the request body limit leaves room for it
        "FILES_FOLDER": env.get("CONGRESS_FILES") or os.path.join(instance_path, "files"),
        "MAX_UPLOAD_MB": _upload_mb(env.get("CONGRESS_MAX_UPLOAD_MB")),
        #: minutes a file in FILES_FOLDER that no row names (or a partial .upload-*) is left alone,
        #: as it may belong to an upload in progress; older ones are swept
        "FILES_GRACE_MINUTES": float(env.get("CONGRESS_FILES_GRACE_MINUTES", 10)),
        #: the key backup archives are signed with (HMAC-SHA256) and checked against on restore
        #: (congress/transfers/backup.py): required by export in production; without it elsewhere
        #: archives are unsigned and a restore takes them only with --unsigned
        "BACKUP_KEY": _backup_key(env.get("CONGRESS_BACKUP_KEY"), mode),
    }


def _backup_key(value: str | None, mode: str) -> str | None:
    if not value:
        return _TESTING_BACKUP_KEY if mode == "testing" else None
    if len(value.strip()) < 32:
        raise ValueError("CONGRESS_BACKUP_KEY must be at least 32 characters: make one with "
                         "python -c 'import secrets; print(secrets.token_hex(32))'")
    return value.strip()


def _count(name: str, value: str | None) -> int:
    try:
        number = int(value) if value and value.strip() else 0
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError(f"{name} must be a whole number (0 or more), not {value!r}")
    return number


def limiter_storage_warning(mode: str, storage: str, workers: int) -> str | None:
    """What to tell the operator of a production server whose sign-in counts are kept in each
    worker's memory while several workers serve: each counts alone, so the limit is multiplied."""
    if mode != "production" or workers <= 1 or not (storage or "memory://").startswith("memory://"):
        return None
    return (f"{workers} workers keep their sign-in counts in memory, each its own: the limit on "
            f"sign-ins is {workers} times what CONGRESS_LOGIN_RATE_LIMIT says. Set "
            "CONGRESS_RATELIMIT_STORAGE to a store the workers share, e.g. redis://127.0.0.1:6379 "
            "(or run one worker).")


def _upload_mb(value: str | None) -> int:
    try:
        megabytes = int(value) if value else 20
    except ValueError:
        raise ValueError(f"CONGRESS_MAX_UPLOAD_MB must be a whole number of MB, not {value!r}") from None
    if megabytes < 1:
        raise ValueError("CONGRESS_MAX_UPLOAD_MB must be at least 1")
    return megabytes
