"""Each fact about a principal read once: its usage, its policy layers, and the stored snapshot as an
account file. Findings, the principal page, suggestions and the predicted score all read through here, so
they cannot disagree about what is unused or what a principal holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from accounts.models import LinkedAccount
from findings.evidence_models import EvidenceJobKind
from findings.models import EvidenceJob, EvidenceRecord, InlinePolicy, LastAccessed, ManagedPolicy, Principal
from findings.review_window import ReviewWindow, review_window, review_windows
from findings.usage_rows import UsageRow, principal_usage_rows, principals_usage_rows
from policy.catalog import default_catalog
from policy.evidence import Evidence, EvidenceSource
from policy.usage import ActionUse, Usage

# -- usage ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrincipalUsage:
    """What Access Advisor says a principal used within its account's window.

    `status`: "analyzed"; "too-young" (the principal is younger than the window: nothing is unused yet);
    "no-data" (no last-accessed rows); "stale" (its rows are older than the account's latest collection,
    because the job for it failed). Only "analyzed" can call anything unused.
    """

    status: str
    usage: Usage
    window_days: int
    cutoff: datetime
    services: dict[str, UsageRow] = field(default_factory=dict)
    actions: dict[tuple[str, str], UsageRow] = field(default_factory=dict)

    def state(self, action: str) -> ActionUse:
        return self.usage.state(action)

    def service_last_used(self, service: str) -> datetime | None:
        row = self.services.get(service)
        return row.last_accessed_at if row else None

    def action_last_used(self, action: str) -> datetime | None:
        service, _, name = action.lower().partition(":")
        row = self.actions.get((service, name))
        return row.last_accessed_at if row else None

    def service_tracked(self, service: str) -> bool:
        return service in self.usage.tracked_services


def usage_from_rows(
    *,
    principal: Principal,
    rows: Sequence[UsageRow | LastAccessed],
    window_days: int,
    now: datetime,
    last_collected: datetime | None = None,
) -> PrincipalUsage:
    """The one interpretation of last-accessed rows (see `policy.usage.Usage.state` for the rules)."""
    cutoff = now - timedelta(days=window_days)
    services = {r.service: r for r in rows if not r.action}
    actions = {(r.service, r.action.lower()): r for r in rows if r.action}
    if principal.aws_created_at is not None and principal.aws_created_at > cutoff:
        status = "too-young"
    elif not rows:
        status = "no-data"
    elif last_collected is not None and reported_at(principal, rows) < last_collected - timedelta(minutes=1):
        status = "stale"
    else:
        status = "analyzed"

    def recent(row: UsageRow | LastAccessed) -> bool:
        return row.last_accessed_at is not None and row.last_accessed_at >= cutoff

    usage = Usage.of(
        used_services=[s for s, r in services.items() if recent(r)],
        tracked_services=[s for s, r in services.items() if r.tracked],
        tracked_actions=[f"{s}:{a}" for (s, a), r in actions.items() if r.tracked],
        used_actions=[f"{s}:{a}" for (s, a), r in actions.items() if recent(r)],
        young=status != "analyzed",
    ).seen_by(default_catalog().not_recorded)
    return PrincipalUsage(status, usage, window_days, cutoff, services, actions)


def reported_at(principal: Principal, rows: Sequence[UsageRow | LastAccessed]) -> datetime:
    """When Access Advisor last reported on the principal: its rows are kept while the report is the same
    (`findings.usage_rows`), so this is the principal's own time, or its newest row's for rows stored before
    the principal kept one."""
    return principal.usage_collected_at or max(r.collected_at for r in rows)


def latest_collection(account: LinkedAccount) -> datetime | None:
    """When the account's usage was last collected, for the "stale" test of `usage_from_rows`: the start of
    its latest successful sync that stored anything (it started before it read any principal's usage, and
    may have finished long after). A sync whose inputs were all unchanged (`findings.ingest_digest`)
    stores nothing, not even the time each principal was reported; its reports were those of the sync
    before it, so that one is the collection that counts."""
    last = (
        account.sync_runs.filter(status="succeeded")
        .exclude(counts__unchanged=True)
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")
        .first()
    )
    return (last[0] or last[1]) if last else None


def principal_usage(
    principal: Principal,
    *,
    now: datetime | None = None,
    rows: Sequence[UsageRow] | None = None,
    last_collected: datetime | None = None,
    window_days: int | None = None,
) -> PrincipalUsage:
    """`rows`, `last_collected` and `window_days`, when the caller read them for several principals at
    once."""
    return usage_from_rows(
        principal=principal,
        rows=principal_usage_rows(principal.pk) if rows is None else rows,
        window_days=review_window(principal).unused_days if window_days is None else window_days,
        now=now or timezone.now(),
        last_collected=last_collected or latest_collection(principal.account),
    )


# -- evidence of use ---------------------------------------------------------------------------------------


def principal_evidence(principal: Principal) -> list[Evidence]:
    """Every observed use of the principal, from every source, as `policy.evidence.Evidence` rows: Access
    Advisor's services (`service:*`) and actions with their last use, and the CloudTrail rows collected by
    `findings.evidence` (policy generation: the actions used in its window; LookupEvents: each call's
    action and resource, first and last seen, and how often). Never-used Access Advisor rows are not use.
    A group's evidence is its members' (a group makes no calls of its own)."""
    whose = group_members(principal) if principal.kind == "group" else [principal]
    rows: list[Evidence] = []
    for la in LastAccessed.objects.filter(principal__in=whose, last_accessed_at__isnull=False):
        rows.append(
            Evidence(
                action=f"{la.service}:{la.action.lower()}" if la.action else f"{la.service}:*",
                resource=None,
                source=EvidenceSource.ACCESS_ADVISOR_ACTION
                if la.action
                else EvidenceSource.ACCESS_ADVISOR_SERVICE,
                last_seen=la.last_accessed_at,  # type: ignore[arg-type]
                count=0,
            )
        )
    records = EvidenceRecord.objects.filter(principal__in=whose).order_by("source", "action", "resource")
    for er in records:
        rows.append(
            Evidence(
                action=er.action,
                resource=er.resource or None,
                source=EvidenceSource(er.source),
                last_seen=er.last_seen,
                count=er.count,
                first_seen=er.first_seen,
            )
        )
    return rows


@dataclass(frozen=True)
class EvidenceAge:
    """When each source last looked at the principal (None: never), and the newest failure, if any."""

    access_advisor: datetime | None
    generation: datetime | None
    lookup: datetime | None
    error: str = ""
    window: ReviewWindow | None = None  # the window and margin its suggestions are built with

    @property
    def newest(self) -> datetime | None:
        return max((d for d in (self.access_advisor, self.generation, self.lookup) if d), default=None)


def evidence_age(principal: Principal) -> EvidenceAge:
    advisor = principal.usage_collected_at or LastAccessed.objects.filter(principal=principal).aggregate(
        newest=Max("collected_at")
    ).get("newest")
    done = EvidenceJob.objects.filter(status="succeeded").order_by("-finished_at")
    generation = done.filter(principal=principal, kind=EvidenceJobKind.GENERATION).first()
    lookup = (
        done.filter(account=principal.account, kind=EvidenceJobKind.LOOKUP).first()
        if principal.account.cloudtrail_lookup
        else None
    )
    failed = EvidenceJob.objects.filter(principal=principal, status="failed").order_by("-finished_at").first()
    error = (
        failed.error
        if failed
        and (not generation or (failed.finished_at or generation.finished_at) > generation.finished_at)
        else ""
    )  # type: ignore[operator]
    return EvidenceAge(
        access_advisor=advisor,
        generation=generation.finished_at if generation else None,
        lookup=lookup.finished_at if lookup else None,
        error=error,
        window=review_window(principal),
    )


def group_members(group: Principal) -> list[Principal]:
    """The users of a group, as the snapshot stores them."""
    return [
        p
        for p in Principal.objects.filter(account=group.account, kind="user").order_by("name")
        if group.name in (p.groups or [])
    ]


def group_usage(group: Principal, *, now: datetime | None = None) -> PrincipalUsage:
    """A group's use is its members' together (`usage_union`). A group without members grants nothing to
    anyone: nothing to say ("no-data")."""
    return usage_union(group_members(group), window_days=review_window(group).unused_days, now=now)


def usage_union(
    principals: list[Principal], *, window_days: int, now: datetime | None = None
) -> PrincipalUsage:
    """The use of several principals together (a group's members; an Identity Center permission set's
    roles in every account it is provisioned to) (`Usage.union`): "analyzed" only when every one is, so a
    permission is unused only where every one is known not to use it."""
    held = principals_usage_rows([p.pk for p in principals])  # every member's rows, in one read
    collected = {a: latest_collection(p.account) for a, p in {p.account_id: p for p in principals}.items()}
    windows = review_windows(principals)  # and their windows, in two
    members = [
        principal_usage(
            m,
            now=now,
            rows=held.get(m.pk, []),
            last_collected=collected[m.account_id],
            window_days=windows[m.pk].unused_days,
        )
        for m in principals
    ]
    cutoff = (now or timezone.now()) - timedelta(days=window_days)
    if not members:
        return PrincipalUsage("no-data", Usage(young=True), window_days, cutoff)
    worst = next((m.status for m in members if m.status != "analyzed"), "analyzed")
    usage = Usage.union([m.usage for m in members])
    services: dict[str, UsageRow] = {}
    for m in members:  # the latest use of each service by any member
        for name, row in m.services.items():
            held = services.get(name)
            if held is None or (
                row.last_accessed_at
                and (not held.last_accessed_at or row.last_accessed_at > held.last_accessed_at)
            ):
                services[name] = row
    return PrincipalUsage(
        worst, usage if worst == "analyzed" else Usage(young=True), window_days, cutoff, services
    )


# -- policy layers ----------------------------------------------------------------------------------------


@dataclass
class Layers:
    """Every document a principal's permissions depend on, as stored: its own inline and attached
    policies, its groups' (users), its permissions boundary and its trust policy (roles)."""

    principal: Principal
    inline: list[InlinePolicy]
    managed: list[ManagedPolicy]
    groups: list[Layers] = field(default_factory=list)
    boundary: ManagedPolicy | None = None
    trust: Any = None


def principal_layers(principal: Principal) -> Layers:
    wanted = set(principal.attached_policy_arns) | (
        {principal.boundary_arn} if principal.boundary_arn else set()
    )
    groups = (
        list(Principal.objects.filter(account=principal.account, kind="group", name__in=principal.groups))
        if principal.kind == "user" and principal.groups
        else []
    )
    for group in groups:
        wanted |= set(group.attached_policy_arns)
    managed = {
        p.arn: p
        for p in ManagedPolicy.objects.filter(account=principal.account, arn__in=wanted).select_related(
            "document"
        )
    }
    inline = {p.pk: [] for p in [principal, *groups]}  # type: dict[int, list[InlinePolicy]]
    for row in InlinePolicy.objects.filter(principal__in=[principal, *groups]).select_related("document"):
        inline[row.principal_id].append(row)

    def own(p: Principal) -> Layers:
        return Layers(
            p,
            sorted(inline[p.pk], key=lambda r: r.name),
            [managed[a] for a in p.attached_policy_arns if a in managed],
        )

    layers = own(principal)
    layers.groups = [own(g) for g in groups]
    layers.boundary = managed.get(principal.boundary_arn) if principal.boundary_arn else None
    layers.trust = principal.trust_document.document if principal.trust_document_id else None
    return layers


# -- the stored snapshot as an account file ---------------------------------------------------------------

_LIST_KEY = {"user": "UserDetailList", "group": "GroupDetailList", "role": "RoleDetailList"}
_NAME_KEY = {"user": "UserName", "group": "GroupName", "role": "RoleName"}
_INLINE_KEY = {"user": "UserPolicyList", "group": "GroupPolicyList", "role": "RolePolicyList"}


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def account_gaad(
    account: LinkedAccount,
    *,
    inline_override: dict[str, list[tuple[str, Any]]] | None = None,
    attached_override: dict[str, list[str]] | None = None,
    extra_policies: dict[str, tuple[str, Any]] | None = None,
) -> dict[str, Any]:
    """The account's stored snapshot in the shape of `get-account-authorization-details`, so the engine
    can analyse it again: with one principal's documents replaced (`*_override`, keyed by principal ARN;
    `extra_policies`: ARN -> (name, document) of policies that do not exist yet), it predicts exactly what
    the next sync will compute after an apply."""
    inline_override = inline_override or {}
    attached_override = attached_override or {}
    policies = {
        p.arn: {
            "Arn": p.arn,
            "PolicyName": p.name,
            "DefaultVersionId": p.default_version or "v1",
            "PolicyVersionList": [
                {
                    "VersionId": p.default_version or "v1",
                    "IsDefaultVersion": True,
                    "Document": p.document.document if p.document else None,
                }
            ],
        }
        for p in ManagedPolicy.objects.filter(account=account).select_related("document")
    }
    for arn, (name, document) in (extra_policies or {}).items():
        policies[arn] = {
            "Arn": arn,
            "PolicyName": name,
            "DefaultVersionId": "v1",
            "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
        }
    inline: dict[int, list[tuple[str, Any]]] = {}
    for row in InlinePolicy.objects.filter(principal__account=account).select_related("document"):
        inline.setdefault(row.principal_id, []).append((row.name, row.document.document))
    out: dict[str, Any] = {"Policies": list(policies.values()), **{key: [] for key in _LIST_KEY.values()}}
    for p in Principal.objects.filter(account=account).select_related("trust_document").order_by("id"):
        docs = inline_override.get(p.arn, inline.get(p.pk, []))
        item: dict[str, Any] = {
            "Arn": p.arn,
            _NAME_KEY[p.kind]: p.name,
            "Path": p.path,
            "CreateDate": _iso(p.aws_created_at),
            "Tags": [{"Key": k, "Value": v} for k, v in (p.tags or {}).items()],
            _INLINE_KEY[p.kind]: [{"PolicyName": n, "PolicyDocument": d} for n, d in docs],
            "AttachedManagedPolicies": [
                {"PolicyArn": a} for a in attached_override.get(p.arn, p.attached_policy_arns)
            ],
        }
        if p.boundary_arn:
            item["PermissionsBoundary"] = {"PermissionsBoundaryArn": p.boundary_arn}
        if p.kind == "user":
            item["GroupList"] = list(p.groups)
        if p.kind == "role":
            item["AssumeRolePolicyDocument"] = p.trust_document.document if p.trust_document else None
            item["RoleLastUsed"] = {"LastUsedDate": _iso(p.last_used_at)} if p.last_used_at else {}
        out[_LIST_KEY[p.kind]].append(item)
    return out
