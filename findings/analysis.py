"""Runs the policy engine on an account's new snapshot and stores each principal's results."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import LinkedAccount
from findings.models import AccessKey, CredentialReportRow, Principal, ScoreHistory
from policy.analyze import AccountAnalysis, AccountReport
from policy.catalog import default_catalog
from policy.gaad import AccountDetails


@dataclass
class AnalysisOutcome:
    analyzed: int
    updated: int
    skipped: int
    report: AccountReport | None = None
    analysis: AccountAnalysis | None = None

    def counts(self) -> dict[str, int]:
        return {"analyzed": self.analyzed, "updated": self.updated, "skipped": self.skipped}


def _result_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def engine_inputs(account: LinkedAccount) -> dict[str, Any]:
    """What the stored snapshot knows of users' credentials, as the engine takes it: access keys per user
    (CreateAccessKey fails at two) and the active ones, and who has a console password and MFA (from the
    credential report, when one was collected). The sync's analysis and the predicted score read it the
    same way."""
    counts: dict[str, int] = {}
    active: dict[str, int] = {}
    keys = AccessKey.objects.filter(principal__account=account).values_list("principal__arn", "active")
    for arn, is_active in keys:
        counts[arn] = counts.get(arn, 0) + 1
        if is_active:
            active[arn] = active.get(arn, 0) + 1
    rows = list(
        CredentialReportRow.objects.filter(account=account, is_root=False).values_list("arn", "values")
    )
    profiles = {arn: bool(values.get("password_enabled")) for arn, values in rows} if rows else None
    mfa = {arn: bool(values.get("mfa_active")) for arn, values in rows} if rows else None
    # The organisation's own accounts, as the app knows them: every linked account. Trusting one of them
    # needs no ExternalId (no third party can be the confused deputy).
    org = frozenset(LinkedAccount.objects.values_list("account_id", flat=True))
    return {
        "access_key_counts": counts,
        "login_profiles": profiles,
        "active_keys": active,
        "mfa": mfa,
        "org_accounts": org,
    }


@transaction.atomic
def account_analyze(
    *,
    account: LinkedAccount,
    details: AccountDetails,
    changed: set[str] | None = None,
    usage_changed: bool = True,
) -> AnalysisOutcome:
    """Analyse the whole account (escalation paths cross principals) and write back only the principals
    whose results changed. With `changed` empty (no document changed since the last analysis), the engine
    is not run at all and every stored result stands."""
    if (
        changed is not None
        and not changed
        and not usage_changed
        and not Principal.objects.filter(account=account, analyzed_at__isnull=True).exists()
    ):
        return AnalysisOutcome(0, 0, Principal.objects.filter(account=account).count())
    analysis = AccountAnalysis(details, default_catalog(), **engine_inputs(account))
    report = analysis.run()
    by_arn = {p.arn: p for p in report.principals}
    principals = list(Principal.objects.filter(account=account))
    now = timezone.now()
    updates = []
    history: list[ScoreHistory] = []
    for principal in principals:
        result = by_arn.get(principal.arn)
        if result is None:
            continue
        payload = {
            "risk_score": result.risk_score,
            "is_admin": result.is_admin,
            "admin_reason": result.admin_reason,
            "reaches_admin": result.reaches_admin,
            "admin_path": result.admin_path.to_json() if result.admin_path is not None else None,
            "score_explanation": result.score_explanation,
            "escalation_paths": [e.to_json() for e in result.privilege_escalation],
        }
        digest = _result_hash(payload)
        if digest == principal.analysis_hash and principal.analyzed_at is not None:
            continue
        if principal.analyzed_at is None or principal.risk_score != result.risk_score:
            history.append(ScoreHistory(principal=principal, recorded_at=now, score=result.risk_score))
        principal.risk_score = result.risk_score
        principal.is_admin = result.is_admin
        principal.admin_reason = result.admin_reason
        principal.reaches_admin = result.reaches_admin
        principal.admin_path = payload["admin_path"]
        principal.score_explanation = result.score_explanation
        principal.escalation_paths = payload["escalation_paths"]
        principal.analysis_hash = digest
        principal.analyzed_at = now
        updates.append(principal)
    Principal.objects.bulk_update(
        updates,
        [
            "risk_score",
            "is_admin",
            "admin_reason",
            "reaches_admin",
            "admin_path",
            "score_explanation",
            "escalation_paths",
            "analysis_hash",
            "analyzed_at",
        ],
        batch_size=500,
    )
    ScoreHistory.objects.bulk_create(history, batch_size=1000)
    return AnalysisOutcome(len(principals), len(updates), 0, report, analysis)
