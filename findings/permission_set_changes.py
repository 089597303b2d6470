"""The change items that tighten an IAM Identity Center permission set instead of its roles, each with its
handler (read the live state, apply) and the undoing of its steps (`undo`).

- `ps-inline`: the set's inline policy rewritten (one document: a set has one inline policy); no document
  deletes it.
- `ps-replace`: a managed policy of the set replaced: its tightened statements join the set's inline
  policy, then the managed policy is detached from the set.
- `ps-detach`: nothing in a managed policy of the set is used: it is detached.

Every item ends with `ProvisionPermissionSet` to every account the set is provisioned to, waiting for it,
so the set's roles carry the change. Before writing, an item records a `ps-provision` step; undone last
(steps are undone newest first), it provisions the restored set again.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.aws import identity_center as ic


def merged(documents: list[Any]) -> dict[str, Any]:
    """One policy holding every statement of `documents`, each Sid kept unique."""
    statements: list[Any] = []
    seen: set[str] = set()
    for document in documents:
        found = document.get("Statement", []) if isinstance(document, dict) else []
        for statement in found if isinstance(found, list) else [found]:
            statement = dict(statement)
            sid = statement.get("Sid")
            if sid:
                n, base = 2, sid
                while sid in seen:
                    sid, n = f"{base}{n}", n + 1
                statement["Sid"] = sid
                seen.add(sid)
            statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _ref(item: dict[str, Any]) -> tuple[str, str]:
    return item["instance_arn"], item["permission_set_arn"]


def _provision(sso: Any, instance: str, arn: str) -> str:
    return ic.provision(sso, instance, arn, poll=settings.IAMREVIEW_POLL_MS / 1000)


class _Base:
    def _begin(self, w: Any, item: dict[str, Any]) -> None:
        instance, arn = _ref(item)
        w.record({"kind": "ps-provision", "instance_arn": instance, "permission_set_arn": arn})

    def _end(self, w: Any, item: dict[str, Any], done: str) -> str:
        instance, arn = _ref(item)
        request = _provision(w.iam, instance, arn)
        return f"{done}; provisioned permission set {item['permission_set']} (request {request})"


class PermissionSetInline(_Base):
    def read_live(self, sso: Any, target: Any, item: dict[str, Any]) -> dict[str, Any]:
        document = ic.read_inline(sso, *_ref(item))
        return {"kind": item["kind"], "name": item["name"], "arn": item.get("arn", ""), "document": document}

    def apply(self, w: Any, item: dict[str, Any], live: dict[str, Any]) -> str:
        instance, arn = _ref(item)
        self._begin(w, item)
        step = {"kind": "ps-inline-put", "instance_arn": instance, "permission_set_arn": arn}
        if not item["proposed"]:
            ic.delete_inline(w.iam, instance, arn)
            w.record({**step, "previous": live["document"]})
            return self._end(w, item, f"deleted the inline policy of {item['permission_set']}")
        document = merged(item["proposed"])
        ic.put_inline(w.iam, instance, arn, document)
        w.record({**step, "previous": live["document"], "document": document})
        return self._end(w, item, f"wrote the inline policy of {item['permission_set']}")


class PermissionSetDetach(_Base):
    def read_live(self, sso: Any, target: Any, item: dict[str, Any]) -> dict[str, Any]:
        attached = item["arn"] in ic.managed_arns(sso, *_ref(item))
        # The managed document is AWS's; what can drift here is whether the set still holds it.
        return {
            "kind": item["kind"],
            "name": item["name"],
            "arn": item["arn"],
            "document": item["original"] if attached else None,
        }

    def _detach(self, w: Any, item: dict[str, Any]) -> None:
        instance, arn = _ref(item)
        ic.detach_managed(w.iam, instance, arn, item["arn"])
        w.record(
            {"kind": "ps-detach", "instance_arn": instance, "permission_set_arn": arn, "arn": item["arn"]}
        )

    def apply(self, w: Any, item: dict[str, Any], live: dict[str, Any]) -> str:
        self._begin(w, item)
        self._detach(w, item)
        return self._end(
            w, item, f"detached {item['arn']} from {item['permission_set']} (nothing in it is used)"
        )


class PermissionSetReplace(PermissionSetDetach):
    def apply(self, w: Any, item: dict[str, Any], live: dict[str, Any]) -> str:
        instance, arn = _ref(item)
        self._begin(w, item)
        # Read now: an earlier item of this change may have just written the inline policy.
        current = ic.read_inline(w.iam, instance, arn)
        document = merged([*([current] if current else []), *item["proposed"]])
        ic.put_inline(w.iam, instance, arn, document)
        w.record(
            {
                "kind": "ps-inline-put",
                "instance_arn": instance,
                "permission_set_arn": arn,
                "previous": current,
                "document": document,
            }
        )
        # The tightened statements first, the managed policy detached last: the set never holds less.
        self._detach(w, item)
        return self._end(
            w,
            item,
            f"moved the used part of {item['name']} into the inline policy of {item['permission_set']}",
        )


PERMISSION_SET_KINDS = frozenset({"ps-inline", "ps-replace", "ps-detach"})
COMMON_KEYS = ("permission_set", "permission_set_arn", "instance_arn", "identity_center_account")


def permission_set_follow_up(
    cr: Any, item: dict[str, Any], statement: dict[str, Any]
) -> list[dict[str, Any]]:
    """An add-back to a permission set: its inline policy as the change left it, with `statement` more."""
    written = [
        s
        for s in cr.steps
        if s["kind"] == "ps-inline-put" and s["permission_set_arn"] == item["permission_set_arn"]
    ]
    current = written[-1].get("document") if written else None
    proposed = merged([*([current] if current else []), {"Statement": [statement]}])
    return [
        {
            "kind": "ps-inline",
            "name": f"{item['permission_set']} inline policy",
            "arn": item["permission_set_arn"],
            "original": current or {"Version": "2012-10-17", "Statement": []},
            "proposed": [proposed],
            "stages": {},
            **{k: item[k] for k in COMMON_KEYS},
        }
    ]


HANDLERS: dict[str, Any] = {
    "ps-inline": PermissionSetInline(),
    "ps-replace": PermissionSetReplace(),
    "ps-detach": PermissionSetDetach(),
}
STEP_KINDS = frozenset({"ps-provision", "ps-inline-put", "ps-detach"})


def undo(sso: Any, step: dict[str, Any]) -> str:
    """Reverse one recorded write to a permission set; safe to repeat."""
    kind, instance, arn = step["kind"], step["instance_arn"], step["permission_set_arn"]
    if kind == "ps-inline-put":
        if step["previous"] is None:
            if ic.read_inline(sso, instance, arn) is not None:
                ic.delete_inline(sso, instance, arn)
            return f"removed the inline policy of {arn}"
        ic.put_inline(sso, instance, arn, step["previous"])
        return f"restored the inline policy of {arn}"
    if kind == "ps-detach":
        if step["arn"] not in ic.managed_arns(sso, instance, arn):
            ic.attach_managed(sso, instance, arn, step["arn"])
        return f"re-attached {step['arn']} to {arn}"
    if kind == "ps-provision":
        request = _provision(sso, instance, arn)
        return f"provisioned {arn} again (request {request})"
    raise ValueError(f"unknown step {kind!r}")
