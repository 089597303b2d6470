"""Tightened policies from observed use: keep what is used or unknown, keep every scope, fit AWS size limits.

A tightened document never grants anything its original did not: every kept statement is its original with
fewer actions (same resources, same conditions, same reading of `${...}`), every Deny is kept as it was (in
every part of a split), a wildcard is kept only where the original wrote it and every action it names is
kept, and `grants_nothing_new` checks the result before it is offered.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from policy.catalog import Catalog
from policy.globs import covers, is_wildcard, may_overlap, tokens
from policy.model import PolicyDocument, Statement, document_to_json, minified_length
from policy.newaccess import grants_nothing_new
from policy.usage import ActionUse, Usage

__all__ = [
    "SIZE_LIMITS",
    "TightenedPolicy",
    "Usage",
    "fold_actions",
    "grants_nothing_new",
    "inline_total_warning",
    "policy_diff",
    "tighten_policy",
]

# Characters AWS allows (whitespace excluded); reference/aws-facts.md. The inline limits are for all of a
# principal's inline policies together.
SIZE_LIMITS = {
    "managed": 6144,
    "inline-role": 10240,
    "inline-user": 2048,
    "inline-group": 5120,
}


@dataclass
class TightenedPolicy:
    name: str
    original: dict[str, Any]
    documents: list[dict[str, Any]]  # empty: the policy is no longer needed (detach or delete it)
    removed_actions: list[str]
    kept_actions: list[str]  # used or unknown
    size: int
    limit: int
    warnings: list[str] = field(default_factory=list)
    # Kept only because Access Advisor cannot tell whether they are used (a subset of kept_actions).
    unknown_actions: list[str] = field(default_factory=list)
    # Filled by the caller when it narrows resources (`policy.scope`): what was narrowed, what was not.
    narrowed: list[dict[str, Any]] = field(default_factory=list)
    scope_left: dict[str, str] = field(default_factory=dict)
    # The documents of each stage before the last, for a staged change ("services", "actions").
    stages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        """Does every document fit its limit? A policy that does not must not be offered."""
        return all(minified_length(d) <= self.limit for d in self.documents) if self.limit else True

    @property
    def unchanged(self) -> bool:
        return not self.removed_actions


def inline_total_warning(sizes: Iterable[int], kind: str) -> str | None:
    """A principal's inline policies share one limit: given the sizes of all of them after a change (the
    tightened ones and those left alone), the problem in words, or None when they fit together."""
    total = sum(sizes)
    limit = SIZE_LIMITS[kind]
    if total <= limit:
        return None
    return (
        f"the inline policies of this {kind.removeprefix('inline-')} would total {total:,} characters, over "
        f"the {limit:,} allowed for all of them together: move some into customer-managed policies"
    )


def _spell(pattern: str, catalog: Catalog) -> str:
    """The catalog's spelling of a kept pattern: `s3:Get*` for `s3:get*` (AWS reads either the same)."""
    members = catalog.expand(pattern)
    if not members:
        return pattern
    name = catalog.name(min(members))
    if pattern.endswith("*") and not is_wildcard(pattern[:-1]) and name.lower().startswith(pattern[:-1]):
        return name[: len(pattern) - 1] + "*"
    return pattern


def fold_actions(kept: frozenset[str], catalog: Catalog, wildcards: Iterable[str] = ()) -> list[str]:
    """Kept actions as canonical names, with a wildcard only where the original statement wrote it
    (`wildcards`, any case) and every catalog action it matches is kept. A wildcard also grants the
    actions AWS adds later, so none broader than the original's is ever made up here."""
    chosen = sorted(
        {w.lower() for w in wildcards if is_wildcard(w) and catalog.expand(w) and catalog.expand(w) <= kept}
    )
    # One kept wildcard inside another (`s3:get*` and `s3:*`) says nothing more.
    chosen = [
        w
        for w in chosen
        if not any(o != w and covers(tokens(o, False, True), tokens(w, False, True)) for o in chosen)
    ]
    covered: set[str] = set()
    for w in chosen:
        covered |= catalog.expand(w)
    return [_spell(w, catalog) for w in chosen] + sorted(catalog.name(a) for a in kept - covered)


@dataclass
class _Outcome:
    statement: Statement | None
    kept: set[str] = field(default_factory=set)  # lower-case actions and patterns
    removed: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    # The original granted services the catalog may not know (through `*`, NotAction or a wildcard in
    # the service name) and the rewrite lists actions instead: those services are no longer granted.
    unnamed_lost: bool = False


def _outside_catalog(
    patterns: tuple[str, ...], negated: bool, catalog: Catalog, usage: Usage, named: frozenset[str]
) -> _Outcome:
    """What the statement grants beyond the catalog: the patterns it cannot expand (new actions, new
    services), used actions the catalog does not know but the statement covers, and used services the
    catalog does not know that it grants whole. Kept as text unless the evidence says unused."""
    out = _Outcome(None)
    if not negated:
        for p in patterns:
            if catalog.expand(p):
                continue
            service = p.split(":", 1)[0]
            if not is_wildcard(p):
                state = usage.state(p)
            elif is_wildcard(service) or usage.service_state(service) is not ActionUse.UNUSED:
                state = ActionUse.UNKNOWN
            else:
                state = ActionUse.UNUSED
            if state is ActionUse.UNUSED:
                out.removed.add(p)
            else:
                out.kept.add(p)
                if state is ActionUse.UNKNOWN:
                    out.unknown.add(p)
    written = [tokens(p, False, True) for p in patterns]

    def granted(text: str) -> bool:
        wanted = tokens(text, False, True)
        if negated:
            return not any(may_overlap(n, wanted) for n in written)
        return any(covers(w, wanted) for w in written)

    # Actions the catalog does not know but the usage names (used, or reported at action level) or the
    # policy writes out somewhere (`named`): kept by name when used or unknown. A service the catalog does
    # not know that the policy names with a wildcard (`named` holds it as `service:*`) is kept whole
    # where this statement grants it whole (a NotAction statement, `*`), unless its service is unused.
    for action in sorted(named):
        if action in out.kept or action in out.removed:
            continue
        service, _, name = action.partition(":")
        state = usage.service_state(service) if name == "*" else usage.state(action)
        if state is not ActionUse.UNUSED and granted(action):
            out.kept.add(action)
            if state is ActionUse.UNKNOWN:
                out.unknown.add(action)
    for service in usage.used_services:
        whole = f"{service}:*"
        if not catalog.service_known(service) and whole not in out.kept and granted(whole):
            out.kept.add(whole)
    return out


def _tighten_statement(st: Statement, catalog: Catalog, usage: Usage, named: frozenset[str]) -> _Outcome:
    negated = st.not_actions is not None
    patterns = (st.not_actions if negated else st.actions) or ()  # the parser sets one of the two
    known: set[str] = set()
    out = _outside_catalog(patterns, negated, catalog, usage, named)
    for action in catalog.expand_statement(patterns, negated):
        state = usage.state(action)
        if state is ActionUse.UNUSED:
            out.removed.add(action)
        else:
            known.add(action)
            if state is ActionUse.UNKNOWN:
                out.unknown.add(action)
    out.kept |= known
    if not out.removed:
        out.statement = st  # nothing to remove: the statement as written, NotAction and wildcards too
        return out
    wildcards = () if negated else patterns
    listed = fold_actions(frozenset(known), catalog, wildcards)
    written = {a.lower() for a in listed} if out.kept else set()
    out.unnamed_lost = negated or any(is_wildcard(p.split(":", 1)[0]) and p not in written for p in patterns)
    if not out.kept:
        return out
    # Outside the catalog: patterns kept as written, used actions and services by name.
    listed += sorted(out.kept - known)
    out.statement = Statement(
        effect="Allow",
        actions=tuple(a.lower() for a in listed),
        not_actions=None,
        resources=st.resources,
        not_resources=st.not_resources,
        conditions=st.conditions,
        sid=st.sid,
    )
    return out


def _names(catalog: Catalog, statements: Iterable[Statement]) -> dict[str, str]:
    """Spelling of every action and kept wildcard written in the statements."""
    wild = {a: _spell(a, catalog) for st in statements for a in st.actions if is_wildcard(a)}
    return {**catalog.canonical, **wild} if wild else catalog.canonical


def _split(doc: PolicyDocument, limit: int, names: dict[str, str]) -> list[PolicyDocument]:
    """Split a too-large document into several managed policies, each under `limit` where it can be:
    Allow statements whole or, one too large alone, by chunks of its actions; every part carries every
    Deny statement, so no part (nor any subset of them, should an apply stop half-way) grants what the
    original denies."""
    denies = [s for s in doc.statements if not s.is_allow]
    allows = [s for s in doc.statements if s.is_allow]

    def size(statements: list[Statement]) -> int:
        return minified_length(
            document_to_json(PolicyDocument(doc.name, tuple(denies + statements), doc.version), names)
        )

    def part_of(st: Statement, actions: list[str]) -> Statement:
        # No Sid: the pieces of one statement would share it.
        return Statement(st.effect, tuple(actions), None, st.resources, st.not_resources, st.conditions)

    pieces: list[Statement] = []
    for st in allows:
        if size([st]) <= limit or len(st.actions) < 2:
            pieces.append(st)
            continue
        chunk: list[str] = []
        for action in st.actions:
            if chunk and size([part_of(st, [*chunk, action])]) > limit:
                pieces.append(part_of(st, chunk))
                chunk = []
            chunk.append(action)
        pieces.append(part_of(st, chunk))
    parts: list[list[Statement]] = [[]]
    for piece in pieces:
        if parts[-1] and size([*parts[-1], piece]) > limit:
            parts.append([])
        parts[-1].append(piece)
    return [
        PolicyDocument(f"{doc.name}-{i + 1}", tuple(denies + p), doc.version) for i, p in enumerate(parts)
    ]


def _uses_variables(doc: PolicyDocument) -> bool:
    return any(
        "${" in text
        for st in doc.statements
        for text in (*st.resources, *(st.not_resources or ()), *(v for c in st.conditions for v in c.values))
    )


def tighten_policy(
    doc: PolicyDocument, usage: Usage, catalog: Catalog, *, kind: str = "managed"
) -> TightenedPolicy:
    """Tighten one policy. `kind` picks the size limit: managed, inline-role, inline-user, inline-group."""
    limit = SIZE_LIMITS[kind]
    usage = usage.seen_by(catalog.not_recorded)  # what Access Advisor cannot see is the catalog's to say
    statements: list[Statement] = []
    kept_all: set[str] = set()
    removed_all: set[str] = set()
    unknown_all: set[str] = set()
    unnamed_lost = False
    # Every action the document writes out, in a Deny too: a name the engine can keep though the catalog lacks it.
    written = {
        a for st in doc.statements for a in (*st.actions, *(st.not_actions or ())) if not is_wildcard(a)
    }
    named = frozenset(a for a in written | usage.used_actions | usage.tracked_actions if not catalog.bit(a))
    # Services the catalog does not know, written with a wildcard (`zzz:*`, `zzz:Get*`): nameable whole.
    named |= {
        f"{service}:*"
        for st in doc.statements
        for a in (*st.actions, *(st.not_actions or ()))
        if is_wildcard(a)
        and ":" in a
        and not is_wildcard(service := a.lower().split(":", 1)[0])
        and not catalog.service_known(service)
    }
    for st in doc.statements:
        if not st.is_allow:
            statements.append(st)
            continue
        outcome = _tighten_statement(st, catalog, usage, named)
        kept_all |= outcome.kept
        removed_all |= outcome.removed
        unknown_all |= outcome.unknown
        unnamed_lost |= outcome.unnamed_lost
        if outcome.statement is not None:
            statements.append(outcome.statement)
    removed_all -= kept_all  # removed from one statement but kept by another: still granted
    original = document_to_json(doc, catalog.canonical) if doc.raw is None else doc.raw
    # In a 2008-10-17 document `${...}` is text; written as 2012-10-17 it would become a variable.
    version = doc.version if _uses_variables(doc) else "2012-10-17"
    names = _names(catalog, statements)
    warnings: list[str] = []
    if unnamed_lost:
        warnings.append(
            "the original grants every service through `*`, NotAction or a wildcard service name; the "
            "tightened policy lists actions, so a service newer than the action catalog and not reported "
            "by Access Advisor is no longer granted"
        )
    if not statements:
        # Nothing used and nothing denied: the policy can go. (A policy left with only its Deny
        # statements is kept, since removing it would widen what other policies grant.)
        documents: list[dict[str, Any]] = []
    else:
        tightened = PolicyDocument(doc.name, tuple(statements), version)
        if kind == "managed" and minified_length(document_to_json(tightened, names)) > limit:
            parts = _split(tightened, limit, names)
            documents = [document_to_json(p, names) for p in parts]
            too_big = [i + 1 for i, d in enumerate(documents) if minified_length(d) > limit]
            if too_big:
                warnings.append(
                    f"cannot fit: part(s) {', '.join(map(str, too_big))} of {len(parts)} stay over "
                    f"{limit:,} characters (a statement too large alone, or its Deny statements); "
                    "not offered for apply"
                )
            else:
                warnings.append(
                    f"split into {len(parts)} managed policies to stay under {limit:,} characters each; "
                    "each carries every Deny statement and all of them must be applied"
                )
        else:
            documents = [document_to_json(tightened, names)]
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
        unknown_actions=sorted(catalog.name(a) for a in unknown_all & kept_all),
    )


def policy_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Unified diff of two documents, pretty-printed with sorted keys so only real changes show."""

    def lines(doc: dict[str, Any] | None) -> list[str]:
        return json.dumps(doc, indent=2, sort_keys=True).splitlines() if doc is not None else []

    return list(difflib.unified_diff(lines(before), lines(after), "current", "tightened", lineterm="", n=3))
