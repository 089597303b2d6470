"""Analysis of one account's authorization details: findings, escalation paths and a score per principal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from policy.catalog import Catalog
from policy.evaluate import (
    Decision,
    Grant,
    GrantCache,
    PrincipalContext,
    PrincipalPermissions,
    arn_matches,
)
from policy.gaad import (
    AccountDetails,
    PrincipalRecord,
    attached_policy_arns,
    is_aws_managed,
    principal_documents,
)
from policy.graph import Edge, Graph, trust_allows, trusted_services
from policy.model import Condition, PolicyDocument, Statement, gc_paused
from policy.rules import (
    CREDENTIALS_EXPOSURE_ACTIONS,
    DATA_EXFILTRATION_ACTIONS,
    INFRASTRUCTURE_SERVICES,
    LIMITING_TRUST_KEYS,
    PRIVESC_PATHS,
    RULES,
    SENSITIVE_SERVICES,
    WRITE_LEVELS,
    PrivescPath,
)
from policy.score import principal_risk_score

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


@dataclass
class Exclusions:
    """Principals and actions to leave out of the analysis, passed in (never a global)."""

    principals: tuple[str, ...] = ()  # ARN or name patterns with * and ?
    actions: tuple[str, ...] = ()  # lower-cased action patterns

    def excludes_principal(self, record: PrincipalRecord) -> bool:
        return any(arn_matches(p, record.arn) or arn_matches(p, record.name) for p in self.principals)


@dataclass
class Finding:
    kind: str
    severity: str
    actions: list[str]
    resources: list[str]
    detail: str
    action_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "actions": self.actions,
            "resources": self.resources,
            "detail": self.detail,
            "action_count": self.action_count or len(self.actions),
        }


@dataclass
class Escalation:
    path_id: str
    category: str
    actions: list[str]
    via: list[str]  # ARNs passed through, the last one being what is gained; empty for self-escalation
    target: str
    conditional: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "path_id": self.path_id,
            "category": self.category,
            "actions": self.actions,
            "via": self.via,
            "target": self.target,
            "conditional": self.conditional,
        }


@dataclass
class PrincipalReport:
    arn: str
    name: str
    kind: str
    account_id: str
    is_admin: bool = False
    risk_score: int = 0
    score_explanation: list[dict[str, object]] = field(default_factory=list)
    privilege_escalation: list[Escalation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "type": self.kind,
            "account_id": self.account_id,
            "risk_score": self.risk_score,
            "is_admin": self.is_admin,
            "score_explanation": self.score_explanation,
            "privilege_escalation": [e.to_json() for e in self.privilege_escalation],
            "findings": [f.to_json() for f in self.findings],
            "warnings": self.warnings,
        }


@dataclass
class AccountReport:
    account_id: str
    principals: list[PrincipalReport]
    errors: list[str]

    def stats(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {}
        for p in self.principals:
            by_kind[p.kind] = by_kind.get(p.kind, 0) + 1
        return {
            "account_id": self.account_id,
            "principals": len(self.principals),
            "by_type": by_kind,
            "admins": sum(p.is_admin for p in self.principals),
            "with_privilege_escalation": sum(bool(p.privilege_escalation) for p in self.principals),
            "high_risk": sum(p.risk_score >= 70 for p in self.principals),
            "findings": sum(len(p.findings) for p in self.principals),
            "errors": self.errors,
        }

    def to_json(self) -> dict[str, Any]:
        return {"principals": [p.to_json() for p in self.principals], "stats": self.stats()}


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


class AccountAnalysis:
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
    ) -> None:
        self.account = account
        self.catalog = catalog
        self.exclusions = exclusions or Exclusions()
        self.scps = scps
        self.now = now or datetime.now(tz=UTC)
        self.key_counts = access_key_counts or {}
        self.classifier = _Classifier(catalog)
        self.grant_cache = GrantCache()
        self.records = [r for r in account.principals.values() if not self.exclusions.excludes_principal(r)]
        self.perms: dict[str, PrincipalPermissions] = {}
        self.reports: dict[str, PrincipalReport] = {}
        self._power: dict[str, int] = {}
        self.graph = Graph()
        self._hub_ranked: dict[str, list[str]] = {}  # hub node -> the roles it stands for, ranked
        self._hub_cond: dict[str, dict[str, bool]] = {}  # assume hub -> role -> is the hop conditional
        self._hub_reach: dict[str, tuple[bool, int]] = {}  # hub -> (an admin among them, union of powers)
        self._users_ranked: list[str] = []
        self._coverage: dict[tuple[object, ...], frozenset[str]] = {}
        self._writes = catalog.level_mask(*WRITE_LEVELS)
        self._path_actions_mask = catalog.mask(_PATH_ACTIONS)
        self._held: dict[str, frozenset[str]] = {}
        self._whole_cache: dict[int, tuple[str, ...]] = {}
        self._with_customer_policies: frozenset[str] = frozenset()
        self._roles_ranked: list[str] = []
        self._toward_admin: dict[str, Edge] = {}
        self._users = [r for r in self.records if r.kind == "user"]
        self._roles = [r for r in self.records if r.kind == "role"]
        # Trust-policy indexes, built once: who a role's trust names exactly, which roles delegate to
        # identity policies (account root or `*`), and which services may assume each role.
        self._trust_names: dict[str, list[PrincipalRecord]] = {}
        self._trust_delegates: list[PrincipalRecord] = []
        self._delegate_arns: set[str] = set()
        self._delegate_list: list[str] = []  # the same, in order: coverage is worked out against it
        # Principals that some delegating trust names itself (to allow or to deny): for them the trust
        # answers differently than for the rest of the account, so the hub does not stand for it.
        self._named_by_delegates: set[str] = set()
        self._roles_by_service: dict[str, list[PrincipalRecord]] = {}
        self._trust_exact: dict[str, frozenset[str]] = {}  # role -> the AWS principals its trust names
        self._trust_memo: dict[tuple[str, str, bool], tuple[bool, bool]] = {}
        for role in self._roles:
            self._trust_exact[role.arn] = frozenset(
                a
                for st in (role.trust.statements if role.trust is not None else ())
                if st.principal
                for a in st.principal.aws
            )
            for service in trusted_services(role.trust):
                self._roles_by_service.setdefault(service, []).append(role)
            for st in role.trust.statements if role.trust is not None else ():
                if st.principal is None or st.effect != "Allow":
                    continue
                if st.principal.wildcard or any(
                    a == role.account_id or a.endswith(f":{role.account_id}:root") for a in st.principal.aws
                ):
                    if role.arn not in self._delegate_arns:
                        self._trust_delegates.append(role)
                        self._delegate_list.append(role.arn)
                    self._delegate_arns.add(role.arn)
                for name in st.principal.aws:
                    self._trust_names.setdefault(name, []).append(role)
        for role in self._trust_delegates:
            self._named_by_delegates |= self._trust_exact[role.arn]

    # -- building blocks -------------------------------------------------------------------------
    def _permissions(self, record: PrincipalRecord) -> PrincipalPermissions:
        boundary = None
        if record.boundary_arn:
            policy = self.account.policies.get(record.boundary_arn)
            boundary = policy.document if policy is not None else None
        docs = principal_documents(self.account, record)
        ctx = PrincipalContext(record.arn, record.name, record.kind, record.account_id)
        perms = PrincipalPermissions.build(
            ctx, docs, self.catalog, boundary=boundary, scps=self.scps, now=self.now, cache=self.grant_cache
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

    def _power_of(self, arn: str) -> int:
        """Write and permissions-management actions held (a catalog bitmask): who is more privileged."""
        hit = self._power.get(arn)
        if hit is None:
            hit = self._power[arn] = self.perms[arn].allowed_mask(self.catalog) & self._writes
        return hit

    def more_privileged(self, target: str, than: str) -> bool:
        t, s = self.reports[target], self.reports[than]
        if s.is_admin:
            return False
        if t.is_admin:
            return True
        # Does the target hold a write or permissions-management action the source lacks?
        return bool(self._power_of(target) & (self._writes & ~self._power_of(than)))

    # -- rules -------------------------------------------------------------------------------------
    def _direct_findings(
        self, record: PrincipalRecord, perms: PrincipalPermissions, report: PrincipalReport
    ) -> None:
        cat = self.catalog
        for problem in record.errors:
            report.findings.append(Finding("malformed-policy", "medium", [], [], problem))
        if perms.warnings:
            report.findings.append(
                Finding("unknown-action", "info", [], [], "; ".join(sorted(set(perms.warnings))[:20]))
            )
        if report.is_admin:
            sources = sorted({s for a in ADMIN_SENTINELS for s in perms.decide(a, "*").sources})
            conditional = any(perms.decide(a, "*").conditional for a in ADMIN_SENTINELS)
            detail = "Allows every action on every resource" + (" (under conditions)" if conditional else "")
            report.findings.append(
                Finding("admin", "critical", ["*"], ["*"], f"{detail}; from {', '.join(sources)}.")
            )
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
                        Finding(
                            "service-admin",
                            "high",
                            [f"{service}:*"],
                            ["*"],
                            f"Every {service} action on every resource, from {', '.join(sources)}.",
                        )
                    )
        on_all, unconditional = self._on_all_resources(perms)
        for kind, wanted in self.classifier.masks.items() if on_all else ():
            if report.is_admin and kind in ("infrastructure-modification", "write-on-all-resources"):
                continue  # the admin finding says it all
            actions = on_all & wanted
            if not actions:
                continue
            conditional = not (actions & unconditional)
            count = actions.bit_count()
            names = cat.first_names(actions, MAX_LISTED_ACTIONS)
            rule = RULES[kind]
            more = f", the first {MAX_LISTED_ACTIONS} listed" if count > MAX_LISTED_ACTIONS else ""
            detail = f"{rule.description} {count} action(s){more}" + (
                " under conditions." if conditional else "."
            )
            report.findings.append(Finding(kind, rule.severity, names, ["*"], detail, count))
        if record.kind == "role":
            self._trust_findings(record, report)

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

    def _trust_findings(self, record: PrincipalRecord, report: PrincipalReport) -> None:
        trust = record.trust
        if trust is None:
            return
        for st in trust.statements:
            if st.effect != "Allow" or st.principal is None:
                continue
            keys = {c.key for c in st.conditions}
            limited = bool(keys & set(LIMITING_TRUST_KEYS))
            actions = [a for a in st.actions if a.startswith("sts:") or a == "*"]
            if st.principal.wildcard and not limited:
                report.findings.append(
                    Finding(
                        "trust-public", "critical", actions, [record.arn], "Principal * may assume this role."
                    )
                )
            others = sorted(
                {a for a in st.principal.aws if a != "*" and _account_in(a) not in ("", record.account_id)}
            )
            if others and not ({"sts:externalid", "aws:principalorgid", "aws:principalorgpaths"} & keys):
                report.findings.append(
                    Finding(
                        "trust-cross-account-no-external-id",
                        "medium",
                        actions,
                        others,
                        f"Trusted without sts:ExternalId: {', '.join(others)}.",
                    )
                )
            for provider in st.principal.federated:
                if "saml-provider" in provider:
                    continue
                if not _has_subject_condition(provider, st.conditions):
                    report.findings.append(
                        Finding(
                            "trust-oidc-no-sub",
                            "critical",
                            actions,
                            [provider],
                            f"Any identity of {provider} may assume this role: no condition on its subject.",
                        )
                    )

    # -- escalation ----------------------------------------------------------------------------------
    def _self_targets(self, record: PrincipalRecord, action: str) -> list[str]:
        """Resources that give this principal more power if `action` is used on them."""
        if action in ("iam:putrolepolicy", "iam:attachrolepolicy"):
            return [record.arn] if record.kind == "role" else []
        if action in ("iam:putuserpolicy", "iam:attachuserpolicy"):
            return [record.arn] if record.kind == "user" else []
        if action in ("iam:putgrouppolicy", "iam:attachgrouppolicy"):
            if record.kind == "group":
                return [record.arn]
            return [g.arn for name in record.groups if (g := self.account.groups_by_name.get(name))]
        if action == "iam:addusertogroup":
            if record.kind != "user":
                return []
            return [g.arn for g in self.account.of_kind("group") if g.name not in record.groups]
        if action == "iam:createpolicyversion":
            return [a for a in attached_policy_arns(self.account, record) if not is_aws_managed(a)]
        return []

    def _self_escalations(self, record: PrincipalRecord, perms: PrincipalPermissions) -> list[Escalation]:
        found: list[Escalation] = []
        held = self._held_path_actions(record, perms)  # an action outside it is allowed on no resource
        if not held:
            return found
        for path in _SELF_ESCALATION_PATHS:
            action = _PATH_ACTIONS_OF[path.id][0]
            if action not in held:
                continue
            for resource in self._self_targets(record, action):
                decision = perms.decide(action, resource)
                if decision.allowed:
                    found.append(
                        Escalation(
                            path.id, path.category, list(path.actions), [], record.arn, decision.conditional
                        )
                    )
                    break
        return found

    def _add_edges(self, record: PrincipalRecord, perms: PrincipalPermissions) -> None:
        """Edges from `record` to every principal it can become (principal-access and PassRole paths).

        A path is only tried when the principal holds all of its actions somewhere, so the loops over
        targets run for the few principals that could use them.
        """
        if record.kind == "group":
            return
        held = self._held_path_actions(record, perms)
        named, hub = self._assumable(record, perms, "sts:assumerole" in held)
        assume_ok = named
        if hub:
            # Paths that modify a role and then assume it look roles up one by one.
            assume_ok = {arn: (True, cond) for arn, cond in self._hub_cond[hub].items()} | named
        somewhere: dict[str, Decision] = {}  # allows_somewhere per action, shared by this principal's paths
        for path in PRIVESC_PATHS:
            acts = _PATH_ACTIONS_OF[path.id]
            if path.id == "sts-001":
                for role_arn, (_ok, cond) in named.items():
                    self.graph.add(Edge(record.arn, role_arn, path.id, path.actions, cond))
                if hub:
                    self.graph.add(Edge(record.arn, hub, path.id, path.actions))
                continue
            if not _PATH_ACTION_SETS[path.id] <= held:
                continue
            if path.category == "principal-access":
                self._principal_access_edges(record, perms, path, acts, assume_ok)
            else:
                self._passrole_edges(record, perms, path, acts, somewhere)

    def _held_path_actions(self, record: PrincipalRecord, perms: PrincipalPermissions) -> frozenset[str]:
        """The escalation paths' actions this principal is allowed somewhere (one mask operation)."""
        held = self._held.get(record.arn)
        if held is None:
            hits = perms.allowed_mask(self.catalog) & self._path_actions_mask
            held = self._held[record.arn] = self.catalog.actions_of(hits) if hits else frozenset()
        return held

    def _assumable(
        self, record: PrincipalRecord, perms: PrincipalPermissions, holds_assume: bool
    ) -> tuple[dict[str, tuple[bool, bool]], str]:
        """Roles this principal can assume: those whose trust names it, and (when its identity policy allows
        sts:AssumeRole on them) those whose trust names its account or everyone.

        Where sts:AssumeRole is allowed on every role and no delegating trust names the principal, the
        roles that trust its account are the same for everyone in that account: one hub node stands for
        them (returned by name, "" otherwise) instead of an edge per principal and role.
        """
        named = self._trust_names.get(record.arn, ())
        candidates = list(named)
        # Common case: sts:AssumeRole allowed on every resource, with no Deny for it anywhere. Then the
        # identity policy allows every candidate and the per-role decision can be skipped.
        everywhere = False
        if holds_assume and perms.boundary is None and not perms.scps:
            allows = perms.identity.grants_on_action("sts:assumerole")
            everywhere = not perms.identity.denies_on_action("sts:assumerole") and any(
                g.all_resources for g in allows
            )
        hub = ""
        covered: set[str] | None = None  # delegating roles its identity policy allows it to assume
        if holds_assume:
            if everywhere and record.arn not in self._named_by_delegates:
                hub = self._delegate_hub(record.account_id)
            elif (
                not everywhere
                and perms.boundary is None
                and not perms.scps
                and not perms.identity.denies_on_action("sts:assumerole")
            ):
                # Without a Deny, boundary or SCP, a delegating role is allowed exactly when some Allow
                # names it; a delegating role it may not assume is refused by its trust, so skip it.
                covered = self._covered(perms, "sts:assumerole", self._delegate_list)
                candidates += [r for r in self._trust_delegates if r.arn in covered]
            else:
                candidates += self._trust_delegates
        out: dict[str, tuple[bool, bool]] = {}
        for role in candidates:
            if role.arn == record.arn or role.arn in out:
                continue
            if not holds_assume:
                identity = False
            elif everywhere:
                identity = True
            elif covered is not None and role.arn in self._delegate_arns:
                identity = role.arn in covered
            else:
                identity = perms.decide("sts:assumerole", role.arn).allowed
            ok, cond = self._trust_decision(role, record.arn, record.account_id, identity)
            if ok:
                out[role.arn] = (ok, cond)
        return out, hub

    def _trust_decision(
        self, role: PrincipalRecord, caller_arn: str, account_id: str, identity: bool
    ) -> tuple[bool, bool]:
        """`trust_allows` for a caller; a trust that does not name the caller answers the same for its
        whole account, so that answer is kept per (role, account, identity)."""
        if caller_arn in self._trust_exact[role.arn]:
            return trust_allows(role.trust, caller_arn, account_id, identity)
        key = (role.arn, account_id, identity)
        hit = self._trust_memo.get(key)
        if hit is None:
            hit = self._trust_memo[key] = trust_allows(role.trust, caller_arn, account_id, identity)
        return hit

    def _delegate_hub(self, account_id: str) -> str:
        """The hub of the roles whose trust delegates to identity policies in `account_id`, built once."""
        hub = _ASSUME_HUB + account_id
        if hub not in self._hub_ranked:
            cond_of: dict[str, bool] = {}
            for role in self._trust_delegates:
                # No delegating trust names the caller (checked by the caller), so no ARN is needed.
                ok, cond = self._trust_decision(role, "", account_id, True)
                if ok:
                    cond_of.setdefault(role.arn, cond)
            self._hub_cond[hub] = cond_of
            self._add_hub(hub, list(cond_of), cond_of)
        return hub

    def _add_hub(self, hub: str, arns: list[str], cond_of: dict[str, bool] | None = None) -> None:
        """A node standing for many principals: ranked most privileged first, with one edge to each."""
        ranked = sorted(arns, key=self._rank, reverse=True)
        self._hub_ranked[hub] = ranked
        union = 0
        for arn in ranked:
            union |= self._power_of(arn)
            self.graph.add(Edge(hub, arn, "", (), bool(cond_of and cond_of[arn])))
        self._hub_reach[hub] = (any(self.reports[a].is_admin for a in ranked), union)

    def _principal_access_edges(
        self,
        record: PrincipalRecord,
        perms: PrincipalPermissions,
        path: PrivescPath,
        acts: tuple[str, ...],
        assume_ok: dict[str, tuple[bool, bool]],
    ) -> None:
        """Edges to the most privileged principals this path can take over (ranked, a few per path)."""
        iam_acts = [a for a in acts if a != "sts:assumerole"]
        needs_assume = "sts:assumerole" in acts
        on_users = any("user" in a or "accesskey" in a or "loginprofile" in a for a in iam_acts)
        ranked = self._users_ranked if on_users else self._roles_ranked
        eligible: frozenset[str] | set[str] | None = None
        if path.id in ("iam-016", "iam-020"):
            # Those rewrite one of the target's customer-managed policies: only such targets qualify.
            eligible = self._with_customer_policies
        else:
            eligible = self._covered(perms, iam_acts[0], ranked)
        if needs_assume:
            eligible = eligible & assume_ok.keys()
        ranked = [a for a in ranked if a in eligible]
        added = 0
        for arn in ranked:
            if added >= MAX_TARGETS_PER_PATH:
                break
            if arn == record.arn:
                continue
            if path.id not in _MODIFY_THEN_BECOME and not self.more_privileged(arn, record.arn):
                continue
            if path.id == "iam-002" and self.key_counts.get(arn, 0) >= 2:
                continue  # CreateAccessKey alone needs a free key slot
            target = self.account.principals[arn]
            conditional = False
            for action in iam_acts:
                resources = [arn]
                if action == "iam:createpolicyversion":
                    resources = [a for a in target.attached if not is_aws_managed(a)]
                    if not resources:
                        break
                decision = next((d for r in resources if (d := perms.decide(action, r)).allowed), None)
                if decision is None:
                    break
                conditional = conditional or decision.conditional
            else:
                if needs_assume:
                    conditional = conditional or assume_ok[arn][1]
                self.graph.add(Edge(record.arn, arn, path.id, path.actions, conditional))
                added += 1

    def _passrole_edges(
        self,
        record: PrincipalRecord,
        perms: PrincipalPermissions,
        path: PrivescPath,
        acts: tuple[str, ...],
        somewhere: dict[str, Decision],
    ) -> None:
        """PassRole paths reach the roles a service may assume. When nothing narrows which role can be
        passed, one edge to the service's hub stands for all of them (keeps the graph linear in size)."""
        service_acts = [a for a in acts if a != "iam:passrole"]
        decisions = []
        for a in service_acts:
            hit = somewhere.get(a)
            if hit is None:
                hit = somewhere[a] = perms.allows_somewhere(a, self.catalog)
            decisions.append(hit)
        if not all(decisions):
            return
        conditional = any(d.conditional for d in decisions)
        roles = self._roles_by_service.get(path.service, ())
        if not roles:
            return
        if "iam:passrole" not in acts:
            self.graph.add(Edge(record.arn, _hub(path.service), path.id, path.actions, conditional))
            return
        anywhere = perms.decide("iam:passrole", "*")
        unrestricted = anywhere.allowed and not any(
            c.key == "iam:passedtoservice"
            for g in perms.grants_for("iam:passrole")
            for c in g.statement.conditions
        )
        if unrestricted:
            cond = conditional or anywhere.conditional
            self.graph.add(Edge(record.arn, _hub(path.service), path.id, path.actions, cond))
            return
        if not _passed_to_service_ok(perms, "*", path.service, any_resource=True):
            return
        # When every PassRole grant names all resources and nothing denies it anywhere, the decision and
        # the PassedToService check are the same for each role as for `*`: worked out once above.
        plain = anywhere.allowed and perms.plain_on_action("iam:passrole")
        ranked = self._hub_ranked[_hub(path.service)]
        # Without a Deny, boundary or SCP on PassRole, a role can be passed here exactly when a grant that
        # covers it does not limit PassedToService to other services; the sets of roles each grant
        # covers are shared between principals, so no ARN is matched again.
        simple = not plain and perms.boundary is None and not perms.scps
        simple = simple and not perms.identity.denies_on_action("iam:passrole")
        coverage: list[tuple[Grant, frozenset[str]]] = []
        eligible: set[str] = set()
        if simple:
            for g in perms.grants_for("iam:passrole"):
                covered = self._coverage_of(g, ranked)
                coverage.append((g, covered))
                if _grant_passes_to(g, path.service):
                    eligible |= covered
            candidates = [a for a in ranked if a in eligible]
        else:
            named = self._covered(perms, "iam:passrole", ranked)
            candidates = [a for a in ranked if a in named]
        added = 0
        for arn in candidates:
            if added >= MAX_TARGETS_PER_PATH:
                break
            if arn == record.arn or not self.more_privileged(arn, record.arn):
                continue
            if plain:
                decision = anywhere
            elif simple:
                decision = Decision(True, all(g.conditional for g, covered in coverage if arn in covered))
            else:
                decision = perms.decide("iam:passrole", arn)
                if not (decision.allowed and _passed_to_service_ok(perms, arn, path.service)):
                    continue
            if decision.allowed:
                self.graph.add(
                    Edge(record.arn, arn, path.id, path.actions, conditional or decision.conditional)
                )
                added += 1

    def _covered(self, perms: PrincipalPermissions, action: str, ranked: list[str]) -> set[str]:
        """The ranked principals that some Allow of `action` names as a resource. Which principals a
        resource list covers is worked out once per distinct list: managed policies repeat them."""
        covered: set[str] = set()
        for g in perms.grants_for(action):
            covered |= self._coverage_of(g, ranked)
        return covered

    def _coverage_of(self, g: Grant, ranked: list[str]) -> frozenset[str]:
        """The principals of `ranked` that a grant's resources name. `ranked` is one of the analysis's own
        ranked lists, which live as long as the analysis (their id is part of the key)."""
        key = (g.resources, g.not_resources, id(ranked))
        hit = self._coverage.get(key)
        if hit is None:
            hit = self._coverage[key] = frozenset(g.covering(ranked))
        return hit

    def _rank(self, arn: str) -> tuple[bool, int]:
        return (self.reports[arn].is_admin, self._power_of(arn).bit_count())

    def _escalations_of(self, record: PrincipalRecord) -> list[Escalation]:
        """Direct paths to more privileged principals (the most privileged few per path), then chains of
        hops that end at an administrator.

        Modifying a principal and then becoming it (iam-014 to iam-021) reaches administrator whatever the
        principal held before, so those count whoever the target is.
        """
        found: list[Escalation] = []
        reached_admin = False
        seen: set[tuple[str, str]] = set()
        # more_privileged(target, record) for a non-admin source, with the source's side worked out once:
        # the write actions it lacks.
        lacks = self._writes & ~self._power_of(record.arn)
        reports, power_of, hubs = self.reports, self._power_of, self._hub_ranked
        for edge in self.graph.out(record.arn):
            modify = edge.path_id in _MODIFY_THEN_BECOME
            targets = hubs.get(edge.target)
            hop_cond: dict[str, bool] = {}
            if targets is None:
                targets = [edge.target]
            else:
                has_admin, union = self._hub_reach[edge.target]
                if not (modify or has_admin or union & lacks):
                    continue  # none of the hub's principals is more privileged
                hop_cond = self._hub_cond.get(edge.target, hop_cond)
            shown = 0
            for target in targets:
                if shown >= MAX_TARGETS_PER_PATH:
                    break
                if target == record.arn or (edge.path_id, target) in seen:
                    continue
                if modify or reports[target].is_admin or power_of(target) & lacks:
                    seen.add((edge.path_id, target))
                    shown += 1
                    reached_admin = reached_admin or reports[target].is_admin
                    found.append(
                        Escalation(
                            edge.path_id,
                            _CATEGORY[edge.path_id],
                            list(edge.actions),
                            [target],
                            target,
                            edge.conditional or hop_cond.get(target, False),
                        )
                    )
        if not reached_admin:
            chain = self._chain_to_admin(record.arn)
            if chain:
                first = chain[0]
                via = [e.target for e in chain if e.target not in hubs]
                found.append(
                    Escalation(
                        first.path_id,
                        _CATEGORY[first.path_id],
                        list(first.actions),
                        via,
                        via[-1],
                        any(e.conditional for e in chain),
                    )
                )
        return found

    def _chain_to_admin(self, start: str) -> list[Edge]:
        chain: list[Edge] = []
        node = start
        while node in self._toward_admin and len(chain) < 8:
            edge = self._toward_admin[node]
            chain.append(edge)
            node = edge.target
            if node not in self._hub_ranked and self.reports[node].is_admin:
                return chain
        return []

    # -- driver ----------------------------------------------------------------------------------------
    def run(self) -> AccountReport:
        with gc_paused():
            return self._run()

    def _run(self) -> AccountReport:
        for record in self.records:
            perms = self._permissions(record)
            self.perms[record.arn] = perms
            report = PrincipalReport(record.arn, record.name, record.kind, record.account_id)
            report.is_admin = self._is_admin(perms)
            report.warnings = sorted(set(perms.warnings))[:50]
            self._direct_findings(record, perms, report)
            report.privilege_escalation = [] if report.is_admin else self._self_escalations(record, perms)
            self.reports[record.arn] = report
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
        for record in self.records:
            report = self.reports[record.arn]
            if not report.is_admin and record.kind != "group":
                report.privilege_escalation += self._escalations_of(record)
            if report.privilege_escalation:
                ids = sorted({e.path_id for e in report.privilege_escalation})
                conditional = all(e.conditional for e in report.privilege_escalation)
                report.findings.append(
                    Finding(
                        "privilege-escalation",
                        "critical" if not conditional else "high",
                        sorted({a for e in report.privilege_escalation for a in e.actions}),
                        sorted({e.target for e in report.privilege_escalation}),
                        f"Escalation paths: {', '.join(ids)}"
                        + (" (all under conditions)" if conditional else ""),
                    )
                )
            score = principal_risk_score((f.kind, f.severity, f.detail) for f in report.findings)
            report.risk_score = score.value
            report.score_explanation = score.explanation()
        ordered = sorted(self.reports.values(), key=lambda r: (-r.risk_score, r.arn))
        return AccountReport(self.account.account_id, ordered, list(self.account.errors))


_CATEGORY = {p.id: p.category for p in PRIVESC_PATHS}
_HUB = "service:"
_ASSUME_HUB = "assume:"
MAX_TARGETS_PER_PATH = 3


def _hub(service: str) -> str:
    """A graph node standing for every role that `service` may assume."""
    return _HUB + service


_PATH_ACTIONS_OF = {p.id: tuple(a.lower() for a in p.actions) for p in PRIVESC_PATHS}
_PATH_ACTIONS = frozenset(a for acts in _PATH_ACTIONS_OF.values() for a in acts)
_PATH_ACTION_SETS = {path_id: frozenset(acts) for path_id, acts in _PATH_ACTIONS_OF.items()}
_SELF_ESCALATION_PATHS = [p for p in PRIVESC_PATHS if p.category == "self-escalation"]
_MODIFY_THEN_BECOME = {"iam-014", "iam-015", "iam-016", "iam-017", "iam-018", "iam-019", "iam-020", "iam-021"}
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


def _account_in(principal: str) -> str:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    match = _ACCOUNT_IN_ARN.match(principal)
    return match.group(1) if match else ""


def _has_subject_condition(provider: str, conditions: tuple[Condition, ...]) -> bool:
    host = provider.split("oidc-provider/", 1)[-1].lower()
    wanted = ("amr", "aud") if "cognito-identity" in host else ("sub",)
    for c in conditions:
        names_subject = c.key.startswith(host) and c.key.rsplit(":", 1)[-1] in wanted
        if names_subject and c.values and all(v not in ("*", "") for v in c.values):
            return True
    return False


def _grant_passes_to(g: Grant, service: str) -> bool:
    """Does this PassRole grant allow passing to `service` (no iam:PassedToService, or one naming it)?"""
    limits = [c for c in g.statement.conditions if c.key == "iam:passedtoservice"]
    return not limits or any(arn_matches(v, service) for c in limits for v in c.values)


def _passed_to_service_ok(
    perms: PrincipalPermissions, role_arn: str, service: str, *, any_resource: bool = False
) -> bool:
    """An iam:PassedToService condition that names other services makes this PassRole useless here."""
    for g in perms.grants_for("iam:passrole"):
        if not any_resource and not g.covers(role_arn):
            continue
        if _grant_passes_to(g, service):
            return True
    return False


def analyze_account(
    account: AccountDetails,
    catalog: Catalog,
    *,
    exclusions: Exclusions | None = None,
    scps: Sequence[Sequence[PolicyDocument]] = (),
    now: datetime | None = None,
    access_key_counts: dict[str, int] | None = None,
) -> AccountReport:
    return AccountAnalysis(
        account, catalog, exclusions=exclusions, scps=scps, now=now, access_key_counts=access_key_counts
    ).run()
