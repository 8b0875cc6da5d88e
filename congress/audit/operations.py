"""Appending to the audit log. Every write operation calls record() in the same transaction."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from congress.clock import utcnow
from congress.extensions import db

from .models import AuditRecord

SYSTEM_ACTOR = "system"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value  # enums
    return value


def actor_name(actor) -> str:
    if actor is None:
        return SYSTEM_ACTOR
    if isinstance(actor, str):
        return actor
    return actor.username


def _columns(*, action: str, entity: str, actor=None, entity_key: str | None = None,
             unit_id: int | None = None, step_key: str | None = None, old: dict | None = None,
             new: dict | None = None, reason: str | None = None, campaign_id: int | None = None) -> dict:
    return {"at": utcnow(), "actor_id": getattr(actor, "id", None), "actor": actor_name(actor), "action": action,
            "entity": entity, "entity_key": entity_key, "unit_id": unit_id, "step_key": step_key,
            "campaign_id": campaign_id,
            "old": _plain(old) if old is not None else None, "new": _plain(new) if new is not None else None,
            "reason": reason}


def record(**fields) -> AuditRecord:
    """Append one audit record: who, when (UTC), what, old -> new, why (the keywords of _columns)."""
    entry = AuditRecord(**_columns(**fields))
    db.session.add(entry)
    return entry


def record_many(entries: list[dict]) -> int:
    """Append many records (each the keywords of record) in one executemany, after the records
    already pending, for writes in bulk (an import); no objects are made."""
    if not entries:
        return 0
    db.session.flush()
    db.session.execute(sa.insert(AuditRecord.__table__), [_columns(**entry) for entry in entries])
    return len(entries)


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that changed, as (old, new)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
