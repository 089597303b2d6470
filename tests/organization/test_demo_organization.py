"""The demo organisation shows what only an organisation has: an SCP-capped principal, a cross-account
path to admin, root findings, a service-linked role with no apply offered, and a permission-set suggestion
applied and rolled back through IAM Identity Center (fakeaws, checks on)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.demo import (
    DEMO_ACCOUNTS,
    MANAGEMENT,
    PROD,
    SANDBOX,
    STAGING,
    demo_accounts,
    demo_external_id,
    demo_identity_center,
    demo_organization,
)
from fakeaws.identity_center import INLINE_NAME, seed_identity_center, sso_admin_client
from fakeaws.organization import seed_organization
from fakeaws.scenario import account_clients, seed_account
from findings import suggestions
from findings.ingest import sync_run_execute
from findings.models import Finding, Principal

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_organisation(users: dict[str, Any]) -> None:
    with fakeaws.mock():
        for account_id, spec in demo_accounts().items():
            seed_account(account_id, spec)
        seed_organization(MANAGEMENT, demo_organization())
        seed_identity_center(MANAGEMENT, demo_identity_center())
        for account_id, name in DEMO_ACCOUNTS:
            account = LinkedAccount.objects.create(
                account_id=account_id,
                name=name,
                role_arn=f"arn:aws:iam::{account_id}:role/iamreview-read",
                external_id=demo_external_id(account_id),
                apply_role_arn=f"arn:aws:iam::{account_id}:role/iamreview-apply",
                reads_organization=account_id == MANAGEMENT,
            )
            with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
                run = sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
            assert run is not None and run.status == "succeeded", run and run.error
        assert fakeaws.STATE.refused == []
        # An SCP-capped principal: the sandbox's administrators lose IAM writes, and with them admin.
        alice = Principal.objects.get(account__account_id=SANDBOX, name="alice")
        assert not alice.is_admin
        assert any(c["source"] == "SCP deny-iam-outside-admins" for c in alice.scp_caps)
        assert Principal.objects.get(account__account_id=PROD, name="alice").is_admin
        # A cross-account path to admin.
        release = Principal.objects.get(account__name="staging", name="release-to-prod")
        assert [p["target"] for p in release.cross_account_paths] == [
            f"arn:aws:iam::{PROD}:role/prod-deployer"
        ]
        assert Finding.objects.filter(principal=release, kind="cross-account-admin").exists()
        # Root findings.
        root_kinds = set(
            Finding.objects.filter(principal_arn__endswith=":root").values_list("principal_arn", "kind")
        )
        assert (f"arn:aws:iam::{PROD}:root", "root-access-key") in root_kinds
        assert (f"arn:aws:iam::{SANDBOX}:root", "no-mfa") in root_kinds
        # A service-linked role gets a suggestion that cannot be applied.
        ecs = Principal.objects.get(account__account_id=PROD, name="AWSServiceRoleForECS")
        made = suggestions.suggestion_build(principal=ecs, analyzer=account_clients(PROD)["accessanalyzer"])
        assert made is None or "service-linked role" in made.blocked_reason
        _permission_set_applied_and_rolled_back(users)


def _permission_set_applied_and_rolled_back(users: dict[str, Any]) -> None:
    """The DataEngineers set's roles in prod and staging used part of it: the suggestion of either targets
    the set, and its apply and rollback go through Identity Center to both roles."""
    from findings import change_requests
    from tests.changes.flow import apply, decide, rollback

    world = {**users}
    role = Principal.objects.get(account__account_id=PROD, name__startswith="AWSReservedSSO_DataEngineers_")
    made = suggestions.suggestion_build(principal=role, analyzer=account_clients(PROD)["accessanalyzer"])
    assert made is not None and made.blocked_reason == ""
    assert {i["kind"] for i in made.items} <= {"ps-inline", "ps-replace", "ps-detach"}
    inline = next(i for i in made.items if i["kind"] == "ps-inline")
    # Used in staging only (glue:GetTable) and in prod only (athena) are both kept; the warehouse goes.
    kept = {a for st in inline["proposed"][0]["Statement"] for a in st["Action"]}
    assert {"glue:GetTable", "athena:StartQueryExecution", "s3:PutBucketPolicy", "s3:CreateBucket"} <= kept
    assert not any(a.startswith(("redshift:", "dynamodb:")) for a in kept)
    cr = change_requests.change_request_open(actor=world["reviewer"], suggestion=made, reason="demo")
    cr = apply(world, decide(cr, world["approver"]))
    assert cr.status == "applied", cr.error
    staging_iam = account_clients(STAGING)["iam"]
    staging_role = Principal.objects.get(
        account__account_id=STAGING, name__startswith="AWSReservedSSO_DataEngineers_"
    ).name
    assert "redshift" not in str(staging_iam.get_role_policy(RoleName=staging_role, PolicyName=INLINE_NAME))
    cr = rollback(world, cr)
    assert cr.status == "rolled_back", cr.error
    assert "redshift" in str(staging_iam.get_role_policy(RoleName=staging_role, PolicyName=INLINE_NAME))
    sso = sso_admin_client(MANAGEMENT)
    assert (
        "redshift:*"
        in sso.get_inline_policy_for_permission_set(
            InstanceArn=inline["instance_arn"], PermissionSetArn=inline["permission_set_arn"]
        )["InlinePolicy"]
    )
    assert fakeaws.STATE.refused == []
