"""Trust in the role's own account (who can become it), no ExternalId noise for the organisation's own
accounts, unknown actions of AWS managed policies reported once as a catalog gap."""

from __future__ import annotations

from policy.analyze import analyze_account
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from tests.policy.gaad_builder import ADMIN_ARN, Gaad, allow, arn, doc, trust_account, trust_service

OTHER = "999988887777"


def _own(report_findings: list) -> list:  # type: ignore[type-arg]
    return [f for f in report_findings if f.kind == "trust-own-account"]


def test_role_trusting_its_account_lists_who_can_assume_it() -> None:
    g = Gaad()
    target = g.role("ops", trust=trust_account(), attached=[ADMIN_ARN])
    dev = g.user("dev", inline={"p": doc(allow("sts:AssumeRole"))})
    g.user("reader", inline={"p": doc(allow("s3:GetObject"))})
    found = _own(g.analyze()[target].findings)
    assert len(found) == 1
    assert found[0].resources == [dev]  # only dev holds sts:AssumeRole; administrators are left out
    assert found[0].severity == "high"  # an administrator role
    assert "dev" in found[0].detail


def test_role_trusting_its_account_scoped_assume_and_deny() -> None:
    g = Gaad()
    target = g.role("ops", trust=trust_account(), inline={"o": doc(allow("s3:PutObject"))})
    named = g.user("named", inline={"p": doc(allow("sts:AssumeRole", arn("role", "ops")))})
    g.user("elsewhere", inline={"p": doc(allow("sts:AssumeRole", arn("role", "other")))})
    g.user(
        "denied",
        inline={"p": doc(allow("sts:AssumeRole"), {"Effect": "Deny", "Action": "sts:*", "Resource": "*"})},
    )
    found = _own(g.analyze()[target].findings)
    assert found and found[0].resources == [named] and found[0].severity == "medium"


def test_role_trusting_its_account_with_no_one_able_is_low() -> None:
    g = Gaad()
    target = g.role("ops", trust=trust_account(), inline={"o": doc(allow("s3:PutObject"))})
    found = _own(g.analyze()[target].findings)
    assert found and found[0].severity == "low" and found[0].resources == []


def test_roles_trusting_a_service_or_a_named_principal_get_no_account_finding() -> None:
    g = Gaad()
    fn = g.role("fn", trust=trust_service("lambda.amazonaws.com"))
    named = g.role(
        "named",
        trust=doc({"Effect": "Allow", "Principal": {"AWS": arn("user", "dev")}, "Action": "sts:AssumeRole"}),
    )
    g.user("dev", inline={"p": doc(allow("sts:AssumeRole"))})
    reports = g.analyze()
    assert not _own(reports[fn].findings) and not _own(reports[named].findings)


def test_no_external_id_finding_for_the_organisations_own_accounts() -> None:
    g = Gaad()
    role = g.role("cross", trust=trust_account(OTHER))
    kinds = {f.kind for f in g.analyze()[role].findings}
    assert "trust-cross-account-no-external-id" in kinds
    in_org = {f.kind for f in g.analyze(org_accounts={OTHER})[role].findings}
    assert "trust-cross-account-no-external-id" not in in_org
    third = {f.kind for f in g.analyze(org_accounts={"123412341234"})[role].findings}
    assert "trust-cross-account-no-external-id" in third


def test_unknown_action_in_aws_managed_policy_is_one_catalog_gap() -> None:
    g = Gaad()
    managed = "arn:aws:iam::aws:policy/NewServiceAccess"
    g.data["Policies"].append(
        {
            "PolicyName": "NewServiceAccess",
            "Arn": managed,
            "DefaultVersionId": "v1",
            "PolicyVersionList": [
                {
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                    "Document": doc(allow(["s3:GetObject", "brandnewsvc:Do"])),
                }
            ],
        }
    )
    users = [g.user(f"u{n}", attached=[managed]) for n in range(3)]
    own = g.user("typo", inline={"p": doc(allow("s3:GetObjectt"))})
    report = analyze_account(load_gaad(g.data), default_catalog())
    by_arn = {p.arn: p for p in report.principals}
    for u in users:
        assert "unknown-action" not in {f.kind for f in by_arn[u].findings}
    assert list(report.catalog_gaps) == ["NewServiceAccess"]
    assert report.stats()["catalog_gaps"] == 1
    assert report.to_json()["catalog_gaps"]["NewServiceAccess"] == [
        "brandnewsvc:do: unknown service prefix 'brandnewsvc'"
    ]
    assert "unknown-action" in {f.kind for f in by_arn[own].findings}  # the account's own policy still is
    # By action, once: the policies naming it and how many principals hold them (a group's members too).
    [gap] = report.catalog_gap_actions
    assert (gap.action, gap.policies, gap.principals) == ("brandnewsvc:do", ("NewServiceAccess",), 3)
    assert gap.why == "unknown service prefix 'brandnewsvc'"
    assert report.to_json()["catalog_gap_actions"] == [gap.to_json()]


def test_many_assumers_are_counted_and_the_first_hundred_listed() -> None:
    """Every role trusting its account used to list every principal able to assume it, so an account's
    findings grew with the square of its principals; now the first MAX_ASSUMER_RESOURCES, and the count."""
    from policy.own_account_trust import MAX_ASSUMER_RESOURCES, MAX_LISTED_ASSUMERS

    g = Gaad()
    ops = g.role("ops", trust=trust_account(), inline={"o": doc(allow("s3:PutObject"))})
    # A second delegating role that can itself assume roles: it is never listed as an assumer of itself.
    jump = g.role("jump", trust=trust_account(), inline={"a": doc(allow("sts:AssumeRole"))})
    users = sorted(
        g.user(f"dev{n:03d}", inline={"p": doc(allow("sts:AssumeRole"))})
        for n in range(MAX_ASSUMER_RESOURCES + 30)
    )
    reports = g.analyze()
    (on_ops,) = _own(reports[ops].findings)
    everyone = sorted([*users, jump])
    assert on_ops.action_count == len(everyone)
    assert on_ops.resources == everyone[:MAX_ASSUMER_RESOURCES]
    assert f"and {len(everyone) - MAX_LISTED_ASSUMERS} more" in on_ops.detail
    (on_jump,) = _own(reports[jump].findings)
    assert jump not in on_jump.resources and on_jump.action_count == len(users)
    assert on_jump.resources == users[:MAX_ASSUMER_RESOURCES]
