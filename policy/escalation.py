"""Privilege escalation in one account: what each principal can do to itself, the graph of who can become
whom (principal takeover, PassRole to a service, AssumeRole), and the chains that end at an administrator."""

from __future__ import annotations

from collections.abc import Iterable

from policy.admin_reach import FREED_PREFIX, CredentialFacts, edge_possible
from policy.catalog import Catalog
from policy.evaluate import Decision, Grant, PrincipalPermissions, arn_matches
from policy.gaad import AccountDetails, PrincipalRecord, attached_policy_arns, is_aws_managed
from policy.graph import Edge
from policy.guardrails import BOUNDARY_THEN_ASSUME, GUARDRAIL_SELF_PATHS, without_guardrail
from policy.report import AdminHop, AdminPath, Escalation, PrincipalReport
from policy.rules import PRIVESC_PATHS, PrivescPath
from policy.trust_index import TrustIndex

_CATEGORY = {p.id: p.category for p in PRIVESC_PATHS}
_HUB = "service:"
MAX_TARGETS_PER_PATH = 3


def _hub(service: str) -> str:
    """A graph node standing for every role that `service` may assume."""
    return _HUB + service


_PATH_ACTIONS_OF = {p.id: tuple(a.lower() for a in p.actions) for p in PRIVESC_PATHS}
_PATH_ACTIONS = frozenset(a for acts in _PATH_ACTIONS_OF.values() for a in acts)
_PATH_ACTION_SETS = {path_id: frozenset(acts) for path_id, acts in _PATH_ACTIONS_OF.items()}
_SELF_ESCALATION_PATHS = [p for p in PRIVESC_PATHS if p.category == "self-escalation"]
_MODIFY_THEN_BECOME = {
    *("iam-014", "iam-015", "iam-016", "iam-017", "iam-018", "iam-019", "iam-020", "iam-021"),
    BOUNDARY_THEN_ASSUME,  # only toward roles its boundary held back (see _widened_roles)
}


class _Assumable:
    """The roles a principal may assume and whether the hop is conditional: those its trust names
    (`named`), then the hub's (`hub`: role -> conditional), each under the hub's own condition too."""

    __slots__ = ("hub", "named", "via_hub")

    def __init__(self, named: dict[str, tuple[bool, bool]], hub: dict[str, bool], via_hub: bool) -> None:
        self.named, self.hub, self.via_hub = named, hub, via_hub

    def get(self, arn: str) -> tuple[bool, bool] | None:
        hit = self.named.get(arn)
        if hit is None and arn in self.hub:
            hit = (True, self.hub[arn] or self.via_hub)
        return hit

    def conditional(self, arn: str) -> bool:
        hit = self.get(arn)
        if hit is None:
            raise KeyError(arn)
        return hit[1]


class EscalationSearch(TrustIndex):
    """Escalation paths of every principal, on top of the shared trust indexes."""

    def __init__(
        self,
        account: AccountDetails,
        catalog: Catalog,
        records: list[PrincipalRecord],
        facts: CredentialFacts,
    ) -> None:
        super().__init__(account, catalog, records)
        self.facts = facts
        self._users_ranked: list[str] = []
        self._path_actions_mask = catalog.mask(_PATH_ACTIONS)
        self._held: dict[str, frozenset[str]] = {}
        self._places: dict[int, tuple[list[str], dict[str, int]]] = {}  # ranked list -> arn -> place
        self._with_customer_policies: frozenset[str] = frozenset()
        self._roles_ranked: list[str] = []
        self._toward_admin: dict[str, Edge] = {}
        self._widen_memo: dict[tuple[str, str], bool] = {}
        self._widened_role_set: frozenset[str] | None = None
        self.freed_admin: dict[str, str] = {}  # principal -> the guardrail path that makes it an admin
        self.freed_admin_roles: set[str] = set()  # roles that are administrators once their boundary goes

    def _permissions(self, record: PrincipalRecord) -> PrincipalPermissions:
        raise NotImplementedError  # the analysis builds them (identity policies, boundary, SCPs)

    def _is_admin(self, perms: PrincipalPermissions) -> bool:
        raise NotImplementedError

    def _widened(self, record: PrincipalRecord, path_id: str) -> bool:
        """Could the principal do more once `path_id` removed its guardrail (boundary, policy with a Deny)?"""
        key = (record.arn, path_id)
        hit = self._widen_memo.get(key)
        if hit is None:
            hit = False
            freed = without_guardrail(self.account, record, path_id)
            if freed is not None:
                now = self.perms.get(record.arn) or self._permissions(record)
                after = self._permissions(freed)
                hit = bool(after.allowed_mask(self.catalog) & ~now.allowed_mask(self.catalog))
                if hit and self._is_admin(after):
                    if path_id == BOUNDARY_THEN_ASSUME:
                        self.freed_admin_roles.add(record.arn)
                    else:
                        self.freed_admin.setdefault(record.arn, path_id)
            self._widen_memo[key] = hit
        return hit

    def _freed_admin_path(self, report: PrincipalReport) -> AdminPath | None:
        """One hop to administrator for a principal that can remove the guardrail holding it back."""
        path_id = self.freed_admin.get(report.arn)
        hit = next((e for e in report.privilege_escalation if e.path_id == path_id), None)
        if hit is None:
            return None
        return AdminPath(
            (AdminHop(hit.path_id, report.arn, hit.target, tuple(hit.actions), hit.conditional, ()),)
        )

    def _widened_roles(self) -> frozenset[str]:
        if self._widened_role_set is None:
            self._widened_role_set = frozenset(
                r.arn for r in self._roles if r.boundary_arn and self._widened(r, BOUNDARY_THEN_ASSUME)
            )
        return self._widened_role_set

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
        if action in GUARDRAIL_SELF_PATHS:
            return [record.arn] if self._widened(record, GUARDRAIL_SELF_PATHS[action]) else []
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
        # Paths that modify a role and then assume it look roles up one by one: through the hub's own
        # mapping, never a copy of it per principal (a hub holds every role that trusts the account).
        assume_ok = _Assumable(
            named, self._hub_cond[hub] if hub else {}, self._hub_conditional.get(record.arn, False)
        )
        somewhere: dict[str, Decision] = {}  # allows_somewhere per action, shared by this principal's paths
        for path in PRIVESC_PATHS:
            acts = _PATH_ACTIONS_OF[path.id]
            if path.id == "sts-001":
                for role_arn, (_ok, cond) in named.items():
                    self.graph.add(Edge(record.arn, role_arn, path.id, path.actions, cond))
                if hub:
                    cond = self._hub_conditional.get(record.arn, False)
                    self.graph.add(Edge(record.arn, hub, path.id, path.actions, cond))
                continue
            if not _PATH_ACTION_SETS[path.id] <= held:
                continue
            if path.category == "principal-access":
                self._principal_access_edges(record, perms, path, acts, assume_ok)
            else:
                self._passrole_edges(record, perms, path, acts, somewhere)

    def _in_rank_order(self, ranked: list[str], sets: list[frozenset[str] | set[str]]) -> Iterable[str]:
        """The principals of `ranked` found in some of `sets`, most privileged first, as a path's loop
        reads them (it stops after its first few targets). Few of them: those, sorted by their place in
        `ranked`; many: `ranked` walked and filtered, stopping where the loop stops. Either way no list
        of every principal is built per principal (that made large accounts quadratic)."""
        total = sum(len(s) for s in sets)
        if total * 8 < len(ranked):
            hit = self._places.get(id(ranked))  # the list is kept with its places: its id stays its own
            if hit is None:
                hit = self._places[id(ranked)] = (ranked, {arn: n for n, arn in enumerate(ranked)})
            place = hit[1]
            found = {arn for s in sets for arn in s if arn in place}
            return sorted(found, key=place.__getitem__)
        if len(sets) == 1:
            only = sets[0]
            return (arn for arn in ranked if arn in only)
        return (arn for arn in ranked if any(arn in s for s in sets))

    def _held_path_actions(self, record: PrincipalRecord, perms: PrincipalPermissions) -> frozenset[str]:
        """The escalation paths' actions this principal is allowed somewhere (one mask operation)."""
        held = self._held.get(record.arn)
        if held is None:
            hits = perms.allowed_mask(self.catalog) & self._path_actions_mask
            held = self._held[record.arn] = self.catalog.actions_of(hits) if hits else frozenset()
        return held

    def _principal_access_edges(
        self,
        record: PrincipalRecord,
        perms: PrincipalPermissions,
        path: PrivescPath,
        acts: tuple[str, ...],
        assume_ok: _Assumable,
    ) -> None:
        """Edges to the most privileged principals this path can take over (ranked, a few per path).
        The ranked targets are filtered as they are walked, so a principal stops after its first few
        instead of filtering every principal of the account (which made large accounts quadratic)."""
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
        widened = self._widened_roles() if path.id == BOUNDARY_THEN_ASSUME else None
        added = 0
        for arn in self._in_rank_order(ranked, [eligible]):
            if added >= MAX_TARGETS_PER_PATH:
                break
            if arn == record.arn:
                continue
            if widened is not None and arn not in widened:
                continue
            if needs_assume and assume_ok.get(arn) is None:
                continue
            if path.id not in _MODIFY_THEN_BECOME and not self.more_privileged(arn, record.arn):
                continue
            if not edge_possible(path.id, arn, self.facts):
                continue  # CreateAccessKey alone needs a free key slot; a password must (not) exist
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
                    conditional = conditional or assume_ok.conditional(arn)
                self.graph.add(Edge(record.arn, arn, path.id, path.actions, conditional))
                if path.id == BOUNDARY_THEN_ASSUME and arn in self.freed_admin_roles:
                    # The chain to administrator goes through the role as it is once freed.
                    self.graph.add(Edge(record.arn, FREED_PREFIX + arn, path.id, path.actions, conditional))
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
        # The roles that may be passed, as the shared sets they are made of (no union per principal);
        # the ranked roles are filtered as they are walked, stopping after the first few.
        eligible: list[frozenset[str] | set[str]] = []
        if simple:
            for g in perms.grants_for("iam:passrole"):
                covered = self._coverage_of(g, ranked)
                coverage.append((g, covered))
                if _grant_passes_to(g, path.service):
                    eligible.append(covered)
        else:
            eligible.append(self._covered(perms, "iam:passrole", ranked))
        added = 0
        for arn in self._in_rank_order(ranked, eligible):
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
        edges = self.graph.out(record.arn)
        skipped = self._beyond_the_first(record.arn, edges, lacks)
        for edge in edges:
            if edge.target.startswith(FREED_PREFIX):
                continue  # the same hop as the edge to the role itself (for chains to administrator)
            if skipped and (edge.path_id, edge.target) in skipped:
                continue
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
                        list(dict.fromkeys(a for e in chain for a in e.actions)),  # every hop's actions
                        via,
                        via[-1],
                        any(e.conditional for e in chain),
                    )
                )
        return found

    def _beyond_the_first(self, source: str, edges: Iterable[Edge], lacks: int) -> set[tuple[str, str]]:
        """The (path, target) edges of `source` left unlisted: where more than MAX_TARGETS_PER_PATH edges
        of one path lead to a single more privileged principal each (AssumeRole on a pattern of roles
        that trust the account: one edge per role), only the most privileged few are listed, as a hub's
        are. Listing them all gave a principal hundreds of escalations on a large account, and the
        account a number of them that grew with the square of its principals."""
        by_path: dict[str, dict[str, bool]] = {}  # path -> target -> every edge to it is conditional
        hubs, reports = self._hub_ranked, self.reports
        for edge in edges:
            target = edge.target
            if target in hubs or target == source or target.startswith(FREED_PREFIX):
                continue
            if (
                edge.path_id in _MODIFY_THEN_BECOME
                or reports[target].is_admin
                or self._power_of(target) & lacks
            ):
                targets = by_path.setdefault(edge.path_id, {})
                targets[target] = targets.get(target, True) and edge.conditional
        skipped: set[tuple[str, str]] = set()
        for path_id, conditional in by_path.items():
            if len(conditional) <= MAX_TARGETS_PER_PATH:
                continue
            ranked = sorted(conditional, key=self._rank, reverse=True)
            # The score reads the listed targets: the best of what becoming one of them gives, and whether
            # every path is under conditions. So the best target by that measure and, where there is
            # one, a target reached under no condition are listed whatever their rank.
            must = [max(ranked, key=self._gain)]
            kept = [t for t in ranked[:MAX_TARGETS_PER_PATH] if t not in must]
            if all(conditional[t] for t in [*must, *kept]) and not all(conditional.values()):
                must.append(next(t for t in ranked if not conditional[t]))
            kept = [t for t in kept if t not in must][: MAX_TARGETS_PER_PATH - len(must)] + must
            skipped.update((path_id, t) for t in ranked if t not in kept)
        return skipped

    def _gain(self, arn: str) -> float:
        """What becoming `arn` gives, as the score weighs it (`AccountAnalysis` scores it)."""
        return 0.0

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
