"""Outputs that changed on purpose between 5155d3e and the restructured code (docs/architecture.md,
"Outputs before and after the restructuring"): each test shows the new behaviour and fails on the old one.
`benchmarks/compare_outputs.py` finds such differences; a new one is either listed here or is a regression.
"""

from __future__ import annotations

from tests.policy.gaad_builder import Gaad, allow, arn, doc

GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def test_oidc_trust_with_only_an_audience_condition_says_why_it_does_not_limit_who() -> None:
    """d08fcb9 (trust conditions judged by what they allow): a GitHub trust whose only condition is the
    audience is still reported, and the score explanation now names that condition and why it fails
    (before: only "no condition on its subject", as if the policy had no condition at all)."""
    gaad = Gaad()
    role = gaad.role(
        "ci",
        trust=doc(
            {
                "Effect": "Allow",
                "Principal": {"Federated": GITHUB},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
                },
            }
        ),
        inline={"deploy": doc(allow("s3:PutObject", arn("role", "x")))},
    )
    report = gaad.analyze()[role]
    expected = (
        f"Any identity of {GITHUB} may assume this role: no condition on its subject. Its conditions do not "
        "limit who: token.actions.githubusercontent.com:aud does not say who the caller is."
    )
    (entry,) = [e for e in report.score_explanation if e["kind"] == "trust-oidc-no-sub"]
    assert entry["reason"] == expected
    (finding,) = [f for f in report.findings if f.kind == "trust-oidc-no-sub"]
    assert (finding.severity, finding.detail) == ("critical", expected)
