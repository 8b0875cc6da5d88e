"""JSON through orjson: the application's answers (the national readiness is 2.5 MB of it) and
the JSON columns read from the database, with the standard library's results.

Flask's own provider stays the definition of what an answer looks like: keys sorted, dates as
HTTP dates, decimals as strings, dataclasses as objects; orjson only writes it faster. A call
with options orjson does not have (an indent in debug mode, a layout other than compact) goes to
Flask's provider.
"""
from __future__ import annotations

import orjson
from flask.json.provider import DefaultJSONProvider

#: dates, datetimes, times and dataclasses go to Flask's default (HTTP dates, sorted fields), as
#: with the standard library
_OPTIONS = (orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
            | orjson.OPT_PASSTHROUGH_DATACLASS)


#: what Flask asks for a compact answer, orjson's only layout
_COMPACT = {"separators": (",", ":")}


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        if kwargs and kwargs != _COMPACT:
            return super().dumps(obj, **kwargs)
        option = _OPTIONS | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
        try:
            return orjson.dumps(obj, default=self.default, option=option).decode()
        except orjson.JSONEncodeError:  # what orjson cannot write (an integer beyond 64 bits)
            return super().dumps(obj, **kwargs)

    def loads(self, s, **kwargs):
        return super().loads(s, **kwargs) if kwargs else orjson.loads(s)

