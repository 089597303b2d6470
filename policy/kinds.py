"""The one registry of finding kinds and severities: every list of kinds, titles and colours reads from here.

Reviewed like code. Kind ids are stored in the database (findings, suppression rules): never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Severity:
    id: str
    rank: int  # 0 is the most severe: lists sort by it
    label: str
    colour: str  # background of badges, line of charts
    text_colour: str  # text on that background
    points: float  # what a finding of this severity adds to a risk score on its own (docs/risk-score.md)


SEVERITIES: tuple[Severity, ...] = (
    Severity("critical", 0, "Critical", "#8b0000", "#ffffff", 45.0),
    Severity("high", 1, "High", "#c0392b", "#ffffff", 25.0),
    Severity("medium", 2, "Medium", "#e69b22", "#000000", 10.0),
    Severity("low", 3, "Low", "#5b9bd5", "#000000", 4.0),
    Severity("info", 4, "Info", "#9e9e9e", "#000000", 0.0),
)
SEVERITY: dict[str, Severity] = {s.id: s for s in SEVERITIES}
SEVERITY_IDS: tuple[str, ...] = tuple(s.id for s in SEVERITIES)
SEVERITY_RANK: dict[str, int] = {s.id: s.rank for s in SEVERITIES}
SEVERITY_CHOICES: list[tuple[str, str]] = [(s.id, s.label) for s in SEVERITIES]
UNKNOWN_SEVERITY_RANK = 9  # sorts after every known severity


class Source(StrEnum):
    """Where findings of a kind come from."""

    ENGINE = "engine"  # policy/ rules on the account's policies
    CREDENTIALS = "credentials"  # the credential report and access keys
    USAGE = "usage"  # last-accessed data (Access Advisor)
    ACCESS_ANALYZER = "access-analyzer"  # IAM Access Analyzer's unused-access findings, merged into ours


@dataclass(frozen=True, slots=True)
class Kind:
    id: str
    title: str
    severity: str  # the usual severity; `severities` lists every one a finding of this kind can have
    remediation: str
    sources: frozenset[Source]
    # Kept as they stand when a sync skips the analysis (nothing changed since the last one); the others
    # are worked out again on every sync.
    carries: bool
    description: str = ""  # what the engine's rule reports (engine kinds)
    severities: tuple[str, ...] = ()

    def allowed_severities(self) -> tuple[str, ...]:
        return self.severities or (self.severity,)


_ENGINE = frozenset({Source.ENGINE})
_CREDENTIALS = frozenset({Source.CREDENTIALS})

KINDS: dict[str, Kind] = {
    k.id: k
    for k in [
        Kind(
            "admin",
            "Full administrator",
            "critical",
            "Keep administrator access to a few break-glass roles that require MFA; give everyone else the "
            "permissions they use (accept this principal's tightened policy).",
            _ENGINE,
            True,
            "Allows every action on every resource.",
        ),
        Kind(
            "service-admin",
            "Service administrator",
            "high",
            "Replace `service:*` with the actions this principal uses, scoped to its resources.",
            _ENGINE,
            True,
            "Allows every action of a sensitive service (`service:*`) on every resource.",
        ),
        Kind(
            "cross-account-admin",
            "Reaches an administrator role in another account",
            "critical",
            "Remove sts:AssumeRole on the other account's administrator role from this principal's policies, "
            "or narrow that role's trust policy to the principals that need it.",
            _ENGINE,
            True,
            "Can assume an administrator role in another linked account: that account's trust policy allows "
            "it and its own policies (and the organisation's SCPs) allow sts:AssumeRole on the role.",
            ("critical", "high"),  # high when the trust or the Allow is under conditions
        ),
        Kind(
            "privilege-escalation",
            "Privilege escalation",
            "critical",
            "Remove one action of each listed path, or scope it to resources that cannot be used this way "
            "(not itself, not more privileged roles); add a permissions boundary.",
            _ENGINE,
            True,
            "Can gain more access than it holds, by changing its own permissions, taking over another "
            "principal, or handing a more privileged role to a service.",
            # critical when it reaches administrator; high under conditions or with a prerequisite, or
            # towards a strong target; medium and low towards weaker ones (docs/risk-score.md)
            ("critical", "high", "medium", "low"),
        ),
        Kind(
            "data-exfiltration",
            "Can read data or secrets everywhere",
            "high",
            "Scope these read actions to the buckets, parameters and secrets this principal needs.",
            _ENGINE,
            True,
            "Can read secrets or data (objects, parameters, secrets, keys) on every resource.",
        ),
        Kind(
            "resource-exposure",
            "Can rewrite resource policies everywhere",
            "high",
            "Scope permissions-management actions to named resources, or remove them.",
            _ENGINE,
            True,
            "Can rewrite resource policies or permissions (for example s3:PutBucketPolicy) on every "
            "resource, which can expose data to other accounts or the public.",
        ),
        Kind(
            "credentials-exposure",
            "Can mint or read credentials everywhere",
            "high",
            "Remove these actions or scope them to the exact principals and resources needed.",
            _ENGINE,
            True,
            "Can mint or read credentials (access keys, tokens, passwords) on every resource.",
        ),
        Kind(
            "infrastructure-modification",
            "Can change infrastructure everywhere",
            "medium",
            "Scope write actions to the resources this principal manages (ARNs or tag conditions).",
            _ENGINE,
            True,
            "Can change or delete infrastructure (compute, networking, databases, stacks) on every resource.",
        ),
        Kind(
            "write-on-all-resources",
            "Write actions on Resource *",
            "low",
            "Replace `*` with the ARNs of the resources written.",
            _ENGINE,
            True,
            "Allows write actions that support resource-level scoping on `Resource: *`.",
        ),
        Kind(
            "trust-public",
            "Role trusts everyone",
            "critical",
            "Name the exact principals or accounts that may assume the role, and require sts:ExternalId or "
            "aws:PrincipalOrgID with a literal value (a negated operator, IfExists or a wildcard does not "
            "limit who).",
            _ENGINE,
            True,
            "The trust policy allows `Principal: *` to assume the role with no condition that limits who.",
        ),
        Kind(
            "trust-cross-account-no-external-id",
            "Cross-account trust without ExternalId",
            "medium",
            "Add a Condition StringEquals sts:ExternalId to the trust policy, or aws:PrincipalOrgID for your "
            "own organisation.",
            _ENGINE,
            True,
            "Another account may assume the role without an sts:ExternalId condition (confused deputy).",
        ),
        Kind(
            "trust-own-account",
            "Role trusts its whole account",
            "medium",
            "Name the principals that may assume the role in its trust policy instead of the account root "
            "(or `*`), so an sts:AssumeRole grant elsewhere in the account is not enough.",
            _ENGINE,
            True,
            "The trust policy names the role's own account root (or `*` limited to the account): any "
            "principal of the account whose identity policy allows sts:AssumeRole on it may become it.",
            ("high", "medium", "low"),  # high for an administrator role; low when no one else can
        ),
        Kind(
            "trust-oidc-no-sub",
            "OIDC trust without a subject condition",
            "critical",
            "Add a StringEquals or StringLike condition on `<provider>:sub` naming your repositories or "
            "service accounts, with the owner or namespace written out (not `repo:*`).",
            _ENGINE,
            True,
            "The role trusts a web-identity provider without a condition on the token's `sub` that limits "
            "who, so any identity of that provider (for example any GitHub repository) can assume it.",
        ),
        Kind(
            "unknown-action",
            "Unknown action or service",
            "info",
            "Fix the typo, or remove the action if the service is retired.",
            _ENGINE,
            True,
            "A policy names an action or service prefix that the action catalog does not know; it matches "
            "nothing and is reported rather than guessed.",
        ),
        Kind(
            "malformed-policy",
            "Unreadable policy",
            "medium",
            "Look at the policy in the console; the message says which element is wrong.",
            _ENGINE,
            True,
            "A policy document of this principal could not be parsed; its grants are not in the analysis.",
        ),
        Kind(
            "unused-service",
            "Service granted but not used",
            "medium",
            "Remove the service's actions from the principal's policies (accept its tightened policy).",
            frozenset({Source.USAGE, Source.ACCESS_ANALYZER}),
            True,
            severities=("medium", "low"),  # low for a service with few actions granted
        ),
        Kind(
            "unused-actions",
            "Actions granted but not used",
            "low",
            "Remove the unused actions; keep the ones the workload calls (accept its tightened policy).",
            frozenset({Source.USAGE}),
            True,
        ),
        Kind(
            "unused-role",
            "Role not used",
            "medium",
            "Delete the role, or keep it documented if it is for emergencies.",
            frozenset({Source.USAGE, Source.ACCESS_ANALYZER}),
            True,
        ),
        Kind(
            "root-access-key",
            "The root user has an access key",
            "critical",
            "Delete the root user's access keys; use IAM roles instead.",
            _CREDENTIALS,
            False,
        ),
        Kind(
            "root-used",
            "The root user was used recently",
            "high",
            "Lock the root user away: MFA on, no keys; use it only for the tasks that need it.",
            _CREDENTIALS,
            False,
        ),
        Kind(
            "no-mfa",
            "No MFA",
            "high",
            "Turn on MFA for this user (for the root user first of all).",
            _CREDENTIALS,
            False,
            severities=("critical", "high"),  # critical for the root user
        ),
        Kind(
            "unused-password",
            "Console password not used",
            "medium",
            "Remove the console password; the user keeps its other access.",
            frozenset({Source.CREDENTIALS, Source.ACCESS_ANALYZER}),
            False,
        ),
        Kind(
            "key-old",
            "Old access key",
            "medium",
            "Rotate the key; better, replace it with a role.",
            _CREDENTIALS,
            False,
            severities=("high", "medium"),  # high past a year
        ),
        Kind(
            "key-unused",
            "Access key not used",
            "medium",
            "Deactivate the key, then delete it.",
            frozenset({Source.CREDENTIALS, Source.ACCESS_ANALYZER}),
            False,
        ),
        Kind(
            "two-active-keys",
            "Two active access keys",
            "low",
            "Keep one active key per user; two are only for the minutes of a rotation.",
            _CREDENTIALS,
            False,
        ),
    ]
}
KIND_CHOICES: list[tuple[str, str]] = [(k.id, k.title) for k in KINDS.values()]


def severity_choices() -> list[tuple[str, str]]:
    """For model fields: a callable, so a migration names it instead of copying the list."""
    return SEVERITY_CHOICES


def kind_choices() -> list[tuple[str, str]]:
    """For model fields: a callable, so a new kind or title needs no migration."""
    return KIND_CHOICES


# The kinds the access keys page lists beside each key and its user.
KEY_PAGE_KINDS: tuple[str, ...] = ("key-old", "key-unused", "two-active-keys", "no-mfa")


def kind(kind_id: str) -> Kind:
    """The registered kind; an id the registry does not define is a programming error."""
    return KINDS[kind_id]


def kinds_from(*sources: Source) -> frozenset[str]:
    return frozenset(k.id for k in KINDS.values() if k.sources & set(sources))


def carried_kinds() -> frozenset[str]:
    """Kinds whose findings stand as they are when a sync skips the analysis."""
    return frozenset(k.id for k in KINDS.values() if k.carries)
