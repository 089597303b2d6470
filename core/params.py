"""Reading request parameters: ids and numbers (anything not a plain, in-range number is ignored), tag
filters and date-times (a ValueError saying what is wrong, for the page to show)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

MAX_DB_ID = 2**63 - 1  # PostgreSQL bigint


def db_id(value: object) -> int | None:
    """A database id from text, or None: ASCII digits only (not superscripts or other scripts' digits), within bigint."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_DB_ID else None


def db_ids(values: Iterable[object]) -> list[int]:
    return [n for n in (db_id(v) for v in values) if n is not None]


# Longest accepted texts: AWS tag keys are at most 128 characters and values 256; ISO date-times ~35.
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_DATETIME_TEXT = 64


def tag_filter(value: str) -> tuple[str, str | None]:
    """`key` or `key=value` (split at the first "="), as plain text: never an ORM lookup.

    ValueError, saying why, for an empty or over-long key or value.
    """
    key, sep, tag_value = value.strip().partition("=")
    if not key or len(key) > MAX_TAG_KEY:
        raise ValueError(f"a tag key is 1 to {MAX_TAG_KEY} characters (tag=key or tag=key=value)")
    if len(tag_value) > MAX_TAG_VALUE:
        raise ValueError(f"a tag value is at most {MAX_TAG_VALUE} characters")
    return key, (tag_value if sep else None)


def aware_datetime(value: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; one without an offset is read as UTC.

    ValueError, saying why, for text that is not one, or that lies outside what can be stored
    (9999-12-31T23:59:59-23:59 is past the last representable instant once in UTC).
    """
    text = value.strip()
    if len(text) > MAX_DATETIME_TEXT:
        raise ValueError("not a date and time (too long)")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date and time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM+00:00") from None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range: use a date between the years 1 and 9999 in UTC") from None
