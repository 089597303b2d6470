"""Who can become whom in an account: AssumeRole through trust policies, PassRole to services, takeovers.

Edges carry the privilege-escalation path id that creates them; `next_hop_toward` finds chains.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from policy.model import PolicyDocument, Principal

ASSUME_ACTIONS = ("sts:assumerole", "sts:*", "*", "sts:assume*", "sts:assumerole*")
WEB_IDENTITY_ACTIONS = ("sts:assumerolewithwebidentity", "sts:*", "*", "sts:assume*", "sts:assumerole*")
COGNITO = "cognito-identity.amazonaws.com"


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    path_id: str
    actions: tuple[str, ...]
    conditional: bool = False


@dataclass
class Graph:
    edges: dict[str, list[Edge]] = field(default_factory=dict)

    def add(self, edge: Edge) -> None:
        if edge.source != edge.target:
            self.edges.setdefault(edge.source, []).append(edge)

    def out(self, source: str) -> list[Edge]:
        return self.edges.get(source, [])

    def next_hop_toward(
        self, targets: list[str], keep: Callable[[Edge], bool] | None = None
    ) -> dict[str, Edge]:
        """For every node that can reach one of `targets`, the first edge of a shortest way there (over the
        edges `keep` accepts). One breadth-first walk over reversed edges: linear in the size of the graph."""
        reverse: dict[str, list[Edge]] = {}
        for edges in self.edges.values():
            for edge in edges:
                if keep is None or keep(edge):
                    reverse.setdefault(edge.target, []).append(edge)
        best: dict[str, Edge] = {}
        done = set(targets)
        queue = deque(targets)
        while queue:
            node = queue.popleft()
            for edge in reverse.get(node, ()):
                if edge.source not in done:
                    done.add(edge.source)
                    best[edge.source] = edge
                    queue.append(edge.source)
        return best


def _account_root_forms(account_id: str) -> set[str]:
    return {account_id, f"arn:aws:iam::{account_id}:root"}


def _names_caller(principal: Principal, caller_arn: str, caller_account: str) -> str:
    """ "exact" when the caller itself is named, "account" when its account is, "" when neither."""
    if principal.wildcard:
        return "account"
    for entry in principal.aws:
        if entry == caller_arn:
            return "exact"
        if entry in _account_root_forms(caller_account):
            return "account"
    return ""


def trust_allows(
    trust: PolicyDocument | None, caller_arn: str, caller_account: str, identity_allows_assume: bool
) -> tuple[bool, bool]:
    """(allowed, conditional) for `caller` assuming a role with this trust policy, in the same account.

    Naming the caller's ARN is enough on its own; naming the account (root) delegates to the caller's
    identity policy, which must then allow sts:AssumeRole on the role.
    """
    if trust is None:
        return False, False
    allowed = False
    conditional = False
    for st in trust.statements:
        if st.principal is None or not any(a in ASSUME_ACTIONS for a in st.actions):
            continue
        how = _names_caller(st.principal, caller_arn, caller_account)
        if not how:
            continue
        if st.effect == "Deny":
            if not st.conditions:
                return False, False
            conditional = True
            continue
        if how == "exact" or identity_allows_assume:
            allowed = True
            conditional = conditional or bool(st.conditions)
    return allowed, conditional


def trusted_services(trust: PolicyDocument | None) -> set[str]:
    """Service principals that may assume a role (e.g. lambda.amazonaws.com)."""
    services: set[str] = set()
    if trust is None:
        return services
    for st in trust.statements:
        if st.effect != "Allow" or st.principal is None:
            continue
        if any(a in ASSUME_ACTIONS for a in st.actions):
            services.update(s.lower() for s in st.principal.service)
        # A Cognito identity pool hands its roles out through web identity federation (cognitoidentity-001).
        if COGNITO in (f.lower() for f in st.principal.federated) and any(
            a in WEB_IDENTITY_ACTIONS for a in st.actions
        ):
            services.add(COGNITO)
    return services
