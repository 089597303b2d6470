"""One principal graph over the linked accounts: who in this account can assume an administrator role in
another one. The other account's trust policy must allow this principal (by its ARN, or this account's
root), and this principal's own policies, capped by its boundary and the organisation's SCPs, must allow
sts:AssumeRole on that role. Worked out when this account is analysed, against the other accounts' latest
snapshots (an admin role that appears there later is seen at this account's next sync)."""

from __future__ import annotations

from typing import Any

from findings.models import Principal
from policy.analyze import AccountAnalysis

ASSUME_ACTIONS = {"sts:assumerole", "sts:*", "*"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trusted_principals(trust: dict[str, Any], account_id: str) -> list[tuple[str, bool]]:
    """What a trust policy lets assume the role from `account_id`: ("root", conditional) when the whole
    account is trusted, (principal ARN, conditional) for one principal of it."""
    found: list[tuple[str, bool]] = []
    for st in _as_list(trust.get("Statement", [])):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        if not {str(a).lower() for a in _as_list(st.get("Action", []))} & ASSUME_ACTIONS:
            continue
        principal = st.get("Principal")
        aws = principal.get("AWS", []) if isinstance(principal, dict) else []
        conditional = bool(st.get("Condition"))
        for value in _as_list(aws):
            value = str(value)
            if value in (account_id, f"arn:aws:iam::{account_id}:root"):
                found.append(("root", conditional))
            elif value.startswith(f"arn:aws:iam::{account_id}:"):
                found.append((value, conditional))
    return found


def _same_principal(trusted: str, arn: str) -> bool:
    """The trusted ARN names this principal (a trust policy may leave out a role's path)."""
    if trusted == arn:
        return True
    t_kind, _, t_rest = trusted.split(":", 5)[-1].partition("/")
    a_kind, _, a_rest = arn.split(":", 5)[-1].partition("/")
    return t_kind == a_kind and "/" not in t_rest and t_rest == a_rest.rsplit("/", 1)[-1]


def cross_account_paths(account_id: str, analysis: AccountAnalysis) -> dict[str, list[dict[str, Any]]]:
    """Principal ARN of this account -> the administrator roles of other linked accounts it can assume."""
    targets = (
        Principal.objects.filter(kind="role", is_admin=True, trust_document__isnull=False)
        .exclude(account__account_id=account_id)
        .select_related("trust_document", "account")
        .order_by("account__account_id", "arn")
    )
    paths: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        trusted = trusted_principals(target.trust_document.document, account_id)
        if not trusted:
            continue
        for record in analysis.records:
            if record.kind == "group" or record.arn not in analysis.perms:
                continue
            if analysis.reports[record.arn].is_admin:
                continue  # already an administrator where it is
            how = [(t, c) for t, c in trusted if t == "root" or _same_principal(t, record.arn)]
            if not how:
                continue
            decision = analysis.perms[record.arn].decide("sts:AssumeRole", target.arn)
            if not decision.allowed:
                continue
            paths.setdefault(record.arn, []).append(
                {
                    "target": target.arn,
                    "target_account": target.account.account_id,
                    "target_account_name": target.account.name,
                    "chain": [record.arn, target.arn],
                    "trust": "this account's root" if how[0][0] == "root" else "this principal",
                    "conditional": bool(decision.conditional or all(c for _, c in how)),
                    "sources": list(decision.sources),
                }
            )
    return paths


def _trusted_account(value: str) -> str:
    """The account an AWS principal of a trust policy belongs to ("*" for anyone)."""
    if value == "*":
        return "*"
    if value.isdigit() and len(value) == 12:
        return value
    parts = value.split(":")
    return parts[4] if len(parts) > 4 and parts[0] == "arn" else ""


def external_trusts(roles: Any, known: set[str], product_account: str = "") -> list[dict[str, Any]]:
    """Roles whose trust policy lets an AWS principal outside `known` (the organisation's accounts and the
    linked ones) assume them: one row per role and outside principal."""
    rows = []
    for role in roles:
        trust = role.trust_document.document if role.trust_document else {}
        for st in _as_list(trust.get("Statement", [])):
            if not isinstance(st, dict) or st.get("Effect") != "Allow":
                continue
            principal = st.get("Principal")
            values = (
                _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else _as_list(principal)
            )
            for value in (str(v) for v in values):
                account = _trusted_account(value)
                if not account or account in known:
                    continue
                rows.append(
                    {
                        "role": role,
                        "principal": value,
                        "trusted_account": account,
                        "anyone": account == "*",
                        "product": account == product_account,
                        "conditions": sorted(
                            f"{op} {key}"
                            for op, keys in (st.get("Condition") or {}).items()
                            if isinstance(keys, dict)
                            for key in keys
                        ),
                    }
                )
    return sorted(rows, key=lambda r: (not r["anyone"], bool(r["conditions"]), r["role"].arn))
