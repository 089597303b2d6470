""" "Test connection" fails, saying what to do, for a role that does not exist or does not trust the
product (or wants another ExternalId); fakeaws refuses AssumeRole for each as AWS does."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

import fakeaws
from accounts.checks import account_check_request, account_check_run
from accounts.models import AccountCheck, CheckKind, LinkedAccount, SyncStatus
from fakeaws.scenario import PRODUCT_ACCOUNT, seed_account

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT = "111111111111"
EXTERNAL_ID = "iamreview-0123456789abcdef0123456789abcdef"


def trust(principal: str, external_id: str = "") -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def check(role: str) -> AccountCheck:
    account, _ = LinkedAccount.objects.update_or_create(
        account_id=ACCOUNT,
        defaults={
            "name": "prod",
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
            "external_id": EXTERNAL_ID,
        },
    )
    actor = get_user_model().objects.get_or_create(username="reviewer")[0]
    row, created = account_check_request(account=account, kind=CheckKind.CONNECTION, actor=actor)
    assert created and account_check_run(row.pk)
    row.refresh_from_db()
    return row


def test_connection_fails_with_what_to_do_unless_the_role_trusts_the_product() -> None:
    product = f"arn:aws:iam::{PRODUCT_ACCOUNT}:root"
    with fakeaws.mock():
        seed_account(
            ACCOUNT,
            {
                "product_roles": False,
                "roles": [
                    {"name": "trusts-a-vendor", "trust": trust("arn:aws:iam::444455556666:root")},
                    {"name": "other-external-id", "trust": trust(product, "iamreview-someone-else")},
                    {"name": "right", "trust": trust(product, EXTERNAL_ID)},
                ],
            },
        )
        results = {role: check(role) for role in ("missing", "trusts-a-vendor", "other-external-id", "right")}
    for role in ("missing", "trusts-a-vendor", "other-external-id"):
        row = results[role]
        assert row.status == SyncStatus.FAILED, role
        assert "AccessDenied" in row.message and "is not authorized to perform: sts:AssumeRole" in row.message
        assert f"arn:aws:iam::{ACCOUNT}:role/{role}" in row.message
        assert "What to do:" in row.message and settings.IAMREVIEW_AWS_PRINCIPAL in row.message
        assert "ExternalId" in row.message and "template" in row.message
    right = results["right"]
    # The role exists and trusts the product: AssumeRole works; the role has no policy, so the read fails.
    assert right.status == SyncStatus.FAILED and "iam:GetAccountSummary" in right.message
    assert "sts:AssumeRole" not in right.message and "What to do:" not in right.message


def test_connection_succeeds_with_the_products_roles() -> None:
    with fakeaws.mock():
        seed_account(ACCOUNT, {"external_id": EXTERNAL_ID})  # the product's roles require this ExternalId
        row = check("iamreview-read")
    assert row.status == SyncStatus.SUCCEEDED, row.message
    assert row.message.startswith(f"Connected as arn:aws:sts::{ACCOUNT}:assumed-role/iamreview-read/")
