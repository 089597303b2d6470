"""Per-principal SCP caps checked by the independent evaluator (z3, no code shared with policy/): for each
principal, SCP and action, the engine's answer (allowed, and surely so) is z3's answer for a request that
carries the principal's own context keys, with every SCP level required to allow it."""

from __future__ import annotations

from typing import Any

import pytest

from policy.analyze import AccountAnalysis
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from policy.model import parse_policy
from tests.independent.z3_policy import decide
from tests.policy.gaad_builder import ACCOUNT, ADMIN_ARN, Gaad, allow, deny, doc

ORG = "o-abc123def4"
ADMINS = "arn:aws:iam::*:role/admin-*"
FULL = doc(allow("*"))
ACTIONS = ["iam:PutRolePolicy", "iam:GetRole", "s3:GetObject", "sts:AssumeRole"]
# name -> (kind, tags)
PRINCIPALS: dict[str, tuple[str, dict[str, str]]] = {
    "admin-ops": ("role", {"team": "platform"}),
    "app": ("role", {}),
    "tagged-app": ("role", {"team": "platform"}),
    "dev": ("user", {}),
}


def unless(operator: str, key: str, value: Any, actions: Any = "iam:*") -> dict[str, Any]:
    return doc(deny(actions, Condition={operator: {key: value}}))


SCPS: dict[str, list[list[dict[str, Any]]]] = {
    "arn-not-like": [[FULL], [FULL, unless("ArnNotLike", "aws:PrincipalArn", ADMINS)]],
    "arn-not-like-if-exists": [[FULL], [FULL, unless("ArnNotLikeIfExists", "aws:PrincipalArn", ADMINS)]],
    "string-not-like": [[FULL], [FULL, unless("StringNotLike", "aws:PrincipalArn", ADMINS)]],
    "string-not-like-if-exists": [
        [FULL],
        [FULL, unless("StringNotLikeIfExists", "aws:PrincipalArn", [ADMINS, "*:user/dev"])],
    ],
    "tag": [[FULL, unless("StringNotEquals", "aws:PrincipalTag/team", "platform", ["iam:*", "sts:*"])]],
    "tag-if-exists": [[FULL], [FULL, unless("StringNotEqualsIfExists", "aws:PrincipalTag/team", "platform")]],
    "other-org": [[FULL, unless("StringNotEquals", "aws:PrincipalOrgID", "o-other00000", "s3:*")]],
    "own-account": [[FULL, unless("StringEquals", "aws:PrincipalAccount", ACCOUNT, "sts:AssumeRole")]],
    # An Allow-list level: only admin roles get IAM; everyone gets S3.
    "allow-list": [
        [FULL],
        [doc(allow("s3:*"), allow("iam:*", Condition={"ArnLike": {"aws:PrincipalArn": ADMINS}}))],
    ],
}


def context(name: str) -> dict[str, str]:
    kind, tags = PRINCIPALS[name]
    out = {
        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:{kind}/{name}",
        "aws:PrincipalAccount": ACCOUNT,
        "aws:PrincipalOrgID": ORG,
        "aws:PrincipalType": "AssumedRole" if kind == "role" else "User",
    }
    out |= {f"aws:PrincipalTag/{k}": v for k, v in tags.items()}
    return out


def engine(levels: list[list[dict[str, Any]]]) -> dict[str, Any]:
    g = Gaad()
    for name, (kind, tags) in PRINCIPALS.items():
        if kind == "role":
            g.role(name, attached=[ADMIN_ARN])
            g.data["RoleDetailList"][-1]["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        else:
            g.user(name, attached=[ADMIN_ARN])
    parsed = [
        [parse_policy(d, f"SCP {n}-{i}") for i, d in enumerate(level)] for n, level in enumerate(levels)
    ]
    analysis = AccountAnalysis(load_gaad(g.data), default_catalog(), scps=parsed, organization_id=ORG)
    analysis.run()
    return {arn.rsplit("/", 1)[-1]: perms for arn, perms in analysis.perms.items()}


@pytest.mark.parametrize("scp", sorted(SCPS))
def test_engine_and_z3_agree_per_principal(scp: str) -> None:
    levels = SCPS[scp]
    perms = engine(levels)
    outcomes = set()
    for name in PRINCIPALS:
        for action in ACTIONS:
            expected = decide([FULL], action, "*", context(name), levels=levels, value_bound=48)
            got = perms[name].decide(action, "*")
            assert (got.allowed, got.conditional) == (expected, False), (scp, name, action, got)
            outcomes.add(expected)
    assert outcomes == {True, False}, "every SCP here both caps and spares someone"
