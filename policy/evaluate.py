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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from policy.catalog import Catalog
from policy.grants import DocumentGrants as DocumentGrants
from policy.grants import Grant as Grant
from policy.grants import GrantCache as GrantCache
from policy.grants import PrincipalContext as PrincipalContext
from policy.grants import condition_never_holds as condition_never_holds
from policy.grants import document_grants as document_grants
from policy.grants import grants_from as grants_from
from policy.grants import statement_never_applies as statement_never_applies
from policy.matching import _matcher as _matcher
from policy.matching import arn_matches as arn_matches
from policy.model import PolicyDocument


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
    _masks: tuple[int, int] | None = field(default=None, repr=False)

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

    def _combined(self) -> tuple[int, int]:
        if self._masks is None:
            # A mask is a Python int of one bit per catalog action (about 2.5 KB). Only the two asked of
            # every principal all through the analysis are kept; one part's masks are its own objects,
            # not copies, so memory grows with the distinct masks rather than with the principals.
            self._masks = (self._union("allowed"), self._union("denied_on_all"))
        return self._masks

    def _union(self, name: str) -> int:
        first, *rest = self.parts
        value: int = getattr(first, name)
        for part in rest:
            value |= getattr(part, name)
        return value

    @property
    def allowed(self) -> int:
        """Every action some Allow names, on some resource."""
        return self._combined()[0]

    @property
    def allowed_on_all(self) -> int:
        """Every action some Allow names on every resource (`unconditional_on_all`: under no condition).
        Asked once per principal (its direct findings): worked out each time, not kept."""
        return self._union("allowed_on_all")

    @property
    def unconditional_on_all(self) -> int:
        return self._union("unconditional_on_all")

    @property
    def denied_on_all(self) -> int:
        """Every action an unconditional Deny refuses on every resource."""
        return self._combined()[1]

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
        value = self.identity.allowed
        if self.identity.denied_on_all:
            value &= ~self.identity.denied_on_all
        for layer in [self.boundary, *self.scps]:
            if layer is not None:
                value &= layer.allowed & ~layer.denied_on_all
        # Most often nothing is refused: the identity's own mask, not a copy of it (see `PolicySet._combined`).
        self._mask_cache = (catalog, self.identity.allowed if value == self.identity.allowed else value)
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
