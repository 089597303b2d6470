"""Reading ids and numbers from request parameters: anything that is not a plain, in-range number is ignored."""

from __future__ import annotations

from collections.abc import Iterable

MAX_DB_ID = 2**63 - 1  # PostgreSQL bigint


def db_id(value: object) -> int | None:
    """A database id from text, or None: ASCII digits only (not superscripts or other scripts' digits), within bigint."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_DB_ID else None


def db_ids(values: Iterable[object]) -> list[int]:
    return [n for n in (db_id(v) for v in values) if n is not None]
