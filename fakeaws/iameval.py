"""fakeaws's own IAM policy evaluator: parse, decide one request, and compare two policies.

Written apart from the product's engine (`policy/`) so that when fakeaws and the engine agree, that means
something. It is small and conservative: wherever it cannot prove that a new policy grants nothing new it
says it does (an unknown action or service, a wildcard that would also match actions AWS adds later, a
resource pattern or condition it cannot compare).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fakeaws.iamdb import glob_regex

VARIABLE_VERSION = "2012-10-17"  # only this version reads ${...} as a policy variable
VERSIONS = ("2012-10-17", "2008-10-17")
STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
PRINCIPAL_KEYS = {"Principal", "NotPrincipal"}


class PolicyInvalid(ValueError):
    """A document IAM would refuse; `code` is the Access Analyzer issue code."""

    def __init__(self, code: str, detail: str, path: Sequence[str | int] = ()) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.path = tuple(path)


Condition = tuple[str, str, frozenset[str]]  # operator, key (lower case), values


@dataclass(frozen=True)
class Statement:
    index: int
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]  # lower case
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: frozenset[Condition]
    variables: bool  # ${...} is a policy variable (Version 2012-10-17), else literal text
    sid: str = ""


@dataclass(frozen=True)
class Policy:
    version: str | None
    statements: tuple[Statement, ...]
    raw: Any = field(compare=False, default=None)


def _strings(value: Any, path: list[str | int]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyInvalid("DATA_TYPE_MISMATCH", f"{'.'.join(map(str, path))} is an empty list.", path)
    for n, item in enumerate(items):
        if not isinstance(item, str):
            raise PolicyInvalid(
                "DATA_TYPE_MISMATCH",
                "The text does not match the expected JSON data type String.",
                [*path, n],
            )
    return tuple(items)


def _condition_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise PolicyInvalid(
        "INVALID_CONDITION_DATA_TYPE", f"Condition value {value!r} is not a string, number or boolean."
    )


def _conditions(block: Any, path: list[str | int]) -> frozenset[Condition]:
    if not isinstance(block, dict):
        raise PolicyInvalid("DATA_TYPE_MISMATCH", "Condition must be an object.", path)
    out: set[Condition] = set()
    for operator, pairs in block.items():
        if not isinstance(pairs, dict):
            raise PolicyInvalid(
                "DATA_TYPE_MISMATCH",
                f"Condition operator {operator} must map keys to values.",
                [*path, operator],
            )
        for key, values in pairs.items():
            items = values if isinstance(values, list) else [values]
            out.add((str(operator), str(key).lower(), frozenset(_condition_value(v) for v in items)))
    return frozenset(out)


def parse(document: Any, *, identity: bool = True) -> Policy:
    """A policy from its JSON text or decoded object; PolicyInvalid says what IAM would refuse."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise PolicyInvalid("JSON_SYNTAX_ERROR", f"Fix the JSON syntax error: {exc}.") from exc
    if not isinstance(document, dict):
        raise PolicyInvalid("DATA_TYPE_MISMATCH", "A policy document is a JSON object.")
    for key in document:
        if key not in ("Version", "Id", "Statement"):
            raise PolicyInvalid(
                "INVALID_POLICY_ELEMENT", f"The element {key} in the policy is invalid.", [key]
            )
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyInvalid("INVALID_VERSION", f"The version {version} is not valid.", ["Version"])
    if "Statement" not in document:
        raise PolicyInvalid("MISSING_STATEMENT", "Add the Statement element to the policy.")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyInvalid("DATA_TYPE_MISMATCH", "Statement must be an object or a list.", ["Statement"])
    statements = []
    for n, raw in enumerate(raw_statements):
        path: list[str | int] = ["Statement", n]
        if not isinstance(raw, dict):
            raise PolicyInvalid("DATA_TYPE_MISMATCH", "A statement is a JSON object.", path)
        for key in raw:
            if key in PRINCIPAL_KEYS and identity:
                raise PolicyInvalid(
                    "UNSUPPORTED_PRINCIPAL",
                    "The Principal element is not supported for identity policies.",
                    [*path, key],
                )
            if key not in STATEMENT_KEYS | PRINCIPAL_KEYS:
                raise PolicyInvalid(
                    "INVALID_POLICY_ELEMENT", f"The element {key} in the statement is invalid.", [*path, key]
                )
        if "Effect" not in raw:
            raise PolicyInvalid("MISSING_EFFECT", "Add an Effect element to the statement.", path)
        if raw["Effect"] not in ("Allow", "Deny"):
            raise PolicyInvalid(
                "INVALID_EFFECT", f"The effect {raw['Effect']!r} is not Allow or Deny.", [*path, "Effect"]
            )
        if ("Action" in raw) == ("NotAction" in raw):
            raise PolicyInvalid("MISSING_ACTION", "Use exactly one of Action and NotAction.", path)
        if ("Resource" in raw) == ("NotResource" in raw):
            raise PolicyInvalid("MISSING_RESOURCE", "Use exactly one of Resource and NotResource.", path)
        action_key = "Action" if "Action" in raw else "NotAction"
        resource_key = "Resource" if "Resource" in raw else "NotResource"
        statements.append(
            Statement(
                index=n,
                effect=raw["Effect"],
                actions=tuple(a.lower() for a in _strings(raw[action_key], [*path, action_key])),
                not_action=action_key == "NotAction",
                resources=_strings(raw[resource_key], [*path, resource_key]),
                not_resource=resource_key == "NotResource",
                conditions=_conditions(raw.get("Condition", {}), [*path, "Condition"]),
                variables=version == VARIABLE_VERSION,
                sid=str(raw.get("Sid", "")),
            )
        )
    return Policy(version=version, statements=tuple(statements), raw=document)


# --- wildcard patterns as token lists -------------------------------------------------------------------
# A token is "*" (any run), "?" (one character), "$name" (a policy variable: an unknown run), or one
# literal character prefixed with "=".

Tokens = tuple[str, ...]


# Memoised: Access Analyzer's checks compare the same few hundred patterns hundreds of thousands of times.
@lru_cache(maxsize=65536)
def tokens(pattern: str, variables: bool) -> Tokens:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if variables and pattern.startswith("${", i) and "}" in pattern[i:]:
            end = pattern.index("}", i)
            name = pattern[i + 2 : end]
            out.append(f"={name}" if name in ("*", "?", "$") else f"${name.lower()}")
            i = end + 1
            continue
        out.append(ch if ch in "*?" else f"={ch}")
        i += 1
    return tuple(out)


def covers(outer: Tokens, inner: Tokens) -> bool:
    """Every string `inner` can match, `outer` matches too (sound: False when unsure)."""
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:  # i in inner, j in outer
        key = (i, j)
        if key in memo:
            return memo[key]
        if j == len(outer):
            result = i == len(inner)
        elif outer[j] == "*":
            result = go(i, j + 1) or (i < len(inner) and go(i + 1, j))
        elif i == len(inner):
            result = False
        elif inner[i] in ("*",) or inner[i].startswith("$"):
            result = outer[j] == inner[i] and go(i + 1, j + 1)  # only a star (above) or the same variable
        elif outer[j] == "?":
            result = go(i + 1, j + 1)
        else:
            result = outer[j] == inner[i] and go(i + 1, j + 1)
        memo[key] = result
        return result

    return go(0, 0)


def may_overlap(a: Tokens, b: Tokens) -> bool:
    """Some string matches both (a variable counts as a star: it could be anything)."""
    memo: dict[tuple[int, int], bool] = {}

    def wild(t: str) -> bool:
        return t == "*" or t.startswith("$")

    def go(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(a) and j == len(b):
            result = True
        elif i < len(a) and wild(a[i]):
            result = go(i + 1, j) or (j < len(b) and go(i, j + 1))
        elif j < len(b) and wild(b[j]):
            result = go(i, j + 1) or (i < len(a) and go(i + 1, j))
        elif i < len(a) and j < len(b):
            result = (a[i] == "?" or b[j] == "?" or a[i] == b[j]) and go(i + 1, j + 1)
        else:
            result = False
        memo[key] = result
        return result

    return go(0, 0)


def action_tokens(pattern: str) -> Tokens:
    return tokens(pattern.lower(), False)


# --- one request ----------------------------------------------------------------------------------------


def _substitute(pattern: str, context: Mapping[str, Sequence[str]]) -> str | None:
    """The resource pattern with its variables filled from the request; None when one is missing."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("${", i) and "}" in pattern[i:]:
            end = pattern.index("}", i)
            name = pattern[i + 2 : end]
            if name in ("*", "?", "$"):
                out.append(_escape(name))
            else:
                values = context.get(name.lower())
                if not values:
                    return None
                out.append(_escape(values[0]))
            i = end + 1
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)


def _escape(text: str) -> str:
    # A filled-in value is literal text, never a wildcard.
    return text.replace("*", "\x00").replace("?", "\x01")


def _wild_match(pattern: str, value: str) -> bool:
    """Case-sensitive `*`/`?` match (resources, StringLike); \\x00 and \\x01 stand for a literal * and ?."""
    parts = (
        ".*" if c == "*" else "." if c == "?" else re.escape(c.replace("\x00", "*").replace("\x01", "?"))
        for c in pattern
    )
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


def _resource_matches(
    pattern: str, resource: str, variables: bool, context: Mapping[str, Sequence[str]]
) -> bool:
    filled = _substitute(pattern, context) if variables else pattern
    return filled is not None and _wild_match(filled, resource)


def _condition_holds(condition: Condition, context: Mapping[str, Sequence[str]]) -> bool | None:
    """True/False, or None for an operator this evaluator does not know."""
    operator, key, expected = condition
    base = operator
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    qualifier, _, base = base.rpartition(":")
    present = context.get(key)
    if base == "Null":
        return (present is None) == ("true" in expected)
    if present is None:
        return if_exists or base.startswith(("StringNot", "ArnNot"))
    negated = base.startswith(("StringNot", "ArnNot"))
    family = base.replace("Not", "", 1) if negated else base

    def one(value: str) -> bool | None:
        if family in ("StringEquals", "ArnEquals"):
            return value in expected
        if family == "StringEqualsIgnoreCase":
            return value.lower() in {e.lower() for e in expected}
        if family in ("StringLike", "ArnLike"):
            return any(_wild_match(e, value) for e in expected)
        if family == "Bool":
            return value.lower() in {e.lower() for e in expected}
        return None

    results = [one(v) for v in present]
    if any(r is None for r in results):
        return None
    matched = all(results) if qualifier == "ForAllValues" else any(results)
    return not matched if negated else matched


def decide(
    policies: Iterable[Policy], action: str, resource: str, context: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The decision for one request against identity policies: allowed, explicitDeny or implicitDeny."""
    context = {k.lower(): v for k, v in (context or {}).items()}
    allowed = False
    for policy in policies:
        for st in policy.statements:
            if not _statement_matches_action(st, action.lower()):
                continue
            hit = any(_resource_matches(r, resource, st.variables, context) for r in st.resources)
            if st.not_resource:
                hit = not hit
            if not hit:
                continue
            verdicts = [_condition_holds(c, context) for c in st.conditions]
            if st.effect == "Deny":
                # An unknown operator could hold: a Deny is then taken to apply.
                if all(v is not False for v in verdicts):
                    return "explicitDeny"
            elif all(v is True for v in verdicts):
                allowed = True
    return "allowed" if allowed else "implicitDeny"


def _statement_matches_action(st: Statement, action: str) -> bool:
    hit = any(glob_regex(p).fullmatch(action) for p in st.actions)
    return hit != st.not_action
