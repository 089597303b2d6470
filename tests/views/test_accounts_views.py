"""Account pages: linking, onboarding templates, sync now, run status polling, connection test, discovery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.utils import timezone

import fakeaws
from accounts.checks import account_check_request, account_check_run, account_checks_reap_stale
from accounts.models import AccountCheck, CheckKind, LinkedAccount, SyncRun, SyncStatus
from accounts.onboarding import READ_ACTIONS
from accounts.product_roles import apply_policy, read_policy
from core.models import AuditEvent
from fakeaws.enforce import action_for
from fakeaws.scenario import seed_account

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def account() -> LinkedAccount:
    return LinkedAccount.objects.create(
        account_id="111111111111", name="prod", role_arn="arn:aws:iam::111111111111:role/iamreview-read"
    )


def test_admin_links_an_account_and_it_is_audited(client_as: Any) -> None:
    response = client_as("admin").post(
        "/accounts/link/",
        {
            "account_id": "123456789012",
            "name": "prod",
            "role_arn": "arn:aws:iam::123456789012:role/iamreview-read",
            "regions": "us-east-1, eu-west-1",
            "enabled": "on",
            "sync_interval_minutes": 60,
            "unused_days": 90,
        },
    )
    account = LinkedAccount.objects.get(account_id="123456789012")
    assert response.status_code == 302 and response["Location"] == f"/accounts/{account.pk}/"
    assert account.regions == ["us-east-1", "eu-west-1"] and account.external_id.startswith("iamreview-")
    event = AuditEvent.objects.get(action="account.link")
    assert event.actor_name == "admin" and event.after["account_id"] == "123456789012"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_id", "12345", "exactly 12 digits"),
        ("role_arn", "arn:aws:iam::999999999999:role/x", "not in account"),
        ("role_arn", "not-an-arn", "A role ARN looks like"),
        ("regions", "moon-base-1", "Not an AWS region"),
        ("sync_interval_minutes", "5", "greater than or equal to 15"),
    ],
)
def test_link_form_errors_say_what_to_fix(client_as: Any, field: str, value: str, message: str) -> None:
    data = {
        "account_id": "123456789012",
        "name": "prod",
        "sync_interval_minutes": 60,
        "unused_days": 90,
        field: value,
    }
    response = client_as("admin").post("/accounts/link/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not LinkedAccount.objects.exists()


def test_onboarding_template_is_valid_and_carries_the_external_id(
    client_as: Any, account: LinkedAccount
) -> None:
    page = client_as("viewer").get(f"/accounts/{account.pk}/")
    assert account.external_id in page.content.decode()
    download = client_as("viewer").get(f"/accounts/{account.pk}/cloudformation.yaml?apply=1")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!GetAtt", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]
    template = yaml.load(download.content, Loader=Loader)  # noqa: S506 - SafeLoader subclass
    read = template["Resources"]["ReadRole"]["Properties"]
    condition = read["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]
    assert condition["sts:ExternalId"] == account.external_id
    assert read["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"] == list(READ_ACTIONS)
    assert "ApplyRole" in template["Resources"]
    # The rendered policies are exactly the ones fakeaws enforces in the tests, the Denies included.
    apply_role = template["Resources"]["ApplyRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert apply_role == apply_policy() and read["Policies"][0]["PolicyDocument"] == read_policy()
    terraform = client_as("viewer").get(f"/accounts/{account.pk}/iamreview.tf").content.decode()
    assert account.external_id in terraform and 'resource "aws_iam_role" "iamreview_read"' in terraform
    with_apply = client_as("viewer").get(f"/accounts/{account.pk}/iamreview.tf?apply=1").content.decode()
    assert '"NeverChangeOwnRoles"' in with_apply and '"iam:PutRolePermissionsBoundary"' in with_apply


def test_read_role_allows_every_call_a_sync_makes(client_as: Any) -> None:
    """The template's action list and the collectors cannot drift apart: fakeaws refuses what the read role
    may not do, and every call the sync made maps (by IAM action name, not operation name) into the list."""
    from django.test import override_settings

    from findings.ingest import sync_run_execute
    from tests.scenarios import ACCOUNT, small_company

    with fakeaws.mock():
        seed_account(ACCOUNT, small_company())
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
        )
        run = SyncRun.objects.create(account=account)
        with override_settings(IAMREVIEW_POLL_MS=20):
            run = sync_run_execute(run_id=run.pk)  # type: ignore[assignment]
        refused = list(fakeaws.STATE.refused)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert refused == []
    service_prefix = {
        "iam": "iam",
        "accessanalyzer": "access-analyzer",
        "sts": "sts",
        "cloudtrail": "cloudtrail",
    }
    called = {action_for(service_prefix[s], op) for s, op in (c.split(":") for c in run.api_calls)}
    assert called - {"sts:AssumeRole"} <= set(READ_ACTIONS), called - set(READ_ACTIONS)


def test_the_management_account_gets_a_template_of_its_own(client_as: Any) -> None:
    from accounts.onboarding import (
        IDENTITY_CENTER_APPLY_ACTIONS,
        IDENTITY_CENTER_READ_ACTIONS,
        ORGANIZATION_READ_ACTIONS,
    )

    member = LinkedAccount.objects.create(account_id="111111111111", name="prod")
    management = LinkedAccount.objects.create(account_id="999999999999", name="org", reads_organization=True)
    viewer = client_as("viewer")
    plain = viewer.get(f"/accounts/{member.pk}/cloudformation.yaml").content.decode()
    assert "organizations:" not in plain
    for body in (
        viewer.get(f"/accounts/{management.pk}/cloudformation.yaml").content.decode(),
        viewer.get(f"/accounts/{member.pk}/cloudformation.yaml?organization=1").content.decode(),
    ):
        document = yaml.safe_load(body.replace("!GetAtt", ""))
        policies = document["Resources"]["ReadRole"]["Properties"]["Policies"]
        assert [p["PolicyName"] for p in policies] == ["iamreview-read", "iamreview-organization-read"]
        assert policies[1]["PolicyDocument"]["Statement"][0]["Action"] == list(ORGANIZATION_READ_ACTIONS)
    terraform = viewer.get(f"/accounts/{management.pk}/iamreview.tf").content.decode()
    assert '"aws_iam_role_policy" "iamreview_read_organization"' in terraform
    assert "organizations:ListPoliciesForTarget" in terraform
    page = viewer.get(f"/accounts/{management.pk}/").content.decode()
    assert "Set up the management account" in page and "organizations:DescribePolicy" in page
    # IAM Identity Center: read by the read role, its permission sets tightened by the apply role.
    assert "sso:ListPermissionSets" in page and "sso:ProvisionPermissionSet" in page
    assert policies[1]["PolicyDocument"]["Statement"][1]["Action"] == list(IDENTITY_CENTER_READ_ACTIONS)
    body = viewer.get(f"/accounts/{management.pk}/cloudformation.yaml?apply=1").content.decode()
    apply_role = yaml.safe_load(body.replace("!GetAtt", ""))["Resources"]["ApplyRole"]["Properties"]
    assert [p["PolicyName"] for p in apply_role["Policies"]] == [
        "iamreview-apply",
        "iamreview-identity-center-apply",
    ]
    assert apply_role["Policies"][1]["PolicyDocument"]["Statement"][0]["Action"] == list(
        IDENTITY_CENTER_APPLY_ACTIONS
    )
    terraform = viewer.get(f"/accounts/{management.pk}/iamreview.tf?apply=1").content.decode()
    assert '"aws_iam_role_policy" "iamreview_apply_identity_center"' in terraform
    member_apply = viewer.get(f"/accounts/{member.pk}/cloudformation.yaml?apply=1").content.decode()
    assert "sso:" not in plain and "sso:" not in member_apply


def test_sync_now_queues_one_run_and_polls_until_done(
    client_as: Any, account: LinkedAccount, django_capture_on_commit_callbacks: Any
) -> None:
    reviewer = client_as("reviewer")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = reviewer.post(f"/accounts/{account.pk}/sync/", **HX)
    assert response.status_code == 200 and len(callbacks) == 1
    run = SyncRun.objects.get(account=account)
    assert 'hx-trigger="every 2s"' in response.content.decode()
    again = reviewer.post(f"/accounts/{account.pk}/sync/")
    assert again.status_code == 302 and SyncRun.objects.filter(account=account).count() == 1
    poll = reviewer.get(f"/accounts/runs/{run.pk}/", **HX)
    assert poll.status_code == 200
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.FAILED, error="AWS refused it")
    done = reviewer.get(f"/accounts/runs/{run.pk}/", **HX)
    assert done.status_code == 286 and "AWS refused it" in done.content.decode()
    full = reviewer.get(f"/accounts/runs/{run.pk}/")
    assert full.status_code == 200 and "<html" in full.content.decode()


def test_viewer_cannot_sync(client_as: Any, account: LinkedAccount) -> None:
    assert client_as("viewer").post(f"/accounts/{account.pk}/sync/").status_code == 403
    assert not SyncRun.objects.exists()


def _run_checks() -> None:
    """What the worker does with each queued check."""
    for pk in AccountCheck.objects.filter(status=SyncStatus.QUEUED).values_list("pk", flat=True):
        assert account_check_run(pk)


def test_connection_test_runs_in_the_worker_and_reports_in_words(
    client_as: Any, account: LinkedAccount, django_capture_on_commit_callbacks: Any
) -> None:
    reviewer = client_as("reviewer")
    with fakeaws.mock():
        seed_account(account.account_id, {})  # the read role exists, with the template's policy
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            queued = reviewer.post(f"/accounts/{account.pk}/test/", **HX)
        assert len(callbacks) == 1, "the test is queued for a worker, not run in the view"
        body = queued.content.decode()
        assert "waiting for a worker" in body and 'hx-trigger="every 1s"' in body
        check = AccountCheck.objects.get(account=account, kind=CheckKind.CONNECTION)
        again = reviewer.post(f"/accounts/{account.pk}/test/", **HX)
        assert AccountCheck.objects.count() == 1 and f"/accounts/checks/{check.pk}/" in again.content.decode()
        _run_checks()
        assert not account_check_run(check.pk), "a task delivered twice runs once"
        ok = reviewer.get(f"/accounts/checks/{check.pk}/", **HX)
        assert ok.status_code == 286, "polling stops once the worker has answered"
        assert "Connected as" in ok.content.decode() and "IAM is readable" in ok.content.decode()
        fakeaws.faults().deny_assume.add(account.role_arn)
        reviewer.post(f"/accounts/{account.pk}/test/", **HX)
        _run_checks()
    denied = AccountCheck.objects.filter(kind=CheckKind.CONNECTION).first()
    assert denied is not None and denied.status == SyncStatus.FAILED
    page = reviewer.get(f"/accounts/checks/{denied.pk}/").content.decode()
    assert "AccessDenied" in page and "ExternalId" in page
    assert AuditEvent.objects.filter(action="account.test_connection").count() == 2
    assert client_as("viewer").post(f"/accounts/{account.pk}/test/").status_code == 403


def test_connection_test_of_a_role_that_does_not_exist_fails(client_as: Any, account: LinkedAccount) -> None:
    with fakeaws.mock():  # nothing seeded: the account has no read role
        client_as("reviewer").post(f"/accounts/{account.pk}/test/")
        _run_checks()
    check = AccountCheck.objects.get()
    assert check.status == SyncStatus.FAILED and check.message
    assert "Connected" not in check.message


def test_a_check_whose_worker_died_is_failed_with_what_to_do(account: LinkedAccount, admin_user: Any) -> None:
    stale = timezone.now() - timedelta(hours=4)  # past both the heartbeat and the queued limits
    running = AccountCheck.objects.create(account=account, kind=CheckKind.CONNECTION, status="running")
    AccountCheck.objects.filter(pk=running.pk).update(heartbeat_at=stale)
    queued = AccountCheck.objects.create(account=account, kind=CheckKind.DISCOVERY)
    AccountCheck.objects.filter(pk=queued.pk).update(created_at=stale)
    other = LinkedAccount.objects.create(account_id="222222222222", name="staging")
    fresh = AccountCheck.objects.create(account=other, kind=CheckKind.CONNECTION)
    assert account_checks_reap_stale() == 2
    running.refresh_from_db()
    queued.refresh_from_db()
    fresh.refresh_from_db()
    assert running.status == queued.status == SyncStatus.FAILED and fresh.status == SyncStatus.QUEUED
    assert "worker stopped" in running.message and "ask again" in queued.message
    # Asking again works: the failed rows no longer hold the one-active-check slot.
    check, created = account_check_request(account=account, kind=CheckKind.DISCOVERY, actor=admin_user)
    assert created and check.status == SyncStatus.QUEUED


def test_organization_discovery_lists_and_links_members(client_as: Any) -> None:
    import boto3

    admin = client_as("admin")
    with fakeaws.mock():
        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        org.create_account(AccountName="staging", Email="staging@example.com")
        management = LinkedAccount.objects.create(account_id="123456789012", name="management")
        queued = admin.post("/accounts/discover/", {"management": management.pk})
        assert queued.status_code == 302
        waiting = admin.get(queued["Location"]).content.decode()
        assert "waiting for a worker" in waiting
        _run_checks()
        page = admin.get(queued["Location"]).content.decode()
        member = next(a for a in org.list_accounts()["Accounts"] if a["Name"] == "staging")
    assert "staging" in page and member["Id"] in page
    assert "1 member(s) besides this one, 1 not linked yet" in page
    response = admin.post(
        "/accounts/discover/link/", {"account_id": [member["Id"]], f"name_{member['Id']}": "staging"}
    )
    assert response.status_code == 302
    linked = LinkedAccount.objects.get(account_id=member["Id"])
    assert linked.name == "staging" and linked.role_arn.endswith(":role/iamreview-read")
    assert AuditEvent.objects.filter(action="account.discover").count() == 1


def test_discovery_from_an_account_that_is_not_the_management_account_says_why(client_as: Any) -> None:
    admin = client_as("admin")
    with fakeaws.mock():  # no organization exists
        management = LinkedAccount.objects.create(account_id="123456789012", name="not-management")
        queued = admin.post("/accounts/discover/", {"management": management.pk})
        _run_checks()
        page = admin.get(queued["Location"]).content.decode()
    assert "not in an AWS Organization" in page and "management account" in page
    assert "Link selected" not in page


def test_discovery_from_a_member_account_names_the_management_account(client_as: Any) -> None:
    import boto3

    admin = client_as("admin")
    with fakeaws.mock():
        org = boto3.client("organizations", region_name="us-east-1")
        management_id = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
        # Linked without a role: the product's own credentials answer, as a member of that organization.
        member = LinkedAccount.objects.create(account_id="999999999999", name="member")
        assert management_id != member.account_id
        queued = admin.post("/accounts/discover/", {"management": member.pk})
        _run_checks()
        page = admin.get(queued["Location"]).content.decode()
    assert f"Link account {management_id} and discover from it" in page


def test_account_list_shows_last_sync(client_as: Any, account: LinkedAccount) -> None:
    SyncRun.objects.create(account=account, status=SyncStatus.SUCCEEDED)
    body = client_as("viewer").get("/accounts/").content.decode()
    assert "prod" in body and "Succeeded" in body
