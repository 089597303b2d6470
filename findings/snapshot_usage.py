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
from findings.models import AccessKey, AnalyzerFinding, CredentialReportRow, LastAccessed


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
) -> tuple[int, int]:
    """Replace the account's keys, credential report, and (when read) last-accessed rows and Access
    Analyzer findings; the number of keys and of last-accessed rows written. Principals whose Access
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

    last_accessed_rows = 0
    if collected.last_accessed is not None:
        rows: list[LastAccessed] = []
        for arn, services in collected.last_accessed.items():
            pid = ids.get(arn)
            if pid is None:
                continue
            for s in services:
                namespace = s.get("ServiceNamespace", "")
                rows.append(
                    LastAccessed(
                        principal_id=pid,
                        service=namespace,
                        service_name=s.get("ServiceName", ""),
                        last_accessed_at=as_datetime(s.get("LastAuthenticated")),
                        region=s.get("LastAuthenticatedRegion") or "",
                        entity=s.get("LastAuthenticatedEntity") or "",
                        tracked=True,
                        collected_at=collected.collected_at,
                    )
                )
                for a in s.get("TrackedActionsLastAccessed") or []:
                    rows.append(
                        LastAccessed(
                            principal_id=pid,
                            service=namespace,
                            action=a.get("ActionName", ""),
                            last_accessed_at=as_datetime(a.get("LastAccessedTime")),
                            region=a.get("LastAccessedRegion") or "",
                            entity=a.get("LastAccessedEntity") or "",
                            tracked=True,
                            collected_at=collected.collected_at,
                        )
                    )
        LastAccessed.objects.filter(
            principal__account=account, principal_id__in=[ids[a] for a in collected.last_accessed if a in ids]
        ).delete()
        LastAccessed.objects.bulk_create(rows, batch_size=2000)
        last_accessed_rows = len(rows)

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

    return len(key_rows), last_accessed_rows
