"""Roles whose trust delegates to their own account (its root or `*`): a finding on each, listing the
principals that can assume it today (sts-001 edges to the role, or to a hub standing for such roles)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice

from policy.gaad import PrincipalRecord
from policy.graph import Graph
from policy.report import AdminHop, Finding, PrincipalReport

MAX_LISTED_ASSUMERS = 10  # named in the finding's detail
MAX_ASSUMER_RESOURCES = 100  # a trust-own-account finding's resources: the first assumers, with the count


def own_account_trust_findings(
    *,
    graph: Graph,
    hub_cond: Mapping[str, Mapping[str, bool]],
    delegates: Sequence[PrincipalRecord],
    reports: Mapping[str, PrincipalReport],
    equivalent: Mapping[str, AdminHop],
) -> None:
    """A finding on each role whose trust delegates to its account (root or `*`), listing the
    principals that can assume it: sts-001 edges to the role, or to the hub of such roles.

    Roles trusting the account are most often assumable by the same principals (a hub's): who can
    assume them is worked out once per distinct (hubs, direct assumers), not once per role, and a
    finding lists the first MAX_ASSUMER_RESOURCES of them with the count; listing every assumer on
    every such role made an account's findings grow with the square of its principals."""
    assumers: dict[str, set[str]] = {}
    for source, edges in graph.edges.items():
        for edge in edges:
            if edge.path_id == "sts-001":
                assumers.setdefault(edge.target, set()).add(source)
    hubs_of: dict[str, list[str]] = {}
    for hub, members in hub_cond.items():
        for member in members:
            hubs_of.setdefault(member, []).append(hub)
    shared: dict[tuple[tuple[str, ...], frozenset[str]], tuple[list[str], frozenset[str]]] = {}
    for role in delegates:
        report = reports.get(role.arn)
        if report is None:
            continue
        key = (tuple(hubs_of.get(role.arn, ())), frozenset(assumers.get(role.arn, ())))
        group = shared.get(key)
        if group is None:
            who = set(key[1])
            for hub in key[0]:
                who |= assumers.get(hub, set())
            who = {a for a in who if not (a in reports and reports[a].is_admin)}
            group = shared[key] = (sorted(who), frozenset(who))
        everyone, holders = group
        itself = role.arn in holders
        count = len(everyone) - itself
        names = list(islice((a for a in everyone if a != role.arn), MAX_ASSUMER_RESOURCES))
        strong = report.is_admin or role.arn in equivalent
        severity = "low" if not count else "high" if strong else "medium"
        listed = ", ".join(names[:MAX_LISTED_ASSUMERS]) or "none today besides administrators"
        more = f" and {count - MAX_LISTED_ASSUMERS} more" if count > MAX_LISTED_ASSUMERS else ""
        report.findings.append(
            Finding.of(
                "trust-own-account",
                ["sts:AssumeRole"],
                names,
                f"Its trust names account {role.account_id} as a whole: any principal there allowed "
                f"sts:AssumeRole on it may become it. Can today: {listed}{more}.",
                count,
                severity=severity,
            )
        )
