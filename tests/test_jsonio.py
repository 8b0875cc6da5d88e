"""Answers written through orjson say what Flask's own provider would: sorted keys, HTTP dates,
decimals as strings, dataclasses as objects; only faster, and Vietnamese as UTF-8."""
import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from flask.json.provider import DefaultJSONProvider

from congress.jsonio import OrjsonProvider


@dataclasses.dataclass
class Point:
    day: date
    count: int


VALUE = {"z": 1, "a": [Point(date(2025, 8, 5), 3)], "name": "Đảng bộ xã Việt Khê",
         "at": datetime(2025, 8, 5, 1, 2, 3, tzinfo=UTC), "n": Decimal("1.50"),
         "id": UUID("12345678-1234-5678-1234-567812345678")}


def test_the_same_answer_as_flasks_provider(app):
    fast, standard = OrjsonProvider(app), DefaultJSONProvider(app)
    compact = {"separators": (",", ":")}
    written = fast.dumps(VALUE, **compact)
    assert json.loads(written) == json.loads(standard.dumps(VALUE, **compact))
    assert written.startswith('{"a":[{"count":3,"day":"Tue, 05 Aug 2025 00:00:00 GMT"}]')
    assert "Đảng bộ xã Việt Khê" in written  # UTF-8, not \u escapes
    # an indented answer (debug mode) is Flask's own
    assert fast.dumps(VALUE, indent=2) == standard.dumps(VALUE, indent=2)
    assert fast.loads(written) == standard.loads(written)
    # what orjson cannot write is written as Flask would (an integer sent back in an error)
    huge = {"value": 2 ** 70}
    assert fast.dumps(huge, **compact) == standard.dumps(huge, **compact)


def test_an_api_answer_is_compact_sorted_utf8(app, api_as):
    response = api_as("city_staff", province="31").get("/api/v1/readiness?province=31")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.endswith("}\n") and ", " not in text[:200]
    assert "Hải Phòng" in text
    keys = list(response.get_json())
    assert keys == sorted(keys)
