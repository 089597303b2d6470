"""Does a new policy allow any request the existing one does not? (CheckNoNewAccess, conservatively.)

For every action the new policy allows, each of its resource patterns must be covered by an existing Allow
for that action whose conditions are no stricter, and every existing Deny that could apply must be kept
(a new Deny at least as broad). Actions are expanded with the IAM database; an action pattern that could
match actions the database does not list (a wildcard, an unknown action or service) must also be covered
as text by an existing pattern, since AWS adds actions and a wildcard grants them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fakeaws.iamdb import IamDatabase, iam_database
from fakeaws.iameval import Condition, Policy, Statement, Tokens, action_tokens, covers, may_overlap, tokens

MAX_REASONS = 20


@dataclass(frozen=True)
class Reason:
    description: str
    statement_index: int


def _negated(operator: str) -> bool:
    base = operator.rpartition(":")[2].removesuffix("IfExists")
    return base.startswith(("StringNot", "ArnNot", "NotIpAddress"))


def conditions_imply(narrow: frozenset[Condition], broad: frozenset[Condition]) -> bool:
    """Every request meeting all of `narrow` meets all of `broad` (sound, not complete)."""
    mine = {(op, key): values for op, key, values in narrow}
    for op, key, values in broad:
        have = mine.get((op, key))
        if have is None:
            return False
        base = op.rpartition(":")[2].removesuffix("IfExists")
        if _negated(op):
            ok = have >= values  # excluding more values is narrower
        elif any(word in base for word in ("Equals", "Like", "IpAddress")):
            ok = have <= values  # accepting fewer values is narrower
        else:
            ok = have == values
        if not ok:
            return False
    return True


def _res_tokens(st: Statement) -> list[Tokens]:
    return [tokens(r, st.variables) for r in st.resources]


def _resource_covered(new: Statement, pattern: Tokens | None, old: Statement) -> bool:
    """`old` allows every resource of `pattern` (None: the new statement's NotResource complement)."""
    old_patterns = _res_tokens(old)
    if pattern is None:
        if old.not_resource:
            mine = _res_tokens(new)
            return all(any(covers(x, t) for x in mine) for t in old_patterns)
        return any(covers(t, ("*",)) for t in old_patterns)
    if old.not_resource:
        return not any(may_overlap(pattern, t) for t in old_patterns)
    return any(covers(t, pattern) for t in old_patterns)


def _deny_resources_kept(old_deny: Statement, new_deny: Statement) -> bool:
    """`new_deny` applies to every resource `old_deny` applies to."""
    old_patterns, new_patterns = _res_tokens(old_deny), _res_tokens(new_deny)
    if new_deny.not_resource:
        if old_deny.not_resource:
            return all(any(covers(o, n) for o in old_patterns) for n in new_patterns)
        return not any(may_overlap(n, o) for n in new_patterns for o in old_patterns)
    if old_deny.not_resource:
        return any(covers(n, ("*",)) for n in new_patterns)
    return all(any(covers(n, o) for n in new_patterns) for o in old_patterns)


def _deny_may_apply(deny: Statement, grant: Statement) -> bool:
    if deny.not_resource or grant.not_resource:
        return True
    return any(may_overlap(d, g) for d in _res_tokens(deny) for g in _res_tokens(grant))


class _Comparison:
    def __init__(self, existing: Sequence[Policy], new: Sequence[Policy], db: IamDatabase) -> None:
        self.db = db
        self.old_allows = [s for p in existing for s in p.statements if s.effect == "Allow"]
        self.old_denies = [s for p in existing for s in p.statements if s.effect == "Deny"]
        self.new_allows = [s for p in new for s in p.statements if s.effect == "Allow"]
        self.new_denies = [s for p in new for s in p.statements if s.effect == "Deny"]
        self._known: dict[int, frozenset[str]] = {}
        self.reasons: list[Reason] = []
        self.count = 0

    def known(self, st: Statement) -> frozenset[str]:
        """The known actions a statement's Action (or NotAction complement) names."""
        key = id(st)
        if key not in self._known:
            named: set[str] = set()
            for pattern in st.actions:
                named |= self.db.matching(pattern)
            self._known[key] = frozenset(self.db.actions) - named if st.not_action else frozenset(named)
        return self._known[key]

    def add(self, st: Statement, text: str) -> None:
        self.count += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(Reason(text, st.index))

    # -- coverage of one grant, given which statements apply to the action(s) in question ----------

    def grant_uncovered(self, st: Statement, allows: list[Statement]) -> list[str]:
        """The new statement's resource patterns that no applicable existing Allow covers."""
        candidates = [t for t in allows if conditions_imply(st.conditions, t.conditions)]
        if st.not_resource:
            ok = any(_resource_covered(st, None, t) for t in candidates)
            return [] if ok else ["every resource except " + ", ".join(st.resources)]
        return [
            r
            for r, pattern in zip(st.resources, _res_tokens(st), strict=True)
            if not any(_resource_covered(st, pattern, t) for t in candidates)
        ]

    def denies_dropped(
        self, st: Statement, old_denies: list[Statement], new_denies: list[Statement]
    ) -> list[int]:
        """Existing Denies that could cut into this grant and that no new Deny keeps."""
        dropped = []
        for deny in old_denies:
            if not _deny_may_apply(deny, st):
                continue
            kept = any(
                _deny_resources_kept(deny, nd) and conditions_imply(deny.conditions, nd.conditions)
                for nd in new_denies
            )
            if not kept:
                dropped.append(deny.index)
        return dropped

    # -- the two parts of each new Allow ---------------------------------------------------------------

    def check_known(self, st: Statement) -> None:
        groups: dict[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], list[str]] = {}
        old_sets = [self.known(t) for t in self.old_allows]
        old_deny_sets = [self.known(d) for d in self.old_denies]
        new_deny_sets = [self.known(d) for d in self.new_denies]
        for action in self.known(st):
            signature = (
                tuple(i for i, s in enumerate(old_sets) if action in s),
                tuple(i for i, s in enumerate(old_deny_sets) if action in s),
                tuple(i for i, s in enumerate(new_deny_sets) if action in s),
            )
            groups.setdefault(signature, []).append(action)
        for (allow_ix, deny_ix, new_deny_ix), actions in groups.items():
            uncovered = self.grant_uncovered(st, [self.old_allows[i] for i in allow_ix])
            dropped = self.denies_dropped(
                st, [self.old_denies[i] for i in deny_ix], [self.new_denies[i] for i in new_deny_ix]
            )
            if uncovered or dropped:
                self.add(st, self._describe(st, actions, uncovered, dropped))

    def check_text(self, st: Statement) -> None:
        """The part of a grant the database cannot list: wildcards and unknown actions, as text."""
        if st.not_action:
            patterns: list[str] = ["*"]
        else:
            patterns = [p for p in st.actions if "*" in p or "?" in p or not self.db.exists(p)]
        for pattern in patterns:
            text = action_tokens(pattern)
            allows = [t for t in self.old_allows if self._text_allowed(t, st, text)]
            denies = [d for d in self.old_denies if self._text_denied(d, st, text)]
            new_denies = [d for d in self.new_denies if self._text_deny_kept(d, text)]
            uncovered = self.grant_uncovered(st, allows)
            dropped = self.denies_dropped(st, denies, new_denies)
            if uncovered or dropped:
                what = (
                    "actions it does not list"
                    if st.not_action
                    else f"{pattern} (as written: it also matches actions AWS adds later)"
                    if ("*" in pattern or "?" in pattern)
                    else f"{pattern} (not a known action)"
                )
                self.add(st, self._describe(st, [what], uncovered, dropped, literal=True))

    def _text_allowed(self, old: Statement, new: Statement, text: Tokens) -> bool:
        if new.not_action:
            if old.not_action:  # old excludes no more than new does
                return all(
                    any(covers(action_tokens(n), action_tokens(o)) for n in new.actions) for o in old.actions
                )
            return any(covers(action_tokens(o), ("*",)) for o in old.actions)
        if old.not_action:
            return not any(may_overlap(action_tokens(o), text) for o in old.actions)
        return any(covers(action_tokens(o), text) for o in old.actions)

    def _text_denied(self, deny: Statement, new: Statement, text: Tokens) -> bool:
        if deny.not_action:
            return not any(covers(action_tokens(o), text) for o in deny.actions)
        return any(may_overlap(action_tokens(o), text) for o in deny.actions)

    def _text_deny_kept(self, new_deny: Statement, text: Tokens) -> bool:
        if new_deny.not_action:
            return not any(may_overlap(action_tokens(o), text) for o in new_deny.actions)
        return any(covers(action_tokens(o), text) for o in new_deny.actions)

    def _describe(
        self,
        st: Statement,
        actions: list[str],
        uncovered: list[str],
        dropped: list[int],
        literal: bool = False,
    ) -> str:
        names = actions if literal else sorted(self.db.actions[a].name for a in actions)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts = []
        if uncovered:
            parts.append(f"on {', '.join(uncovered)}, which the existing policy does not allow")
        if dropped:
            parts.append(f"without the existing Deny statement(s) {', '.join(map(str, dropped))}")
        label = f"statement {st.index}" + (f" ({st.sid})" if st.sid else "")
        return f"New access: {label} allows {shown} " + " and ".join(parts) + "."


def new_access(
    existing: Sequence[Policy], new: Sequence[Policy], db: IamDatabase | None = None
) -> tuple[list[Reason], int]:
    """Reasons (at most MAX_REASONS) the new policies allow more, and how many were found in all."""
    comparison = _Comparison(existing, new, db or iam_database())
    for st in comparison.new_allows:
        comparison.check_known(st)
        comparison.check_text(st)
    return comparison.reasons, comparison.count
