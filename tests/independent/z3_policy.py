"""An IAM identity-policy evaluator built on z3, for tests: it shares no code with `policy/`.

It reads policy JSON as written and asks z3 for a request (action, resource, condition key values) that
one set of documents allows and another does not. Encoded: Allow and Deny (a Deny wins), Action and
NotAction (case-insensitive), Resource and NotResource (case-sensitive) with `*` and `?`, policy variables
(`${key}` in 2012-10-17 documents only, `${*}` `${?}` `${$}` escapes; a variable whose key is absent makes
its pattern match nothing), and the common condition operators: String(Not)Equals, String(Not)Like,
ArnEquals/ArnLike, Bool, Null, Numeric comparisons, each with IfExists. Condition keys are
case-insensitive; an absent key fails a condition, except for negated operators and IfExists.

Strings are bounded: a request's action, resource and values are arrays of 8-bit characters with a length,
and a pattern match is the usual glob table written out as Boolean formulas. z3 decides that by SAT in
milliseconds, where its string theory could wander for minutes on the same question. A request it finds
is a real one; one longer than the bounds is out of its sight (the bounds exceed every pattern used).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import z3

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
ACTION_BOUND = 24
RESOURCE_BOUND = 40
VALUE_BOUND = 16
# Values a policy variable may take: a plain name, one that is also a literal elsewhere, and characters
# that are wildcards in a pattern but literal in a value.
VARIABLE_VALUES = ("alice", "x", "*", "?")
# Requests name a concrete action in lower case (actions are case-insensitive), never a wildcard.
ACTION_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-:"


class Text:
    """A bounded string unknown: `inside[i]` says position i is part of it (a prefix of positions is),
    `chars[i]` its character there. All Boolean and bit-vector: z3 solves it as SAT."""

    def __init__(self, name: str, bound: int) -> None:
        self.name = name
        self.bound = bound
        self.inside = [z3.Bool(f"{name}.in[{i}]") for i in range(bound)]
        self.chars = [z3.BitVec(f"{name}[{i}]", 8) for i in range(bound)]
        self._char: dict[tuple[int, str], z3.BoolRef] = {}
        self._matches: dict[tuple[tuple[str, str], ...], z3.BoolRef] = {}

    def has(self, i: int) -> z3.BoolRef:
        """Is the string longer than i?"""
        return self.inside[i] if i < self.bound else z3.BoolVal(False)

    def length_is(self, n: int) -> z3.BoolRef:
        if n > self.bound:
            return z3.BoolVal(False)
        return z3.And(z3.BoolVal(True) if n == 0 else self.inside[n - 1], z3.Not(self.has(n)))

    def shape(self, alphabet: str = "") -> z3.BoolRef:
        """Positions in use form a prefix; characters printable (or from `alphabet`)."""
        rules = [z3.Implies(self.inside[i + 1], self.inside[i]) for i in range(self.bound - 1)]
        for i, c in enumerate(self.chars):
            allowed = (
                z3.Or(*(c == ord(a) for a in alphabet)) if alphabet else z3.And(z3.UGE(c, 33), z3.ULE(c, 126))
            )
            rules.append(z3.Implies(self.inside[i], allowed))
        return z3.And(*rules)

    def equals(self, value: str) -> z3.BoolRef:
        if len(value) > self.bound:
            return z3.BoolVal(False)
        return z3.And(self.length_is(len(value)), *(self.chars[i] == ord(c) for i, c in enumerate(value)))

    def char_is(self, i: int, c: str) -> z3.BoolRef:
        key = (i, c)
        hit = self._char.get(key)
        if hit is None:
            hit = self._char[key] = z3.And(self.inside[i], self.chars[i] == ord(c))
        return hit

    def matches(self, pattern: list[tuple[str, str]]) -> z3.BoolRef:
        """Glob match of the whole string: pieces ("lit", c) | ("star", "") | ("one", "")."""
        key = tuple(pattern)
        hit = self._matches.get(key)
        if hit is None:
            hit = self._matches[key] = self._match(pattern)
        return hit

    def _match(self, pattern: list[tuple[str, str]]) -> z3.BoolRef:
        m = len(pattern)
        false = z3.BoolVal(False)
        # Where piece j can start: at least as far as the pieces before it take; exactly there when no
        # `*` comes before it. Other cells are false and are not built.
        least = [0] * (m + 1)
        starred = [False] * (m + 1)
        for j, (kind, _) in enumerate(pattern):
            least[j + 1] = least[j] + (kind != "star")
            starred[j + 1] = starred[j] or kind == "star"

        def feasible(j: int, i: int) -> bool:
            return i == least[j] if not starred[j] else i >= least[j]

        # row[i]: pattern[j:] matches the string from position i; built from the end of the pattern.
        row = [self.length_is(i) if feasible(m, i) else false for i in range(self.bound + 1)]
        for j in range(m - 1, -1, -1):
            kind, value = pattern[j]
            new: list[z3.BoolRef] = [false] * (self.bound + 1)
            if kind == "star":
                new[self.bound] = row[self.bound]
                # A `*` goes on consuming from where it starts: its own cells past that are needed too.
                for i in range(self.bound - 1, least[j] - 1, -1):
                    new[i] = z3.Or(row[i], z3.And(self.inside[i], new[i + 1]))
            else:
                for i in range(self.bound):
                    if feasible(j, i) and not z3.is_false(row[i + 1]):
                        here = self.char_is(i, value) if kind == "lit" else self.inside[i]
                        new[i] = z3.And(here, row[i + 1])
            row = new
        return row[0]

    def read(self, model: z3.ModelRef) -> str:
        out = []
        for i in range(self.bound):
            if not z3.is_true(model.eval(self.inside[i], model_completion=True)):
                break
            out.append(chr(model.eval(self.chars[i], model_completion=True).as_long()))
        return "".join(out)


class Request:
    """The unknowns of one request: its action, its resource and its condition keys' values."""

    def __init__(self, value_bound: int = VALUE_BOUND) -> None:
        self.action = Text("action", ACTION_BOUND)
        self.resource = Text("resource", RESOURCE_BOUND)
        self.value_bound = value_bound
        self._values: dict[str, Text] = {}
        self.variables: set[str] = set()  # keys read as policy variables

    @property
    def keys(self) -> list[str]:
        return sorted(self._values)

    def value(self, key: str) -> Text:
        key = key.lower()
        if key not in self._values:
            self._values[key] = Text(f"value:{key}", self.value_bound)
        return self._values[key]

    def present(self, key: str) -> z3.BoolRef:
        self.value(key)
        return z3.Bool(f"present:{key.lower()}")

    def number(self, key: str) -> z3.ArithRef:
        self.value(key)
        return z3.Int(f"number:{key.lower()}")

    def shape(self) -> z3.BoolRef:
        has_colon = z3.Or(
            *(z3.And(self.action.inside[i], c == ord(":")) for i, c in enumerate(self.action.chars))
        )
        variables = [
            z3.Or(*(self.value(k).equals(v) for v in VARIABLE_VALUES)) for k in sorted(self.variables)
        ]
        return z3.And(
            self.action.shape(ACTION_ALPHABET),
            self.resource.shape(),
            *(t.shape() for t in self._values.values()),
            has_colon,
            *variables,
        )


def _pieces(text: str, variables: bool) -> list[tuple[str, str]]:
    """("lit", char) | ("star", "") | ("one", "") | ("var", key)."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        found = _VARIABLE.match(text, pos) if variables and text.startswith("${", pos) else None
        if found is not None:
            name = found.group(1)
            out.append(("lit", name) if name in ("*", "?", "$") else ("var", name))
            pos = found.end()
            continue
        ch = text[pos]
        out.append(("star", "") if ch == "*" else ("one", "") if ch == "?" else ("lit", ch))
        pos += 1
    return out


def _choices(
    pieces: list[tuple[str, str]], req: Request
) -> list[tuple[list[tuple[str, str]], list[z3.BoolRef]]]:
    """The pattern once per choice of its variables' values, with what that choice needs (the key present,
    with that value). A variable's value is literal text: its `*` is no wildcard."""
    choices: list[tuple[list[tuple[str, str]], list[z3.BoolRef]]] = [([], [])]
    for kind, value in pieces:
        if kind != "var":
            choices = [([*parts, (kind, value)], needs) for parts, needs in choices]
            continue
        req.variables.add(value.lower())
        choices = [
            (
                [*parts, *(("lit", c) for c in option)],
                [*needs, req.present(value), req.value(value).equals(option)],
            )
            for parts, needs in choices
            for option in VARIABLE_VALUES
        ]
    return choices


def _matches(text: Text, patterns: Sequence[str], variables: bool, req: Request) -> z3.BoolRef:
    options = []
    for p in patterns:
        for pieces, needs in _choices(_pieces(p, variables), req):
            options.append(z3.And(*needs, text.matches(pieces)))
    return z3.Or(*options) if options else z3.BoolVal(False)


def _equals(text: Text, values: Sequence[str], variables: bool, req: Request) -> z3.BoolRef:
    options = []
    for v in values:
        for pieces, needs in _choices(_pieces(v, variables), req):
            literal = "".join({"star": "*", "one": "?"}.get(kind, value) for kind, value in pieces)
            options.append(z3.And(*needs, text.equals(literal)))
    return z3.Or(*options) if options else z3.BoolVal(False)


def _as_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return ["true" if v is True else "false" if v is False else str(v) for v in items]


_NUMERIC: dict[str, Callable[[Any, Any], Any]] = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike", "NumericNotEquals"}


def _condition(operator: str, key: str, values: list[str], variables: bool, req: Request) -> z3.BoolRef:
    # Set operators over this model's single-valued keys: ForAllValues holds when the key is absent or its
    # one value passes; ForAnyValue when it is present and passes (IAM's definitions, one value).
    if operator.startswith("ForAllValues:"):
        inner = _condition(operator.split(":", 1)[1], key, values, variables, req)
        return z3.Or(z3.Not(req.present(key)), inner)
    if operator.startswith("ForAnyValue:"):
        inner = _condition(operator.split(":", 1)[1], key, values, variables, req)
        return z3.And(req.present(key), inner)
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    present = req.present(key)
    value = req.value(key)
    holds: z3.BoolRef
    if base in ("StringEquals", "StringNotEquals"):
        holds = _equals(value, values, variables, req)
    elif base in ("StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        holds = _matches(value, values, variables, req)
    elif base == "Bool":
        holds = z3.Or(*(value.equals(v.lower()) for v in values))
    elif base == "Null":
        if if_exists:
            raise ValueError("NullIfExists is not an operator")
        return z3.Or(*(z3.Not(present) if v.lower() == "true" else present for v in values))
    elif base in _NUMERIC:
        compare = _NUMERIC[base.replace("Not", "")] if base in _NEGATED else _NUMERIC[base]
        holds = z3.Or(*(compare(req.number(key), int(v)) for v in values))
    else:
        raise ValueError(f"operator {operator} is not encoded")
    if base in _NEGATED:
        # A negated operator holds when no value matches, and when the key is absent.
        return z3.Or(z3.Not(present), z3.Not(holds))
    return z3.Or(z3.Not(present), holds) if if_exists else z3.And(present, holds)


def statement_applies(statement: dict[str, Any], version: str | None, req: Request) -> z3.BoolRef:
    variables = version == "2012-10-17"
    if "Action" in statement:
        action = _matches(req.action, [a.lower() for a in _as_list(statement["Action"])], False, req)
    else:
        action = z3.Not(
            _matches(req.action, [a.lower() for a in _as_list(statement["NotAction"])], False, req)
        )
    if "NotResource" in statement:
        resource = z3.Not(_matches(req.resource, _as_list(statement["NotResource"]), variables, req))
    else:
        resource = _matches(req.resource, _as_list(statement.get("Resource", "*")), variables, req)
    conditions = [
        _condition(operator, key, _as_list(value), variables, req)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, value in block.items()
    ]
    return z3.And(action, resource, *conditions)


def allowed(documents: Sequence[dict[str, Any]], req: Request) -> z3.BoolRef:
    """Is the request allowed by these identity policies (some Allow applies, no Deny does)?"""
    allows: list[z3.BoolRef] = []
    denies: list[z3.BoolRef] = []
    for doc in documents:
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for st in statements:
            (allows if st["Effect"] == "Allow" else denies).append(
                statement_applies(st, doc.get("Version"), req)
            )
    return z3.And(z3.Or(*allows) if allows else z3.BoolVal(False), z3.Not(z3.Or(*denies)))


def new_access(
    original: Sequence[dict[str, Any]],
    proposed: Sequence[dict[str, Any]],
    actions: Sequence[str] = (),
    resources: Sequence[str] = (),
) -> dict[str, Any] | None:
    """A request `proposed` allows and `original` does not (limited to `actions` and to `resources`, as
    literal ARNs, when given), or None."""
    req = Request()
    solver = z3.Solver()
    solver.add(allowed(proposed, req), z3.Not(allowed(original, req)))
    if actions:
        solver.add(z3.Or(*(req.action.equals(a.lower()) for a in actions)))
    if resources:
        solver.add(z3.Or(*(req.resource.equals(r) for r in resources)))
    solver.add(req.shape())
    result = solver.check()
    if result == z3.unknown:
        raise AssertionError(f"z3 could not decide: {solver.reason_unknown()}")
    if result == z3.unsat:
        return None
    model = solver.model()
    found: dict[str, Any] = {"action": req.action.read(model), "resource": req.resource.read(model)}
    for key in req.keys:
        if z3.is_true(model.eval(req.present(key), model_completion=True)):
            found[key] = req.value(key).read(model)
    return found


def decide(
    documents: Sequence[dict[str, Any]],
    action: str,
    resource: str,
    context: dict[str, str],
    *,
    levels: Sequence[Sequence[dict[str, Any]]] = (),
    value_bound: int = VALUE_BOUND,
) -> bool:
    """Is this one concrete request allowed? (For testing the evaluator against known answers.) With
    `levels` (SCP levels, root first), each level's documents must allow it too, and a Deny in any refuses
    it. `value_bound` is the longest condition value it can read (ARNs are longer than the default)."""
    req = Request(value_bound)
    solver = z3.Solver()
    solver.add(req.action.equals(action.lower()), req.resource.equals(resource))
    formula = z3.And(allowed(documents, req), *(allowed(level, req) for level in levels))
    given = {k.lower(): v for k, v in context.items()}
    for key in {*req.keys, *given}:
        if key in given:
            solver.add(req.present(key), req.value(key).equals(given[key]))
            if given[key].lstrip("-").isdigit():
                solver.add(req.number(key) == int(given[key]))
        else:
            solver.add(z3.Not(req.present(key)))
    solver.add(formula, req.action.shape(), req.resource.shape(), *(req.value(k).shape() for k in req.keys))
    return solver.check() == z3.sat
