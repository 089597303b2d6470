"""Shared state of the account analysis: who may assume which role (trust-policy indexes and hubs), and
which principal is more privileged than another."""

from __future__ import annotations

from policy.catalog import Catalog
from policy.evaluate import Grant, PrincipalPermissions
from policy.gaad import AccountDetails, PrincipalRecord
from policy.graph import Edge, Graph, trust_allows, trusted_services
from policy.report import PrincipalReport
from policy.rules import WRITE_LEVELS

_ASSUME_HUB = "assume:"


class TrustIndex:
    """The principals, their permissions and reports, the graph, and the trust-policy indexes built once."""

    def __init__(self, account: AccountDetails, catalog: Catalog, records: list[PrincipalRecord]) -> None:
        self.account = account
        self.catalog = catalog
        self.records = records
        self.perms: dict[str, PrincipalPermissions] = {}
        self.reports: dict[str, PrincipalReport] = {}
        self._power: dict[str, int] = {}  # write and permissions-management actions held: how many
        self.graph = Graph()
        self._hub_ranked: dict[str, list[str]] = {}  # hub node -> the roles it stands for, ranked
        self._hub_cond: dict[str, dict[str, bool]] = {}  # assume hub -> role -> is the hop conditional
        self._hub_reach: dict[str, tuple[bool, int]] = {}  # hub -> (an admin among them, union of masks)
        self._coverage: dict[tuple[object, ...], frozenset[str]] = {}
        self._writes = catalog.level_mask(*WRITE_LEVELS)
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
        self._hub_conditional: dict[str, bool] = {}  # principal -> its sts:AssumeRole on `*` is conditional
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

    def _power_of(self, arn: str) -> int:
        """The actions held (the principal's own catalog mask, not a copy). Only its write and
        permissions-management bits (`_writes`) decide who is more privileged, and every comparison masks
        with `_writes`: a per-principal copy of `held & _writes` would be another 2.5 KB a principal."""
        return self.perms[arn].allowed_mask(self.catalog)

    def more_privileged(self, target: str, than: str) -> bool:
        t, s = self.reports[target], self.reports[than]
        if s.is_admin:
            return False
        if t.is_admin:
            return True
        # Does the target hold a write or permissions-management action the source lacks?
        return bool(self._power_of(target) & (self._writes & ~self._power_of(than)))

    def _rank(self, arn: str) -> tuple[bool, int]:
        count = self._power.get(arn)
        if count is None:
            count = self._power[arn] = (self._power_of(arn) & self._writes).bit_count()
        return (self.reports[arn].is_admin, count)

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
        # Under conditions (an Allow's or a Deny's), the hop is conditional: worked out role by role.
        plain = holds_assume and not any(
            g.conditional for g in perms.identity.grants_on_action("sts:assumerole")
        )
        if holds_assume and perms.boundary is None and not perms.scps:
            allows = perms.identity.grants_on_action("sts:assumerole")
            everywhere = not perms.identity.denies_on_action("sts:assumerole") and any(
                g.all_resources for g in allows
            )
            # Allowed everywhere only under conditions: every hop through the hub is conditional.
            self._hub_conditional[record.arn] = everywhere and not any(
                g.all_resources and not g.conditional for g in allows
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
            identity_cond = False
            if not holds_assume:
                identity = False
            elif everywhere:
                identity = True
                identity_cond = self._hub_conditional.get(record.arn, False)
            elif covered is not None and role.arn in self._delegate_arns and plain:
                identity = role.arn in covered
            else:
                decision = perms.decide("sts:assumerole", role.arn)
                identity, identity_cond = decision.allowed, decision.allowed and decision.conditional
            ok, cond = self._trust_decision(role, record.arn, record.account_id, identity)
            if ok:
                out[role.arn] = (ok, cond or identity_cond)
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
