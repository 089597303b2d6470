"""Each risk rule, table-driven: a principal that must trigger it and one that must not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy.gaad_builder import ADMIN_ARN, Gaad, allow, deny, doc

OIDC = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def oidc_trust(condition: dict[str, Any] | None) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": OIDC},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if condition:
        st["Condition"] = condition
    return doc(st)


def aws_trust(principal: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return doc(st)


# (case id, rule kind, policies of the principal or a trust policy, expected)
CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("admin-star", "admin", {"attached": [ADMIN_ARN]}, True),
    ("admin-denied-iam", "admin", {"attached": [ADMIN_ARN], "inline": {"d": doc(deny("iam:*"))}}, False),
    ("admin-readonly", "admin", {"inline": {"r": doc(allow(["s3:Get*", "ec2:Describe*"]))}}, False),
    ("service-admin-s3", "service-admin", {"inline": {"s": doc(allow("s3:*"))}}, True),
    (
        "service-admin-scoped",
        "service-admin",
        {"inline": {"s": doc(allow("s3:*", "arn:aws:s3:::logs/*"))}},
        False,
    ),
    ("service-admin-harmless", "service-admin", {"inline": {"s": doc(allow("cloudwatch:*"))}}, False),
    ("exfil-getobject", "data-exfiltration", {"inline": {"s": doc(allow("s3:GetObject"))}}, True),
    (
        "exfil-secret",
        "data-exfiltration",
        {"inline": {"s": doc(allow("secretsmanager:GetSecretValue"))}},
        True,
    ),
    (
        "exfil-scoped",
        "data-exfiltration",
        {"inline": {"s": doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))}},
        False,
    ),
    ("exfil-denied", "data-exfiltration", {"inline": {"s": doc(allow("s3:GetObject"), deny("s3:*"))}}, False),
    (
        "exposure-bucket-policy",
        "resource-exposure",
        {"inline": {"s": doc(allow("s3:PutBucketPolicy"))}},
        True,
    ),
    ("exposure-list-only", "resource-exposure", {"inline": {"s": doc(allow("s3:ListBucket"))}}, False),
    ("creds-access-key", "credentials-exposure", {"inline": {"s": doc(allow("iam:CreateAccessKey"))}}, True),
    (
        "creds-ecr-token",
        "credentials-exposure",
        {"inline": {"s": doc(allow("ecr:GetAuthorizationToken"))}},
        True,
    ),
    ("creds-none", "credentials-exposure", {"inline": {"s": doc(allow("ecr:DescribeImages"))}}, False),
    (
        "infra-ec2",
        "infrastructure-modification",
        {"inline": {"s": doc(allow("ec2:TerminateInstances"))}},
        True,
    ),
    (
        "infra-scoped",
        "infrastructure-modification",
        {"inline": {"s": doc(allow("ec2:TerminateInstances", "arn:aws:ec2:*:111122223333:instance/i-1"))}},
        False,
    ),
    ("write-star", "write-on-all-resources", {"inline": {"s": doc(allow("sqs:SendMessage", "*"))}}, False),
    (
        "write-star-codecommit",
        "write-on-all-resources",
        {"inline": {"s": doc(allow("codecommit:GitPush"))}},
        True,
    ),
    ("write-read-only", "write-on-all-resources", {"inline": {"s": doc(allow("codecommit:GitPull"))}}, False),
    (
        "unknown-action",
        "unknown-action",
        {"inline": {"s": doc(allow("s3:GetObjekt", "arn:aws:s3:::b/*"))}},
        True,
    ),
    ("unknown-service", "unknown-action", {"inline": {"s": doc(allow("nosuchsvc:Get", "*"))}}, True),
    (
        "known-actions",
        "unknown-action",
        {"inline": {"s": doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))}},
        False,
    ),
    (
        "malformed",
        "malformed-policy",
        {"inline": {"s": {"Statement": [{"Effect": "Maybe", "Action": "*"}]}}},
        True,
    ),
    ("trust-public", "trust-public", {"trust": aws_trust("*")}, True),
    (
        "trust-public-org",
        "trust-public",
        {"trust": aws_trust("*", {"StringEquals": {"aws:PrincipalOrgID": "o-1"}})},
        False,
    ),
    (
        "trust-xacct",
        "trust-cross-account-no-external-id",
        {"trust": aws_trust("arn:aws:iam::999988887777:root")},
        True,
    ),
    (
        "trust-xacct-extid",
        "trust-cross-account-no-external-id",
        {"trust": aws_trust("arn:aws:iam::999988887777:root", {"StringEquals": {"sts:ExternalId": "x"}})},
        False,
    ),
    ("trust-same-account", "trust-cross-account-no-external-id", {"trust": aws_trust("111122223333")}, False),
    ("trust-own-account-root", "trust-own-account", {"trust": aws_trust("111122223333")}, True),
    (
        "trust-own-account-named",
        "trust-own-account",
        {"trust": aws_trust("arn:aws:iam::111122223333:user/dev")},
        False,
    ),
    (
        "trust-other-account-only",
        "trust-own-account",
        {"trust": aws_trust("arn:aws:iam::999988887777:root")},
        False,
    ),
    (
        "oidc-no-sub",
        "trust-oidc-no-sub",
        {
            "trust": oidc_trust(
                {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
            )
        },
        True,
    ),
    ("oidc-no-condition", "trust-oidc-no-sub", {"trust": oidc_trust(None)}, True),
    (
        "oidc-sub",
        "trust-oidc-no-sub",
        {"trust": oidc_trust({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:*"}})},
        False,
    ),
    (
        "oidc-sub-star",
        "trust-oidc-no-sub",
        {"trust": oidc_trust({"StringLike": {"token.actions.githubusercontent.com:sub": "*"}})},
        True,
    ),
]


@pytest.mark.parametrize(("case", "kind", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule(case: str, kind: str, spec: dict[str, Any], expected: bool) -> None:
    g = Gaad()
    if "trust" in spec:
        subject = g.role("subject", trust=spec["trust"], inline={"r": doc(allow("s3:ListAllMyBuckets"))})
    else:
        subject = g.role("subject", inline=spec.get("inline"), attached=spec.get("attached"))
    report = g.analyze()[subject]
    kinds = {f.kind for f in report.findings}
    assert (kind in kinds) is expected, (
        f"{case}: {kind} {'missing' if expected else 'reported'}; got {sorted(kinds)}"
    )
    if kind == "admin":
        assert report.is_admin is expected


def test_every_rule_has_a_case() -> None:
    from policy.rules import RULES

    # Escalation paths have generated cases of their own (test_privesc_paths); a cross-account path to an
    # administrator spans accounts, so its cases are in tests/organization.
    covered = {c[1] for c in CASES} | {"privilege-escalation", "cross-account-admin"}
    assert set(RULES) <= covered


def test_every_rule_says_what_to_do() -> None:
    from policy.rules import RULES, SEVERITIES

    for rule in RULES.values():
        assert rule.severity in SEVERITIES
        assert rule.description and rule.remediation


def test_score_orders_admin_above_read_only() -> None:
    g = Gaad()
    admin = g.role("admin", attached=[ADMIN_ARN])
    reader = g.role("reader", inline={"r": doc(allow("s3:ListAllMyBuckets"))})
    reports = g.analyze()
    assert reports[admin].risk_score > 70 > reports[reader].risk_score
    explained = reports[admin].score_explanation
    # The band first (administrator), then the findings that place it within the band.
    assert [e["kind"] for e in explained[:2]] == ["reaches-admin", "admin"]
    assert round(sum(float(e["points"]) for e in explained)) == reports[admin].risk_score  # type: ignore[arg-type]


def test_scp_caps_the_account() -> None:
    from policy.model import parse_policy

    g = Gaad()
    subject = g.role("subject", attached=[ADMIN_ARN])
    scp = parse_policy(doc(allow("*"), deny("iam:*")), "deny-iam")
    report = g.analyze(scps=[[scp]])[subject]
    assert not report.is_admin


def test_exclusions_are_passed_in() -> None:
    from policy.analyze import Exclusions

    g = Gaad()
    g.role("breakglass", attached=[ADMIN_ARN])
    other = g.role("app", inline={"r": doc(allow("s3:GetObject"))})
    reports = g.analyze(exclusions=Exclusions(principals=("*breakglass",)))
    assert set(reports) == {other}


def test_excluded_actions_are_left_out_of_every_grant() -> None:
    from policy.analyze import Exclusions

    g = Gaad()
    dev = g.user("dev", inline={"p": doc(allow(["iam:PutUserPolicy", "s3:PutBucketPolicy"]))})
    assert {e.path_id for e in g.analyze()[dev].privilege_escalation} == {"iam-007"}
    report = g.analyze(exclusions=Exclusions(actions=("iam:put*",)))[dev]
    assert report.privilege_escalation == []
    # the rest of the grant still counts
    assert "resource-exposure" in {f.kind for f in report.findings}
