"""What the organisation's SCPs and RCPs take away from a principal, policy by policy.

`PrincipalPermissions` already caps identity permissions by each SCP level; `scp_caps` says which policy
did it, for the principal page and the offline report ("iam:* denied by SCP deny-iam-outside-admins").

SCP conditions that name the principal are decided per principal (`ScpLevels.for_principal`): an SCP
"deny iam:* unless aws:PrincipalArn is like arn:aws:iam::*:role/admin-*" caps every principal but the
admin-* roles, and caps them for certain, not "maybe". The snapshot decides aws:PrincipalArn (a user's or
role's ARN; a group's members are unknown), aws:PrincipalAccount, aws:PrincipalOrgID (when the organisation
is known), aws:PrincipalTag/KEY (the principal's own tags, as `policy.grants` reads them),
aws:PrincipalType and aws:PrincipalIsAWSService. Keys the request decides (aws:RequestedRegion,
aws:SourceIp, ...) keep their statement conditional.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from policy.catalog import Catalog
from policy.evaluate import PolicySet, PrincipalContext, PrincipalPermissions
from policy.model import Condition, PolicyDocument, Statement

MAX_NAMED = 12


@dataclass(frozen=True, slots=True)
class ScpCap:
    source: (
        str  # the policy ("SCP deny-iam-outside-admins"), or the policies of a level that allow too little
    )
    how: str  # "denied": a Deny names the actions; "not-allowed": no policy of that level allows them
    actions: tuple[str, ...]  # `service:*` where the whole service is taken, else action names
    count: int  # actions taken, of those the principal's own policies grant
    conditional: bool  # every Deny of it is under conditions or on some resources only
    truncated: bool = False  # `actions` names only the first of them

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "how": self.how,
            "actions": list(self.actions),
            "count": self.count,
            "conditional": self.conditional,
            "truncated": self.truncated,
        }

    def sentence(self) -> str:
        names = ", ".join(self.actions) + (" …" if self.truncated else "")
        verb = "may be denied" if self.conditional else "denied"
        if self.how == "denied":
            return f"{names} {verb} by {self.source}"
        return f"{names} not allowed by any of {self.source}"


def summarise(mask: int, catalog: Catalog, limit: int = MAX_NAMED) -> tuple[tuple[str, ...], bool]:
    """A mask as `service:*` for each service it holds whole, then single names, at most `limit`; and
    whether some were left out."""
    names: list[str] = []
    partial = 0
    for service in sorted({a.partition(":")[0] for a in catalog.actions_of(mask)}):
        whole = catalog.services_mask([service])
        if whole & ~mask == 0:
            names.append(f"{service}:*")
        else:
            partial |= mask & whole
    whole_count = len(names)
    names += catalog.first_names(partial, max(0, limit - len(names)))
    truncated = whole_count > limit or len(names) - whole_count < partial.bit_count()
    return tuple(names[:limit]), truncated


def _level_sources(level: PolicySet) -> str:
    return ", ".join(sorted({g.source for g in (*level.allows, *level.denies)})) or "the SCPs of a level"


def scp_caps(perms: PrincipalPermissions, catalog: Catalog) -> list[ScpCap]:
    """Each SCP (or RCP) level's share of what the principal's own policies (after its boundary) grant."""
    if not perms.scps:
        return []
    held = perms.identity.allowed & ~perms.identity.denied_on_all
    if perms.boundary is not None:
        held &= perms.boundary.allowed & ~perms.boundary.denied_on_all
    found: dict[tuple[str, str], list[int]] = {}  # (source, how) -> [mask, every Deny conditional]
    for level in perms.scps:
        for deny in level.denies:
            hit = held & deny.mask
            if hit:
                entry = found.setdefault((deny.source, "denied"), [0, 1])
                entry[0] |= hit
                entry[1] &= int(deny.conditional or not deny.all_resources)
        missing = held & ~level.allowed
        if missing:
            entry = found.setdefault((_level_sources(level), "not-allowed"), [0, 0])
            entry[0] |= missing
    caps = []
    for (source, how), (mask, conditional) in found.items():
        names, truncated = summarise(mask, catalog)
        caps.append(ScpCap(source, how, names, mask.bit_count(), bool(conditional), truncated))
    return sorted(caps, key=lambda c: (c.conditional, -c.count, c.source))


# --- conditions the snapshot decides, per principal ---------------------------------------------------

_SIMPLE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_PRINCIPAL_TYPE = {"user": "User", "role": "AssumedRole", "group": "User"}


def principal_value(key: str, ctx: PrincipalContext, organization_id: str | None) -> tuple[bool, str | None]:
    """(decided, value) of a request-context key for every request this principal makes: (True, None)
    when the key is surely absent, (False, None) when the snapshot cannot say."""
    if key == "aws:principalaccount":
        return True, ctx.account_id
    if key == "aws:principalorgid":
        return (True, organization_id) if organization_id else (False, None)
    if key == "aws:principalisawsservice":
        return True, "false"
    if key == "aws:principaltype":
        return True, _PRINCIPAL_TYPE.get(ctx.kind, "User")
    if ctx.kind == "group":
        return False, None  # the request is made by one of its members: their ARN and tags decide
    if key == "aws:principalarn":
        return True, ctx.arn
    if key.startswith("aws:principaltag/") and ctx.tags is not None:
        return True, dict(ctx.tags).get(key.split("/", 1)[1])
    return False, None


def _glob(pattern: str, value: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own."""
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(got) == 6 and all(_glob(w, g) for w, g in zip(wanted, got, strict=True))


def _matches(base: str, expected: Sequence[str], value: str) -> bool:
    if base == "StringEquals" or base == "ArnEquals":
        return value in expected
    if base == "StringEqualsIgnoreCase" or base == "Bool":
        return value.lower() in {e.lower() for e in expected}
    if base == "StringLike":
        return any(_glob(e, value) for e in expected)
    return any(_arn_like(e, value) for e in expected)  # ArnLike


def condition_for_principal(
    cond: Condition, ctx: PrincipalContext, organization_id: str | None = None
) -> bool | None:
    """Does the condition hold for every request of this principal (True), for none (False), or does the
    request decide (None)? Keys are single-valued, so ForAnyValue needs the key and ForAllValues holds
    without it."""
    decided, value = principal_value(cond.key, ctx, organization_id)
    if not decided or any("${" in v for v in cond.values):
        return None
    qualifier = cond.operator.split(":", 1)[0] if ":" in cond.operator else ""
    base = cond.base_operator
    if base == "Null":
        if cond.if_exists or qualifier:
            return None
        return (value is None) == ("true" in {v.lower() for v in cond.values})
    negated = base in _NEGATED
    family = _NEGATED.get(base, base)
    if family not in _SIMPLE:
        return None
    if value is None:
        if qualifier == "ForAnyValue":
            return False
        if qualifier == "ForAllValues":
            return True
        return cond.if_exists or negated
    hit = _matches(family, cond.values, value)
    return not hit if negated else hit


def statement_for_principal(
    st: Statement, ctx: PrincipalContext, organization_id: str | None
) -> tuple[Statement | None, bool]:
    """The statement as it applies to this principal: None when a condition never holds for it, else
    without the conditions that always hold; and whether anything was decided."""
    kept: list[Condition] = []
    for cond in st.conditions:
        holds = condition_for_principal(cond, ctx, organization_id)
        if holds is False:
            return None, True
        if holds is None:
            kept.append(cond)
    if len(kept) == len(st.conditions):
        return st, False
    return replace(st, conditions=tuple(kept)), True


class ScpLevels:
    """SCP (and RCP) levels, root first, resolved per principal. Principals for whom the same conditions
    come out the same way share the same resolved documents, so the engine's grant cache still serves
    each document once."""

    def __init__(
        self, levels: Sequence[Sequence[PolicyDocument]], organization_id: str | None = None
    ) -> None:
        self.levels = levels
        self.organization_id = organization_id
        self._resolved: dict[tuple[int, tuple[tuple[Condition, ...] | None, ...]], PolicyDocument] = {}

    def _document(self, doc: PolicyDocument, ctx: PrincipalContext) -> PolicyDocument:
        if not any(st.conditions for st in doc.statements):
            return doc
        outcome = [statement_for_principal(st, ctx, self.organization_id) for st in doc.statements]
        if not any(changed for _, changed in outcome):
            return doc
        key = (id(doc), tuple(None if st is None else st.conditions for st, _ in outcome))
        found = self._resolved.get(key)
        if found is None:
            statements = tuple(st for st, _ in outcome if st is not None)
            found = self._resolved[key] = replace(doc, statements=statements)
        return found

    def for_principal(self, ctx: PrincipalContext) -> list[list[PolicyDocument]]:
        return [[self._document(doc, ctx) for doc in level] for level in self.levels]
