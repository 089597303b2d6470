"""Access Advisor's rows, as the analysis reads them: read once per ingest, written only when they change.

A large account holds hundreds of thousands of last-accessed rows (AWS reports every service a principal's
policies grant, used or not: about 150 per principal). Building a Django instance for each, twice per sync
(the engine's usage and the unused findings), cost more than the engine. Here:

- a row is a `UsageRow` (a named tuple of the columns the analysis reads), read with one `values_list`;
- within `usage_rows_read_once()` (an ingest), an account's rows are read at most once, and the rows the
  sync has just collected are taken from memory (`usage_rows_remember`), not read back;
- the services and actions a report says were never used (most of it) are one `NeverUsed` row per
  principal, given back as rows by the readers here;
- a principal's rows are rewritten only when its report changed (`report_hash`, kept on
  `Principal.usage_hash`); when it did not, only `Principal.usage_collected_at` moves, which is when Access
  Advisor last reported on it (the "stale" test of `findings.facts.usage_from_rows` reads it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import BooleanField, CharField, DateTimeField, JSONField, Value

from findings.models import LastAccessed, NeverUsed

COLUMNS = (
    "service",
    "service_name",
    "action",
    "last_accessed_at",
    "region",
    "entity",
    "tracked",
    "collected_at",
)


class UsageRow(NamedTuple):
    """One last-accessed row: a service (`action` blank) or one of its tracked actions."""

    service: str
    service_name: str
    action: str
    last_accessed_at: datetime | None
    region: str
    entity: str
    tracked: bool
    collected_at: datetime


RowsByPrincipal = dict[int, list[UsageRow]]


@dataclass
class _Held:
    """One account's rows within `usage_rows_read_once`."""

    rows: RowsByPrincipal = field(default_factory=dict)
    reported: set[int] = field(default_factory=set)  # principals whose rows the sync handed over
    everyone: set[int] | None = None  # the account's principals, when the sync said
    whole: bool = False  # every principal's rows are in `rows`


_ONCE: ContextVar[dict[int, _Held] | None] = ContextVar("usage_rows", default=None)


@contextmanager
def usage_rows_read_once() -> Iterator[None]:
    """Within this block each account's last-accessed rows are read at most once (see the module)."""
    token = _ONCE.set({})
    try:
        yield
    finally:
        _ONCE.reset(token)


def usage_rows_remember(account_pk: int, rows: RowsByPrincipal, *, principals: set[int]) -> None:
    """The rows a sync just collected for these principals (every one of theirs), to be read from memory;
    `principals`: every principal of the account, so that only the rows of the others are read."""
    once = _ONCE.get()
    if once is None:
        return
    held = once.setdefault(account_pk, _Held())
    held.rows.update(rows)  # replaces what was held for these principals, if anything was
    held.reported.update(rows)
    held.everyone = principals


def account_usage_rows(account_pk: int) -> RowsByPrincipal:
    """Every last-accessed row of the account's principals, by principal id."""
    once = _ONCE.get()
    if once is None:
        return _read({"principal__account_id": account_pk})
    held = once.setdefault(account_pk, _Held())
    if not held.whole:
        if held.everyone is None:
            read = _read({"principal__account_id": account_pk})
            rest = {pid: rows for pid, rows in read.items() if pid not in held.reported}
        else:  # only the principals the sync did not report on
            missing = sorted(held.everyone - held.reported)
            rest = _read({"principal_id__in": missing}) if missing else {}
        held.rows.update(rest)
        held.whole = True
    return held.rows


def principal_usage_rows(principal_id: int) -> list[UsageRow]:
    return _read({"principal_id": principal_id}).get(principal_id, [])


def principals_usage_rows(principal_ids: list[int]) -> RowsByPrincipal:
    """The rows of several principals (a group's members, a permission set's roles), in one read."""
    return _read({"principal_id__in": principal_ids}) if principal_ids else {}


def _read(where: dict[str, Any]) -> RowsByPrincipal:
    """The rows of the principals `where` selects (a filter on `principal`): `LastAccessed`'s, and one per
    entry of their `NeverUsed` lists, in one query (`UNION ALL`, on PostgreSQL and the demo's SQLite)."""
    used = (
        LastAccessed.objects.filter(**where)
        .annotate(entries=Value(None, output_field=JSONField()))
        .values_list("principal_id", *COLUMNS, "entries")
    )
    blank = {
        c: Value("", output_field=CharField())
        for c in ("service", "service_name", "action", "region", "entity")
    }
    lists = (
        NeverUsed.objects.filter(**where)
        .annotate(
            **blank,
            last_accessed_at=Value(None, output_field=DateTimeField()),
            tracked=Value(True, output_field=BooleanField()),
        )
        .values_list("principal_id", *COLUMNS, "entries")
    )
    found: RowsByPrincipal = {}
    make = UsageRow._make
    for pid, *values, entries in used.union(lists, all=True).iterator(chunk_size=5000):
        if entries is None:
            found.setdefault(pid, []).append(make(values))
        else:
            when = values[-1]
            found.setdefault(pid, []).extend(
                make((service, name, action, None, "", "", True, when)) for service, name, action in entries
            )
    return found


def never_used(row: UsageRow) -> bool:
    """A row that says only that its service or action was never used (`NeverUsed` keeps those)."""
    return row.last_accessed_at is None and row.tracked and not row.region and not row.entity


def report_hash(services: list[dict[str, Any]]) -> str:
    """Of one principal's Access Advisor report, as AWS returned it (the collection time left out)."""
    return hashlib.blake2b(repr(services).encode(), digest_size=20).hexdigest()


def report_rows(services: Iterable[dict[str, Any]], *, collected_at: datetime, when: Any) -> list[UsageRow]:
    """One principal's Access Advisor report (`ServicesLastAccessed`, with `TrackedActionsLastAccessed`) as
    rows; `when` reads AWS's timestamps (None stays None)."""
    make = UsageRow._make  # a tuple's own constructor: a report of a broad role has thousands of rows
    rows: list[UsageRow] = []
    for s in services:
        namespace = s.get("ServiceNamespace", "")
        used = s.get("LastAuthenticated")
        rows.append(
            make(
                (
                    namespace,
                    s.get("ServiceName", ""),
                    "",
                    when(used) if used else None,
                    s.get("LastAuthenticatedRegion") or "",
                    s.get("LastAuthenticatedEntity") or "",
                    True,
                    collected_at,
                )
            )
        )
        for a in s.get("TrackedActionsLastAccessed") or ():
            used = a.get("LastAccessedTime")
            rows.append(
                make(
                    (
                        namespace,
                        "",
                        a.get("ActionName", ""),
                        when(used) if used else None,
                        a.get("LastAccessedRegion") or "",
                        a.get("LastAccessedEntity") or "",
                        True,
                        collected_at,
                    )
                )
            )
    return rows
