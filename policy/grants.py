"""Statements as grants of one principal: resolved resources, action masks, conditions that never hold."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from policy.catalog import Catalog
from policy.matching import _matcher, arn_matches
from policy.model import Condition, PolicyDocument, Statement

_DATE_LESS = {"DateLessThan", "DateLessThanEquals"}
_NUM_LESS = {"NumericLessThan", "NumericLessThanEquals"}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class PrincipalContext:
    """What policy variables and self-referencing resources resolve against."""

    arn: str
    name: str
    kind: str  # "user" | "role" | "group"
    account_id: str
    # The principal's own tags (key lower-cased): they decide aws:PrincipalTag conditions. None: unknown.
    tags: tuple[tuple[str, str], ...] | None = None


def _parse_date(value: str) -> datetime | None:
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), tz=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


# The longest a temporary credential lives (GetSessionToken, GetFederationToken): a token issued before
# now minus this is expired.
MAX_TOKEN_AGE = timedelta(hours=36)
_EVERY_ADDRESS = {"0.0.0.0/0", "::/0"}
_STRING_EQUALS = {"StringEquals": False, "StringEqualsIgnoreCase": True}


def _principal_tag(cond: Condition, ctx: PrincipalContext | None) -> bool | None:
    """Does a StringEquals on aws:PrincipalTag/KEY hold for this principal (its own tags decide), or None
    when the snapshot cannot say (no principal, a set operator, another operator)."""
    if ctx is None or ctx.tags is None or not cond.key.startswith("aws:principaltag/"):
        return None
    if cond.operator.startswith("For") or cond.base_operator not in _STRING_EQUALS:
        return None
    tags = dict(ctx.tags)
    value = tags.get(cond.key.split("/", 1)[1])
    if value is None:
        return cond.if_exists  # an absent key satisfies ...IfExists and nothing else
    if _STRING_EQUALS[cond.base_operator]:
        return value.lower() in {v.lower() for v in cond.values}
    return value in cond.values


def condition_never_holds(cond: Condition, now: datetime, ctx: PrincipalContext | None = None) -> bool:
    """True only for conditions we can prove false for every request from now on."""
    if cond.key in ("aws:currenttime", "aws:tokenissuetime") and not cond.operator.startswith("For"):
        if cond.base_operator in _DATE_LESS:
            # The request time is now or later; a live token was issued at most MAX_TOKEN_AGE ago.
            bound = now if cond.key == "aws:currenttime" else now - MAX_TOKEN_AGE
            dates = [_parse_date(v) for v in cond.values]
            return all(d is not None and d <= bound for d in dates)
        return False
    if cond.key == "aws:epochtime" and cond.base_operator in _NUM_LESS:
        try:
            return all(float(v) <= now.timestamp() for v in cond.values)
        except ValueError:
            return False
    if cond.key == "aws:sourceip" and cond.base_operator == "NotIpAddress" and not cond.if_exists:
        return set(cond.values) >= _EVERY_ADDRESS  # no address is outside every range
    return _principal_tag(cond, ctx) is False


def condition_always_holds(cond: Condition, ctx: PrincipalContext | None = None) -> bool:
    """True for conditions every request meets: the snapshot decides them (a source address in every
    range; the principal's own tag)."""
    if (
        cond.key == "aws:sourceip"
        and cond.base_operator == "IpAddress"
        and not cond.operator.startswith("For")
    ):
        return set(cond.values) >= _EVERY_ADDRESS
    return _principal_tag(cond, ctx) is True


def statement_never_applies(statement: Statement, now: datetime, ctx: PrincipalContext | None = None) -> bool:
    return any(condition_never_holds(c, now, ctx) for c in statement.conditions)


def _resolve_variables(pattern: str, ctx: PrincipalContext | None) -> str:
    if "${" not in pattern:
        return pattern

    def sub(match: re.Match[str]) -> str:
        var = match.group(1).lower()
        if var in ("*", "?", "$"):
            return "\x00" + var  # literal, restored below
        if ctx is not None:
            if var == "aws:username" and ctx.kind == "user":
                return ctx.name
            if var == "aws:principalaccount":
                return ctx.account_id
        return "*"  # unknown at analysis time: could be anything

    resolved = _VARIABLE.sub(sub, pattern)
    return resolved.replace("\x00*", "\\*").replace("\x00?", "\\?").replace("\x00$", "$")


@dataclass(slots=True)
class Grant:
    """One statement as it applies to one principal: its actions (a catalog mask), resolved resources,
    source. Shared between principals (grants of a document are made once): never change one, make a new
    one (`with_mask`). Not frozen only because a frozen dataclass is made five times slower, and an
    account has tens of thousands of grants."""

    statement: Statement
    source: str
    mask: int
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None
    conditional: bool = False
    all_resources: bool = False

    @classmethod
    def of(
        cls,
        statement: Statement,
        source: str,
        mask: int,
        resources: tuple[str, ...],
        not_resources: tuple[str, ...] | None,
        conditional: bool | None = None,
    ) -> Grant:
        return cls(
            statement,
            source,
            mask,
            resources,
            not_resources,
            bool(statement.conditions) if conditional is None else conditional,
            not_resources is None and "*" in resources,
        )

    def with_mask(self, mask: int) -> Grant:
        return Grant(
            self.statement,
            self.source,
            mask,
            self.resources,
            self.not_resources,
            self.conditional,
            self.all_resources,
        )

    def covers(self, resource: str) -> bool:
        """Does this statement apply to `resource`? `*` asks: to every resource?"""
        if resource == "*":
            if self.not_resources is not None:
                return False
            return "*" in self.resources
        if self.not_resources is not None:
            return not _matcher(self.not_resources).matches(resource)
        return _matcher(self.resources).matches(resource)

    def covering(self, arns: Sequence[str]) -> list[str]:
        """The ARNs this statement applies to, in order (`covers` for many ARNs at once)."""
        if self.all_resources:
            return list(arns)
        if self.not_resources is not None:
            named = set(_matcher(self.not_resources).matching(arns))
            return [a for a in arns if a not in named]
        return _matcher(self.resources).matching(arns)

    def touches(self, resource: str) -> bool:
        """Could this statement apply to some resource that `resource` (a pattern) matches?"""
        if self.covers(resource):
            return True
        if self.not_resources is not None:
            return True
        return any(arn_matches(resource, p) or arn_matches(p, resource) for p in self.resources)


def _document_grants(
    doc: PolicyDocument, catalog: Catalog, ctx: PrincipalContext | None, now: datetime
) -> tuple[list[Grant], list[Grant], list[str]]:
    allows: list[Grant] = []
    denies: list[Grant] = []
    warnings: list[str] = []
    for st in doc.statements:
        if st.principal is not None or st.not_principal is not None:
            continue  # resource-policy statements say nothing about identity permissions
        if statement_never_applies(st, now, ctx):
            continue
        # Conditions the snapshot decides in the request's favour leave the grant unconditional.
        conditional = bool(st.conditions) and any(not condition_always_holds(c, ctx) for c in st.conditions)
        negated = st.not_actions is not None
        patterns = (st.not_actions if negated else st.actions) or ()  # the parser sets one of the two
        mask, problems = catalog.statement_info(patterns, negated)
        for problem in problems:
            warnings.append(f"{doc.name}: {problem}")
        grant = Grant.of(
            st,
            doc.name,
            mask,
            tuple(_resolve_variables(r, ctx) for r in st.resources),
            (
                tuple(_resolve_variables(r, ctx) for r in st.not_resources)
                if st.not_resources is not None
                else None
            ),
            conditional,
        )
        (allows if st.is_allow else denies).append(grant)
    return allows, denies, warnings


def _uses_variables(doc: PolicyDocument) -> bool:
    """Does the document read something of the principal (a policy variable, a principal tag)? Then its
    grants are worked out per principal, not shared."""
    return any("${" in r for st in doc.statements for r in (*st.resources, *(st.not_resources or ()))) or any(
        c.key.startswith("aws:principaltag/") for st in doc.statements for c in st.conditions
    )


class DocumentGrants:
    """The grants of one document as they apply to a principal, with an index by action of their own.
    Documents without policy variables are shared by every principal they are attached to, so each
    question about an action is answered once per document, not once per principal."""

    __slots__ = (
        "_on",
        "allowed",
        "allowed_on_all",
        "allows",
        "denied",
        "denied_on_all",
        "denies",
        "unconditional_on_all",
        "warnings",
    )

    def __init__(self, allows: list[Grant], denies: list[Grant], warnings: list[str]) -> None:
        self.allows = allows
        self.denies = denies
        self.warnings = warnings
        allowed = denied = on_all = unconditional = denied_on_all = 0
        for g in allows:
            allowed |= g.mask
            if g.all_resources:
                on_all |= g.mask
                if not g.conditional:
                    unconditional |= g.mask
        for g in denies:
            denied |= g.mask
            if g.all_resources and not g.conditional:
                denied_on_all |= g.mask
        # Equal masks are one object (an int of one bit per catalog action, about 2.5 KB): most documents
        # allow on every resource what they allow at all.
        on_all = allowed if on_all == allowed else on_all
        unconditional = on_all if unconditional == on_all else unconditional
        denied_on_all = denied if denied_on_all == denied else denied_on_all
        self.allowed = allowed  # every action some Allow here names
        self.denied = denied
        self.allowed_on_all = on_all  # ... on every resource
        self.unconditional_on_all = unconditional  # ... on every resource, under no condition
        self.denied_on_all = denied_on_all  # every action some unconditional Deny refuses everywhere
        self._on: dict[str, tuple[tuple[Grant, ...], tuple[Grant, ...]]] = {}

    def on_action(self, action: str, bit: int) -> tuple[tuple[Grant, ...], tuple[Grant, ...]]:
        """The Allow and the Deny grants that name `action` (whose bit is `bit`)."""
        hit = self._on.get(action)
        if hit is None:
            hit = self._on[action] = (
                tuple(g for g in self.allows if g.mask & bit) if self.allowed & bit else (),
                tuple(g for g in self.denies if g.mask & bit) if self.denied & bit else (),
            )
        return hit


class GrantCache:
    """Grants of documents that read no policy variable are the same for every principal: managed policies
    attached to many principals are expanded once per analysis instead of once per principal."""

    def __init__(self) -> None:
        self._by_doc: dict[int, tuple[PolicyDocument, datetime, DocumentGrants]] = {}

    def grants(
        self, doc: PolicyDocument, catalog: Catalog, ctx: PrincipalContext | None, now: datetime
    ) -> DocumentGrants:
        hit = self._by_doc.get(id(doc))
        if hit is not None and hit[0] is doc and hit[1] == now:
            return hit[2]
        result = DocumentGrants(*_document_grants(doc, catalog, ctx, now))
        if not _uses_variables(doc):
            self._by_doc[id(doc)] = (doc, now, result)
        return result


def document_grants(
    documents: Iterable[PolicyDocument],
    catalog: Catalog,
    ctx: PrincipalContext | None,
    now: datetime,
    cache: GrantCache | None = None,
) -> list[DocumentGrants]:
    """The grants of each document."""
    if cache is None:
        return [DocumentGrants(*_document_grants(doc, catalog, ctx, now)) for doc in documents]
    return [cache.grants(doc, catalog, ctx, now) for doc in documents]


def grants_from(
    documents: Iterable[PolicyDocument],
    catalog: Catalog,
    ctx: PrincipalContext | None,
    now: datetime,
    cache: GrantCache | None = None,
) -> tuple[list[Grant], list[Grant], list[str]]:
    """Allow and Deny grants of some documents, plus unknown-action warnings."""
    allows: list[Grant] = []
    denies: list[Grant] = []
    warnings: list[str] = []
    for part in document_grants(documents, catalog, ctx, now, cache):
        allows += part.allows
        denies += part.denies
        warnings += part.warnings
    return allows, denies, warnings
