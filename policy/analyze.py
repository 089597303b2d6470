"""Analysis of one account's authorization details: findings, escalation paths and a score per principal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from policy.admin_reach import (
    ADMIN_EQUIVALENT_PATHS,
    FREED_PREFIX,
    AdminReach,
    CredentialFacts,
    self_admin_path,
)
from policy.catalog import Catalog
from policy.catalog_gaps import gaps_by_action
from policy.escalation import EscalationSearch, _hub
from policy.evaluate import GrantCache, PrincipalContext, PrincipalPermissions
from policy.gaad import AccountDetails, PrincipalRecord, is_aws_managed, principal_documents
from policy.kinds import kind
from policy.model import PolicyDocument, Statement, gc_paused
from policy.own_account_trust import own_account_trust_findings
from policy.report import AccountReport as AccountReport
from policy.report import AdminHop, AdminPath
from policy.report import Escalation as Escalation
from policy.report import Exclusions as Exclusions
from policy.report import Finding as Finding
from policy.report import PrincipalReport as PrincipalReport
from policy.rules import (
    CREDENTIALS_EXPOSURE_ACTIONS,
    DATA_EXFILTRATION_ACTIONS,
    INFRASTRUCTURE_SERVICES,
    SENSITIVE_SERVICES,
)
from policy.score import TIER_NONE, principal_risk_score
from policy.scp import ScpLevels
from policy.standing import (
    EXPOSURE_OVERRIDES,
    GAIN_KINDS,
    dangerous_mask,
    escalation_points,
    escalation_severity,
    exposures,
    tier_of,
    unused_dangerous,
)
from policy.trust_findings import trust_findings
from policy.usage import Usage

# Actions an administrator holds; all allowed on `*` plus 90% of the catalog makes a principal an admin.
ADMIN_SENTINELS = (
    "iam:putrolepolicy",
    "iam:createuser",
    "iam:attachuserpolicy",
    "sts:assumerole",
    "s3:getobject",
    "s3:putbucketpolicy",
    "ec2:runinstances",
    "kms:decrypt",
    "lambda:createfunction",
    "organizations:listaccounts",
)
ADMIN_CATALOG_SHARE = 0.9
MAX_LISTED_ACTIONS = 40


class _Classifier:
    """The catalog bitmask of each category the rules look at: a grant's share of a category is one AND."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        infra_services = catalog.services_mask(INFRASTRUCTURE_SERVICES)
        known = catalog.all_actions
        self.masks = {
            "data-exfiltration": catalog.mask(known & {a.lower() for a in DATA_EXFILTRATION_ACTIONS}),
            "credentials-exposure": catalog.mask(known & {a.lower() for a in CREDENTIALS_EXPOSURE_ACTIONS}),
            "resource-exposure": catalog.level_mask("Permissions management"),
            "infrastructure-modification": catalog.level_mask("Write") & infra_services,
            "write-on-all-resources": (
                catalog.level_mask("Write", "Tagging") & catalog.resource_scoped_mask() & ~infra_services
            ),
        }


class AccountAnalysis(EscalationSearch):
    """Runs every rule for every principal of one account. Build once, then call `run()`."""

    def __init__(
        self,
        account: AccountDetails,
        catalog: Catalog,
        *,
        exclusions: Exclusions | None = None,
        scps: Sequence[Sequence[PolicyDocument]] = (),
        now: datetime | None = None,
        access_key_counts: dict[str, int] | None = None,
        login_profiles: dict[str, bool] | None = None,
        active_keys: dict[str, int] | None = None,
        mfa: dict[str, bool] | None = None,
        unused_dangerous: dict[str, int] | None = None,
        usage: Mapping[str, Usage] | None = None,
        org_accounts: Iterable[str] = (),
        organization_id: str | None = None,
    ) -> None:
        """`access_key_counts` (every key of a user) and `login_profiles` (has a console password) decide
        the takeover paths that depend on them; `active_keys`, `mfa` and `unused_dangerous` (dangerous
        actions granted and not used) weigh in the score. A mapping left out is unknown. `usage` (what each
        principal used in the window) counts a principal's unused dangerous actions when `unused_dangerous`
        does not give them."""
        self.exclusions = exclusions or Exclusions()
        records = [r for r in account.principals.values() if not self.exclusions.excludes_principal(r)]
        facts = CredentialFacts(
            access_key_counts,
            login_profiles,
            active_keys=active_keys,
            mfa=mfa,
            unused_dangerous=unused_dangerous,
        )
        super().__init__(account, catalog, records, facts)
        self.scps = scps
        self.scp_levels = ScpLevels(
            scps, organization_id
        )  # conditions on the principal decided per principal
        self.now = now or datetime.now(tz=UTC)
        self.classifier = _Classifier(catalog)
        self.grant_cache = GrantCache()
        self._whole_cache: dict[int, tuple[str, ...]] = {}
        self._equivalent: dict[str, AdminHop] = {}
        self._gains: dict[str, float] = {}
        self._dangerous = 0
        self.org_accounts = frozenset(org_accounts)
        customer_names = {p.name for a, p in account.policies.items() if not is_aws_managed(a)}
        self._aws_managed_names = frozenset(
            p.name for a, p in account.policies.items() if is_aws_managed(a) and p.name not in customer_names
        )
        self.usage = usage or {}
        self.catalog_gaps: dict[str, set[str]] = {}
        self.gap_holders: dict[str, set[str]] = {}  # gap warning -> principals it was raised for
        self._warning_is_gap: dict[str, bool] = {}  # AWS managed policy -> what the catalog does not know

    # -- building blocks -------------------------------------------------------------------------
    def _permissions(self, record: PrincipalRecord) -> PrincipalPermissions:
        boundary = None
        if record.boundary_arn:
            policy = self.account.policies.get(record.boundary_arn)
            boundary = policy.document if policy is not None else None
        docs = principal_documents(self.account, record)
        # A group has no tags of its own: its members' decide, so they are unknown for the group itself.
        tags = None if record.kind == "group" else tuple((k.lower(), v) for k, v in record.tags.items())
        ctx = PrincipalContext(record.arn, record.name, record.kind, record.account_id, tags)
        # SCPs (and RCPs) never cap service-linked roles.
        scps = () if record.path.startswith("/aws-service-role/") else self.scp_levels.for_principal(ctx)
        perms = PrincipalPermissions.build(
            ctx, docs, self.catalog, boundary=boundary, scps=scps, now=self.now, cache=self.grant_cache
        )
        if self.exclusions.actions:
            excluded = 0
            for pattern in self.exclusions.actions:
                excluded |= self.catalog.expand_mask(pattern)
            perms.identity.replace_allows([g.with_mask(g.mask & ~excluded) for g in perms.identity.allows])
        return perms

    def _on_all_resources(self, perms: PrincipalPermissions) -> tuple[int, int]:
        """Actions allowed on every resource (a catalog mask, after Denies, boundary and SCPs), and those of
        them some unconditional Allow gives. One pass over the grants serves every category."""
        identity = perms.identity
        found = identity.allowed_on_all & ~identity.denied_on_all
        if not found:
            return 0, 0
        for layer in [perms.boundary, *perms.scps]:
            if layer is not None:
                found &= layer.allowed
        return found, identity.unconditional_on_all

    def _is_admin(self, perms: PrincipalPermissions) -> bool:
        if not all(perms.allows(a, "*") for a in ADMIN_SENTINELS):
            return False
        held = perms.allowed_mask(self.catalog).bit_count()
        return held >= ADMIN_CATALOG_SHARE * len(self.catalog.all_actions)

    def _uncapped(self, perms: PrincipalPermissions) -> bool:
        """Would a policy it writes onto itself make it an administrator? Not when a boundary or an SCP caps
        it, or an explicit Deny it cannot remove refuses one of the administrator's actions."""
        share = ADMIN_CATALOG_SHARE * len(self.catalog.all_actions)
        for layer in [perms.boundary, *perms.scps]:
            if layer is None:
                continue
            if not all(layer.decide(a, "*").allowed for a in ADMIN_SENTINELS):
                return False
            if layer.allowed.bit_count() < share:
                return False
        return not any(perms.identity.denies_on_action(a) for a in ADMIN_SENTINELS)

    def _admin_equivalent(self, record: PrincipalRecord, perms: PrincipalPermissions) -> AdminHop | None:
        """The hop by which a principal can write any policy onto itself under no condition (then it is
        reported as an administrator, with the reason), or None."""
        own = [
            e
            for e in self.reports[record.arn].privilege_escalation
            if e.path_id in ADMIN_EQUIVALENT_PATHS and not e.conditional
        ]
        if not own or not self._uncapped(perms):
            return None
        return AdminHop(own[0].path_id, record.arn, record.arn, tuple(own[0].actions))

    def _mark_equivalent(self, report: PrincipalReport, hop: AdminHop) -> None:
        own = [
            e
            for e in report.privilege_escalation
            if e.path_id in ADMIN_EQUIVALENT_PATHS and not e.conditional
        ]
        reasons = "; ".join(f"{ADMIN_EQUIVALENT_PATHS[e.path_id]} ({e.path_id})" for e in own)
        report.is_admin = True
        report.admin_reason = f"Administrator-equivalent: {reasons}."
        report.admin_path = AdminPath((hop,))
        report.findings.insert(
            0,
            Finding.of(
                "admin",
                sorted({a for e in own for a in e.actions}),
                [report.arn],
                report.admin_reason + " Anything it lacks it can grant itself.",
            ),
        )

    def _joins_admin_group(self, record: PrincipalRecord, perms: PrincipalPermissions) -> AdminPath | None:
        """iam:AddUserToGroup on a group of administrators is one hop to administrator."""
        if record.kind != "user" or not any(
            e.path_id == "iam-013" for e in self.reports[record.arn].privilege_escalation
        ):
            return None
        for group in self.account.of_kind("group"):
            if group.name in record.groups or group.arn not in self.reports:
                continue
            if not (self.reports[group.arn].is_admin or group.arn in self._equivalent):
                continue
            decision = perms.decide("iam:addusertogroup", group.arn)
            if decision.allowed:
                hop = AdminHop(
                    "iam-013", record.arn, group.arn, ("iam:AddUserToGroup",), decision.conditional
                )
                return AdminPath((hop,))
        return None

    # -- rules -------------------------------------------------------------------------------------
    def _direct_findings(
        self, record: PrincipalRecord, perms: PrincipalPermissions, report: PrincipalReport
    ) -> None:
        cat = self.catalog
        for problem in record.errors:
            report.findings.append(Finding.of("malformed-policy", [], [], problem))
        if perms.warnings:
            # An AWS managed policy naming an action the catalog lacks is a gap of the catalog (AWS is newer),
            # reported once for the account; only the account's own policies give findings.
            own = []
            memo = self._warning_is_gap
            for warning in set(perms.warnings):
                gap = memo.get(warning)
                if gap is None:
                    name, _, problem = warning.partition(": ")
                    gap = memo[warning] = name in self._aws_managed_names
                    if gap:
                        self.catalog_gaps.setdefault(name, set()).add(problem)
                if gap and record.kind != "group":  # a group's members hold its policies
                    self.gap_holders.setdefault(warning, set()).add(record.arn)
                elif gap:
                    self.gap_holders.setdefault(warning, set())
                else:
                    own.append(warning)
            if own:
                report.findings.append(Finding.of("unknown-action", [], [], "; ".join(sorted(own)[:20])))
        if report.is_admin:
            sources = sorted({s for a in ADMIN_SENTINELS for s in perms.decide(a, "*").sources})
            conditional = any(perms.decide(a, "*").conditional for a in ADMIN_SENTINELS)
            detail = "Allows every action on every resource" + (" (under conditions)" if conditional else "")
            report.admin_reason = detail + "."
            report.admin_path = AdminPath()
            report.findings.append(Finding.of("admin", ["*"], ["*"], f"{detail}; from {', '.join(sources)}."))
        else:
            # One pass over the grants: which of them give a whole sensitive service on every resource.
            whole: dict[str, set[str]] = {}  # sensitive service -> sources granting all of it on `*`
            for g in perms.identity.allows:
                if not g.all_resources or not g.statement.actions:
                    continue
                for service in self._whole_services(g.statement):
                    whole.setdefault(service, set()).add(g.source)
            for service in SENSITIVE_SERVICES:
                if service in whole and perms.allows(next(iter(cat.by_service.get(service, ("",)))), "*"):
                    sources = sorted(whole[service])
                    report.findings.append(
                        Finding.of(
                            "service-admin",
                            [f"{service}:*"],
                            ["*"],
                            f"Every {service} action on every resource, from {', '.join(sources)}.",
                        )
                    )
        on_all, unconditional = self._on_all_resources(perms)
        for kind_id, wanted in self.classifier.masks.items() if on_all else ():
            if report.is_admin and kind_id in ("infrastructure-modification", "write-on-all-resources"):
                continue  # the admin finding says it all
            actions = on_all & wanted
            if not actions:
                continue
            conditional = not (actions & unconditional)
            count = actions.bit_count()
            names = cat.first_names(actions, MAX_LISTED_ACTIONS)
            rule = kind(kind_id)
            more = f", the first {MAX_LISTED_ACTIONS} listed" if count > MAX_LISTED_ACTIONS else ""
            detail = f"{rule.description} {count} action(s){more}" + (
                " under conditions." if conditional else "."
            )
            report.findings.append(Finding.of(kind_id, names, ["*"], detail, count))
        if record.kind == "role":
            report.findings += trust_findings(record, self.org_accounts)

    def _whole_services(self, statement: Statement) -> tuple[str, ...]:
        """The sensitive services a statement's Action list grants whole (`*` or `service:*`). Worked out
        once per statement (statements are shared by the principals of a document, and live as long as
        the account, so their id is a safe key)."""
        hit = self._whole_cache.get(id(statement))
        if hit is None:
            patterns = statement.actions
            if "*" in patterns:
                hit = tuple(SENSITIVE_SERVICES)
            else:
                hit = tuple(p[:-2] for p in patterns if p.endswith(":*") and p[:-2] in SENSITIVE_SERVICES)
            self._whole_cache[id(statement)] = hit
        return hit

    def _own_account_trust(self) -> None:
        own_account_trust_findings(
            graph=self.graph,
            hub_cond=self._hub_cond,
            delegates=self._trust_delegates,
            reports=self.reports,
            equivalent=self._equivalent,
        )

    def _gain(self, arn: str) -> float:
        """What becoming this principal gives: its own grants' findings scored on their own."""
        hit = self._gains.get(arn)
        if hit is None:
            report = self.reports.get(arn)
            findings = [(f.kind, f.severity, f.detail) for f in report.findings] if report else []
            hit = principal_risk_score(f for f in findings if f[0] in GAIN_KINDS).value
            self._gains[arn] = hit
        return hit

    def _score(self, report: PrincipalReport) -> None:
        """The escalation finding (its severity and weight by where it leads) and the score in its band."""
        if not report.findings and report.admin_path is None:
            return  # nothing raises it: 0, no explanation
        tier, standing = tier_of(report)
        overrides: dict[str, float] = dict(EXPOSURE_OVERRIDES)
        escalations = report.privilege_escalation
        if escalations:
            ids = sorted({e.path_id for e in escalations})
            conditional = all(e.conditional for e in escalations)
            points = 0.0
            if tier.rank == TIER_NONE.rank:
                targets = {e.target for e in escalations}
                gains = {t: self._gain(t) for t in targets if t != report.arn}
                points = overrides["privilege-escalation"] = escalation_points(escalations, gains, report.arn)
            severity = escalation_severity(tier, points)
            if severity == "critical" and conditional:
                severity = "high"  # every path under conditions: one step down
            report.findings.append(
                Finding.of(
                    "privilege-escalation",
                    sorted({a for e in escalations for a in e.actions}),
                    sorted({e.target for e in escalations}),
                    f"Escalation paths: {', '.join(ids)}"
                    + (" (all under conditions)" if conditional else ""),
                    severity=severity,
                )
            )
        scored = [(f.kind, f.severity, f.detail) for f in report.findings]
        if scored:
            scored += exposures(report, self.facts)
        score = principal_risk_score(scored, tier=tier, standing=standing, overrides=overrides)
        report.risk_score = score.value
        report.score_explanation = score.explanation()

    # -- driver ----------------------------------------------------------------------------------------
    def run(self) -> AccountReport:
        with gc_paused():
            return self._run()

    def _run(self) -> AccountReport:
        # Administrator-equivalent principals: reported as administrators once their own paths are known
        # (the graph ranks and searches as before); chains to administrator end at them too.
        equivalent: dict[str, AdminHop] = self._equivalent
        for record in self.records:
            perms = self._permissions(record)
            self.perms[record.arn] = perms
            report = PrincipalReport(record.arn, record.name, record.kind, record.account_id)
            report.is_admin = self._is_admin(perms)
            report.warnings = sorted(set(perms.warnings))[:50]
            self._direct_findings(record, perms, report)
            report.privilege_escalation = [] if report.is_admin else self._self_escalations(record, perms)
            self.reports[record.arn] = report
            if not report.is_admin and (hop := self._admin_equivalent(record, perms)):
                equivalent[record.arn] = hop
        self._with_customer_policies = frozenset(
            r.arn for r in self.records if any(not is_aws_managed(a) for a in r.attached)
        )
        # Rank possible targets once, most privileged first, so each path stops after a few of them.
        self._users_ranked = sorted((r.arn for r in self._users), key=self._rank, reverse=True)
        self._roles_ranked = sorted((r.arn for r in self._roles), key=self._rank, reverse=True)
        for service, roles in self._roles_by_service.items():
            self._add_hub(_hub(service), [r.arn for r in roles])
        for record in self.records:
            if not self.reports[record.arn].is_admin:
                self._add_edges(record, self.perms[record.arn])
        admins = [r.arn for r in self.records if self.reports[r.arn].is_admin and r.kind != "group"]
        self._toward_admin = self.graph.next_hop_toward(admins)
        self._own_account_trust()
        reach = AdminReach(
            self.graph,
            [
                *admins,
                *(a for a in equivalent if self.account.principals[a].kind != "group"),
                *(FREED_PREFIX + a for a in sorted(self.freed_admin_roles)),
            ],
            self._hub_ranked,
            self.facts,
        )
        for record in self.records:
            report = self.reports[record.arn]
            if not report.is_admin and record.kind != "group":
                report.privilege_escalation += self._escalations_of(record)
            if record.arn in equivalent:
                self._mark_equivalent(report, equivalent[record.arn])
            elif not report.is_admin:
                perms = self.perms[record.arn]
                own = self_admin_path(record.arn, report.privilege_escalation)
                report.admin_path = (
                    (own if own is not None and self._uncapped(perms) else None)
                    or self._joins_admin_group(record, perms)
                    or self._freed_admin_path(report)
                    or (reach.path_of(record.arn) if record.kind != "group" else None)
                )
            if record.arn in self.usage and record.arn not in self.facts.unused_dangerous:
                dangerous = self._dangerous = self._dangerous or dangerous_mask(self.catalog)
                counted = unused_dangerous(
                    self.perms[record.arn], self.catalog, self.usage[record.arn], dangerous
                )
                self.facts.unused_dangerous[record.arn] = counted
            self._score(report)
        ordered = sorted(self.reports.values(), key=lambda r: (-r.risk_score, r.arn))
        gaps = {name: sorted(problems) for name, problems in sorted(self.catalog_gaps.items())}
        by_action = gaps_by_action(self.gap_holders)
        return AccountReport(self.account.account_id, ordered, list(self.account.errors), gaps, by_action)


def analyze_account(
    account: AccountDetails,
    catalog: Catalog,
    *,
    exclusions: Exclusions | None = None,
    scps: Sequence[Sequence[PolicyDocument]] = (),
    now: datetime | None = None,
    **options: Any,
) -> AccountReport:
    """`options`: what else `AccountAnalysis` takes (access_key_counts, login_profiles, org_accounts, ...)."""
    return AccountAnalysis(account, catalog, exclusions=exclusions, scps=scps, now=now, **options).run()
