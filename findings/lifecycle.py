"""Finding lifecycle: open -> resolved when a sync no longer sees it, reopened when it returns; triage by
people (acknowledge, assign, suppress with reason and expiry) and by suppression rules. Every change is in
the audit log."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import LinkedAccount, SyncRun
from core.audit import audit_record
from core.models import assign_changed
from findings.analysis import AnalysisOutcome
from findings.bulk import objects_copy, rows_update
from findings.detect import FindingSpec, credential_specs, engine_specs, merge_analyzer, unused_specs
from findings.figures_cache import figures_changed_on_commit
from findings.models import (
    LIVE_FINDING_STATUSES,
    AccessKey,
    DailyMetric,
    Finding,
    FindingStatus,
    Principal,
    SuppressionRule,
)
from findings.signals import emit, findings_opened
from policy.evaluate import arn_matches
from policy.kinds import SEVERITY_RANK, UNKNOWN_SEVERITY_RANK, carried_kinds


def rule_matches(
    rule: SuppressionRule, *, account_id: int, principal: Principal | None, arn: str, kind: str
) -> bool:
    if rule.account_id and rule.account_id != account_id:
        return False
    if rule.kind and rule.kind != kind:
        return False
    if rule.principal_pattern:
        name = principal.name if principal is not None else arn.rsplit("/", 1)[-1]
        if not (arn_matches(rule.principal_pattern, arn) or arn_matches(rule.principal_pattern, name)):
            return False
    if rule.tag_key:
        tags = principal.tags if principal is not None else {}
        if rule.tag_key not in tags or (rule.tag_value and tags.get(rule.tag_key) != rule.tag_value):
            return False
    return True


def _active_rules(now: datetime) -> list[SuppressionRule]:
    return list(SuppressionRule.objects.filter(expires_at__gt=now))


@transaction.atomic
def findings_refresh(
    *,
    account: LinkedAccount,
    outcome: AnalysisOutcome,
    run: SyncRun | None,
    collected_at: datetime | None = None,
) -> dict[str, int]:
    """Bring the account's findings in line with its new snapshot. Returns counts of what changed.
    `collected_at`: when the sync collected what it stores; a principal whose usage is older than that was
    left out of this sync's Access Advisor reads ("stale"), however long storing the account took."""
    now = timezone.now()
    last_collected = collected_at or now
    specs: list[FindingSpec] = credential_specs(account=account, now=now)
    carry_kinds: set[str] = set()
    unused_total = 0
    if outcome.analysis is not None and outcome.report is not None:
        specs += engine_specs(outcome.report.principals)
        usage, states = unused_specs(
            account=account, analysis=outcome.analysis, now=now, last_collected=last_collected
        )
        specs += usage
        outcome.engine_release()  # nothing below reads the engine's state
        counts = {arn: s.unused_count for arn, s in states.items()}
        changed = [
            p
            for p in Principal.objects.filter(account=account, arn__in=list(counts)).only(
                "pk", "arn", "unused_count"
            )
            if p.unused_count != counts[p.arn]
        ]
        for p in changed:
            p.unused_count = counts[p.arn]
        rows_update(changed, ["unused_count"])
        unused_total = sum(counts.values())
    else:
        # Nothing changed since the last analysis: engine and usage findings stand as they are.
        carry_kinds = set(carried_kinds())
        unused_total = sum(Principal.objects.filter(account=account).values_list("unused_count", flat=True))
    specs = merge_analyzer(specs, account=account)

    # What a finding and the suppression rules read of its principal (name, tags), no stored results.
    principals = {
        p.arn: p
        for p in Principal.objects.filter(account=account).only("pk", "account_id", "arn", "name", "tags")
    }
    existing = {f.fingerprint: f for f in Finding.objects.filter(account=account)}
    rules = _active_rules(now)
    seen: set[str] = set()
    created = reopened = resolved = 0
    to_create: list[Finding] = []
    to_update: list[Finding] = []
    still_seen: list[Finding] = []
    reopened_findings: list[Finding] = []
    for spec in specs:
        fp = spec.fingerprint(account.account_id)
        if fp in seen:
            continue
        seen.add(fp)
        principal = principals.get(spec.principal_arn)
        finding = existing.get(fp)
        if finding is None:
            finding = Finding(
                fingerprint=fp,
                account=account,
                principal=principal,
                principal_arn=spec.principal_arn,
                kind=spec.kind,
                severity=spec.severity,
                severity_rank=SEVERITY_RANK.get(spec.severity, UNKNOWN_SEVERITY_RANK),
                subject=spec.subject,
                title=spec.title,
                detail=spec.detail,
                data=spec.data,
                sources=spec.sources,
                first_seen=now,
                last_seen=now,
            )
            rule = next(
                (
                    r
                    for r in rules
                    if rule_matches(
                        r, account_id=account.pk, principal=principal, arn=spec.principal_arn, kind=spec.kind
                    )
                ),
                None,
            )
            if rule is not None:
                finding.status = FindingStatus.SUPPRESSED
                finding.suppression_rule = rule
                finding.suppressed_until = rule.expires_at
                finding.suppression_reason = rule.reason
                finding.suppressed_by_id = rule.created_by_id
            to_create.append(finding)
            created += 1
            continue
        changed = assign_changed(
            finding,
            principal_id=principal.pk if principal is not None else None,
            severity=spec.severity,
            severity_rank=SEVERITY_RANK.get(spec.severity, UNKNOWN_SEVERITY_RANK),
            title=spec.title,
            detail=spec.detail,
            data=spec.data,
            sources=spec.sources,
        )
        finding.last_seen = now
        if finding.status == FindingStatus.RESOLVED:
            changed = True
            finding.status = FindingStatus.OPEN
            finding.resolved_at = None
            finding.reopened_count += 1
            reopened += 1
            reopened_findings.append(finding)
            audit_record(
                actor=None,
                action="finding.reopen",
                obj=finding,
                account_id=account.account_id,
                summary=f"Reopened: {finding.title} on {finding.principal_arn} (seen again)",
            )
        (to_update if changed else still_seen).append(finding)
    if objects_copy(to_create):
        # COPY numbers no instance: the new findings' ids, for the signal's receivers.
        ids = dict(
            Finding.objects.filter(fingerprint__in=[f.fingerprint for f in to_create]).values_list(
                "fingerprint", "id"
            )
        )
        for f in to_create:
            f.pk = ids[f.fingerprint]
            f._state.adding = False
    # Most findings of a re-sync are seen again unchanged: one UPDATE of last_seen per batch, and the
    # row-by-row update only for those whose content moved.
    for start in range(0, len(still_seen), 5000):
        Finding.objects.filter(pk__in=[f.pk for f in still_seen[start : start + 5000]]).update(last_seen=now)
    rows_update(
        to_update,
        [
            "principal",
            "severity",
            "severity_rank",
            "title",
            "detail",
            "data",
            "sources",
            "last_seen",
            "status",
            "resolved_at",
            "reopened_count",
        ],
        batch_size=500,
    )
    gone = [
        f
        for fp, f in existing.items()
        if fp not in seen and f.status in LIVE_FINDING_STATUSES and f.kind not in carry_kinds
    ]
    for f in gone:
        f.status = FindingStatus.RESOLVED
        f.resolved_at = now
    rows_update(gone, ["status", "resolved_at"])
    resolved = len(gone)
    if gone:
        audit_record(
            actor=None,
            action="finding.resolve",
            obj=account,
            summary=f"{resolved} finding(s) resolved: no longer seen by the sync",
            after={"fingerprints": [f.fingerprint for f in gone[:500]]},
        )
    if carry_kinds:
        Finding.objects.filter(
            account=account, kind__in=carry_kinds, status__in=LIVE_FINDING_STATUSES
        ).update(last_seen=now)
    opened = [f for f in to_create if f.status == FindingStatus.OPEN] + reopened_findings
    if opened:
        emit(findings_opened, account=account, findings=opened)
    daily_metric_record(account=account, unused_total=unused_total)
    figures_changed_on_commit()  # the snapshot and its findings changed: dashboards recount
    return {"findings_created": created, "findings_reopened": reopened, "findings_resolved": resolved}


def daily_metric_record(*, account: LinkedAccount, unused_total: int | None = None) -> DailyMetric:
    today = timezone.localdate()
    scores = list(Principal.objects.filter(account=account).values_list("risk_score", flat=True))
    kinds = Counter(Principal.objects.filter(account=account).values_list("kind", flat=True))
    live = Finding.objects.filter(
        account=account, status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]
    )
    by_severity = Counter(live.values_list("severity", flat=True))
    by_kind = Counter(live.values_list("kind", flat=True))
    cutoff = timezone.now() - timezone.timedelta(days=settings.IAMREVIEW_KEY_MAX_AGE_DAYS)
    old_keys = AccessKey.objects.filter(
        principal__account=account, active=True, created_at__lt=cutoff
    ).count()
    histogram = [0] * 10
    for s in scores:
        histogram[min(9, s // 10)] += 1
    p90 = statistics.quantiles(scores, n=10)[-1] if len(scores) >= 2 else float(scores[0] if scores else 0)
    if unused_total is None:
        unused_total = sum(Principal.objects.filter(account=account).values_list("unused_count", flat=True))
    metric, _ = DailyMetric.objects.update_or_create(
        account=account,
        date=today,
        defaults={
            "principals": len(scores),
            "users": kinds.get("user", 0),
            "roles": kinds.get("role", 0),
            "groups": kinds.get("group", 0),
            "admins": Principal.objects.filter(account=account, is_admin=True).count(),
            "high_risk": sum(s >= 60 for s in scores),
            "score_mean": round(statistics.fmean(scores), 2) if scores else 0.0,
            "score_p90": round(p90, 2),
            "score_histogram": histogram,
            "open_by_severity": dict(by_severity),
            "open_by_kind": dict(by_kind),
            "unused_permissions": unused_total,
            "old_keys": old_keys,
        },
    )
    return metric


# -- triage by people --------------------------------------------------------------------------------


def _snapshot(f: Finding) -> dict[str, Any]:
    return {
        "status": f.status,
        "assignee": f.assignee.get_username() if f.assignee_id and f.assignee else None,
        "suppressed_until": f.suppressed_until.isoformat() if f.suppressed_until else None,
        "suppression_reason": f.suppression_reason,
    }


def _triage(
    *,
    actor: AbstractBaseUser | None,
    findings: list[Finding],
    action: str,
    fields: list[str],
    change: Callable[[Finding], None],
    summary: Callable[[Finding], str],
    statuses: list[str] | None = None,
) -> int:
    """Apply one change to each selected finding under a row lock, auditing before and after."""
    qs = (
        Finding.objects.select_for_update(of=("self",))
        .filter(pk__in=[x.pk for x in findings])
        .select_related("account", "assignee")
    )
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    count = 0
    for f in qs:
        before = _snapshot(f)
        change(f)
        f.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=action,
            obj=f,
            summary=summary(f),
            before=before,
            after=_snapshot(f),
        )
        count += 1
    if count:
        figures_changed_on_commit()
    return count


@transaction.atomic
def findings_acknowledge(*, actor: AbstractBaseUser, findings: list[Finding]) -> int:
    return _triage(
        actor=actor,
        findings=findings,
        action="finding.acknowledge",
        fields=["status"],
        change=lambda f: setattr(f, "status", FindingStatus.ACKNOWLEDGED),
        summary=lambda f: f"Acknowledged {f.title} on {f.principal_arn}",
        statuses=[FindingStatus.OPEN],
    )


@transaction.atomic
def findings_assign(
    *, actor: AbstractBaseUser, findings: list[Finding], assignee: AbstractBaseUser | None
) -> int:
    who = assignee.get_username() if assignee is not None else "nobody"
    return _triage(
        actor=actor,
        findings=findings,
        action="finding.assign",
        fields=["assignee"],
        change=lambda f: setattr(f, "assignee", assignee),
        summary=lambda f: f"Assigned {f.title} on {f.principal_arn} to {who}",
    )


@transaction.atomic
def findings_suppress(
    *, actor: AbstractBaseUser, findings: list[Finding], reason: str, until: datetime
) -> int:
    if not reason.strip():
        raise ValueError("A suppression needs a reason.")
    if until <= timezone.now():
        raise ValueError("A suppression needs an expiry date in the future.")

    def suppress(f: Finding) -> None:
        f.status, f.suppression_reason, f.suppressed_until = FindingStatus.SUPPRESSED, reason.strip(), until
        f.suppressed_by = actor

    return _triage(
        actor=actor,
        findings=findings,
        action="finding.suppress",
        fields=["status", "suppression_reason", "suppressed_until", "suppressed_by"],
        change=suppress,
        summary=lambda f: (
            f"Suppressed {f.title} on {f.principal_arn} until {until:%Y-%m-%d}: {reason.strip()[:200]}"
        ),
        statuses=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED, FindingStatus.SUPPRESSED],
    )


@transaction.atomic
def findings_reopen(*, actor: AbstractBaseUser | None, findings: list[Finding], why: str) -> int:
    def reopen(f: Finding) -> None:
        f.status, f.suppressed_until, f.suppression_rule = FindingStatus.OPEN, None, None

    return _triage(
        actor=actor,
        findings=findings,
        action="finding.reopen",
        fields=["status", "suppressed_until", "suppression_rule"],
        change=reopen,
        summary=lambda f: f"Reopened {f.title} on {f.principal_arn}: {why}",
        statuses=[FindingStatus.SUPPRESSED, FindingStatus.ACKNOWLEDGED],
    )


@transaction.atomic
def suppression_rule_create(*, actor: AbstractBaseUser, **fields: Any) -> tuple[SuppressionRule, int]:
    """Create a rule and suppress the live findings it matches now; new findings it matches are
    suppressed as they appear."""
    rule = SuppressionRule(created_by=actor, **fields)
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action="suppression_rule.create",
        obj=rule,
        summary=str(rule),
        account_id=rule.account.account_id if rule.account else "",
        after={k: str(v) for k, v in fields.items()},
    )
    matching = [
        f
        for f in Finding.objects.filter(
            status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]
        ).select_related("principal")
        if rule_matches(
            rule, account_id=f.account_id, principal=f.principal, arn=f.principal_arn, kind=f.kind
        )
    ]
    count = findings_suppress(actor=actor, findings=matching, reason=rule.reason, until=rule.expires_at)
    Finding.objects.filter(pk__in=[f.pk for f in matching]).update(suppression_rule=rule)
    figures_changed_on_commit()
    return rule, count


def suppressions_expire(*, now: datetime | None = None) -> int:
    """Reopen findings whose suppression has expired."""
    now = now or timezone.now()
    expired = list(Finding.objects.filter(status=FindingStatus.SUPPRESSED, suppressed_until__lte=now))
    return findings_reopen(actor=None, findings=expired, why="its suppression expired")
