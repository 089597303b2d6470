"""Runs the policy engine on an account's new snapshot and stores each principal's results."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import LinkedAccount
from findings.cross_account import cross_account_paths
from findings.models import Principal, ScoreHistory
from findings.organization import engine_levels, policy_levels
from policy.analyze import AccountAnalysis, AccountReport, Finding, PrincipalReport
from policy.catalog import default_catalog
from policy.gaad import AccountDetails
from policy.score import principal_risk_score
from policy.scp import scp_caps


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


def _add_cross_account_finding(report: PrincipalReport, paths: list[dict[str, Any]]) -> None:
    """The principal reaches an administrator elsewhere: a finding, and the score counts it."""
    conditional = all(p["conditional"] for p in paths)
    chains = "; ".join(" → ".join(p["chain"]) for p in paths[:5])
    report.findings.append(
        Finding.of(
            "cross-account-admin",
            ["sts:AssumeRole"],
            [p["target"] for p in paths],
            f"Can assume an administrator role in another account: {chains}"
            + (" (under conditions)" if conditional else ""),
            severity="high" if conditional else "",
        )
    )
    score = principal_risk_score((f.kind, f.severity, f.detail) for f in report.findings)
    report.risk_score = score.value
    report.score_explanation = score.explanation()


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
    catalog = default_catalog()
    scps, _problems = engine_levels(policy_levels(account.account_id))
    analysis = AccountAnalysis(details, catalog, scps=scps)
    report = analysis.run()
    caps = {arn: [c.to_json() for c in scp_caps(perms, catalog)] for arn, perms in analysis.perms.items()}
    reach = cross_account_paths(account.account_id, analysis)
    for arn, paths in reach.items():
        _add_cross_account_finding(analysis.reports[arn], paths)
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
            "score_explanation": result.score_explanation,
            "escalation_paths": [e.to_json() for e in result.privilege_escalation],
            "scp_caps": caps.get(principal.arn, []),
            "cross_account_paths": reach.get(principal.arn, []),
        }
        digest = _result_hash(payload)
        if digest == principal.analysis_hash and principal.analyzed_at is not None:
            continue
        if principal.analyzed_at is None or principal.risk_score != result.risk_score:
            history.append(ScoreHistory(principal=principal, recorded_at=now, score=result.risk_score))
        principal.risk_score = result.risk_score
        principal.is_admin = result.is_admin
        principal.score_explanation = result.score_explanation
        principal.escalation_paths = payload["escalation_paths"]
        principal.scp_caps = payload["scp_caps"]
        principal.cross_account_paths = payload["cross_account_paths"]
        principal.analysis_hash = digest
        principal.analyzed_at = now
        updates.append(principal)
    Principal.objects.bulk_update(
        updates,
        [
            "risk_score",
            "is_admin",
            "score_explanation",
            "escalation_paths",
            "scp_caps",
            "cross_account_paths",
            "analysis_hash",
            "analyzed_at",
        ],
        batch_size=500,
    )
    ScoreHistory.objects.bulk_create(history, batch_size=1000)
    return AnalysisOutcome(len(principals), len(updates), 0, report, analysis)
