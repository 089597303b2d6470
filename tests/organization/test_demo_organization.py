"""The demo organisation shows what only an organisation has: an SCP-capped principal, a cross-account
path to admin, root findings, and a service-linked role with no apply offered (fakeaws, checks on)."""

from __future__ import annotations

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.demo import (
    DEMO_ACCOUNTS,
    MANAGEMENT,
    PROD,
    SANDBOX,
    demo_accounts,
    demo_external_id,
    demo_organization,
)
from fakeaws.organization import seed_organization
from fakeaws.scenario import account_clients, seed_account
from findings import suggestions
from findings.ingest import sync_run_execute
from findings.models import Finding, Principal

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_organisation() -> None:
    with fakeaws.mock():
        for account_id, spec in demo_accounts().items():
            seed_account(account_id, spec)
        seed_organization(MANAGEMENT, demo_organization())
        for account_id, name in DEMO_ACCOUNTS:
            account = LinkedAccount.objects.create(
                account_id=account_id,
                name=name,
                role_arn=f"arn:aws:iam::{account_id}:role/iamreview-read",
                external_id=demo_external_id(account_id),
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
