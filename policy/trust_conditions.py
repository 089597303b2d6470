"""Whether a trust policy's conditions limit who may assume a role: judged by operator and value, not by key.

A condition limits the caller only if it can fail for an attacker who picks their own account, organisation,
token or request. So a negated operator (the attacker's value is simply another one), `...IfExists` or
`ForAllValues:` on a key the attacker can leave out, `Null`, and a value such as `*`, `o-*` or `repo:*`
do not limit; `StringEquals aws:PrincipalOrgID o-abc123` does. One matcher per operator family; the value
judges know what a value of each identifying key must pin down (an account, an organisation, a repository
owner).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from policy.model import Condition

# A value judge: does this value (a pattern when `wild`) pin the caller down? Returns "" when it does, else
# why not.
ValueJudge = Callable[[str, bool], str]


@dataclass(frozen=True, slots=True)
class KeyRule:
    """What a condition key says about the caller, for the keys that can limit who may assume a role."""

    judge: ValueJudge
    # Can an attacker make the key absent from their request (no organisation, no ExternalId passed, not
    # called through a service)? Then `...IfExists` and `ForAllValues:` pass for them.
    optional: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    limits: bool
    reason: str = ""  # why it does not limit, for the finding's detail


_WILDCARD = re.compile(r"[*?]|\$\{[^}]*\}")  # a policy variable is the caller's own value: as good as `*`
_ACCOUNT = re.compile(r"\d{12}")


def _has_wildcard(value: str, wild: bool) -> bool:
    return "${" in value or (wild and _WILDCARD.search(value) is not None)


def _literal_prefix(value: str, wild: bool) -> str:
    """The part of a value before its first wildcard (the whole value when it has none)."""
    if not _has_wildcard(value, wild):
        return value
    found = _WILDCARD.search(value) if wild else re.search(r"\$\{", value)
    return value[: found.start()] if found else value


def judge_identifier(value: str, wild: bool) -> str:
    """An account id, organisation id or owner: the whole value must be literal."""
    if not value:
        return "an empty value"
    if _has_wildcard(value, wild):
        return f'"{value}" matches identifiers an attacker can have'
    return ""


def judge_org_path(value: str, wild: bool) -> str:
    """aws:PrincipalOrgPaths `o-abc/r-ab12/ou-...`: the organisation (first segment) must be literal."""
    if value and not _has_wildcard(value, wild):
        return ""
    head = _literal_prefix(value, wild)
    if "/" not in head:
        return f'"{value}" does not name one organisation'
    return ""


def judge_arn(value: str, wild: bool) -> str:
    """An ARN: its account must be literal; an ARN without one (an S3 bucket) needs a literal name."""
    if value and not _has_wildcard(value, wild):
        return ""  # names one principal or resource (or none)
    parts = value.split(":", 5)
    if len(parts) < 6 or _has_wildcard(":".join(parts[:4]), wild):
        # Too few parts to hold an account, or a wildcard early enough to stand for it.
        return f'"{value}" matches ARNs of other accounts'
    account, resource = parts[4], parts[5]
    if account:
        if not _ACCOUNT.fullmatch(account):
            return f'"{value}" matches ARNs of other accounts'
        return ""
    name = resource.split("/", 1)[0]
    if not name or _has_wildcard(name, wild):
        return f'"{value}" matches resources anyone can create'
    return ""


def judge_user_id(value: str, wild: bool) -> str:
    """aws:userid `AROAUNIQUEID:session` or `AIDAUNIQUEID`: the unique id before the colon must be literal
    (the session name after it is the caller's choice)."""
    if value and not _has_wildcard(value, wild):
        return ""
    head = _literal_prefix(value, wild)
    if ":" not in head or head.startswith(":"):
        return f'"{value}" matches principals of any account'
    return ""


_GITHUB_OWNER_CLAIMS = frozenset(
    {"repository_owner", "repository_owner_id", "repository_id", "enterprise", "enterprise_id"}
)


def judge_github_subject(value: str, wild: bool) -> str:
    """token.actions.githubusercontent.com:sub `repo:OWNER/REPO:...`: OWNER must be literal, or any GitHub
    user (anyone can register an owner name that matches `org*`) can mint a matching token."""
    if not value:
        return "an empty value"
    if not _has_wildcard(value, wild):
        return ""  # one subject, which GitHub issues only to the repository it names
    head = _literal_prefix(value, wild)
    if head.startswith("repo:"):
        if "/" not in head[len("repo:") :] or head[len("repo:") :].startswith("/"):
            return f'"{value}" matches repositories of any GitHub owner'
        return ""
    # A customised subject template: the owner of a repository chooses its claims, so an attacker's token
    # can start with `environment:prod` too. Only a first claim that names an owner or repository, with a
    # literal value, pins the caller down.
    claim = head.split(":", 2)
    if len(claim) < 3 or claim[0] not in _GITHUB_OWNER_CLAIMS or not claim[1]:
        return f'"{value}" does not name one GitHub owner'
    return ""


def judge_eks_subject(value: str, wild: bool) -> str:
    """EKS `system:serviceaccount:NAMESPACE:NAME`: the namespace must be literal."""
    if value and not _has_wildcard(value, wild):
        return ""
    head = _literal_prefix(value, wild)
    prefix = "system:serviceaccount:"
    if head.startswith(prefix):
        return "" if ":" in head[len(prefix) :] else f'"{value}" matches service accounts of any namespace'
    if prefix.startswith(head):
        return f'"{value}" matches service accounts of any namespace'
    return ""


_CLAIM_NAME = re.compile(r"[a-z_]+:")


def judge_subject(value: str, wild: bool) -> str:
    """Any other provider's subject. A structured one (`project_path:GROUP/...` for GitLab,
    `organization:ORG:...` for Terraform Cloud) must write out its first value up to the next separator:
    `project_path:acme*` matches a group anyone can create. An opaque one (a user id) must be literal."""
    if not value:
        return "an empty value"
    if not _has_wildcard(value, wild):
        return ""
    head = _literal_prefix(value, wild)
    claim = _CLAIM_NAME.match(head)
    rest = head[claim.end() :] if claim else ""
    if claim and rest and rest[0] not in ":/" and re.search(r"[:/]", rest):
        return ""
    return f'"{value}" matches subjects anyone can have'


_AWS_KEYS: dict[str, KeyRule] = {
    "aws:principalorgid": KeyRule(judge_identifier, optional=True),
    "aws:principalorgpaths": KeyRule(judge_org_path, optional=True),
    "aws:principalaccount": KeyRule(judge_identifier, optional=False),
    "aws:principalarn": KeyRule(judge_arn, optional=False),
    "aws:sourceaccount": KeyRule(judge_identifier, optional=True),
    "aws:sourcearn": KeyRule(judge_arn, optional=True),
    "aws:sourceorgid": KeyRule(judge_identifier, optional=True),
    "aws:sourceorgpaths": KeyRule(judge_org_path, optional=True),
    "aws:sourceowner": KeyRule(judge_identifier, optional=True),
    "sts:externalid": KeyRule(judge_identifier, optional=True),  # exact: a pattern lets the deputy's
    # other customers in, whose ExternalIds look alike
    "aws:userid": KeyRule(judge_user_id, optional=False),
}
# Who a trust of `Principal: *` must name for the role not to be public.
PUBLIC_LIMITING_KEYS = frozenset(_AWS_KEYS)
# What makes a trust of another account safe from the confused deputy.
CROSS_ACCOUNT_LIMITING_KEYS = frozenset({"sts:externalid", "aws:principalorgid", "aws:principalorgpaths"})


def oidc_key_rules(provider: str) -> dict[str, KeyRule]:
    """The condition keys of a web-identity provider's tokens that pin down who holds the token.

    GitHub and EKS subjects have structure (owner, namespace) judged on its own; an `aud` that the token's
    holder chooses (GitHub, GitLab, EKS: `sts.amazonaws.com`) never limits. Cognito's `aud` is the identity
    pool, which does; its `amr` (`authenticated`) is the same for every pool.
    """
    host = provider.split("oidc-provider/", 1)[-1].lower()
    if host.startswith("cognito-identity.amazonaws.com"):
        return {f"{host}:aud": KeyRule(judge_identifier, optional=False)}
    if host == "token.actions.githubusercontent.com" or host.startswith(
        "token.actions.githubusercontent.com/"
    ):
        return {f"{host}:sub": KeyRule(judge_github_subject, optional=False)}
    if host.startswith("oidc.eks."):
        return {f"{host}:sub": KeyRule(judge_eks_subject, optional=False)}
    return {f"{host}:sub": KeyRule(judge_subject, optional=False)}


# -- one matcher per operator family ---------------------------------------------------------------------
def _values_limit(values: Iterable[str], judge: ValueJudge, wild: bool) -> str:
    """Values of one condition are alternatives: it limits only when every one of them does."""
    for value in values:
        why = judge(value, wild)
        if why:
            return why
    return ""


def _match_string(op: str, cond: Condition, rule: KeyRule) -> str:
    """StringEquals, StringEqualsIgnoreCase (literal), StringLike (`*` and `?` are wildcards)."""
    return _values_limit(cond.values, rule.judge, op == "stringlike")


def _match_arn(op: str, cond: Condition, rule: KeyRule) -> str:
    """ArnEquals and ArnLike: both take wildcards, matched part by part, so a wildcard in the partition,
    service or region cannot stand for an account (with StringLike it could run across the colons)."""
    values = []
    for value in cond.values:
        parts = value.split(":", 5)
        if len(parts) == 6:
            parts[1:4] = [re.sub(r"[*?]", "x", part) for part in parts[1:4]]
        values.append(":".join(parts))
    return _values_limit(values, rule.judge, True)


def _match_numeric(op: str, cond: Condition, rule: KeyRule) -> str:
    """NumericEquals pins one number (an account id); a range does not."""
    if op != "numericequals":
        return f"{cond.operator} admits a range of values"
    return _values_limit(cond.values, rule.judge, False)


def _match_null(op: str, cond: Condition, rule: KeyRule) -> str:
    """Null says whether the key is present, never whose it is: an attacker can have it or leave it out."""
    return f"{cond.operator} checks only that {cond.key} is present or absent"


def _match_other(op: str, cond: Condition, rule: KeyRule) -> str:
    """Bool, Date, IpAddress, Binary on an identity key: nothing we can show pins the caller down."""
    return f"{cond.operator} does not compare {cond.key} with a name"


_NEGATED = {
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "arnnotequals",
    "arnnotlike",
    "numericnotequals",
}
_FAMILIES: dict[str, Callable[[str, Condition, KeyRule], str]] = {
    "stringequals": _match_string,
    "stringequalsignorecase": _match_string,
    "stringlike": _match_string,
    "arnequals": _match_arn,
    "arnlike": _match_arn,
    "numericequals": _match_numeric,
    "numericlessthan": _match_numeric,
    "numericlessthanequals": _match_numeric,
    "numericgreaterthan": _match_numeric,
    "numericgreaterthanequals": _match_numeric,
    "null": _match_null,
}


def condition_limits(cond: Condition, rules: dict[str, KeyRule]) -> Verdict:
    """Can this condition fail for an attacker? Only keys in `rules` can say who the caller is."""
    rule = rules.get(cond.key)
    if rule is None:
        return Verdict(False, f"{cond.key} does not say who the caller is")
    qualifier, _, base = cond.operator.lower().rpartition(":")
    if_exists = base.endswith("ifexists")
    if if_exists:
        base = base[: -len("ifexists")]
    if base in _NEGATED:
        # The attacker's own account, organisation or token is simply not in the list (or the key absent).
        return Verdict(False, f"{cond.operator} {cond.key} holds for every value it does not list")
    if qualifier == "forallvalues" and rule.optional:
        return Verdict(False, f"{cond.operator} holds when the request has no {cond.key}")
    if if_exists and rule.optional:
        return Verdict(False, f"{cond.operator} holds when the request has no {cond.key}")
    if base == "null":
        return Verdict(False, _match_null(base, cond, rule))
    family = _FAMILIES.get(base, _match_other)
    why = family(base, cond, rule)
    if why:
        return Verdict(False, f"{cond.operator} {cond.key}: {why}")
    return Verdict(True)


def conditions_limit(
    conditions: Iterable[Condition], keys: Iterable[str], rules: dict[str, KeyRule]
) -> Verdict:
    """Conditions of one statement must all hold, so one condition on `keys` that limits is enough. The
    verdict's reason names what was there and why it does not limit ("" when nothing was)."""
    wanted = frozenset(keys)
    reasons: list[str] = []
    for cond in conditions:
        if cond.key not in wanted:
            reasons.append(f"{cond.key} does not say who the caller is")
            continue
        verdict = condition_limits(cond, rules)
        if verdict.limits:
            return verdict
        reasons.append(verdict.reason)
    return Verdict(False, "; ".join(reasons))


AWS_KEY_RULES = _AWS_KEYS
