"""Every privilege-escalation path of reference/privesc-paths.md, found and not found, by its id."""

from __future__ import annotations

import pytest

from policy.catalog import Catalog, default_catalog
from policy.graph import COGNITO
from policy.rules import PRIVESC_PATHS, PrivescPath
from tests.policy.gaad_builder import (
    ACCOUNT,
    ADMIN_ARN,
    Gaad,
    allow,
    arn,
    deny,
    doc,
    trust_account,
    trust_service,
    trust_web_identity,
)

USER_TARGETS = ("user", "accesskey", "loginprofile")


def _targets_users(path: PrivescPath) -> bool:
    return any(t in a.lower() for a in path.actions for t in USER_TARGETS)


def scenario(
    path: PrivescPath, *, extra_deny: bool = False, scope_elsewhere: bool = False
) -> tuple[Gaad, str, str]:
    """An account where `attacker` holds exactly the path's actions; returns (gaad, attacker arn, target arn).

    extra_deny: a second policy denies the path's first action. scope_elsewhere: the actions are granted only
    on an unrelated resource.
    """
    g = Gaad()
    actions = list(path.actions)
    resource = arn("role", "unrelated") if scope_elsewhere else "*"
    policies = {"grant": doc(allow(actions, resource))}
    if extra_deny:
        policies["guard"] = doc(deny(actions[0]))
    if path.category == "self-escalation":
        if path.id == "iam-001":
            own = g.policy("own-policy", doc(allow("s3:ListAllMyBuckets")))
            if not scope_elsewhere:
                policies = {"grant": doc(allow(actions, own))}
                if extra_deny:
                    policies["guard"] = doc(deny(actions[0]))
            attacker = g.role("attacker", inline=policies, attached=[own])
        elif path.id in ("iam-005", "iam-009"):
            attacker = g.role("attacker", inline=policies)
        elif path.id in ("iam-010", "iam-011"):
            g.group("team")
            attacker = g.user("attacker", inline=policies, groups=["team"])
        elif path.id == "iam-013":
            g.group("admins", attached=[ADMIN_ARN])
            attacker = g.user("attacker", inline=policies)
        elif path.id in ("iam-022", "iam-024"):
            # The boundary lets through only the path's action; the attacker's policies grant far more.
            boundary = g.policy("boundary", doc(allow(actions)))
            more = {**policies, "s3": doc(allow("s3:*"))}
            attacker = g.user("attacker", inline=more, boundary=boundary)
        elif path.id == "iam-025":
            guardrail = g.policy("guardrail", doc(deny("s3:*")))
            attacker = g.user("attacker", inline={**policies, "s3": doc(allow("s3:*"))}, attached=[guardrail])
        elif path.id == "iam-026":
            policies = {**policies, "s3": doc(allow("s3:*")), "guardrail": doc(deny("s3:*"))}
            attacker = g.user("attacker", inline=policies)
        else:
            attacker = g.user("attacker", inline=policies)
        return g, attacker, attacker
    if path.category == "principal-access":
        attacker = g.user("attacker", inline=policies)
        if _targets_users(path):
            target = g.user("boss", attached=[ADMIN_ARN])
        elif path.id == "iam-023":
            # An administrator's policies held back by a boundary that allows next to nothing.
            boundary = g.policy("boss-boundary", doc(allow("s3:ListAllMyBuckets")))
            target = g.role("boss", trust=trust_account(), attached=[ADMIN_ARN], boundary=boundary)
        else:
            own = g.policy("boss-policy", doc(allow("s3:ListAllMyBuckets")))
            target = g.role("boss", trust=trust_account(), attached=[ADMIN_ARN, own])
        return g, attacker, target
    trust = trust_web_identity(COGNITO) if path.service == COGNITO else trust_service(path.service)
    target = g.role("service-admin", trust=trust, attached=[ADMIN_ARN])
    attacker = g.user("attacker", inline=policies)
    return g, attacker, target


def _catalog(path: PrivescPath) -> Catalog:
    """The shipped catalog, or, for a path newer than it (bedrock-005's harness actions), one that knows
    the path's actions: the detection must work once an admin loads a current catalog."""
    shipped = default_catalog()
    if all(a.lower() in shipped.canonical for a in path.actions):
        return shipped
    return Catalog.from_actions(
        {a: "Write" for a in (*path.actions, "s3:ListAllMyBuckets", "iam:ListUsers")},
        resource_types={"iam:PassRole": ("role",)},
    )


def _analyze(g: Gaad, path: PrivescPath) -> dict:  # type: ignore[type-arg]
    return g.analyze(catalog=_catalog(path))


def _found(reports: dict, attacker: str, path_id: str) -> list:  # type: ignore[type-arg]
    return [e for e in reports[attacker].privilege_escalation if e.path_id == path_id]


@pytest.mark.parametrize("path", PRIVESC_PATHS, ids=[p.id for p in PRIVESC_PATHS])
def test_path_is_found(path: PrivescPath) -> None:
    g, attacker, target = scenario(path)
    found = _found(_analyze(g, path), attacker, path.id)
    assert found, f"{path.id} not reported"
    assert found[0].target == target
    assert found[0].category == path.category
    if path.category != "self-escalation":
        assert found[0].via[-1] == target


@pytest.mark.parametrize("path", PRIVESC_PATHS, ids=[p.id for p in PRIVESC_PATHS])
def test_deny_in_another_policy_stops_path(path: PrivescPath) -> None:
    g, attacker, _ = scenario(path, extra_deny=True)
    assert not _found(_analyze(g, path), attacker, path.id)


@pytest.mark.parametrize("path", PRIVESC_PATHS, ids=[p.id for p in PRIVESC_PATHS])
def test_actions_scoped_to_another_resource_do_not_escalate(path: PrivescPath) -> None:
    g, attacker, _ = scenario(path, scope_elsewhere=True)
    # For service actions, an IAM role ARN is not a resource they act on, so they are unusable there.
    found = _found(_analyze(g, path), attacker, path.id)
    assert not found, f"{path.id} reported although its actions only apply to an unrelated resource"


def test_path_across_two_policies_of_one_principal() -> None:
    g = Gaad()
    g.role("fn-admin", trust=trust_service("lambda.amazonaws.com"), attached=[ADMIN_ARN])
    attacker = g.user(
        "dev",
        inline={"pass": doc(allow("iam:PassRole")), "lambda": doc(allow(["lambda:CreateFunction"]))},
        groups=["invokers"],
    )
    g.group("invokers", inline={"invoke": doc(allow("lambda:InvokeFunction"))})
    assert _found(g.analyze(), attacker, "lambda-001")


def test_passrole_to_a_less_privileged_role_is_not_escalation() -> None:
    g = Gaad()
    g.role(
        "fn-logs", trust=trust_service("lambda.amazonaws.com"), inline={"l": doc(allow("logs:PutLogEvents"))}
    )
    attacker = g.user("dev", inline={"p": doc(allow(["iam:PassRole", "lambda:*", "logs:*"]))})
    assert not _found(g.analyze(), attacker, "lambda-001")


def test_passrole_to_a_role_the_service_cannot_assume_is_not_escalation() -> None:
    g = Gaad()
    g.role("ec2-admin", trust=trust_service("ec2.amazonaws.com"), attached=[ADMIN_ARN])
    attacker = g.user(
        "dev", inline={"p": doc(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]))}
    )
    assert not _found(g.analyze(), attacker, "lambda-001")


def test_passed_to_service_condition_for_another_service() -> None:
    g = Gaad()
    g.role("fn-admin", trust=trust_service("lambda.amazonaws.com"), attached=[ADMIN_ARN])
    statement = allow(
        "iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    )
    attacker = g.user(
        "dev", inline={"p": doc(statement, allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))}
    )
    assert not _found(g.analyze(), attacker, "lambda-001")


def test_assume_role_needs_the_trust_policy() -> None:
    g = Gaad()
    g.role("locked", trust=trust_account("999988887777"), attached=[ADMIN_ARN])
    attacker = g.user("dev", inline={"a": doc(allow("sts:AssumeRole"))})
    assert not _found(g.analyze(), attacker, "sts-001")


def test_trust_naming_the_caller_needs_no_identity_permission() -> None:
    g = Gaad()
    caller = arn("user", "dev")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "sts:AssumeRole"})
    g.role("named", trust=trust, attached=[ADMIN_ARN])
    g.user("dev", inline={"r": doc(allow("s3:ListAllMyBuckets"))})
    assert _found(g.analyze(), caller, "sts-001")


def test_create_policy_version_cannot_touch_aws_managed_policies() -> None:
    g = Gaad()
    attacker = g.role(
        "attacker",
        inline={"v": doc(allow("iam:CreatePolicyVersion"))},
        attached=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    )
    assert not _found(g.analyze(), attacker, "iam-001")


def test_policy_variable_scopes_self_escalation_to_self() -> None:
    g = Gaad()
    own = g.user(
        "alice",
        inline={"s": doc(allow("iam:PutUserPolicy", "arn:aws:iam::111122223333:user/${aws:username}"))},
    )
    assert _found(g.analyze(), own, "iam-007")


def test_permissions_boundary_caps_escalation() -> None:
    g = Gaad()
    boundary = g.policy("boundary", doc(allow(["s3:*"])))
    attacker = g.user("dev", inline={"p": doc(allow("iam:PutUserPolicy"))}, boundary=boundary)
    assert not _found(g.analyze(), attacker, "iam-007")


def test_impossible_condition_removes_the_grant() -> None:
    g = Gaad()
    expired = allow(
        "iam:PutUserPolicy", Condition={"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    )
    attacker = g.user("dev", inline={"p": doc(expired)})
    assert not _found(g.analyze(), attacker, "iam-007")


def test_unknown_condition_keeps_the_risk_but_marks_it() -> None:
    g = Gaad()
    mfa = allow("iam:PutUserPolicy", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    attacker = g.user("dev", inline={"p": doc(mfa)})
    found = _found(g.analyze(), attacker, "iam-007")
    assert found and found[0].conditional


def test_not_action_grants_escalation() -> None:
    g = Gaad()
    attacker = g.user("dev", inline={"p": doc({"Effect": "Allow", "NotAction": ["s3:*"], "Resource": "*"})})
    reports = g.analyze()
    # Everything but S3, and able to write itself a policy granting S3: an administrator-equivalent.
    assert reports[attacker].is_admin is True
    assert reports[attacker].admin_reason.startswith("Administrator-equivalent")
    assert _found(reports, attacker, "iam-007")


def test_multi_hop_escalation_reports_the_chain() -> None:
    g = Gaad()
    middle = g.role(
        "middle", trust=trust_account(), inline={"m": doc(allow(["sts:AssumeRole", "s3:PutObject"]))}
    )
    top = g.role(
        "top",
        trust=doc({"Effect": "Allow", "Principal": {"AWS": middle}, "Action": "sts:AssumeRole"}),
        attached=[ADMIN_ARN],
    )
    attacker = g.user("dev", inline={"a": doc(allow("sts:AssumeRole", middle))})
    chains = [e for e in g.analyze()[attacker].privilege_escalation if e.target == top]
    assert chains and chains[0].via == [middle, top]


LAMBDA = ["lambda:CreateFunction", "lambda:InvokeFunction"]


def _lambda_account() -> Gaad:
    g = Gaad()
    g.role("fn-admin", trust=trust_service("lambda.amazonaws.com"), attached=[ADMIN_ARN])
    g.role(
        "fn-small",
        trust=trust_service("lambda.amazonaws.com"),
        inline={"l": doc(allow("s3:ListAllMyBuckets"))},
    )
    return g


def test_passrole_named_on_one_role_reaches_that_role_only() -> None:
    g = _lambda_account()
    to_admin = g.user("a", inline={"p": doc(allow("iam:PassRole", arn("role", "fn-admin")), allow(LAMBDA))})
    to_small = g.user("b", inline={"p": doc(allow("iam:PassRole", arn("role", "fn-small")), allow(LAMBDA))})
    reports = g.analyze()
    found = _found(reports, to_admin, "lambda-001")
    assert [e.target for e in found] == [arn("role", "fn-admin")] and not found[0].conditional
    assert not _found(reports, to_small, "lambda-001")


def test_passrole_grant_limited_to_another_service_does_not_count_for_its_roles() -> None:
    g = _lambda_account()
    attacker = g.user(
        "dev",
        inline={
            "p": doc(
                allow(
                    "iam:PassRole",
                    arn("role", "fn-admin"),
                    Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
                ),
                allow("iam:PassRole", arn("role", "fn-small")),
                allow(LAMBDA),
            )
        },
    )
    assert not _found(g.analyze(), attacker, "lambda-001")


def test_passrole_under_a_condition_is_a_conditional_path() -> None:
    g = _lambda_account()
    conditional = allow(
        "iam:PassRole", arn("role", "fn-*"), Condition={"StringEquals": {"aws:RequestTag/team": "x"}}
    )
    attacker = g.user("dev", inline={"p": doc(conditional, allow(LAMBDA))})
    found = _found(g.analyze(), attacker, "lambda-001")
    assert [e.target for e in found] == [arn("role", "fn-admin")] and found[0].conditional


def test_passrole_denied_on_the_admin_role_in_another_policy() -> None:
    g = _lambda_account()
    attacker = g.user(
        "dev",
        inline={
            "p": doc(allow("iam:PassRole", arn("role", "fn-*")), allow(LAMBDA)),
            "guard": doc(deny("iam:PassRole", arn("role", "fn-admin"))),
        },
    )
    assert not _found(g.analyze(), attacker, "lambda-001")


def test_shared_managed_policy_with_a_variable_resolves_per_principal() -> None:
    # One managed document attached to two users: each must get its own ${aws:username}, even though
    # documents without variables are expanded once and shared.
    g = Gaad()
    own = g.policy("self-service", doc(allow("iam:PutUserPolicy", arn("user", "${aws:username}"))))
    alice = g.user("alice", attached=[own])
    bob = g.user("bob", attached=[own])
    reports = g.analyze()
    assert _found(reports, alice, "iam-007") and _found(reports, bob, "iam-007")


# -- roles that trust the whole account (one hub node in the graph) --------------------------------------


def _delegating_roles(g: Gaad, count: int) -> list[str]:
    """`count` roles trusting the account: an admin, a role with one IAM write, and plain readers."""
    roles = [g.role("admin-role", trust=trust_account(), attached=[ADMIN_ARN])]
    roles.append(g.role("iam-writer", trust=trust_account(), inline={"w": doc(allow("iam:CreateUser"))}))
    for i in range(count - 2):
        roles.append(
            g.role(f"reader-{i:02d}", trust=trust_account(), inline={"r": doc(allow("s3:GetObject"))})
        )
    return roles


def test_assume_role_lists_the_most_privileged_few_admins_first() -> None:
    g = Gaad()
    _delegating_roles(g, 12)
    dev = g.user("dev", inline={"a": doc(allow(["sts:AssumeRole", "s3:GetObject"]))})
    found = _found(g.analyze(), dev, "sts-001")
    # Only roles more privileged than dev count (the readers hold nothing dev lacks), most privileged first.
    assert [e.target for e in found] == [arn("role", "admin-role"), arn("role", "iam-writer")]
    assert not any(e.conditional for e in found)


def test_assume_role_is_capped_per_path() -> None:
    g = Gaad()
    for i in range(6):
        g.role(f"admin-{i}", trust=trust_account(), attached=[ADMIN_ARN])
    dev = g.user("dev", inline={"a": doc(allow("sts:AssumeRole"))})
    assert len(_found(g.analyze(), dev, "sts-001")) == 3


def test_assume_role_limited_to_some_roles_reaches_only_those() -> None:
    g = Gaad()
    _delegating_roles(g, 6)
    dev = g.user("dev", inline={"a": doc(allow("sts:AssumeRole", arn("role", "iam-*")))})
    assert [e.target for e in _found(g.analyze(), dev, "sts-001")] == [arn("role", "iam-writer")]


def test_deny_in_a_delegating_trust_naming_the_caller_is_kept() -> None:
    g = Gaad()
    dev_arn = arn("user", "dev")
    guarded = doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": dev_arn}, "Action": "sts:AssumeRole"},
    )
    g.role("guarded-admin", trust=guarded, attached=[ADMIN_ARN])
    g.role("open-admin", trust=trust_account(), attached=[ADMIN_ARN])
    dev = g.user("dev", inline={"a": doc(allow("sts:AssumeRole"))})
    other = g.user("other", inline={"a": doc(allow("sts:AssumeRole"))})
    reports = g.analyze()
    assert [e.target for e in _found(reports, dev, "sts-001")] == [arn("role", "open-admin")]
    assert {e.target for e in _found(reports, other, "sts-001")} == {
        arn("role", "guarded-admin"),
        arn("role", "open-admin"),
    }


def test_conditional_trust_makes_the_hop_conditional() -> None:
    g = Gaad()
    g.role(
        "mfa-admin",
        trust=trust_account(Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
        attached=[ADMIN_ARN],
    )
    dev = g.user("dev", inline={"a": doc(allow("sts:AssumeRole"))})
    found = _found(g.analyze(), dev, "sts-001")
    assert [e.target for e in found] == [arn("role", "mfa-admin")] and found[0].conditional


def test_modify_then_assume_reaches_roles_that_trust_the_account() -> None:
    g = Gaad()
    target = g.role("plain", trust=trust_account(), inline={"r": doc(allow("s3:GetObject"))})
    dev = g.user("dev", inline={"a": doc(allow(["sts:AssumeRole", "iam:PutRolePolicy"]))})
    assert [e.target for e in _found(g.analyze(), dev, "iam-017")] == [target]


def test_service_hub_finds_a_lower_ranked_role_with_what_the_caller_lacks() -> None:
    # The caller holds every IAM write, so the highest-ranked Lambda role (IAM writes only) gives it
    # nothing; a lower-ranked one holding an S3 write does.
    g = Gaad()
    g.role("fn-iam", trust=trust_service("lambda.amazonaws.com"), inline={"i": doc(allow("iam:*"))})
    g.role("fn-s3", trust=trust_service("lambda.amazonaws.com"), inline={"s": doc(allow("s3:PutObject"))})
    dev = g.user("dev", inline={"p": doc(allow(["iam:*", "lambda:CreateFunction", "lambda:InvokeFunction"]))})
    assert [e.target for e in _found(g.analyze(), dev, "lambda-001")] == [arn("role", "fn-s3")]


# -- removing a guardrail (iam-022 to iam-026) escalates only when the guardrail held something back ------


def test_deleting_a_boundary_that_caps_nothing_is_not_escalation() -> None:
    g = Gaad()
    boundary = g.policy("wide", doc(allow("*")))
    dev = g.user(
        "dev", inline={"p": doc(allow(["iam:DeleteUserPermissionsBoundary", "s3:*"]))}, boundary=boundary
    )
    assert not _found(g.analyze(), dev, "iam-022")


def test_deleting_a_boundary_over_an_admin_policy_reaches_admin_in_one_hop() -> None:
    g = Gaad()
    boundary = g.policy("narrow", doc(allow(["iam:DeleteUserPermissionsBoundary", "s3:GetObject"])))
    dev = g.user("dev", attached=[ADMIN_ARN], boundary=boundary)
    report = g.analyze()[dev]
    assert _found({dev: report}, dev, "iam-022")
    assert report.reaches_admin and not report.is_admin
    assert report.admin_path is not None and [h.path_id for h in report.admin_path.hops] == ["iam-022"]


def test_boundary_of_a_user_deleted_by_someone_else_only_is_not_self_escalation() -> None:
    g = Gaad()
    boundary = g.policy("narrow", doc(allow("s3:GetObject")))
    dev = g.user("dev", inline={"p": doc(allow("s3:*"))}, boundary=boundary)
    other = g.user("other", inline={"p": doc(allow("iam:DeleteUserPermissionsBoundary", dev))})
    reports = g.analyze()
    assert not _found(reports, dev, "iam-022") and not _found(reports, other, "iam-022")


def test_detaching_a_policy_without_a_deny_is_not_escalation() -> None:
    g = Gaad()
    plain = g.policy("plain", doc(allow("s3:GetObject")))
    dev = g.user("dev", inline={"p": doc(allow("iam:DetachUserPolicy"))}, attached=[plain])
    assert not _found(g.analyze(), dev, "iam-025")


def test_deleting_an_inline_deny_on_actions_never_allowed_is_not_escalation() -> None:
    g = Gaad()
    dev = g.user(
        "dev",
        inline={"p": doc(allow(["iam:DeleteUserPolicy", "s3:GetObject"])), "guard": doc(deny("ec2:*"))},
    )
    assert not _found(g.analyze(), dev, "iam-026")


def test_removing_a_role_boundary_needs_a_boundary_that_held_back_more() -> None:
    g = Gaad()
    wide = g.policy("wide", doc(allow("*")))
    g.role("capped-by-nothing", trust=trust_account(), attached=[ADMIN_ARN], boundary=wide)
    dev = g.user("dev", inline={"a": doc(allow(["iam:DeleteRolePermissionsBoundary", "sts:AssumeRole"]))})
    assert not _found(g.analyze(), dev, "iam-023")


def test_assume_on_a_pattern_of_roles_lists_the_most_privileged_few() -> None:
    """AssumeRole on a pattern (not `*`) of roles that trust the account is an edge per role: each path
    lists at most MAX_TARGETS_PER_PATH of them, administrators first, as a hub's targets are (listing all
    gave a principal of a large account hundreds of escalations). Reaching administrator is unchanged."""
    from policy.escalation import MAX_TARGETS_PER_PATH

    g = Gaad()
    weak = [
        g.role(
            f"app-{n}",
            inline={"w": doc(allow("s3:PutObject", arn("role", f"bucket{n}")), allow("sqs:SendMessage"))},
        )
        for n in range(6)
    ]
    admin = g.role("app-admin", attached=["arn:aws:iam::aws:policy/AdministratorAccess"])
    dev = g.user("dev", inline={"p": doc(allow("sts:AssumeRole", arn("role", "app-*")))})
    report = g.analyze()[dev]
    assumed = [e for e in report.privilege_escalation if e.path_id == "sts-001"]
    assert len(assumed) == MAX_TARGETS_PER_PATH
    targets = {e.target for e in assumed}
    assert admin in targets and targets - {admin} <= set(weak)
    assert report.reaches_admin


def _scores(gaad: Gaad | dict, monkeypatch: pytest.MonkeyPatch, *, capped: bool) -> dict:  # type: ignore[type-arg]
    from policy.analyze import analyze_account
    from policy.escalation import EscalationSearch
    from policy.gaad import load_gaad

    with monkeypatch.context() as mp:
        if not capped:  # every single-target edge listed, as before the cap
            mp.setattr(EscalationSearch, "_beyond_the_first", lambda *_: set())
        data = gaad.data if isinstance(gaad, Gaad) else gaad
        report = analyze_account(load_gaad(data), default_catalog())
    return {
        p.arn: (
            p.risk_score,
            sorted((f.kind, f.severity, f.detail) for f in p.findings),
            len(p.privilege_escalation),
        )
        for p in report.principals
    }


def test_listing_the_first_few_targets_never_changes_a_score(monkeypatch: pytest.MonkeyPatch) -> None:
    """The score reads the listed escalations (the best target's gain; whether every path is under
    conditions): the cap keeps the best-gain target and an unconditional one, so scores, severities and
    details are those of the full listing. Here the most privileged roles are reached only with MFA."""
    from benchmarks.gen_gaad import generate
    from policy.escalation import MAX_TARGETS_PER_PATH

    g = Gaad()
    mfa = {"Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}
    writes = ["ec2:RunInstances", "ec2:TerminateInstances", "ec2:CreateTags", "dynamodb:PutItem"]
    for n in range(5):  # the most privileged by rank, reached only with MFA, and worth little
        g.role(f"app-big{n}", trust=trust_account(**mfa), inline={"w": doc(allow(writes))})
    # Ranked last (one write action) but unconditional, and the most worth becoming (secrets, data).
    reads = ["secretsmanager:GetSecretValue", "s3:GetObject", "ssm:GetParameter"]
    g.role("app-data", inline={"w": doc(allow(reads), allow("sqs:SendMessage"))})
    dev = g.user(
        "dev", inline={"p": doc(allow("sts:AssumeRole", arn("role", "app-*")), allow("s3:PutObject"))}
    )
    full, capped = _scores(g, monkeypatch, capped=False), _scores(g, monkeypatch, capped=True)
    assert full[dev][2] > MAX_TARGETS_PER_PATH >= capped[dev][2]  # the cap is exercised
    assert {a: v[:2] for a, v in capped.items()} == {a: v[:2] for a, v in full.items()}
    assert ("privilege-escalation", "high", "Escalation paths: sts-001") in capped[dev][1]
    # And on a generated account of 2,000 roles (where 7 principals are capped).
    data = generate(2000)
    full, capped = _scores(data, monkeypatch, capped=False), _scores(data, monkeypatch, capped=True)
    assert sum(v[2] for v in capped.values()) < sum(v[2] for v in full.values())
    assert {a: v[:2] for a, v in capped.items()} == {a: v[:2] for a, v in full.items()}
