"""Runs the policy engine on an account's new snapshot and stores each principal's results."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import LinkedAccount
from findings.bulk import objects_copy, rows_update
from findings.cross_account import cross_account_paths
from findings.facts import latest_collection, usage_from_rows
from findings.models import (
    AccessKey,
    CatalogGap,
    CredentialReportRow,
    Principal,
    ScoreHistory,
)
from findings.organization import engine_levels, organization_id_of, own_account_ids, policy_levels
from findings.usage_rows import account_usage_rows
from policy.analyze import AccountAnalysis, AccountReport, PrincipalReport
from policy.catalog import default_catalog
from policy.cross_account_score import cross_account_admin_score
from policy.gaad import AccountDetails
from policy.scp import scp_caps
from policy.usage import Usage


@dataclass
class AnalysisOutcome:
    analyzed: int
    updated: int
    skipped: int
    report: AccountReport | None = None
    analysis: AccountAnalysis | None = None

    def counts(self) -> dict[str, int]:
        return {"analyzed": self.analyzed, "updated": self.updated, "skipped": self.skipped}

    def engine_release(self) -> None:
        """Let go of the engine's working state (every principal's permissions, the graph): the findings
        are made from the reports, and holding both while the findings are written was most of an
        import's peak memory."""
        self.analysis = None


def _result_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _add_cross_account_finding(report: PrincipalReport, paths: list[dict[str, Any]]) -> None:
    """The principal reaches an administrator elsewhere: the engine's finding and score, stored on it."""
    scored = cross_account_admin_score(report, paths)
    report.findings.append(scored.finding)
    report.risk_score = scored.risk_score
    report.score_explanation = scored.score_explanation


# The engine inputs of one account, read once while many predictions run over the same stored snapshot
# (`engine_inputs_read_once`); empty outside of it.
_READ_ONCE: ContextVar[dict[int, dict[str, Any]] | None] = ContextVar("engine_inputs_once", default=None)


@contextmanager
def engine_inputs_read_once() -> Iterator[None]:
    """Within this block `engine_inputs` reads each account's facts once: building every suggestion of an
    account predicts each one's score over the same stored snapshot, and reading its usage again for each
    (every last-accessed row of the account) made the build quadratic in the account's size."""
    token = _READ_ONCE.set({})
    try:
        yield
    finally:
        _READ_ONCE.reset(token)


def engine_inputs(account: LinkedAccount) -> dict[str, Any]:
    """What the stored snapshot knows of users' credentials, as the engine takes it: access keys per user
    (CreateAccessKey fails at two) and the active ones, and who has a console password and MFA (from the
    credential report, when one was collected). The sync's analysis and the predicted score read it the
    same way."""
    once = _READ_ONCE.get()
    if once is not None:
        if account.pk not in once:
            once[account.pk] = _engine_inputs(account)
        return once[account.pk]
    return _engine_inputs(account)


def _engine_inputs(account: LinkedAccount) -> dict[str, Any]:
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
    # The organisation's own accounts (a stored organisation's, else every linked account): trusting one of
    # them needs no ExternalId (no third party can be the confused deputy).
    org = own_account_ids(account.account_id)
    return {
        "access_key_counts": counts,
        "login_profiles": profiles,
        "active_keys": active,
        "mfa": mfa,
        "usage": account_usage(account),
        "org_accounts": org,
        # Decides aws:PrincipalOrgID in SCP conditions (policy.scp); unknown before the organisation is read.
        "organization_id": organization_id_of(account.account_id),
    }


def account_usage(account: LinkedAccount, *, now: datetime | None = None) -> dict[str, Usage]:
    """What each user and role used in the account's window, read as the unused findings read it
    (`findings.facts.usage_from_rows`); the engine counts from it the dangerous permissions left unused.
    Principals without an analysable usage (too young, no data, stale) are left out: unknown."""
    now = now or timezone.now()
    last_collected = latest_collection(account)
    rows_by_principal = account_usage_rows(account.pk)
    found: dict[str, Usage] = {}
    for principal in Principal.objects.filter(account=account).exclude(kind="group"):
        read = usage_from_rows(
            principal=principal,
            rows=rows_by_principal.get(principal.pk, []),
            window_days=account.unused_days,
            now=now,
            last_collected=last_collected,
        )
        if read.status == "analyzed":
            found[principal.arn] = read.usage
    return found


def catalog_gaps_store(account: LinkedAccount, report: AccountReport) -> None:
    """The account's catalog gaps as this analysis found them, in place of the previous ones."""
    now = timezone.now()
    CatalogGap.objects.filter(account=account).delete()
    CatalogGap.objects.bulk_create(
        [
            CatalogGap(
                account=account,
                action=g.action[:256],
                why=g.why[:256],
                policies=list(g.policies),
                principal_count=g.principals,
                seen_at=now,
            )
            for g in report.catalog_gap_actions
        ]
    )


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
    analysis = AccountAnalysis(details, catalog, scps=scps, **engine_inputs(account))
    report = analysis.run()
    caps = {arn: [c.to_json() for c in scp_caps(perms, catalog)] for arn, perms in analysis.perms.items()}
    catalog_gaps_store(account, report)
    reach = cross_account_paths(account.account_id, analysis)
    for arn, paths in reach.items():
        _add_cross_account_finding(analysis.reports[arn], paths)
    by_arn = {p.arn: p for p in report.principals}
    # The results are compared by their hash and written whole: the stored ones are not read.
    principals = list(
        Principal.objects.filter(account=account).only(
            "pk", "account_id", "arn", "risk_score", "analysis_hash", "analyzed_at"
        )
    )
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
        principal.admin_reason = result.admin_reason
        principal.reaches_admin = result.reaches_admin
        principal.admin_path = payload["admin_path"]
        principal.score_explanation = result.score_explanation
        principal.escalation_paths = payload["escalation_paths"]
        principal.scp_caps = payload["scp_caps"]
        principal.cross_account_paths = payload["cross_account_paths"]
        principal.analysis_hash = digest
        principal.analyzed_at = now
        updates.append(principal)
    rows_update(
        updates,
        [
            "risk_score",
            "is_admin",
            "admin_reason",
            "reaches_admin",
            "admin_path",
            "score_explanation",
            "escalation_paths",
            "scp_caps",
            "cross_account_paths",
            "analysis_hash",
            "analyzed_at",
        ],
    )
    objects_copy(history)
    return AnalysisOutcome(len(principals), len(updates), 0, report, analysis)
