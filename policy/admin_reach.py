"""Reaching administrator: who is one (or its equivalent), and the shortest chain of hops to one from
everyone else, with every hop's actions and what the snapshot cannot show that a hop needs."""

from __future__ import annotations

from collections.abc import Mapping

from policy.graph import Edge, Graph
from policy.privesc_paths import PRIVESC_PATHS
from policy.report import AdminHop, AdminPath, Escalation

# Self-escalation paths that let a principal write any policy onto itself: administrator-equivalent when
# unconditional and nothing (boundary, SCP, explicit Deny) caps what it would grant itself.
ADMIN_EQUIVALENT_PATHS: dict[str, str] = {
    "iam-001": "can rewrite a customer-managed policy attached to it (iam:CreatePolicyVersion)",
    "iam-005": "can write any inline policy onto itself (iam:PutRolePolicy)",
    "iam-007": "can write any inline policy onto itself (iam:PutUserPolicy)",
    "iam-008": "can attach any managed policy to itself (iam:AttachUserPolicy)",
    "iam-009": "can attach any managed policy to itself (iam:AttachRolePolicy)",
    "iam-010": "can attach any managed policy to its own group (iam:AttachGroupPolicy)",
    "iam-011": "can write any inline policy onto its own group (iam:PutGroupPolicy)",
}

# A role as it would be once its permissions boundary is removed (iam-023): a node of its own in the graph,
# an administrator when the role's policies without the boundary make it one.
FREED_PREFIX = "freed:"

_CATEGORY = {p.id: p.category for p in PRIVESC_PATHS}
_SERVICE = {p.id: p.service for p in PRIVESC_PATHS}

# What an existing-compute path needs that an account's IAM snapshot cannot show.
_EXISTING_RESOURCE = {
    "apprunner": "an App Runner service running with the role",
    "batch": "a Batch job definition using the role, and a job queue to submit to",
    "bedrock": "a Bedrock AgentCore code interpreter, runtime or browser running with the role",
    "cloudformation": "a CloudFormation stack deployed with the role",
    "codebuild": "a CodeBuild project configured with the role",
    "codedeploy": "a CodeDeploy deployment group whose instances run with the role",
    "ec2instanceconnect": "an EC2 instance running with the role (and reachable over SSH)",
    "ec2": "an EC2 instance or launch template using the role",
    "ecs": "a running ECS task of the role with ECS Exec enabled",
    "glue": "a Glue development endpoint using the role",
    "lambda": "a Lambda function running with the role",
    "sagemaker": "a SageMaker notebook instance running with the role",
    "ssm": "an EC2 instance managed by Systems Manager running with the role",
}

# New-compute paths that still reuse something that must already exist in the account.
_NEW_NEEDS = {
    "cognitoidentity-001": "a Cognito identity pool that allows unauthenticated identities",
    "ecs-007": "code execution on an EC2 instance whose role holds the actions, and an ECS task definition",
    "ecs-008": "an ECS cluster and a task definition to run with the role",
    "ecs-009": "an ECS container instance and a task definition to start with the role",
}


class CredentialFacts:
    """What the snapshot knows of each user's credentials; `None` for a fact it does not know."""

    def __init__(
        self,
        access_key_counts: Mapping[str, int] | None = None,
        login_profiles: Mapping[str, bool] | None = None,
        *,
        active_keys: Mapping[str, int] | None = None,
        mfa: Mapping[str, bool] | None = None,
        unused_dangerous: Mapping[str, int] | None = None,
    ) -> None:
        self.key_counts = access_key_counts
        self.login_profiles = login_profiles
        self.active_keys = active_keys or {}
        self.mfa = mfa
        self.unused_dangerous: dict[str, int] = dict(unused_dangerous or {})

    def keys(self, arn: str) -> int | None:
        return None if self.key_counts is None else self.key_counts.get(arn, 0)

    def login_profile(self, arn: str) -> bool | None:
        return None if self.login_profiles is None else self.login_profiles.get(arn, False)

    def active(self, arn: str) -> int:
        return self.active_keys.get(arn, 0)

    def mfa_of(self, arn: str) -> bool | None:
        return None if self.mfa is None else self.mfa.get(arn, False)

    def unused(self, arn: str) -> int:
        return self.unused_dangerous.get(arn, 0)


def edge_needs(path_id: str, target: str, facts: CredentialFacts) -> tuple[str, ...]:
    """Prerequisites of one hop the snapshot does not show (empty when it needs nothing else)."""
    if _CATEGORY.get(path_id) == "existing-passrole":
        return (_EXISTING_RESOURCE.get(path_id.split("-")[0], "an existing resource running with the role"),)
    if path_id in _NEW_NEEDS:
        return (_NEW_NEEDS[path_id],)
    if path_id == "iam-006" and facts.login_profile(target) is None:
        return (f"a console password on {target}",)
    if path_id == "iam-004" and facts.login_profile(target) is None:
        return (f"no console password on {target} yet",)
    if path_id == "iam-002" and facts.keys(target) is None:
        return (f"fewer than two access keys on {target}",)
    return ()


def edge_possible(path_id: str, target: str, facts: CredentialFacts) -> bool:
    """False when what the snapshot knows rules the hop out (a user that already has two keys, ...)."""
    if path_id == "iam-002":
        keys = facts.keys(target)
        return keys is None or keys < 2
    if path_id == "iam-006":
        return facts.login_profile(target) is not False
    if path_id == "iam-004":
        return facts.login_profile(target) is not True
    return True


class AdminReach:
    """Shortest chains to an administrator over the escalation graph. Two breadth-first walks over the
    reversed edges: one over the hops that need nothing and hold under no condition, one over all hops; a
    principal gets the chain of the first walk that reaches it (an attacker takes the sure way first)."""

    def __init__(
        self,
        graph: Graph,
        admins: list[str],
        hubs: Mapping[str, list[str]],
        facts: CredentialFacts,
    ) -> None:
        self.hubs = hubs
        self.facts = facts
        self._clean = graph.next_hop_toward(admins, lambda e: not e.conditional and not self._needs(e))
        self._any = graph.next_hop_toward(admins)
        self._admins = set(admins)

    def _needs(self, edge: Edge) -> tuple[str, ...]:
        if not edge.path_id:
            return ()
        return edge_needs(edge.path_id, edge.target, self.facts)

    def _walk(self, start: str, best: Mapping[str, Edge]) -> list[Edge]:
        chain: list[Edge] = []
        node = start
        while node in best and len(chain) < 16:
            edge = best[node]
            chain.append(edge)
            node = edge.target
            if node in self._admins:
                return chain
        return []

    def path_of(self, arn: str) -> AdminPath | None:
        """The chain from `arn` to an administrator, hub hops folded into the hop that entered the hub."""
        edges = self._walk(arn, self._clean) or self._walk(arn, self._any)
        if not edges:
            return None
        hops: list[AdminHop] = []
        for edge in edges:
            if edge.target.startswith(FREED_PREFIX):
                edge = Edge(
                    edge.source,
                    edge.target.removeprefix(FREED_PREFIX),
                    edge.path_id,
                    edge.actions,
                    edge.conditional,
                )
            if edge.source in self.hubs and hops:
                last = hops[-1]
                needs = last.needs or edge_needs(last.path_id, edge.target, self.facts)
                hops[-1] = AdminHop(
                    last.path_id,
                    last.source,
                    edge.target,
                    last.actions,
                    last.conditional or edge.conditional,
                    needs,
                )
                continue
            hops.append(
                AdminHop(
                    edge.path_id,
                    edge.source,
                    edge.target,
                    tuple(edge.actions),
                    edge.conditional,
                    self._needs(edge) if edge.target not in self.hubs else (),
                )
            )
        return AdminPath(tuple(hops))


def self_admin_path(record_arn: str, escalations: list[Escalation]) -> AdminPath | None:
    """A one-hop chain for a principal that can write any policy onto itself (under conditions or not)."""
    own = [e for e in escalations if e.path_id in ADMIN_EQUIVALENT_PATHS]
    if not own:
        return None
    best = min(own, key=lambda e: e.conditional)
    return AdminPath(
        (AdminHop(best.path_id, record_arn, record_arn, tuple(best.actions), best.conditional, ()),)
    )


def chain_actions(path: AdminPath) -> list[str]:
    """Every hop's actions in order, each once."""
    return list(dict.fromkeys(a for hop in path.hops for a in hop.actions))
