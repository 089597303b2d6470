"""The organisation, end to end against fakeaws with permission checks on: the management account's read
role (management template) reads the OU tree, SCPs and RCPs; member accounts' analyses are capped by them;
a role that can assume another account's administrator role reaches admin; the root user's row gives
findings."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.checks import account_check_run
from accounts.models import AccountCheck, LinkedAccount, SyncRun, SyncStatus
from accounts.product_roles import IDENTITY_CENTER_READ_ACTIONS, ORGANIZATION_READ_ACTIONS, READ_ACTIONS
from fakeaws.enforce import action_for
from fakeaws.organization import seed_organization
from fakeaws.scenario import READ_ROLE, seed_account
from findings.ingest import sync_run_execute
from findings.models import Finding, OrganizationSnapshot, Principal

pytestmark = pytest.mark.django_db(transaction=True)

MGMT, PROD, STAGING = "999999999999", "111111111111", "222222222222"
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


READ_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def deny(*actions: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": list(actions), "Resource": "*"}],
    }


def deny_outside_the_product(*actions: str) -> dict[str, Any]:
    """Deny these actions to every principal but the product's own roles, as a real organisation exempts
    them (an SCP that denied iam:* to iamreview-read would stop its reads: fakeaws refuses them)."""
    document = deny(*actions)
    document["Statement"][0]["Condition"] = {
        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/iamreview-*"}
    }
    return document


def trust(account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def world(staging_scp: dict[str, Any] | None = None) -> None:
    seed_account(MGMT, {"management": True, "users": [{"name": "org-admin", "inline": {"all": ALL}}]})
    seed_account(
        PROD,
        {
            "roles": [
                {"name": "deployer", "trust": trust(STAGING), "inline": {"all": ALL}},
                {"name": "vendor-audit", "trust": trust("444455556666"), "inline": {"read": READ_S3}},
                {"name": "from-management", "trust": trust(MGMT), "inline": {"read": READ_S3}},
            ],
            "root": {"mfa": False, "keys": [{"age_days": 900, "last_used_days": 3}]},
        },
    )
    seed_account(
        STAGING,
        {
            "users": [{"name": "dev", "inline": {"all": ALL}}],
            "roles": [
                {
                    "name": "ci",
                    "trust": trust(STAGING),
                    "inline": {
                        "ci": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["sts:AssumeRole", "s3:GetObject"],
                                    "Resource": "*",
                                }
                            ],
                        }
                    },
                }
            ],
        },
    )
    seed_organization(
        MGMT,
        {
            "accounts": {PROD: "prod", STAGING: "staging"},
            "ous": [
                {"name": "Production", "accounts": [PROD]},
                {"name": "Sandbox", "accounts": [STAGING]},
            ],
            "policies": [
                {
                    "name": "deny-leaving",
                    "document": deny("organizations:LeaveOrganization"),
                    "targets": ["Root"],
                },
                {
                    "name": "deny-iam-outside-admins",
                    "document": staging_scp or deny_outside_the_product("iam:*"),
                    "targets": ["Sandbox"],
                },
            ],
        },
    )


def link(account_id: str, name: str, *, management: bool = False) -> LinkedAccount:
    return LinkedAccount.objects.create(
        account_id=account_id,
        name=name,
        role_arn=f"arn:aws:iam::{account_id}:role/{READ_ROLE}",
        reads_organization=management,
    )


def sync(account: LinkedAccount) -> SyncRun:
    run = SyncRun.objects.create(account=account, trigger="manual")
    with override_settings(AWS_ENDPOINT_URL="", IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        finished = sync_run_execute(run_id=run.pk)
    assert finished is not None and finished.status == SyncStatus.SUCCEEDED, finished and finished.error
    return finished


@pytest.fixture
def org() -> Any:
    with fakeaws.mock():
        world()
        yield {
            name: link(i, name, management=(i == MGMT))
            for i, name in ((MGMT, "management"), (PROD, "prod"), (STAGING, "staging"))
        }


def test_the_management_template_allows_every_call_and_the_tree_is_stored(
    org: dict[str, LinkedAccount],
) -> None:
    run = sync(org["management"])
    assert fakeaws.STATE.refused == []
    prefix = {
        "iam": "iam",
        "accessanalyzer": "access-analyzer",
        "sts": "sts",
        "organizations": "organizations",
        "sso-admin": "sso",
    }
    called = {action_for(prefix[s], op) for s, op in (c.split(":") for c in run.api_calls)}
    assert {"organizations:ListTargetsForPolicy", "organizations:DescribePolicy"} <= called
    assert {"sso:ListInstances", "sso:ListPermissionSets"} <= called  # Identity Center, read every sync
    assert called - {"sts:AssumeRole"} <= (
        set(READ_ACTIONS) | set(ORGANIZATION_READ_ACTIONS) | set(IDENTITY_CENTER_READ_ACTIONS)
    )
    snapshot = OrganizationSnapshot.objects.get()
    assert snapshot.management_account_id == MGMT
    assert snapshot.nodes[STAGING]["kind"] == "account"
    assert snapshot.nodes[snapshot.nodes[STAGING]["parent"]]["name"] == "Sandbox"
    names = {p["name"] for p in snapshot.policies.values()}
    assert {"FullAWSAccess", "RCPFullAWSAccess", "deny-iam-outside-admins"} <= names
    # SCPs never cap the management account.
    assert Principal.objects.get(account=org["management"], name="org-admin").is_admin
    sync(org["management"])
    assert OrganizationSnapshot.objects.count() == 1  # unchanged: no new row


def test_a_member_account_without_the_management_template_cannot_read_the_organisation() -> None:
    with fakeaws.mock():
        seed_account(MGMT, {})  # member template only
        account = link(MGMT, "management", management=True)
        run = SyncRun.objects.create(account=account)
        with override_settings(AWS_ENDPOINT_URL="", IAMREVIEW_POLL_MS=20):
            finished = sync_run_execute(run_id=run.pk)
    assert finished is not None and finished.status == SyncStatus.FAILED
    assert "organizations:DescribeOrganization" in finished.error
    assert "management-account template" in finished.error


def test_an_scp_caps_a_member_principal_and_says_which(org: dict[str, LinkedAccount], client_as: Any) -> None:
    sync(org["management"])
    sync(org["staging"])
    dev = Principal.objects.get(account=org["staging"], name="dev")
    assert not dev.is_admin
    caps = {c["source"]: c for c in dev.scp_caps}
    assert caps["SCP deny-iam-outside-admins"]["actions"] == ["iam:*"]
    assert caps["SCP deny-iam-outside-admins"]["how"] == "denied"
    assert "organizations:LeaveOrganization" in caps["SCP deny-leaving"]["actions"]
    assert not Finding.objects.filter(principal=dev, kind="admin").exists()
    page = client_as("viewer").get(f"/principals/{dev.pk}/").content.decode()
    assert "iam:* denied by SCP deny-iam-outside-admins" in page


def test_a_role_reaches_an_administrator_role_in_another_account(
    org: dict[str, LinkedAccount], client_as: Any
) -> None:
    sync(org["management"])
    sync(org["prod"])
    assert Principal.objects.get(account=org["prod"], name="deployer").is_admin
    sync(org["staging"])
    ci = Principal.objects.get(account=org["staging"], name="ci")
    target = f"arn:aws:iam::{PROD}:role/deployer"
    assert [p["chain"] for p in ci.cross_account_paths] == [[ci.arn, target]]
    finding = Finding.objects.get(principal=ci, kind="cross-account-admin")
    assert finding.severity == "critical" and target in finding.detail
    assert ci.risk_score >= 45
    page = client_as("viewer").get(f"/principals/{ci.pk}/").content.decode()
    assert "deployer" in page and "Reaches an administrator" in page


def test_an_scp_denying_assume_role_cuts_the_cross_account_path() -> None:
    with fakeaws.mock():
        world(staging_scp=deny_outside_the_product("iam:*", "sts:AssumeRole"))
        accounts = [link(MGMT, "management", management=True), link(PROD, "prod"), link(STAGING, "staging")]
        for account in accounts:
            sync(account)
    ci = Principal.objects.get(account=accounts[2], name="ci")
    assert ci.cross_account_paths == []
    assert not Finding.objects.filter(principal=ci, kind="cross-account-admin").exists()


def test_the_root_users_row_gives_findings(org: dict[str, LinkedAccount]) -> None:
    sync(org["prod"])
    kinds = set(
        Finding.objects.filter(account=org["prod"], principal_arn=f"arn:aws:iam::{PROD}:root").values_list(
            "kind", flat=True
        )
    )
    assert kinds == {"root-access-key", "root-used", "no-mfa"}
    sync(org["staging"])  # seeded without a root spec: MFA on, no key, never used
    assert not Finding.objects.filter(account=org["staging"], principal_arn__endswith=":root").exists()


def test_roles_trusted_from_outside_the_organisation_have_their_own_page(
    org: dict[str, LinkedAccount], client_as: Any
) -> None:
    from accounts.models import LinkedAccount as Linked

    sync(org["prod"])
    # Before the organisation is read, only linked accounts count as inside.
    Linked.objects.filter(pk=org["management"].pk).delete()
    page = client_as("viewer").get("/principals/trusted-from-outside/").content.decode()
    assert "vendor-audit" in page and "from-management" in page
    org["management"].pk = None
    org["management"].save()
    sync(Linked.objects.get(account_id=MGMT))
    page = client_as("viewer").get("/principals/trusted-from-outside/").content.decode()
    table = page[page.index('id="external-trust"') :]
    assert "vendor-audit" in table and "arn:aws:iam::444455556666:root" in table
    assert "from-management" not in table and "deployer" not in table
    assert client_as("nobody").get("/principals/trusted-from-outside/").status_code == 403


def _discover(admin: Any, management: LinkedAccount) -> str:
    """Ask for a discovery, let the worker run it, and read the page that shows what it found."""
    queued = admin.post("/accounts/discover/", {"management": management.pk})
    for pk in AccountCheck.objects.filter(status="queued").values_list("pk", flat=True):
        account_check_run(pk)
    return str(admin.get(queued["Location"]).content.decode())


def test_discovery_reads_the_accounts_through_the_management_template(
    org: dict[str, LinkedAccount], client_as: Any
) -> None:
    page = _discover(client_as("admin"), org["management"])
    assert PROD in page and STAGING in page
    assert fakeaws.STATE.refused == []


def test_discovery_with_the_member_template_says_what_is_missing(client_as: Any) -> None:
    with fakeaws.mock():
        seed_account(MGMT, {})
        seed_organization(MGMT, {"accounts": {PROD: "prod"}})
        management = link(MGMT, "management")
        page = _discover(client_as("admin"), management)
    assert "organizations:" in page and "management-account template" in page and PROD not in page
