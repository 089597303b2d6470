"""Checks a person asks for from a page: test an account's read role, list an organization's accounts.

Each is a job row (`AccountCheck`) run by a worker, like a sync: the page that asked polls the row and
shows what was found, or why nothing was, in words. A view never calls AWS, so a slow or throttled AWS
never holds a web worker. A check whose worker died is failed by `account_checks_reap_stale`; asking
again creates a new row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.aws.client import AwsAccessError, AwsSession
from accounts.aws.collect import describe_organization, list_organization_accounts, test_connection
from accounts.models import AccountCheck, CheckKind, LinkedAccount, SyncStatus
from accounts.services import aws_target
from core import jobs
from core.audit import audit_record
from core.jobs import INTERRUPTED, job_claim, stale_rows

CHECK_TASK = "accounts.tasks.account_check_run"
AUDIT_ACTION = {CheckKind.CONNECTION: "account.test_connection", CheckKind.DISCOVERY: "account.discover"}


def account_check_request(
    *, account: LinkedAccount, kind: CheckKind, actor: AbstractBaseUser
) -> tuple[AccountCheck, bool]:
    """Queue a check unless the same one is already queued or running: (check, created)."""
    try:
        with transaction.atomic():
            check = AccountCheck.objects.create(account=account, kind=kind, requested_by=actor)
    except IntegrityError:
        active = [SyncStatus.QUEUED, SyncStatus.RUNNING]
        return AccountCheck.objects.get(account=account, kind=kind, status__in=active), False
    jobs.enqueue(CHECK_TASK, check.pk)
    return check, True


def _discover(account: LinkedAccount) -> tuple[bool, str, list[dict[str, Any]]]:
    org = AwsSession(aws_target(account)).client("organizations")
    organization = describe_organization(org)
    management_id = organization.get("MasterAccountId", "")
    if management_id and management_id != account.account_id:
        raise AwsAccessError(
            f"{account} is a member of organization {organization.get('Id', '')}, not its management "
            f"account ({management_id}): only the management account (or a delegated administrator) "
            f"can list the organization's accounts. Link account {management_id} and discover from it."
        )
    found = list_organization_accounts(org)
    members = [
        {"Id": a.get("Id", ""), "Name": a.get("Name", ""), "Status": a.get("Status", "")}
        for a in found
        if a.get("Id") != account.account_id
    ]
    linked = set(LinkedAccount.objects.values_list("account_id", flat=True))
    new = [m for m in members if m["Id"] not in linked]
    if not found:
        return True, "The organization lists no accounts.", []
    message = (
        f"The organization lists {len(found)} account(s): {len(members)} member(s) besides this one, "
        f"{len(new)} not linked yet."
    )
    if not new:
        message += " Every member is already linked."
    return True, message, members


def _assume_hint(account: LinkedAccount) -> str:
    """What to do when AWS would not let the product assume the account's role. AWS gives the same
    AccessDenied whether the role is missing or does not trust the product, so the hint names both."""
    return (
        f"What to do: in account {account.account_id}, deploy the read role {account.role_arn} from the "
        "CloudFormation or Terraform template on this account's page, or fix the role's trust policy so that "
        f"it allows {settings.IAMREVIEW_AWS_PRINCIPAL} to call sts:AssumeRole with this account's "
        "ExternalId (the template shows it); then test the connection again."
    )


def account_check_run(check_pk: int) -> bool:
    """Worker: run one check and store its answer. False when another worker had it (delivered twice)."""
    if not job_claim(
        AccountCheck.objects, pk=check_pk, status=SyncStatus.QUEUED, to=SyncStatus.RUNNING, step="Calling AWS"
    ):
        return False
    check = AccountCheck.objects.select_related("account", "requested_by").get(pk=check_pk)
    found: list[dict[str, Any]] = []
    if check.kind == CheckKind.DISCOVERY:
        try:
            ok, message, found = _discover(check.account)
        except AwsAccessError as exc:
            ok, message = False, str(exc)
    else:
        ok, message = test_connection(lambda: AwsSession(aws_target(check.account)))
        if not ok and "sts:AssumeRole" in message:
            message += " " + _assume_hint(check.account)
    status = SyncStatus.SUCCEEDED if ok else SyncStatus.FAILED
    AccountCheck.objects.filter(pk=check_pk, status=SyncStatus.RUNNING).update(
        status=status,
        step="Done" if ok else "Failed",
        progress=100,
        message=message,
        found=found,
        error="" if ok else message,
        finished_at=timezone.now(),
    )
    audit_record(
        actor=check.requested_by,
        action=AUDIT_ACTION[CheckKind(check.kind)],
        obj=check.account,
        summary=f"{check.get_kind_display()} {'succeeded' if ok else 'failed'}: {message}"[:500],
        after={"found": len(found)} if check.kind == CheckKind.DISCOVERY else None,
    )
    return True


def account_checks_reap_stale(*, now: datetime | None = None) -> int:
    """Fail checks whose worker stopped beating or that no worker started, saying what to do."""
    now = now or timezone.now()
    queued_max = timedelta(seconds=settings.IAMREVIEW_QUEUED_MAX_SECONDS)
    never = AccountCheck.objects.filter(status=SyncStatus.QUEUED, created_at__lt=now - queued_max)
    candidates = [
        (SyncStatus.RUNNING, list(stale_rows(AccountCheck.objects, status=SyncStatus.RUNNING, now=now))),
        (SyncStatus.QUEUED, list(never)),
    ]
    count = 0
    for status, checks in candidates:
        for check in checks:
            why = INTERRUPTED if status == SyncStatus.RUNNING else "No worker started this check."
            message = f"{why} Check that a worker runs, then ask again."
            count += AccountCheck.objects.filter(pk=check.pk, status=status).update(
                status=SyncStatus.FAILED, step="Failed", error=message, message=message, finished_at=now
            )
    return count
