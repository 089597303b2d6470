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
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from findings.models import LastAccessed, NeverUsed, Principal

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

# Account pk -> (rows by principal id, the principal ids whose rows are all there); only within
# `usage_rows_read_once`.
_ONCE: ContextVar[dict[int, tuple[RowsByPrincipal, set[int]]] | None] = ContextVar("usage_rows", default=None)
# Account pk -> the ids of all its principals, when the sync storing it said.
_PRINCIPALS: ContextVar[dict[int, set[int]] | None] = ContextVar("usage_principals", default=None)


@contextmanager
def usage_rows_read_once() -> Iterator[None]:
    """Within this block each account's last-accessed rows are read at most once (see the module)."""
    token, principals = _ONCE.set({}), _PRINCIPALS.set({})
    try:
        yield
    finally:
        _ONCE.reset(token)
        _PRINCIPALS.reset(principals)


def usage_rows_remember(account_pk: int, rows: RowsByPrincipal, *, principals: set[int]) -> None:
    """The rows a sync just collected for these principals (every one of theirs), to be read from memory;
    `principals`: every principal of the account, so that only the rows of the others are read."""
    once = _ONCE.get()
    if once is None:
        return
    held, complete = once.setdefault(account_pk, ({}, set()))
    held.update(rows)  # replaces what was held for these principals, if anything was
    if complete != {-1}:  # else every principal's rows are held already
        complete.update(rows)
    _PRINCIPALS.set({**(_PRINCIPALS.get() or {}), account_pk: principals})


def account_usage_rows(account_pk: int) -> RowsByPrincipal:
    """Every last-accessed row of the account's principals, by principal id."""
    once = _ONCE.get()
    if once is None:
        return _read({"principal__account_id": account_pk})
    held, complete = once.setdefault(account_pk, ({}, set()))
    if complete != {-1}:
        everyone = (_PRINCIPALS.get() or {}).get(account_pk)
        if everyone is not None:  # read only the principals the sync did not report on
            rest = everyone - complete
            where = {"principal_id__in": sorted(rest)} if rest else None
        else:
            where = {"principal__account_id": account_pk}
        if where is not None:
            for pid, rows in _read(where).items():
                held.setdefault(pid, []).extend(rows)
        once[account_pk] = (held, {-1})  # every principal's rows are held now
    return held


def principal_usage_rows(principal_id: int) -> list[UsageRow]:
    return _read({"principal_id": principal_id}).get(principal_id, [])


def principals_usage_rows(principal_ids: list[int]) -> RowsByPrincipal:
    """The rows of several principals (a group's members, a permission set's roles), in one read."""
    return _read({"principal_id__in": principal_ids}) if principal_ids else {}


def _read(where: dict[str, Any]) -> RowsByPrincipal:
    """The rows of the principals `where` selects (`principal__account_id`, `principal_id__in` or
    `principal_id`): `LastAccessed`'s, and one per entry of their `NeverUsed` lists, in one query."""
    if connection.vendor != "postgresql":  # the demo's SQLite: the same rows, in two queries
        return _read_orm(where)
    ((key, value),) = where.items()
    if key == "principal__account_id":
        condition, param = "p.account_id = %s", value
    else:  # principal_id__in, principal_id
        condition, param = "p.id = ANY(%s)", list(value) if key == "principal_id__in" else [value]
    rows, lists, principals = (
        connection.ops.quote_name(m._meta.db_table) for m in (LastAccessed, NeverUsed, Principal)
    )
    columns = ", ".join(f"r.{connection.ops.quote_name(c)}" for c in COLUMNS)
    # Table and column names are the models' own, quoted; the one value is bound.
    sql = (
        f"SELECT r.principal_id, {columns}, NULL FROM {rows} r JOIN {principals} p ON p.id = r.principal_id "  # noqa: S608  # nosec B608
        f"WHERE {condition} UNION ALL "
        f"SELECT r.principal_id, '', '', '', NULL, '', '', TRUE, r.collected_at, r.entries FROM {lists} r "
        f"JOIN {principals} p ON p.id = r.principal_id WHERE {condition}"
    )
    found: RowsByPrincipal = {}
    make = UsageRow._make
    with connection.cursor() as cursor:
        cursor.execute(sql, [param, param])
        while batch := cursor.fetchmany(5000):
            for pid, *values, entries in batch:
                if entries is None:
                    found.setdefault(pid, []).append(make(values))
                    continue
                when = values[-1]
                found.setdefault(pid, []).extend(
                    make((service, name, action, None, "", "", True, when))
                    for service, name, action in (
                        json.loads(entries) if isinstance(entries, str) else entries
                    )
                )
    return found


def _read_orm(where: dict[str, Any]) -> RowsByPrincipal:
    found: RowsByPrincipal = {}
    for pid, *values in LastAccessed.objects.filter(**where).values_list("principal_id", *COLUMNS):
        found.setdefault(pid, []).append(UsageRow._make(values))
    for pid, entries, when in NeverUsed.objects.filter(**where).values_list(
        "principal_id", "entries", "collected_at"
    ):
        found.setdefault(pid, []).extend(
            UsageRow(service, name, action, None, "", "", True, when) for service, name, action in entries
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
