"""Storing what a sync read about use: access keys, the credential report, Access Advisor, Access Analyzer.

Called by `findings.snapshot.snapshot_store` inside its transaction, once the principals are stored.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.aws.collect import Collected
from accounts.models import LinkedAccount
from findings.bulk import objects_copy, rows_copy, rows_update
from findings.models import (
    AccessKey,
    AnalyzerFinding,
    CredentialReportRow,
    LastAccessed,
    NeverUsed,
    Principal,
)
from findings.usage_rows import COLUMNS, UsageRow, never_used, report_hash, report_rows, usage_rows_remember


def as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, timezone.utc)
    parsed = parse_datetime(str(value).replace("Z", "+00:00"))
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.utc)


def usage_store(
    *, account: LinkedAccount, collected: Collected, ids: dict[str, int], user_ids: dict[str, int]
) -> tuple[int, tuple[int, int]]:
    """Replace the account's keys, credential report, and (when read) last-accessed rows and Access
    Analyzer findings; the number of keys, and of last-accessed rows reported and written. Principals whose Access
    Advisor job failed are not in `collected.last_accessed`, so their previous rows stay."""
    # Access keys (users), from ListAccessKeys plus the credential report's last-use columns.
    report_by_user = {r.get("user"): r for r in collected.credential_rows}
    key_rows = []
    for user, keys in collected.access_keys.items():
        if user not in user_ids:
            continue
        row = report_by_user.get(user) or {}
        ordered = sorted(keys, key=lambda k: str(k.get("created_at") or ""))
        for slot, key in enumerate(ordered[:2], start=1):
            key_rows.append(
                AccessKey(
                    principal_id=user_ids[user],
                    key_id=key["key_id"],
                    active=bool(key.get("active")),
                    created_at=as_datetime(key.get("created_at"))
                    or as_datetime(row.get(f"access_key_{slot}_last_rotated")),
                    last_used_at=as_datetime(row.get(f"access_key_{slot}_last_used_date")),
                    last_used_service=row.get(f"access_key_{slot}_last_used_service") or "",
                    last_used_region=row.get(f"access_key_{slot}_last_used_region") or "",
                )
            )
    AccessKey.objects.filter(principal__account=account).delete()
    AccessKey.objects.bulk_create(key_rows)

    CredentialReportRow.objects.filter(account=account).delete()
    CredentialReportRow.objects.bulk_create(
        [
            CredentialReportRow(
                account=account,
                user=r.get("user") or "",
                arn=r.get("arn") or "",
                is_root=r.get("user") == "<root_account>",
                values={k: (v if not isinstance(v, datetime) else v.isoformat()) for k, v in r.items()},
                generated_at=as_datetime(collected.credential_generated_at),
            )
            for r in collected.credential_rows
        ]
    )

    last_accessed = (0, 0)
    if collected.last_accessed is not None:
        last_accessed = last_accessed_store(account=account, collected=collected, ids=ids)

    if collected.analyzer_findings is not None:
        AnalyzerFinding.objects.filter(account=account).delete()
        AnalyzerFinding.objects.bulk_create(
            [
                AnalyzerFinding(
                    account=account,
                    finding_id=f["id"],
                    analyzer_arn=f.get("analyzerArn", ""),
                    finding_type=f.get("findingType", ""),
                    resource_arn=f.get("resource", ""),
                    status=f.get("status", ""),
                    details=json.loads(json.dumps(f.get("findingDetails", []), default=str)),
                    updated_at=as_datetime(f.get("updatedAt")),
                )
                for f in collected.analyzer_findings
            ]
        )

    return len(key_rows), last_accessed


def last_accessed_store(
    *, account: LinkedAccount, collected: Collected, ids: dict[str, int]
) -> tuple[int, int]:
    """Access Advisor's reports, as rows (`findings.usage_rows`): a principal's rows are replaced only when
    its report changed, its never-used services and actions as one `NeverUsed` row; each reported principal's
    `usage_collected_at` moves to this collection. Principals whose job failed are not in
    `collected.last_accessed`, so their previous rows (and time) stay. Every reported principal's rows are
    handed to the rest of the ingest from memory. How many rows were reported, and how many database rows
    written."""
    if collected.last_accessed is None:  # not read (an imported file): the stored rows stand
        return 0, 0
    when = collected.collected_at
    known = dict(
        Principal.objects.filter(account=account)
        .exclude(usage_collected_at=None)
        .values_list("id", "usage_hash")
    )
    reported: dict[int, list[UsageRow]] = {}
    rewrite: list[int] = []
    hashes: list[Principal] = []
    for arn, services in collected.last_accessed.items():
        pid = ids.get(arn)
        if pid is None:
            continue
        reported[pid] = report_rows(services, collected_at=when, when=as_datetime)
        digest = report_hash(services)
        if known.get(pid) != digest:
            rewrite.append(pid)
        hashes.append(Principal(pk=pid, usage_hash=digest, usage_collected_at=when))
    LastAccessed.objects.filter(principal_id__in=rewrite).delete()
    NeverUsed.objects.filter(principal_id__in=rewrite).delete()
    written = rows_copy(
        LastAccessed,
        ("principal_id", *COLUMNS),
        ((pid, *row) for pid in rewrite for row in reported[pid] if not never_used(row)),
    )
    lists = {
        pid: [[r.service, r.service_name, r.action] for r in reported[pid] if never_used(r)]
        for pid in rewrite
    }
    written += objects_copy(
        [
            NeverUsed(principal_id=pid, entries=entries, collected_at=when)
            for pid, entries in lists.items()
            if entries
        ]
    )
    rows_update(hashes, ["usage_hash", "usage_collected_at"])
    usage_rows_remember(account.pk, reported, principals=set(ids.values()))
    return sum(len(rows) for rows in reported.values()), written
