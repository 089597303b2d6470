"""Findings on a role's trust policy: public, cross-account without ExternalId, web identity without subject."""

from __future__ import annotations

import re

from policy.gaad import PrincipalRecord
from policy.report import Finding
from policy.trust_conditions import (
    AWS_KEY_RULES,
    CROSS_ACCOUNT_LIMITING_KEYS,
    PUBLIC_LIMITING_KEYS,
    Verdict,
    conditions_limit,
    oidc_key_rules,
)

_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


def _account_in(principal: str) -> str:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    match = _ACCOUNT_IN_ARN.match(principal)
    return match.group(1) if match else ""


def _why_not(verdict: Verdict) -> str:
    """What the finding adds when conditions were there but do not limit who may assume."""
    return f" Its conditions do not limit who: {verdict.reason}." if verdict.reason else ""


def trust_findings(record: PrincipalRecord, org_accounts: frozenset[str] = frozenset()) -> list[Finding]:
    """The trust-policy findings of one role. Conditions count only when they can fail for an attacker
    (see `trust_conditions`): the presence of a key is not enough. Accounts of `org_accounts` (the
    organisation's own) need no ExternalId: the confused deputy is a third party's problem."""
    found: list[Finding] = []
    trust = record.trust
    if trust is None:
        return found
    for st in trust.statements:
        if st.effect != "Allow" or st.principal is None:
            continue
        actions = [a for a in st.actions if a.startswith("sts:") or a == "*"]
        if st.principal.wildcard:
            verdict = conditions_limit(st.conditions, PUBLIC_LIMITING_KEYS, AWS_KEY_RULES)
            if not verdict.limits:
                found.append(
                    Finding.of(
                        "trust-public",
                        actions,
                        [record.arn],
                        "Principal * may assume this role." + _why_not(verdict),
                    )
                )
        others = sorted(
            {
                a
                for a in st.principal.aws
                if a != "*"
                and _account_in(a) not in ("", record.account_id)
                and _account_in(a) not in org_accounts
            }
        )
        if others:
            verdict = conditions_limit(st.conditions, CROSS_ACCOUNT_LIMITING_KEYS, AWS_KEY_RULES)
            if not verdict.limits:
                found.append(
                    Finding.of(
                        "trust-cross-account-no-external-id",
                        actions,
                        others,
                        f"Trusted without sts:ExternalId: {', '.join(others)}." + _why_not(verdict),
                    )
                )
        for provider in st.principal.federated:
            if "saml-provider" in provider:
                continue  # the account's own identity provider decides who gets an assertion for the role
            rules = oidc_key_rules(provider)
            verdict = conditions_limit(st.conditions, rules, rules)
            if not verdict.limits:
                found.append(
                    Finding.of(
                        "trust-oidc-no-sub",
                        actions,
                        [provider],
                        f"Any identity of {provider} may assume this role: no condition on its subject."
                        + _why_not(verdict),
                    )
                )
    return found
