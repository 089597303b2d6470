"""The score ranks like an attacker (docs/risk-score.md): on the labelled cases of test_admin_reach plus
principals that hold much but cannot reach administrator, every principal that reaches administrator
scores above every one that cannot, and administrators or one clean step from one above the rest."""

from __future__ import annotations

from typing import Any

import pytest

from policy.analyze import analyze_account
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from tests.policy.gaad_builder import Gaad, allow, doc, trust_service
from tests.policy.test_admin_reach import CASES, ME


def _strong_but_not_admin(g: Gaad) -> None:
    """Holds a lot (whole sensitive services, data everywhere, trusted from outside) and reaches no admin."""
    g.user(
        "me",
        inline={
            "p": doc(
                allow(
                    ["s3:*", "kms:*", "secretsmanager:*", "ec2:*", "dynamodb:*", "logs:*", "ssm:GetParameter"]
                )
            )
        },
    )


def _weak_escalation(g: Gaad) -> None:
    g.role(
        "logger",
        trust=trust_service("lambda.amazonaws.com"),
        inline={"l": doc(allow("logs:CreateLogStream"))},
    )
    g.user("me", inline={"p": doc(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]))})


EXTRA = [("strong-but-not-admin", _strong_but_not_admin, False), ("weak-escalation", _weak_escalation, False)]


def _scored() -> list[tuple[str, bool, bool, int, Any]]:
    """(case, reaches admin, admin or one clean step, score, report) for every labelled case."""
    out = []
    builds = [(c.id, c.build, c.reaches, c.kwargs or {}) for c in CASES] + [
        (i, b, r, {}) for i, b, r in EXTRA
    ]
    for case_id, build, reaches, kwargs in builds:
        g = Gaad()
        build(g)
        report = g.analyze(**kwargs)[ME]
        assert report.reaches_admin is reaches, case_id
        path = report.admin_path
        clean = report.is_admin or (
            path is not None and len(path.hops) == 1 and not path.needs and not path.conditional
        )
        out.append((case_id, reaches, clean, report.risk_score, report))
    return out


def test_everyone_who_reaches_admin_outranks_everyone_who_cannot() -> None:
    scored = _scored()
    reach = [(s, c) for c, r, _, s, _ in scored if r]
    cannot = [(s, c) for c, r, _, s, _ in scored if not r]
    assert min(reach) > max(cannot), (min(reach), max(cannot))


def test_one_clean_step_outranks_longer_or_prerequisite_paths() -> None:
    scored = _scored()
    clean = [(s, c) for c, r, k, s, _ in scored if r and k]
    rest = [(s, c) for c, r, k, s, _ in scored if r and not k]
    assert clean and rest
    assert min(clean) > max(rest), (min(clean), max(rest))


def test_multi_hop_outranks_a_path_that_needs_a_resource() -> None:
    by_id = {c: (s, rep) for c, _, _, s, rep in _scored()}
    assert by_id["two-hops-through-a-role"][0] > by_id["existing-lambda-needs-a-function"][0]
    assert by_id["two-hops-through-a-role"][0] > by_id["attach-own-under-source-ip"][0]


def test_escalation_to_a_weak_target_weighs_what_the_target_gains() -> None:
    by_id = {c: (s, rep) for c, _, _, s, rep in _scored()}
    score, report = by_id["weak-escalation"]
    assert report.privilege_escalation, "the path exists"
    finding = next(f for f in report.findings if f.kind == "privilege-escalation")
    assert finding.severity == "low"
    # Not the flat 45 of before: the role holds only logs:CreateLogStream.
    points = next(e["points"] for e in report.score_explanation if e["kind"] == "privilege-escalation")
    assert float(points) < 5
    strong_target = Gaad()
    strong_target.role(
        "dataops",
        trust=trust_service("lambda.amazonaws.com"),
        inline={"d": doc(allow(["s3:*", "secretsmanager:*"]))},
    )
    strong_target.user(
        "me", inline={"p": doc(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]))}
    )
    stronger = strong_target.analyze()[ME]
    assert not stronger.reaches_admin
    assert stronger.risk_score > score
    assert next(f for f in stronger.findings if f.kind == "privilege-escalation").severity in (
        "high",
        "medium",
    )


@pytest.mark.parametrize(
    "facts", [{"active_keys": {ME: 1}}, {"login_profiles": {ME: True}, "mfa": {ME: False}}]
)
def test_exposures_add_weight(facts: dict[str, Any]) -> None:
    g = Gaad()
    g.user("me", inline={"p": doc(allow(["s3:*"]))})
    plain = analyze_account(load_gaad(g.data), default_catalog())
    exposed = analyze_account(load_gaad(g.data), default_catalog(), **facts)
    score = {p.arn: p.risk_score for p in plain.principals}[ME]
    more = next(p for p in exposed.principals if p.arn == ME)
    assert more.risk_score > score
    assert {e["kind"] for e in more.score_explanation} & {"access-keys", "console-without-mfa"}


def test_explanation_adds_up_to_the_score() -> None:
    for case_id, _, _, score, report in _scored():
        total = sum(float(e["points"]) for e in report.score_explanation)
        assert abs(total - score) <= 1, case_id
