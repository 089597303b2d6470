"""Effective permissions of one principal: Allow/Deny, NotAction/NotResource, boundaries, SCPs, conditions.

Semantics kept here (documented in docs/risk-score.md):
- an explicit Deny without conditions removes a grant wherever its actions and resources cover it;
- a Deny whose conditions could hold leaves the grant but marks it conditional (it may be refused);
- a statement whose conditions can never hold (a date in the past for DateLessThan aws:CurrentTime)
  is dropped, Allow or Deny;
- any other condition narrows a grant (conditional=True) but does not remove its risk;
- a permissions boundary and each SCP level must also allow the action.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from policy.catalog import Catalog
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


def _parse_date(value: str) -> datetime | None:
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), tz=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def condition_never_holds(cond: Condition, now: datetime) -> bool:
    """True only for conditions we can prove false for every request from now on."""
    if (
        cond.key == "aws:currenttime"
        and cond.base_operator in _DATE_LESS
        and not cond.operator.startswith("For")
    ):
        dates = [_parse_date(v) for v in cond.values]
        return all(d is not None and d <= now for d in dates)
    if cond.key == "aws:epochtime" and cond.base_operator in _NUM_LESS:
        try:
            return all(float(v) <= now.timestamp() for v in cond.values)
        except ValueError:
            return False
    return False


def statement_never_applies(statement: Statement, now: datetime) -> bool:
    return any(condition_never_holds(c, now) for c in statement.conditions)


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


_ARN_CACHE: dict[str, re.Pattern[str]] = {}
_CACHE_LIMIT = 50_000  # compiled patterns kept per process; a long-lived worker starts over past it


def _glob_to_regex(pattern: str) -> str:
    parts = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return "".join(parts)


def _arn_regex(pattern: str) -> re.Pattern[str]:
    rx = _ARN_CACHE.get(pattern)
    if rx is None:
        if len(_ARN_CACHE) >= _CACHE_LIMIT:
            _ARN_CACHE.clear()
        rx = _ARN_CACHE[pattern] = re.compile(_glob_to_regex(pattern), re.DOTALL)
    return rx


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM resource matching: `*` and `?` wildcards, case-sensitive."""
    if pattern == "*" or pattern == arn:
        return True
    return _arn_regex(pattern).fullmatch(arn) is not None


class _ResourceMatcher:
    """Which ARNs a Resource list names. Names without wildcards are a set. A pattern whose only wildcard
    is `*` is matched piece by piece with string methods (no regex to compile); the rest, by regex. Either
    is tried only on ARNs that start with the pattern's literal prefix."""

    __slots__ = ("combined", "everything", "exact", "patterns", "wild")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self.combined: re.Pattern[str] | None = None
        self.everything = "*" in patterns
        exact: set[str] = set()
        wild: list[tuple[str, tuple[str, ...] | None, str]] = []
        for p in patterns:
            cuts = [i for i in (p.find("*"), p.find("?"), p.find("\\")) if i >= 0]
            if not cuts:
                exact.add(p)
            elif "?" in p or "\\" in p:
                wild.append((p[: min(cuts)], None, p))
            else:
                wild.append((p[: min(cuts)], tuple(p.split("*")), p))
        self.exact = frozenset(exact)
        self.wild = tuple(wild)

    def matches(self, arn: str) -> bool:
        if self.everything or arn in self.exact:
            return True
        for prefix, pieces, pattern in self.wild:
            if not arn.startswith(prefix):
                continue
            if pieces is None:
                if _arn_regex(pattern).fullmatch(arn) is not None:
                    return True
            elif _star_match(pieces, arn):
                return True
        return False

    def matching(self, arns: Sequence[str]) -> list[str]:
        """The ARNs this list names, in order: one regex over all patterns, run by `filter` in C, pays for
        its compilation when many ARNs are asked at once."""
        if self.everything:
            return list(arns)
        if self.combined is None:
            self.combined = re.compile("|".join(f"(?:{_glob_to_regex(p)})" for p in self.patterns), re.DOTALL)
        return list(filter(self.combined.fullmatch, arns))


def _star_match(pieces: tuple[str, ...], text: str) -> bool:
    """Does `text` match the pattern `"*".join(pieces)` (at least two pieces)? Each `*` takes any run of
    characters, so finding each middle piece leftmost after the previous one decides it."""
    first, last = pieces[0], pieces[-1]
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return False
    pos = len(first)
    for piece in pieces[1:-1]:
        at = text.find(piece, pos, end)
        if at < 0:
            return False
        pos = at + len(piece)
    return True


_MATCHERS: dict[tuple[str, ...], _ResourceMatcher] = {}


def _matcher(patterns: tuple[str, ...]) -> _ResourceMatcher:
    hit = _MATCHERS.get(patterns)
    if hit is None:
        if len(_MATCHERS) >= _CACHE_LIMIT:
            _MATCHERS.clear()
        hit = _MATCHERS[patterns] = _ResourceMatcher(patterns)
    return hit


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
    ) -> Grant:
        return cls(
            statement,
            source,
            mask,
            resources,
            not_resources,
            bool(statement.conditions),
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


class Decision(NamedTuple):
    """The answer to one question (action, resource). A named tuple: tens of thousands are made per
    account, and a tuple is made several times faster than a frozen dataclass."""

    allowed: bool
    conditional: bool = False
    sources: tuple[str, ...] = ()
    denied_by: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


DENIED = Decision(False)


def _document_grants(
    doc: PolicyDocument, catalog: Catalog, ctx: PrincipalContext | None, now: datetime
) -> tuple[list[Grant], list[Grant], list[str]]:
    allows: list[Grant] = []
    denies: list[Grant] = []
    warnings: list[str] = []
    for st in doc.statements:
        if st.principal is not None or st.not_principal is not None:
            continue  # resource-policy statements say nothing about identity permissions
        if statement_never_applies(st, now):
            continue
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
        )
        (allows if st.is_allow else denies).append(grant)
    return allows, denies, warnings


def _uses_variables(doc: PolicyDocument) -> bool:
    return any("${" in r for st in doc.statements for r in (*st.resources, *(st.not_resources or ())))


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


@dataclass
class PolicySet:
    """Allow and Deny grants of one layer (identity policies, the boundary, or one SCP level)."""

    allows: list[Grant]
    denies: list[Grant]
    catalog: Catalog
    # The same grants document by document (see DocumentGrants); one part when made from a list.
    parts: Sequence[DocumentGrants] = ()
    # Grants per action, filled on first question about that action (most principals are asked about
    # the same few hundred actions, against many resources).
    _allows_for: dict[str, list[Grant]] = field(default_factory=dict, repr=False)
    _denies_for: dict[str, list[Grant]] = field(default_factory=dict, repr=False)
    _masks: tuple[int, int, int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.parts:
            self.parts = (DocumentGrants(self.allows, self.denies, []),)

    @classmethod
    def of_documents(cls, parts: Sequence[DocumentGrants], catalog: Catalog) -> PolicySet:
        allows: list[Grant] = []
        denies: list[Grant] = []
        for part in parts:
            allows += part.allows
            denies += part.denies
        return cls(allows, denies, catalog, parts)

    def replace_allows(self, allows: list[Grant]) -> None:
        """Use other Allow grants (before any question is asked)."""
        self.allows = allows
        self.parts = (DocumentGrants(allows, self.denies, []),)
        self._allows_for.clear()
        self._denies_for.clear()
        self._masks = None

    def _combined(self) -> tuple[int, int, int, int]:
        if self._masks is None:
            allowed = on_all = unconditional = denied_on_all = 0
            for part in self.parts:
                allowed |= part.allowed
                on_all |= part.allowed_on_all
                unconditional |= part.unconditional_on_all
                denied_on_all |= part.denied_on_all
            self._masks = (allowed, on_all, unconditional, denied_on_all)
        return self._masks

    @property
    def allowed(self) -> int:
        """Every action some Allow names, on some resource."""
        return self._combined()[0]

    @property
    def allowed_on_all(self) -> int:
        """Every action some Allow names on every resource (`unconditional_on_all`: under no condition)."""
        return self._combined()[1]

    @property
    def unconditional_on_all(self) -> int:
        return self._combined()[2]

    @property
    def denied_on_all(self) -> int:
        """Every action an unconditional Deny refuses on every resource."""
        return self._combined()[3]

    def _index(self, action: str) -> tuple[list[Grant], list[Grant]]:
        allows = self._allows_for.get(action)
        if allows is None:
            bit = self.catalog.bit(action)
            allows = []
            denies: list[Grant] = []
            for part in self.parts:
                on_allows, on_denies = part.on_action(action, bit)
                if on_allows:
                    allows += on_allows
                if on_denies:
                    denies += on_denies
            self._allows_for[action] = allows
            self._denies_for[action] = denies
        return allows, self._denies_for[action]

    def grants_on_action(self, action: str) -> list[Grant]:
        return self._index(action.lower())[0]

    def denies_on_action(self, action: str) -> list[Grant]:
        return self._index(action.lower())[1]

    def decide(self, action: str, resource: str = "*") -> Decision:
        action = action.lower()
        allows, denies = self._index(action)
        if not allows:
            return DENIED
        matching = [g for g in allows if g.covers(resource)]
        if not matching:
            return DENIED
        conditional = all(g.conditional for g in matching)
        denied_by: list[str] = []
        for d in denies:
            # A Deny on some resources leaves the grant on the others, so only a Deny on every
            # resource removes a grant on `*`.
            hits = d.all_resources if resource == "*" else d.covers(resource)
            if not hits:
                continue
            if d.conditional:
                conditional = True
                denied_by.append(d.source)
            else:
                return Decision(False, False, (), (d.source,))
        return Decision(True, conditional, tuple(sorted({g.source for g in matching})), tuple(denied_by))


@dataclass
class PrincipalPermissions:
    """Everything one principal may do: its identity policies capped by boundary and SCPs."""

    context: PrincipalContext
    identity: PolicySet
    boundary: PolicySet | None = None
    scps: Sequence[PolicySet] = ()
    warnings: list[str] = field(default_factory=list)
    catalog: Catalog | None = field(default=None, repr=False)
    _allowed_cache: frozenset[str] | None = field(default=None, repr=False)
    _mask_cache: tuple[Catalog, int] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        context: PrincipalContext,
        documents: Iterable[PolicyDocument],
        catalog: Catalog,
        *,
        boundary: PolicyDocument | None = None,
        scps: Sequence[Sequence[PolicyDocument]] = (),
        now: datetime | None = None,
        cache: GrantCache | None = None,
    ) -> PrincipalPermissions:
        now = now or datetime.now(tz=UTC)
        parts = document_grants(documents, catalog, context, now, cache)
        warnings = [w for part in parts for w in part.warnings]
        perms = cls(context, PolicySet.of_documents(parts, catalog), warnings=warnings, catalog=catalog)
        if boundary is not None:
            perms.boundary = PolicySet.of_documents(
                document_grants([boundary], catalog, context, now, cache), catalog
            )
        perms.scps = [
            PolicySet.of_documents(document_grants(level, catalog, context, now, cache), catalog)
            for level in scps
        ]
        return perms

    def decide(self, action: str, resource: str = "*") -> Decision:
        decision = self.identity.decide(action, resource)
        if not decision.allowed:
            return decision
        for layer in [self.boundary, *self.scps]:
            if layer is None:
                continue
            capped = layer.decide(action, resource)
            if not capped.allowed:
                return Decision(False, False, (), capped.denied_by or ("permissions boundary or SCP",))
            if capped.conditional:
                decision = Decision(True, True, decision.sources, decision.denied_by + capped.denied_by)
        return decision

    def allows(self, action: str, resource: str = "*") -> bool:
        return self.decide(action, resource).allowed

    def allows_somewhere(self, action: str, catalog: Catalog | None = None) -> Decision:
        """Allowed on at least one resource (an Allow not cancelled there by a Deny, boundary or SCP).

        With a catalog, only resources that could be of a type the action acts on count, so a service
        action granted on an IAM role ARN does not count as usable.
        """
        action = action.lower()
        for g in self.identity.grants_on_action(action):
            if g.not_resources is not None:
                decision = self._decide_without_resource_check(action)
            else:
                resources = [
                    r for r in g.resources if catalog is None or catalog.resource_could_apply(action, r)
                ]
                decision = next((d for r in resources if (d := self.decide(action, r)).allowed), DENIED)
            if decision.allowed:
                return decision
        return DENIED

    def _decide_without_resource_check(self, action: str) -> Decision:
        for d in self.identity.denies_on_action(action):
            if d.all_resources and not d.conditional:
                return DENIED
        for layer in [self.boundary, *self.scps]:
            if layer is not None and not layer.grants_on_action(action):
                return DENIED
        return Decision(True)

    def allowed_actions(self) -> frozenset[str]:
        """Every action allowed on at least some resource (used for unused-permission and tightening)."""
        if self._allowed_cache is None:
            if self.catalog is None:
                raise ValueError("allowed_actions() needs permissions built with a catalog")
            self._allowed_cache = self.catalog.actions_of(self.allowed_mask(self.catalog))
        return self._allowed_cache

    def allowed_mask(self, catalog: Catalog) -> int:
        """Actions allowed on at least some resource, as a catalog mask."""
        if self._mask_cache is not None and self._mask_cache[0] is catalog:
            return self._mask_cache[1]
        value = self.identity.allowed & ~self.identity.denied_on_all
        for layer in [self.boundary, *self.scps]:
            if layer is not None:
                value &= layer.allowed & ~layer.denied_on_all
        self._mask_cache = (catalog, value)
        return value

    def grants_for(self, action: str) -> list[Grant]:
        """The identity Allow grants of an action (indexed on first use)."""
        return self.identity.grants_on_action(action)

    def plain_on_action(self, action: str) -> bool:
        """True when this action's decision is the same for every resource: every Allow of it names all
        resources, and no Deny, boundary or SCP could say otherwise for some resource."""
        if self.boundary is not None or self.scps:
            return False
        allows = self.identity.grants_on_action(action)
        return not self.identity.denies_on_action(action) and all(g.all_resources for g in allows)
