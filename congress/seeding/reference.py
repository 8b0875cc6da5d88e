"""The official reference data shipped in congress/data (copied from the shared data set)."""
from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class UnitRecord:
    code: str
    name: str
    kind: str
    province_code: str


@dataclass(frozen=True)
class OriginRecord:
    code: str
    former_code: str
    former_name: str
    share: str


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
        return [{k: unicodedata.normalize("NFC", v.strip()) for k, v in row.items()}
                for row in csv.DictReader(fh)]


@lru_cache(maxsize=1)
def provinces() -> dict[str, str]:
    return {row["code"]: row["name"] for row in _rows("vn-provinces-2025.csv")}


@lru_cache(maxsize=1)
def units() -> tuple[UnitRecord, ...]:
    return tuple(UnitRecord(r["code"], r["name"], r["kind"], r["province_code"])
                 for r in _rows("vn-communes-2025.csv"))


@lru_cache(maxsize=1)
def origins() -> tuple[OriginRecord, ...]:
    return tuple(OriginRecord(r["code"], r["formed_from_code"], r["formed_from_name"], r["share"])
                 for r in _rows("haiphong-merges-2025.csv"))
