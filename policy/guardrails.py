"""Removing a guardrail: the paths (pathfinding.cloud iam-022 to iam-026) that take away what caps a
principal today (its permissions boundary, or a policy holding an explicit Deny) rather than add an Allow.

Such a path escalates only when the principal without that guardrail could do something it cannot now;
`without_guardrail` gives the principal as it would be, and the engine compares the two.
"""

from __future__ import annotations

from dataclasses import replace

from policy.gaad import AccountDetails, PrincipalRecord
from policy.model import PolicyDocument

# Self-escalation paths by the action that removes the guardrail from the principal itself.
GUARDRAIL_SELF_PATHS = {
    "iam:deleteuserpermissionsboundary": "iam-022",
    "iam:putuserpermissionsboundary": "iam-024",  # replaced by a permissive one (AdministratorAccess exists)
    "iam:detachuserpolicy": "iam-025",
    "iam:deleteuserpolicy": "iam-026",
}
# Principal-access: remove a role's boundary, then assume the role.
BOUNDARY_THEN_ASSUME = "iam-023"

_REMOVES = {
    "iam-022": "boundary",
    "iam-023": "boundary",
    "iam-024": "boundary",
    "iam-025": "attached-deny",
    "iam-026": "inline-deny",
}
_USERS_ONLY = {"iam-022", "iam-024", "iam-025", "iam-026"}


def _has_deny(document: PolicyDocument | None) -> bool:
    return document is not None and any(st.effect == "Deny" for st in document.statements)


def without_guardrail(
    account: AccountDetails, record: PrincipalRecord, path_id: str
) -> PrincipalRecord | None:
    """The principal once the path has removed its guardrail; None when it has no such guardrail."""
    what = _REMOVES.get(path_id)
    if what is None or (path_id in _USERS_ONLY and record.kind != "user"):
        return None
    if path_id == BOUNDARY_THEN_ASSUME and record.kind != "role":
        return None
    if what == "boundary":
        return replace(record, boundary_arn="") if record.boundary_arn else None
    if what == "attached-deny":
        kept = [
            a
            for a in record.attached
            if not _has_deny(p.document if (p := account.policies.get(a)) is not None else None)
        ]
        return replace(record, attached=kept) if len(kept) < len(record.attached) else None
    kept_inline = [p for p in record.inline if not _has_deny(p.document)]
    return replace(record, inline=kept_inline) if len(kept_inline) < len(record.inline) else None
