"""IAM Identity Center end to end against fakeaws with permission checks on: the management account's read
role collects the permission sets, each `AWSReservedSSO_*` role is linked to its set, the set's use is the
union over every account, its suggestion targets the set, and the apply (apply role of the management
account) rewrites the set and provisions it, with rollback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.exports import policies_cloudformation, policies_terraform
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from accounts.product_roles import (
    IDENTITY_CENTER_APPLY_ACTIONS,
    IDENTITY_CENTER_READ_ACTIONS,
    ORGANIZATION_POLICY_NAME,
    ORGANIZATION_READ_ACTIONS,
    READ_ACTIONS,
    READ_ROLE_NAME,
    organization_policy,
)
from fakeaws.enforce import action_for
from fakeaws.identity_center import (
    INLINE_NAME,
    fail_next_provisioning,
    seed_identity_center,
    sso_admin_client,
)
from fakeaws.organization import seed_organization
from fakeaws.scenario import account_clients, seed_account
from findings import change_requests, suggestions
from findings.add_back import follow_up_items
from findings.identity_center import permission_set_for, set_usage
from findings.ingest import sync_run_execute
from findings.models import ChangeStatus, PermissionSet, Principal
from tests.changes.flow import apply, decide, rollback
from tests.organization.test_organization_sync import ALL

pytestmark = pytest.mark.django_db(transaction=True)

MGMT, PROD, STAGING = "999999999999", "111111111111", "222222222222"
SQS_READ = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
DATA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Data",
            "Effect": "Allow",
            "Action": ["s3:CreateBucket", "s3:PutBucketTagging", "s3:DeleteBucket", "dynamodb:DeleteTable"],
            "Resource": "*",
        }
    ],
}


def link(account_id: str, name: str, *, management: bool = False) -> LinkedAccount:
    return LinkedAccount.objects.create(
        account_id=account_id,
        name=name,
        role_arn=f"arn:aws:iam::{account_id}:role/{READ_ROLE_NAME}",
        apply_role_arn=f"arn:aws:iam::{account_id}:role/iamreview-apply",
        reads_organization=management,
    )


def sync(account: LinkedAccount) -> SyncRun:
    run = SyncRun.objects.create(account=account, trigger="manual")
    with override_settings(AWS_ENDPOINT_URL="", IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        finished = sync_run_execute(run_id=run.pk)
    assert finished is not None and finished.status == SyncStatus.SUCCEEDED, finished and finished.error
    return finished


def seed(management_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    seed_account(
        MGMT, management_spec or {"management": True, "users": [{"name": "admin", "inline": {"a": ALL}}]}
    )
    seed_account(PROD, {})
    seed_account(STAGING, {})
    seed_organization(MGMT, {"accounts": {PROD: "prod", STAGING: "staging"}})
    sets = seed_identity_center(
        MGMT,
        [
            {"name": "DataEngineers", "inline": DATA, "managed": [SQS_READ], "accounts": [PROD, STAGING]},
            {"name": "ReadOnly", "managed": ["arn:aws:iam::aws:policy/ReadOnlyAccess"], "accounts": [PROD]},
        ],
    )
    now = datetime.now(tz=UTC)
    roles = sets["DataEngineers"]["roles"]
    path = "role/aws-reserved/sso.amazonaws.com/"
    # Each account's role used part of the set: CreateBucket in prod, PutBucketTagging in staging.
    fakeaws.record_usage(
        f"arn:aws:iam::{PROD}:{path}{roles[PROD]}",
        "s3",
        now - timedelta(days=2),
        actions={"CreateBucket": now - timedelta(days=2)},
    )
    fakeaws.record_usage(
        f"arn:aws:iam::{STAGING}:{path}{roles[STAGING]}",
        "s3",
        now - timedelta(days=3),
        actions={"PutBucketTagging": now - timedelta(days=3)},
    )
    return sets


@pytest.fixture
def org(users: dict[str, Any]) -> Any:
    with fakeaws.mock():
        sets = seed()
        accounts = {
            name: link(i, name, management=(i == MGMT))
            for i, name in ((MGMT, "management"), (PROD, "prod"), (STAGING, "staging"))
        }
        for account in accounts.values():
            sync(account)
        yield {"sets": sets, **accounts, **users}


def role(account: LinkedAccount, set_name: str = "DataEngineers") -> Principal:
    return Principal.objects.get(account=account, name__startswith=f"AWSReservedSSO_{set_name}_")


def test_collection_stores_the_sets_links_their_roles_and_unites_their_use(org: dict[str, Any]) -> None:
    run = SyncRun.objects.filter(account=org["management"]).get()
    assert fakeaws.STATE.refused == []
    assert run.counts["permission_sets"] == 2 and run.counts["permission_sets_written"] == 2
    # Every call of the collection is an action of the management template.
    prefix = {
        "iam": "iam",
        "accessanalyzer": "access-analyzer",
        "sts": "sts",
        "organizations": "organizations",
    }
    called = {action_for(prefix.get(s, "sso"), op) for s, op in (c.split(":") for c in run.api_calls)}
    assert {"sso:ListPermissionSets", "sso:ListAccountsForProvisionedPermissionSet"} <= called
    assert called - {"sts:AssumeRole"} <= (
        set(READ_ACTIONS) | set(ORGANIZATION_READ_ACTIONS) | set(IDENTITY_CENTER_READ_ACTIONS)
    )
    data = PermissionSet.objects.get(name="DataEngineers")
    assert data.accounts == [PROD, STAGING]
    assert data.inline_policy == DATA
    assert data.managed_policies == [{"arn": SQS_READ, "name": "AmazonSQSReadOnlyAccess"}]
    assert permission_set_for(role(org["prod"])) == data
    assert permission_set_for(role(org["staging"])) == data
    assert permission_set_for(role(org["prod"], "ReadOnly")).name == "ReadOnly"  # type: ignore[union-attr]
    # An unchanged re-sync writes nothing.
    again = sync(org["management"])
    assert again.counts["permission_sets_written"] == 0
    assert PermissionSet.objects.get(name="DataEngineers").run_id == run.pk
    # The set's use is the union of its roles' in every account.
    usage = set_usage(data, role(org["prod"])).usage
    assert usage.state("s3:CreateBucket") == "used"  # used in prod
    assert usage.state("s3:PutBucketTagging") == "used"  # used in staging only
    assert usage.state("s3:DeleteBucket") == "unused"


def test_the_suggestion_targets_the_set_and_apply_and_rollback_go_through_identity_center(
    org: dict[str, Any],
) -> None:
    suggestion = suggestions.suggestion_build(principal=role(org["prod"]))
    assert suggestion is not None and suggestion.blocked_reason == ""
    by_kind = {i["kind"]: i for i in suggestion.items}
    inline = by_kind["ps-inline"]
    assert inline["permission_set_arn"] == org["sets"]["DataEngineers"]["arn"]
    assert inline["identity_center_account"] == MGMT
    kept = set(inline["proposed"][0]["Statement"][0]["Action"])
    assert {"s3:CreateBucket", "s3:PutBucketTagging"} <= kept and "s3:DeleteBucket" not in kept
    assert "dynamodb:DeleteTable" in inline["removed_actions"]
    assert {i["kind"] for i in suggestion.items} - {"ps-inline"} <= {"ps-replace", "ps-detach"}
    assert any(i["arn"] == SQS_READ for i in suggestion.items if i["kind"] != "ps-inline")

    cr = change_requests.change_request_open(actor=org["reviewer"], suggestion=suggestion, reason="review")
    cr = decide(cr, org["approver"])
    sso = sso_admin_client(MGMT)
    ref = {"InstanceArn": inline["instance_arn"], "PermissionSetArn": inline["permission_set_arn"]}
    cr = apply(org, cr)
    assert cr.status == ChangeStatus.APPLIED, cr.error
    assert fakeaws.STATE.refused == []
    live = sso.get_inline_policy_for_permission_set(**ref)["InlinePolicy"]
    assert "s3:DeleteBucket" not in live and "s3:PutBucketTagging" in live
    attached = [
        m["Arn"] for m in sso.list_managed_policies_in_permission_set(**ref)["AttachedManagedPolicies"]
    ]
    assert SQS_READ not in attached
    kinds = [s["kind"] for s in cr.steps]
    assert kinds[0] == "ps-provision" and "ps-inline-put" in kinds
    assert any("provisioned permission set DataEngineers" in line["step"] for line in cr.log)
    # Provisioning pushed the set to its role in both accounts.
    for account in (PROD, STAGING):
        iam = account_clients(account)["iam"]
        name = org["sets"]["DataEngineers"]["roles"][account]
        doc = iam.get_role_policy(RoleName=name, PolicyName=INLINE_NAME)["PolicyDocument"]
        assert "s3:DeleteBucket" not in str(doc)
        assert SQS_READ not in [
            p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        ]
    assert cr.previous and cr.previous[0]["document"] == DATA

    # An add-back goes to the set's inline policy as the change left it, never to the role.
    follow = follow_up_items(cr, "s3:DeleteBucket", "")
    assert [(i["kind"], i["permission_set_arn"]) for i in follow] == [("ps-inline", ref["PermissionSetArn"])]
    assert follow[0]["original"] == json.loads(live)
    change_requests.items_validate(follow, add_back=[{"action": "s3:DeleteBucket", "resource": "*"}])

    cr = rollback(org, cr)
    assert cr.status == ChangeStatus.ROLLED_BACK, cr.error
    assert (
        sso.get_inline_policy_for_permission_set(**ref)["InlinePolicy"] in (__import__("json").dumps(DATA),)
        or __import__("json").loads(sso.get_inline_policy_for_permission_set(**ref)["InlinePolicy"]) == DATA
    )
    attached = [
        m["Arn"] for m in sso.list_managed_policies_in_permission_set(**ref)["AttachedManagedPolicies"]
    ]
    assert SQS_READ in attached
    name = org["sets"]["DataEngineers"]["roles"][STAGING]
    iam = account_clients(STAGING)["iam"]
    assert "s3:DeleteBucket" in str(
        iam.get_role_policy(RoleName=name, PolicyName=INLINE_NAME)["PolicyDocument"]
    )
    assert fakeaws.STATE.refused == []


def test_a_provisioning_that_fails_undoes_every_write_and_provisions_the_set_again(
    org: dict[str, Any],
) -> None:
    suggestion = suggestions.suggestion_build(principal=role(org["staging"]))
    assert suggestion is not None
    cr = change_requests.change_request_open(actor=org["reviewer"], suggestion=suggestion, reason="review")
    fail_next_provisioning(MGMT, "role AWSReservedSSO_DataEngineers in 222222222222 could not be updated")
    cr = apply(org, decide(cr, org["approver"]))
    assert cr.status == ChangeStatus.FAILED
    assert "could not provision" in cr.error and "undoing" in cr.error
    assert all(s.get("undone") for s in cr.steps)
    sso = sso_admin_client(MGMT)
    ref = {"InstanceArn": org["sets"]["DataEngineers"]["instance_arn"]}
    ref["PermissionSetArn"] = org["sets"]["DataEngineers"]["arn"]
    assert json.loads(sso.get_inline_policy_for_permission_set(**ref)["InlinePolicy"]) == DATA
    attached = sso.list_managed_policies_in_permission_set(**ref)["AttachedManagedPolicies"]
    assert [m["Arn"] for m in attached] == [SQS_READ]
    assert any("provisioned" in line["step"] and "again" in line["step"] for line in cr.log)


def test_the_principal_page_shows_the_set_and_where_it_is_provisioned(
    org: dict[str, Any], client_as: Any
) -> None:
    prod_role = role(org["prod"])
    page = client_as("viewer").get(f"/principals/{prod_role.pk}/").content.decode()
    assert 'id="permission-set"' in page and "DataEngineers" in page
    assert PROD in page and STAGING in page
    assert 'id="protected-reason"' not in page
    made = suggestions.suggestion_build(principal=prod_role)
    assert made is not None
    detail = client_as("reviewer").get(f"/suggestions/{made.pk}/").content.decode()
    assert "the inline policy of IAM Identity Center permission set" in detail
    assert 'id="accept-suggestion"' in detail and 'id="blocked-reason"' not in detail
    # Exports name the permission set, never the role (Identity Center would revert the role).
    terraform = policies_terraform(made.items, "role", prod_role.name)
    assert "aws_ssoadmin_permission_set_inline_policy" in terraform and "aws_iam_role_policy" not in terraform
    assert made.items[0]["permission_set_arn"] in terraform
    assert "AWS::SSO::PermissionSet" in policies_cloudformation(made.items, "role", prod_role.name)


def test_a_read_role_without_the_sso_actions_fails_only_that_part_of_the_sync(client_as: Any) -> None:
    with fakeaws.mock():
        seed_account(MGMT, {"management": True})
        seed_account(PROD, {})
        seed_organization(MGMT, {"accounts": {PROD: "prod"}})
        seed_identity_center(MGMT, [{"name": "DataEngineers", "inline": DATA, "accounts": [PROD]}])
        iam = account_clients(MGMT)["iam"]
        policy = organization_policy()
        policy["Statement"][1]["Action"].remove("sso:ListPermissionSets")
        iam.put_role_policy(
            RoleName=READ_ROLE_NAME,
            PolicyName=ORGANIZATION_POLICY_NAME,
            PolicyDocument=json.dumps(policy),
        )
        management = link(MGMT, "management", management=True)
        run = sync(management)  # succeeded: the rest of the sync stands
        prod = link(PROD, "prod")
        sync(prod)
    assert any(
        "IAM Identity Center was not read" in w and "sso:ListPermissionSets" in w for w in run.warnings
    ), run.warnings
    assert PermissionSet.objects.count() == 0
    assert run.counts["principals"] > 0  # the rest of the sync was stored
    # Its role keeps the protected message: the set is not known.
    sso_role = role(prod)
    assert permission_set_for(sso_role) is None
    s = suggestions.suggestion_build(principal=sso_role)
    assert s is None or "permission set is not known" in s.blocked_reason
    page = client_as("viewer").get(f"/principals/{sso_role.pk}/").content.decode()
    assert 'id="protected-reason"' in page and "tighten its permission set in Identity Center" in page
    assert 'id="permission-set"' not in page


def test_the_management_template_carries_the_identity_center_actions() -> None:
    from fakeaws.iamdb import iam_database

    db = iam_database()
    named = [*IDENTITY_CENTER_READ_ACTIONS, *IDENTITY_CENTER_APPLY_ACTIONS]
    assert [a for a in named if not db.exists(a)] == []
    assert "sso:ProvisionPermissionSet" in IDENTITY_CENTER_APPLY_ACTIONS
