"""Parsed IAM policy documents: frozen dataclasses, every string-or-list field normalised once, here."""

from __future__ import annotations

import gc
import json
import reprlib
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MAX_DOCUMENT_CHARS = 1_000_000
MAX_NESTING = 20


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many small objects are made and kept (parsing an
    account, analysing it): its passes would walk them all again and again, for a quarter of the time,
    and what they build holds no reference cycles to collect. The previous state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class PolicyError(ValueError):
    """A policy document we cannot read; the message names the policy and the problem."""

    def __init__(self, policy_name: str, problem: str) -> None:
        self.policy_name = policy_name
        self.problem = problem
        super().__init__(f"policy {policy_name!r}: {problem}")


@dataclass(frozen=True, slots=True)
class Condition:
    """One operator/key pair of a Condition block, e.g. StringEquals aws:username ["alice"]."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # lower-cased: condition keys are case-insensitive
    values: tuple[str, ...]

    @property
    def base_operator(self) -> str:
        op = self.operator.split(":", 1)[-1]
        return op[: -len("IfExists")] if op.endswith("IfExists") else op

    @property
    def if_exists(self) -> bool:
        return self.operator.endswith("IfExists")


@dataclass(frozen=True, slots=True)
class Principal:
    """Principal or NotPrincipal of a resource or trust policy. `wildcard` is `"*"` or `{"AWS": "*"}`."""

    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()
    wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...] = ()  # lower-cased patterns; empty when not_actions is used
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] = ("*",)
    not_resources: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()
    principal: Principal | None = None
    not_principal: Principal | None = None
    sid: str = ""

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    @property
    def all_resources(self) -> bool:
        return self.not_resources is None and "*" in self.resources


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    name: str
    statements: tuple[Statement, ...]
    version: str = "2012-10-17"
    raw: Any = field(default=None, compare=False, hash=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return document_to_json(self)


_STRING = frozenset((str,))


def _as_tuple(value: Any, what: str, policy: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and (
        set(map(type, value)) <= _STRING or all(isinstance(v, str) for v in value)
    ):
        if not value:
            raise PolicyError(policy, f"{what} is an empty list")
        return tuple(value)
    raise PolicyError(policy, f"{what} must be a string or a list of strings, not {type(value).__name__}")


def _condition_values(value: Any, policy: str, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise PolicyError(policy, f"condition {where} has a value of type {type(item).__name__}")
    return tuple(out)


def _parse_conditions(block: Any, policy: str) -> tuple[Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise PolicyError(policy, "Condition must be an object of operator to {key: values}")
    out: list[Condition] = []
    for operator, pairs in block.items():
        if not isinstance(pairs, dict):
            raise PolicyError(policy, f"Condition operator {operator!r} must map keys to values")
        for key, value in pairs.items():
            out.append(
                Condition(operator, str(key).lower(), _condition_values(value, policy, f"{operator}/{key}"))
            )
    return tuple(out)


def _parse_principal(value: Any, policy: str, what: str) -> Principal:
    if value == "*":
        return Principal(wildcard=True)
    if not isinstance(value, dict):
        raise PolicyError(policy, f'{what} must be "*" or an object such as {{"AWS": "..."}}')
    known = {"AWS", "Service", "Federated", "CanonicalUser"}
    unknown = set(value) - known
    if unknown:
        raise PolicyError(policy, f"{what} has unknown type(s): {', '.join(sorted(unknown))}")
    aws = _as_tuple(value["AWS"], f"{what}.AWS", policy) if "AWS" in value else ()
    return Principal(
        aws=aws,
        service=_as_tuple(value["Service"], f"{what}.Service", policy) if "Service" in value else (),
        federated=_as_tuple(value["Federated"], f"{what}.Federated", policy) if "Federated" in value else (),
        canonical_user=(
            _as_tuple(value["CanonicalUser"], f"{what}.CanonicalUser", policy)
            if "CanonicalUser" in value
            else ()
        ),
        wildcard="*" in aws,
    )


_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Principal",
        "NotPrincipal",
    }
)


def _sid(value: Any, policy: str, where: str) -> str:
    if isinstance(value, str):
        return value
    if _depth(value, MAX_NESTING - 3) > MAX_NESTING - 3:
        raise PolicyError(policy, f"document is nested deeper than {MAX_NESTING} levels (at {where}.Sid)")
    return str(value)


def _parse_statement(raw: Any, policy: str, index: int) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, dict):
        raise PolicyError(policy, f"{where} must be an object")
    if not _STATEMENT_KEYS.issuperset(raw):
        unknown = set(raw) - _STATEMENT_KEYS
        raise PolicyError(policy, f"{where} has unknown element(s): {', '.join(sorted(unknown))}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(policy, f'{where}.Effect must be "Allow" or "Deny", not {reprlib.repr(effect)}')
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(policy, f"{where} needs exactly one of Action and NotAction")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(policy, f"{where} has both Resource and NotResource")
    actions = (
        tuple(map(str.lower, _as_tuple(raw["Action"], f"{where}.Action", policy))) if "Action" in raw else ()
    )
    not_actions = (
        tuple(map(str.lower, _as_tuple(raw["NotAction"], f"{where}.NotAction", policy)))
        if "NotAction" in raw
        else None
    )
    for pattern in actions + (not_actions or ()):
        if pattern != "*" and ":" not in pattern:
            raise PolicyError(policy, f"{where} action {pattern!r} is not of the form service:Action")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    resources: tuple[str, ...] = ("*",)
    not_resources = None
    if "Resource" in raw:
        resources = _as_tuple(raw["Resource"], f"{where}.Resource", policy)
    elif "NotResource" in raw:
        resources = ()
        not_resources = _as_tuple(raw["NotResource"], f"{where}.NotResource", policy)
    elif not has_principal:
        raise PolicyError(policy, f"{where} needs Resource or NotResource")
    return Statement(
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        conditions=_parse_conditions(raw.get("Condition"), policy),
        principal=_parse_principal(raw["Principal"], policy, f"{where}.Principal")
        if "Principal" in raw
        else None,
        not_principal=(
            _parse_principal(raw["NotPrincipal"], policy, f"{where}.NotPrincipal")
            if "NotPrincipal" in raw
            else None
        ),
        sid=_sid(raw.get("Sid", ""), policy, where),
    )


def _depth(value: Any, limit: int) -> int:
    """Nesting depth, a scalar counting one level below its container. Only containers are walked:
    a policy's many action strings cost one comparison each, not a stack entry."""
    if not isinstance(value, (dict, list)):
        return 1
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        for v in item.values() if isinstance(item, dict) else item:
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1))
            elif depth >= deepest:
                deepest = depth + 1
        if deepest > limit:
            return deepest
    return deepest


def load_document_json(document: Any, name: str) -> Any:
    """JSON text, URL-encoded JSON text (as IAM's API returns it) or an already-parsed object."""
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyError(name, "document is not UTF-8 text") from exc
    if isinstance(document, str):
        if len(document) > MAX_DOCUMENT_CHARS:
            raise PolicyError(name, f"document is larger than {MAX_DOCUMENT_CHARS:,} characters")
        text = document.strip()
        if text.startswith("%7B") or text.startswith("%7b"):
            text = urllib.parse.unquote(text)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(
                name, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from exc
        except RecursionError as exc:
            raise PolicyError(name, "document is nested too deeply") from exc
    return document


def parse_policy(document: Any, name: str = "policy") -> PolicyDocument:
    """Parse an identity, trust, boundary, SCP or resource policy. Raises PolicyError, nothing else."""
    data = load_document_json(document, name)
    if not isinstance(data, dict):
        raise PolicyError(name, "a policy document must be a JSON object")
    # Every element the parser reads is checked for its shape (strings, lists of strings, condition
    # blocks), which bounds its nesting; what it does not read (Id and other top-level elements, Sid) is
    # measured. The document counts one level, the statement list and the statement two more.
    for key, value in data.items():
        if key != "Statement" and _depth(value, MAX_NESTING - 1) > MAX_NESTING - 1:
            raise PolicyError(name, f"document is nested deeper than {MAX_NESTING} levels")
    version = data.get("Version", "2008-10-17")
    if version not in ("2012-10-17", "2008-10-17"):
        raise PolicyError(name, f"Version must be 2012-10-17 or 2008-10-17, not {reprlib.repr(version)}")
    raw_statements = data.get("Statement")
    if raw_statements is None:
        raise PolicyError(name, "document has no Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyError(name, "Statement must be an object or a list of objects")
    statements = tuple(_parse_statement(s, name, i) for i, s in enumerate(raw_statements))
    return PolicyDocument(name=name, statements=statements, version=str(version), raw=data)


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _principal_json(p: Principal) -> Any:
    if p.wildcard and not (p.service or p.federated or p.canonical_user) and p.aws in ((), ("*",)):
        return "*"
    out: dict[str, Any] = {}
    for key, values in (("AWS", p.aws), ("Service", p.service), ("Federated", p.federated)):
        if values:
            out[key] = _one_or_list(values)
    if p.canonical_user:
        out["CanonicalUser"] = _one_or_list(p.canonical_user)
    return out


def statement_to_json(s: Statement, action_names: dict[str, str] | None = None) -> dict[str, Any]:
    """Back to the AWS shape; `action_names` maps lower-case actions to their canonical spelling."""

    def spell(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple((action_names or {}).get(v, v) for v in values)

    out: dict[str, Any] = {}
    if s.sid:
        out["Sid"] = s.sid
    out["Effect"] = s.effect
    if s.principal is not None:
        out["Principal"] = _principal_json(s.principal)
    if s.not_principal is not None:
        out["NotPrincipal"] = _principal_json(s.not_principal)
    if s.not_actions is not None:
        out["NotAction"] = _one_or_list(spell(s.not_actions))
    else:
        out["Action"] = _one_or_list(spell(s.actions))
    if s.not_resources is not None:
        out["NotResource"] = _one_or_list(s.not_resources)
    elif s.principal is None or s.resources != ("*",):
        out["Resource"] = _one_or_list(s.resources)
    if s.conditions:
        block: dict[str, dict[str, Any]] = {}
        for c in s.conditions:
            block.setdefault(c.operator, {})[c.key] = _one_or_list(c.values)
        out["Condition"] = block
    return out


def document_to_json(doc: PolicyDocument, action_names: dict[str, str] | None = None) -> dict[str, Any]:
    return {"Version": doc.version, "Statement": [statement_to_json(s, action_names) for s in doc.statements]}


def minified_length(document: dict[str, Any]) -> int:
    """Characters AWS counts against size limits: whitespace does not count."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


def parse_policies(documents: Iterable[Any]) -> list[PolicyDocument]:
    """The documents that parse (named policy-0, policy-1, ... in their order); a malformed one is left out,
    as IAM would never have accepted it."""
    parsed = []
    for n, document in enumerate(documents):
        try:
            parsed.append(parse_policy(document, f"policy-{n}"))
        except PolicyError:
            continue
    return parsed
