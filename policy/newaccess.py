"""Does a proposed policy set grant anything the original does not? Each problem found, as a sentence.

Judged statement by statement, conservatively (a problem may be reported where a cleverer proof would
find none, never the reverse):
- a proposed Allow, resource pattern by resource pattern, needs original Allows that cover that resource
  pattern as text, whose conditions it keeps (keys compared case-insensitively, as AWS does; operators and
  values as written), and that read `${...}` the same way (a variable in 2012-10-17, text before);
- its catalog actions must be granted by those originals; beyond the catalog, any wildcard or name the
  catalog cannot expand must be covered as text by one original's pattern (`s3:Get*` covers
  `s3:GetObjectBrandNewApi`; nothing but `*` covers `zzznewservice:*`), since a wildcard also grants
  what AWS adds later;
- every original Deny must still be there, as written or broader.
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.catalog import Catalog
from policy.globs import Token, covers, is_wildcard, matches_everything, may_overlap, tokens, variables_apply
from policy.model import Condition, PolicyDocument, Statement

Pattern = tuple[Token, ...]


def _condition_set(st: Statement, variables: bool) -> frozenset[tuple[str, str, frozenset[Pattern]]]:
    # Keys are lower-cased by the parser: `aws:SourceIp` and `AWS:sourceip` are the same key in AWS.
    # Values are compared as written, but `${...}` in them is a variable only in 2012-10-17 documents.
    def one(c: Condition) -> tuple[str, str, frozenset[Pattern]]:
        return (c.operator, c.key, frozenset(tokens(v, variables, False) for v in c.values))

    return frozenset(one(c) for c in st.conditions)


class _Side:
    """One statement read for comparison: its action and resource patterns as tokens."""

    __slots__ = (
        "action_set",
        "actions",
        "conditions",
        "doc",
        "negated",
        "not_resources",
        "resource_set",
        "resources",
        "statement",
    )

    def __init__(self, st: Statement, doc: PolicyDocument) -> None:
        variables = variables_apply(doc.version)
        self.statement = st
        self.doc = doc
        self.negated = st.not_actions is not None
        raw_actions = (st.not_actions if self.negated else st.actions) or ()
        self.actions = [tokens(a, False, True) for a in raw_actions]  # no variables in actions
        self.action_set = frozenset(self.actions)
        self.resources = [tokens(r, variables, False) for r in st.resources]
        self.resource_set = frozenset(self.resources)  # most proposed resources are an original's, as is
        self.not_resources = (
            [tokens(r, variables, False) for r in st.not_resources] if st.not_resources is not None else None
        )
        self.conditions = _condition_set(st, variables)


def _scope_covered(old: _Side, resource: Pattern | None, not_resources: list[Pattern] | None) -> bool:
    """Does `old` apply to every resource of the proposed unit (one Resource pattern, or a NotResource
    list)?"""
    if resource is not None:
        if old.not_resources is None:
            return resource in old.resource_set or any(covers(r, resource) for r in old.resources)
        return not any(may_overlap(n, resource) for n in old.not_resources)
    if not_resources is None:
        raise ValueError("a proposed unit has a Resource pattern or a NotResource list")
    if old.not_resources is None:
        return any(matches_everything(r) for r in old.resources)
    # Everything outside the proposed list is outside the original's: each original exclusion is inside
    # one proposed exclusion.
    return all(any(covers(n, o) for n in not_resources) for o in old.not_resources)


def _pattern_covered(old: _Side, pattern: Pattern) -> bool:
    """Does `old` grant every action `pattern` can match, as text?"""
    if old.negated:
        return not any(may_overlap(n, pattern) for n in old.actions)
    return pattern in old.action_set or any(covers(a, pattern) for a in old.actions)


def _negation_covered(old: _Side, excluded: list[Pattern]) -> bool:
    """Does `old` grant every action outside `excluded` (a proposed NotAction list)?"""
    if old.negated:
        return all(any(covers(e, o) for e in excluded) for o in old.actions)
    return any(matches_everything(a) for a in old.actions)


def _as_written(doc: PolicyDocument, index: int, pattern: str) -> str:
    """A lower-cased action pattern as the document spells it (for messages)."""
    raw = doc.raw.get("Statement") if isinstance(doc.raw, dict) else None
    raw = [raw] if isinstance(raw, dict) else raw
    if isinstance(raw, list) and index < len(raw) and isinstance(raw[index], dict):
        for key in ("Action", "NotAction"):
            values = raw[index].get(key)
            for value in [values] if isinstance(values, str) else values or ():
                if isinstance(value, str) and value.lower() == pattern:
                    return value
    return pattern


def _label(doc: PolicyDocument, index: int, st: Statement) -> str:
    return f"{doc.name}: statement {index + 1}" + (f" ({st.sid})" if st.sid else "")


def _version_note(side: _Side, others: list[_Side]) -> str:
    """Why two statements alike as text may still differ: their documents read `${...}` differently."""
    texts = [*side.statement.resources, *(side.statement.not_resources or ())]
    texts += [v for c in side.statement.conditions for v in c.values]
    if not any("${" in t for t in texts):
        return ""
    mine = variables_apply(side.doc.version)
    differ = sorted({o.doc.version for o in others if variables_apply(o.doc.version) != mine})
    if not differ:
        return ""
    return (
        f" (Version {side.doc.version} here, {', '.join(differ)} there: `${{...}}` is a policy variable "
        "only in 2012-10-17, literal text before)"
    )


def _allow_problems(new: _Side, index: int, olds: list[_Side], catalog: Catalog) -> list[str]:
    st = new.statement
    units: list[tuple[Pattern | None, list[Pattern] | None, str]] = (
        [(r, None, raw) for r, raw in zip(new.resources, st.resources, strict=True)]
        if new.not_resources is None
        else [(None, new.not_resources, "NotResource " + ", ".join(st.not_resources or ()))]
    )
    problems: list[str] = []
    where = _label(new.doc, index, st)
    for resource, not_resources, shown in units:
        olds_here = [
            o for o in olds if o.conditions <= new.conditions and _scope_covered(o, resource, not_resources)
        ]
        if not olds_here:
            problems.append(
                f"{where} allows actions on {shown} where no original Allow applies with the same or "
                f"fewer conditions{_version_note(new, olds)}"
            )
            continue
        # Catalog actions: together, the covering originals must grant every one (as bit masks).
        patterns = (st.not_actions if new.negated else st.actions) or ()
        wanted = catalog.statement_mask(patterns, new.negated)
        for o in olds_here:
            o_patterns = (o.statement.not_actions if o.negated else o.statement.actions) or ()
            wanted &= ~catalog.statement_mask(o_patterns, o.negated)
            if not wanted:
                break
        if wanted:
            sample = ", ".join(catalog.first_names(wanted, 5))
            problems.append(
                f"{where} grants {wanted.bit_count()} action(s) on {shown} the original does not: {sample}"
            )
        # Beyond the catalog: every wildcard and unknown name, covered as text by one original.
        if new.negated:
            if not any(_negation_covered(o, new.actions) for o in olds_here):
                problems.append(
                    f"{where} uses NotAction {', '.join(_as_written(new.doc, index, p) for p in patterns)} on {shown}: it grants every action "
                    "outside that list, including services and actions the catalog does not know, and no "
                    "original statement grants that much"
                )
            continue
        for raw, pattern in zip(patterns, new.actions, strict=True):
            if not is_wildcard(raw) and catalog.bit(raw):
                continue  # a catalog action: judged above
            if any(_pattern_covered(o, pattern) for o in olds_here):
                continue
            shown_action = _as_written(new.doc, index, raw)
            if is_wildcard(raw):
                problems.append(
                    f"{where} grants the wildcard {shown_action} on {shown}, which no original pattern covers: a "
                    "wildcard also grants the actions AWS adds later"
                )
            else:
                problems.append(
                    f"{where} grants {shown_action} on {shown}, an action the catalog does not know that no "
                    "original statement grants literally or by a pattern that covers it"
                )
    return problems


def _deny_kept(old: _Side, new: _Side) -> bool:
    """Does the proposed Deny refuse at least what the original one did?"""
    if new.negated != old.negated or not new.conditions <= old.conditions:
        return False
    if old.negated:  # it must exclude no more than the original
        actions_ok = all(any(covers(o, n) for o in old.actions) for n in new.actions)
    else:
        actions_ok = all(any(covers(n, o) for n in new.actions) for o in old.actions)
    if not actions_ok:
        return False
    if old.not_resources is None:
        if new.not_resources is None:
            return all(any(covers(n, o) for n in new.resources) for o in old.resources)
        return all(not any(may_overlap(x, o) for x in new.not_resources) for o in old.resources)
    if new.not_resources is None:
        return any(matches_everything(n) for n in new.resources)
    return all(any(covers(o, n) for o in old.not_resources) for n in new.not_resources)


def grants_nothing_new(
    original: Sequence[PolicyDocument], tightened: Sequence[PolicyDocument], catalog: Catalog
) -> list[str]:
    """Problems found, each a sentence (empty when the proposed set is no broader than the original)."""
    problems: list[str] = []
    olds = [_Side(s, d) for d in original for s in d.statements if s.principal is None]
    news = [(i, _Side(s, d)) for d in tightened for i, s in enumerate(d.statements) if s.principal is None]
    old_allows = [o for o in olds if o.statement.is_allow]
    new_denies = [n for _, n in news if not n.statement.is_allow]
    for o in olds:
        if o.statement.is_allow or any(_deny_kept(o, n) for n in new_denies):
            continue
        index = o.doc.statements.index(o.statement)
        problems.append(
            f"{_label(o.doc, index, o.statement)} is a Deny that the proposed documents drop or weaken"
            f"{_version_note(o, new_denies)}"
        )
    for index, n in news:
        if n.statement.is_allow:
            problems += _allow_problems(n, index, old_allows, catalog)
    return problems
