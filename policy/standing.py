"""Where a principal stands for an attacker: its band of the risk score (administrator or one clean step
away, several steps, only with a resource or a request that meets conditions, not at all), the weight of
an escalation by what its target gains, and the exposures that make the principal easier to use."""

from __future__ import annotations

from collections.abc import Mapping

from policy.admin_reach import CredentialFacts
from policy.catalog import Catalog
from policy.evaluate import PrincipalPermissions
from policy.privesc_paths import PRIVESC_PATHS
from policy.report import Escalation, PrincipalReport
from policy.score import EXPOSURE_POINTS, TIER_ADMIN, TIER_MULTI_HOP, TIER_NEEDS, TIER_NONE, Tier
from policy.usage import Usage

# "Dangerous": what changes something (write and permissions-management actions) and the actions escalation
# paths use.
DANGEROUS_LEVELS = ("Write", "Permissions management")
_PATH_ACTIONS = frozenset(a.lower() for p in PRIVESC_PATHS for a in p.actions)

# What a target holds that an attacker gains by becoming it (its other findings are about its trust).
GAIN_KINDS = frozenset(
    {
        "admin",
        "service-admin",
        "data-exfiltration",
        "resource-exposure",
        "credentials-exposure",
        "infrastructure-modification",
        "write-on-all-resources",
    }
)
GAIN_SHARE = 0.8  # an escalation weighs this share of what its target's grants score on their own
MIN_GAIN_POINTS = 2.0
SELF_GAIN_POINTS = 25.0  # rewriting its own permissions, where that does not make it an administrator


def tier_of(report: PrincipalReport) -> tuple[Tier, str]:
    """The principal's band and why, from its chain to administrator."""
    if report.is_admin:
        return TIER_ADMIN, report.admin_reason or TIER_ADMIN.label
    path = report.admin_path
    if path is None:
        return TIER_NONE, TIER_NONE.label
    ids = " then ".join(h.path_id for h in path.hops)
    if path.needs or path.conditional:
        why = []
        if path.needs:
            why.append("needs " + "; ".join(path.needs))
        if path.conditional:
            why.append("depends on the request (conditions)")
        return TIER_NEEDS, f"Reaches administrator by {ids} if it meets its prerequisites: {', '.join(why)}."
    if len(path.hops) == 1:
        return TIER_ADMIN, f"One step from administrator with nothing else needed: {ids}."
    return TIER_MULTI_HOP, f"Reaches administrator in {len(path.hops)} steps: {ids}."


def escalation_points(escalations: list[Escalation], gains: Mapping[str, float], self_arn: str) -> float:
    """Points of an escalation that does not reach administrator: a share of what its best target's grants
    score on their own (a role holding only logs:CreateLogStream gains next to nothing)."""
    best = 0.0
    for e in escalations:
        gain = SELF_GAIN_POINTS if e.target == self_arn else gains.get(e.target, 0.0)
        best = max(best, gain)
    return max(MIN_GAIN_POINTS, GAIN_SHARE * best)


def escalation_severity(tier: Tier, points: float) -> str:
    if tier.rank >= TIER_MULTI_HOP.rank:
        return "critical"
    if tier.rank == TIER_NEEDS.rank or points >= 25:
        return "high"
    return "medium" if points >= 10 else "low"


def _bits(catalog: Catalog, actions: frozenset[str]) -> int:
    value = 0
    for a in actions:
        value |= catalog.bit(a)
    return value


def dangerous_mask(catalog: Catalog) -> int:
    """Write and permissions-management actions, and what escalation paths use beyond reading (a path
    may list a Describe or GetObject it needs along the way: those are not dangerous on their own)."""
    reading = catalog.level_mask("Read", "List")
    return catalog.level_mask(*DANGEROUS_LEVELS) | (_bits(catalog, _PATH_ACTIONS) & ~reading)


def unused_dangerous(perms: PrincipalPermissions, catalog: Catalog, usage: Usage, dangerous: int) -> int:
    """How many dangerous actions (`dangerous`, a catalog mask) the principal is allowed and usage shows
    unused in the window: the actions `Usage.state` calls UNUSED, worked out on masks (an action Access
    Advisor cannot see, or a principal younger than the window, is never unused)."""
    if usage.young:
        return 0
    held = perms.allowed_mask(catalog) & dangerous
    if not held:
        return 0
    tracked = usage.tracked_services
    unused = catalog.services_mask(tracked - usage.used_services)
    unused |= _bits(catalog, frozenset(a for a in usage.tracked_actions if a.split(":", 1)[0] in tracked))
    unused &= ~_bits(catalog, usage.used_actions | usage.not_recorded)
    return (held & unused).bit_count()


def exposures(report: PrincipalReport, facts: CredentialFacts) -> list[tuple[str, str, str]]:
    """What makes a principal easier to use than its policies say: a user's long-lived keys and console
    password without MFA; dangerous permissions nobody used in the window (users and roles). (kind,
    severity, reason) entries of the score's explanation, not findings."""
    found: list[tuple[str, str, str]] = []
    if report.kind == "group":
        return found
    active = facts.active(report.arn)
    if active:
        found.append(("access-keys", "medium", f"{active} active access key(s): long-lived credentials."))
    if facts.login_profile(report.arn) and facts.mfa_of(report.arn) is False:
        found.append(("console-without-mfa", "medium", "A console password without MFA."))
    unused = facts.unused(report.arn)
    if unused:
        found.append(
            ("unused-dangerous", "medium", f"{unused} dangerous permission(s) granted and not used.")
        )
    return found


EXPOSURE_OVERRIDES = dict(EXPOSURE_POINTS)
