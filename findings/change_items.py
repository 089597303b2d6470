"""The kinds of change a request is made of, each with one handler: read the live state, apply, undo.

A change request holds a list of items (JSON). Each item has a `kind`:

- `inline`: an inline policy rewritten; parts beyond the first (a document split to fit the size limit)
  become inline policies of their own, `<name>-2`, `<name>-3`...; no parts deletes the policy.
- `managed`: a customer-managed policy used by this principal alone gets a new default version; parts beyond
  the first are created as policies of their own and attached.
- `replace`: an AWS managed or shared policy is replaced for this principal alone: a policy of ours is
  created per part and attached, then the original is detached.
- `detach`: nothing in an attached policy is used: it is detached.
- `ps-inline`, `ps-replace`, `ps-detach`: the same for an IAM Identity Center role, written to its
  permission set (`findings.permission_set_changes`), with the account hosting Identity Center's client.

Applying writes through a `Recorder`: every AWS write is recorded as a step the moment AWS accepts it, with
what undoing it needs, so a failed, interrupted or unwanted apply is undone step by step, newest first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from accounts.aws import apply as aws
from findings import permission_set_changes


class ItemKind(StrEnum):
    INLINE = "inline"
    MANAGED = "managed"
    REPLACE = "replace"
    DETACH = "detach"
    PS_INLINE = "ps-inline"
    PS_REPLACE = "ps-replace"
    PS_DETACH = "ps-detach"


@dataclass(frozen=True)
class Target:
    """The principal a change writes to."""

    kind: str  # user | role | group
    name: str


Step = dict[str, Any]
# The kinds of recorded write (a step), each undone by `undo_step`.
STEP_KINDS = (
    frozenset({"inline-put", "managed-version", "create-policy", "attach", "detach"})
    | permission_set_changes.STEP_KINDS
)
Record = Callable[[Step], None]


def items_digest(items: list[dict[str, Any]]) -> str:
    """A digest of exactly what would be written: an approval is bound to it."""
    payload = [[i.get("kind"), i.get("name"), i.get("arn", ""), i.get("proposed")] for i in items]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def part_name(name: str, part: int) -> str:
    """The name of part `part` (1-based) of a split document: the first keeps the original name."""
    return name if part == 1 else f"{name}-{part}"[:128]


@dataclass(frozen=True)
class Writer:
    """What an apply writes with: the IAM client, the principal, the recorder of steps, the request."""

    iam: Any
    target: Target
    record: Record
    change_id: int


class Handler(Protocol):
    def read_live(self, iam: Any, target: Target, item: dict[str, Any]) -> dict[str, Any]: ...

    def apply(self, w: Writer, item: dict[str, Any], live: dict[str, Any]) -> str: ...


class _Inline:
    def read_live(self, iam: Any, target: Target, item: dict[str, Any]) -> dict[str, Any]:
        document = aws.read_inline(iam, target.kind, target.name, item["name"])
        return {"kind": ItemKind.INLINE, "name": item["name"], "document": document}

    def apply(self, w: Writer, item: dict[str, Any], live: dict[str, Any]) -> str:
        parts = item["proposed"]
        if not parts:
            aws.delete_inline(w.iam, w.target.kind, w.target.name, item["name"])
            w.record({"kind": "inline-put", "name": item["name"], "previous": live["document"]})
            return f"deleted inline policy {item['name']} (nothing in it is used)"
        for n, document in enumerate(parts, start=1):
            name = part_name(item["name"], n)
            previous = (
                live["document"] if n == 1 else aws.read_inline(w.iam, w.target.kind, w.target.name, name)
            )
            aws.put_inline(w.iam, w.target.kind, w.target.name, name, document)
            w.record({"kind": "inline-put", "name": name, "previous": previous})
        return f"wrote inline policy {item['name']}" + (f" in {len(parts)} parts" if len(parts) > 1 else "")


def _attach_extra_parts(w: Writer, item: dict[str, Any], parts: list[Any]) -> list[str]:
    """Parts of a split document beyond those already written: a policy of ours each, attached."""
    created = []
    for n, document in parts:
        arn = aws.create_policy(
            w.iam,
            part_name(item.get("replacement_name") or f"iamreview-{w.target.name}-{item['name']}", n),
            document,
            f"Tightened from {item['name']} by iamreview change #{w.change_id}",
        )
        w.record({"kind": "create-policy", "arn": arn})
        aws.attach(w.iam, w.target.kind, w.target.name, arn)
        w.record({"kind": "attach", "arn": arn})
        created.append(arn)
    return created


class _Managed:
    def read_live(self, iam: Any, target: Target, item: dict[str, Any]) -> dict[str, Any]:
        version, document = aws.read_managed_default(iam, item["arn"])
        return {
            "kind": item["kind"],
            "name": item["name"],
            "arn": item["arn"],
            "version": version,
            "document": document,
        }

    def apply(self, w: Writer, item: dict[str, Any], live: dict[str, Any]) -> str:
        first, *rest = item["proposed"]
        result = aws.create_default_version(w.iam, item["arn"], first)
        w.record(
            {
                "kind": "managed-version",
                "arn": item["arn"],
                "version": result["version"],
                "previous_version": live["version"],
                "deleted": result["deleted"],
            }
        )
        created = _attach_extra_parts(w, item, list(enumerate(rest, start=2)))
        deleted = result["deleted"]
        return (
            f"created version {result['version']} of {item['arn']}"
            + (f" (deleted oldest {deleted['version']})" if deleted else "")
            + (f" and attached {', '.join(created)}" if created else "")
        )


class _Replace(_Managed):
    def apply(self, w: Writer, item: dict[str, Any], live: dict[str, Any]) -> str:
        # Ours first, the original detached last: the principal never holds less than either.
        created = _attach_extra_parts(w, item, list(enumerate(item["proposed"], start=1)))
        aws.detach(w.iam, w.target.kind, w.target.name, item["arn"])
        w.record({"kind": "detach", "arn": item["arn"]})
        return f"attached {', '.join(created)} then detached {item['arn']}"


class _Detach(_Managed):
    def apply(self, w: Writer, item: dict[str, Any], live: dict[str, Any]) -> str:
        aws.detach(w.iam, w.target.kind, w.target.name, item["arn"])
        w.record({"kind": "detach", "arn": item["arn"]})
        return f"detached {item['arn']} (nothing in it is used)"


HANDLERS: dict[str, Handler] = {
    ItemKind.INLINE: _Inline(),
    ItemKind.MANAGED: _Managed(),
    ItemKind.REPLACE: _Replace(),
    ItemKind.DETACH: _Detach(),
    **permission_set_changes.HANDLERS,
}


def handler_for(item: dict[str, Any]) -> Handler:
    kind = item.get("kind")
    if kind == ItemKind.MANAGED and not item.get("proposed"):
        kind = ItemKind.DETACH  # requests made before `detach` was a kind of its own
    return HANDLERS[str(kind)]


def undo_step(iam: Any, target: Target, step: Step) -> str:
    """Reverse one recorded write; safe to repeat (a retried rollback may meet a step half-undone)."""
    kind = step["kind"]
    if kind in permission_set_changes.STEP_KINDS:
        return permission_set_changes.undo(iam, step)
    if kind == "inline-put":
        if step["previous"] is None:
            if aws.read_inline(iam, target.kind, target.name, step["name"]) is not None:
                aws.delete_inline(iam, target.kind, target.name, step["name"])
            return f"removed inline policy {step['name']}"
        aws.put_inline(iam, target.kind, target.name, step["name"], step["previous"])
        return f"restored inline policy {step['name']}"
    if kind == "managed-version":
        aws.set_default_version(iam, step["arn"], step["previous_version"])
        if step["version"] in aws.versions(iam, step["arn"]):
            aws.delete_version(iam, step["arn"], step["version"])
        return f"restored version {step['previous_version']} of {step['arn']}"
    if kind == "attach":
        if step["arn"] in aws.attached(iam, target.kind, target.name):
            aws.detach(iam, target.kind, target.name, step["arn"])
        return f"detached {step['arn']}"
    if kind == "detach":
        if step["arn"] not in aws.attached(iam, target.kind, target.name):
            aws.attach(iam, target.kind, target.name, step["arn"])
        return f"re-attached {step['arn']}"
    if kind == "create-policy":
        if aws.policy_exists(iam, step["arn"]):
            aws.delete_policy(iam, step["arn"])
        return f"deleted {step['arn']}"
    raise ValueError(f"unknown step {kind!r}")
