"""Tightened policies from observed use: keep only used actions, keep every scope, fit AWS size limits.

A tightened document never grants anything its original did not: every kept statement is its original with
fewer actions (same resources, same conditions), every Deny is kept as it was, and `grants_nothing_new`
checks the result with the engine before it is offered.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.catalog import Catalog
from policy.model import PolicyDocument, Statement, document_to_json, minified_length

# Characters AWS allows (whitespace excluded); reference/aws-facts.md.
SIZE_LIMITS = {
    "managed": 6144,
    "inline-role": 10240,
    "inline-user": 2048,
    "inline-group": 5120,
}
_VERB = re.compile(r"^[A-Z][a-z]+")


@dataclass(frozen=True)
class Usage:
    """What a principal used within the window.

    `action_level_services`: services whose last-accessed data is per action (Access Advisor tracks them);
    for those an action counts as used only if it is in `used_actions`. For other services, any use of the
    service (`used_services`) keeps all of that service's granted actions.
    """

    used_actions: frozenset[str] = frozenset()
    used_services: frozenset[str] = frozenset()
    action_level_services: frozenset[str] = frozenset()

    def is_used(self, action: str) -> bool:
        service = action.split(":", 1)[0]
        if service in self.action_level_services:
            return action in self.used_actions
        return service in self.used_services or action in self.used_actions

    @classmethod
    def of(
        cls,
        actions: Iterable[str] = (),
        services: Iterable[str] = (),
        action_level_services: Iterable[str] = (),
    ) -> Usage:
        return cls(
            frozenset(a.lower() for a in actions),
            frozenset(s.lower() for s in services),
            frozenset(s.lower() for s in action_level_services),
        )


@dataclass
class TightenedPolicy:
    name: str
    original: dict[str, Any]
    documents: list[dict[str, Any]]  # empty: the policy is no longer needed (detach or delete it)
    removed_actions: list[str]
    kept_actions: list[str]
    size: int
    limit: int
    warnings: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return all(minified_length(d) <= self.limit for d in self.documents) if self.limit else True

    @property
    def unchanged(self) -> bool:
        return not self.removed_actions


def fold_actions(kept: frozenset[str], catalog: Catalog) -> list[str]:
    """Canonical action names, folded into `service:*` or `service:Verb*` only where the wildcard matches
    nothing beyond `kept` in the catalog (so it adds nothing unused)."""
    by_service: dict[str, set[str]] = {}
    for action in kept:
        by_service.setdefault(action.split(":", 1)[0], set()).add(action)
    out: list[str] = []
    for service in sorted(by_service):
        actions = by_service[service]
        every = set(catalog.by_service.get(service, ()))
        if every and every <= actions:
            out.append(f"{catalog.name(next(iter(every))).split(':', 1)[0]}:*")
            continue
        by_verb: dict[str, set[str]] = {}
        loose: list[str] = []
        for action in sorted(actions):
            name = catalog.name(action)
            verb = _VERB.match(name.split(":", 1)[1]) if ":" in name else None
            if verb is None:
                loose.append(name)
            else:
                by_verb.setdefault(f"{name.split(':', 1)[0]}:{verb.group(0)}", set()).add(action)
        for prefix, members in sorted(by_verb.items()):
            wildcard = f"{prefix}*"
            if len(members) > 1 and catalog.expand(wildcard) <= actions:
                out.append(wildcard)
            else:
                out.extend(sorted(catalog.name(a) for a in members))
        out.extend(loose)
    return out


def _tighten_statement(
    st: Statement, catalog: Catalog, usage: Usage
) -> tuple[Statement | None, set[str], set[str]]:
    negated = st.not_actions is not None
    patterns = (st.not_actions if negated else st.actions) or ()  # the parser sets one of the two
    expanded = catalog.expand_statement(patterns, negated)
    kept = frozenset(a for a in expanded if usage.is_used(a))
    removed = set(expanded - kept)
    if not kept:
        return None, set(), removed
    if not removed and not negated:
        return st, set(kept), removed
    folded = tuple(a.lower() for a in fold_actions(kept, catalog))
    return (
        Statement(
            effect="Allow",
            actions=folded,
            not_actions=None,
            resources=st.resources,
            not_resources=st.not_resources,
            conditions=st.conditions,
            sid=st.sid,
        ),
        set(kept),
        removed,
    )


def _split(doc: PolicyDocument, limit: int, catalog: Catalog) -> list[PolicyDocument]:
    """Split a too-large document into several, each under `limit`, statement by statement and, for a
    statement too large alone, by chunks of its actions."""
    parts: list[list[Statement]] = [[]]

    def size(statements: list[Statement]) -> int:
        return minified_length(
            document_to_json(PolicyDocument(doc.name, tuple(statements)), catalog.canonical)
        )

    for st in doc.statements:
        pieces = [st]
        if size([st]) > limit and st.actions:
            pieces = []
            chunk: list[str] = []
            for action in st.actions:
                candidate = Statement(
                    st.effect, (*chunk, action), None, st.resources, st.not_resources, st.conditions
                )
                if chunk and size([candidate]) > limit:
                    pieces.append(
                        Statement(
                            st.effect, tuple(chunk), None, st.resources, st.not_resources, st.conditions
                        )
                    )
                    chunk = []
                chunk.append(action)
            if chunk:
                pieces.append(
                    Statement(st.effect, tuple(chunk), None, st.resources, st.not_resources, st.conditions)
                )
        for piece in pieces:
            if parts[-1] and size([*parts[-1], piece]) > limit:
                parts.append([])
            parts[-1].append(piece)
    return [PolicyDocument(f"{doc.name}-{i + 1}", tuple(p), doc.version) for i, p in enumerate(parts) if p]


def tighten_policy(
    doc: PolicyDocument, usage: Usage, catalog: Catalog, *, kind: str = "managed"
) -> TightenedPolicy:
    """Tighten one policy. `kind` picks the size limit: managed, inline-role, inline-user, inline-group."""
    limit = SIZE_LIMITS[kind]
    statements: list[Statement] = []
    kept_all: set[str] = set()
    removed_all: set[str] = set()
    for st in doc.statements:
        if not st.is_allow:
            statements.append(st)
            continue
        new, kept, removed = _tighten_statement(st, catalog, usage)
        kept_all |= kept
        removed_all |= removed - kept_all
        if new is not None:
            statements.append(new)
    removed_all -= kept_all
    original = document_to_json(doc, catalog.canonical) if doc.raw is None else doc.raw
    warnings: list[str] = []
    if not statements:
        # Nothing used and nothing denied: the policy can go. (A policy left with only its Deny
        # statements is kept, since removing it would widen what other policies grant.)
        documents: list[dict[str, Any]] = []
    else:
        tightened = PolicyDocument(doc.name, tuple(statements), "2012-10-17")
        if kind == "managed" and minified_length(document_to_json(tightened, catalog.canonical)) > limit:
            parts = _split(tightened, limit, catalog)
            warnings.append(
                f"split into {len(parts)} managed policies to stay under {limit:,} characters each"
            )
            documents = [document_to_json(p, catalog.canonical) for p in parts]
        else:
            documents = [document_to_json(tightened, catalog.canonical)]
    size = sum(minified_length(d) for d in documents)
    if kind != "managed" and size > limit:
        warnings.append(
            f"{size:,} characters is over the {limit:,} allowed for {kind.replace('-', ' ')} policies: "
            "apply it as a customer-managed policy instead"
        )
    return TightenedPolicy(
        name=doc.name,
        original=original,
        documents=documents,
        removed_actions=sorted(catalog.name(a) for a in removed_all),
        kept_actions=sorted(catalog.name(a) for a in kept_all),
        size=size,
        limit=limit,
        warnings=warnings,
    )


def _scope(st: Statement) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    return (
        tuple(sorted(st.resources)),
        tuple(sorted(st.not_resources)) if st.not_resources is not None else None,
    )


def grants_nothing_new(
    original: Sequence[PolicyDocument], tightened: Sequence[PolicyDocument], catalog: Catalog
) -> list[str]:
    """Problems found (empty when the tightened set is no broader than the original set).

    Each tightened Allow must be covered by original Allows of the same resource scope whose conditions
    it keeps; every original Deny must still be there.
    """
    problems: list[str] = []
    old_allows = [s for d in original for s in d.statements if s.is_allow]
    old_denies = {
        json.dumps(document_to_json(PolicyDocument("", (s,))))
        for d in original
        for s in d.statements
        if not s.is_allow
    }
    new_denies = {
        json.dumps(document_to_json(PolicyDocument("", (s,))))
        for d in tightened
        for s in d.statements
        if not s.is_allow
    }
    if old_denies - new_denies:
        problems.append(f"{len(old_denies - new_denies)} Deny statement(s) of the original are missing")
    for doc in tightened:
        for st in doc.statements:
            if not st.is_allow:
                continue
            negated = st.not_actions is not None
            patterns = (st.not_actions if negated else st.actions) or ()  # the parser sets one of the two
            wanted = set(catalog.expand_statement(patterns, negated))
            conds = set(st.conditions)
            for old in old_allows:
                if _scope(old) == _scope(st) and set(old.conditions) <= conds:
                    old_patterns = old.not_actions if old.not_actions is not None else old.actions
                    wanted -= catalog.expand_statement(old_patterns, old.not_actions is not None)
                if not wanted:
                    break
            if wanted:
                sample = ", ".join(sorted(catalog.name(a) for a in wanted)[:5])
                problems.append(f"{doc.name}: grants {len(wanted)} action(s) the original does not: {sample}")
    return problems


def policy_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Unified diff of two documents, pretty-printed with sorted keys so only real changes show."""

    def lines(doc: dict[str, Any] | None) -> list[str]:
        return json.dumps(doc, indent=2, sort_keys=True).splitlines() if doc is not None else []

    return list(difflib.unified_diff(lines(before), lines(after), "current", "tightened", lineterm="", n=3))
