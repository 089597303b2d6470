"""What moves an account's input digest (findings/ingest_digest.py) and what does not."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.aws.collect import Collected
from accounts.models import LinkedAccount
from findings.ingest_digest import input_digest
from findings.models import PolicyDocument, Principal

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"
ACCOUNT = "111122223333"
pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> LinkedAccount:
    return LinkedAccount.objects.create(account_id=ACCOUNT, name="prod")


def gaad() -> dict[str, Any]:
    data = json.loads(FIXTURE.read_text())
    data["RoleDetailList"][0]["RoleLastUsed"] = {
        "LastUsedDate": "2026-12-01T08:00:00Z",
        "Region": "us-east-1",
    }
    return data


def digest(account: LinkedAccount, data: dict[str, Any], **usage: Any) -> str:
    return input_digest(account=account, collected=Collected(gaad=data, **usage)).total


def test_the_same_content_in_another_order_is_the_same_input(account: LinkedAccount) -> None:
    data = gaad()
    reordered = {k: data[k] for k in reversed(list(data))}
    reordered["RoleDetailList"] = [{k: r[k] for k in reversed(list(r))} for r in data["RoleDetailList"]]
    assert digest(account, data) == digest(account, reordered)


def test_a_document_a_role_last_used_on_another_day_and_usage_move_it(account: LinkedAccount) -> None:
    base = digest(account, gaad())
    changed = gaad()
    changed["UserDetailList"][1]["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] = "s3:*"
    assert digest(account, changed) != base

    same_day = gaad()
    same_day["RoleDetailList"][0]["RoleLastUsed"] = {
        "LastUsedDate": "2026-12-01T23:00:00Z",
        "Region": "eu-west-1",
    }
    assert digest(account, same_day) == base  # our own read role is used by every sync
    next_day = gaad()
    next_day["RoleDetailList"][0]["RoleLastUsed"]["LastUsedDate"] = "2026-12-02T01:00:00Z"
    assert digest(account, next_day) != base

    advisor = {
        f"arn:aws:iam::{ACCOUNT}:role/ci": [{"ServiceNamespace": "s3", "LastAuthenticated": "2026-11-30"}]
    }
    assert digest(account, gaad(), last_accessed=advisor) != base


def test_access_analyzer_rescans_do_not_move_it_but_a_new_status_does(account: LinkedAccount) -> None:
    finding = {"id": "f1", "status": "ACTIVE", "resource": "arn:aws:s3:::b", "analyzedAt": "2026-12-01"}
    base = digest(account, gaad(), analyzer_findings=[finding])
    assert digest(account, gaad(), analyzer_findings=[{**finding, "analyzedAt": "2026-12-02"}]) == base
    assert digest(account, gaad(), analyzer_findings=[{**finding, "status": "RESOLVED"}]) != base


def test_settings_the_account_s_options_and_the_day_move_it(
    account: LinkedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = digest(account, gaad())
    with override_settings(IAMREVIEW_KEY_MAX_AGE_DAYS=30):
        assert digest(account, gaad()) != base
    account.unused_days = 30
    assert digest(account, gaad()) != base
    account.unused_days = LinkedAccount._meta.get_field("unused_days").get_default()
    assert digest(account, gaad()) == base
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: date(2031, 1, 1))
    assert digest(account, gaad()) != base


def test_another_account_s_administrator_moves_it_only_when_it_trusts_this_one(
    account: LinkedAccount,
) -> None:
    before = digest(account, gaad())
    other = LinkedAccount.objects.create(account_id="444455556666", name="other")
    base = digest(account, gaad())
    assert base != before  # a linked account is an input of its own (trusting it needs no ExternalId)

    def admin_role(name: str, trusted: str) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}],
        }
        document = PolicyDocument.objects.create(
            sha256=name.ljust(64, "0"), document=copy.deepcopy(trust), size=1
        )
        Principal.objects.create(
            account=other,
            arn=f"arn:aws:iam::444455556666:role/{name}",
            kind="role",
            name=name,
            is_admin=True,
            trust_document=document,
        )

    admin_role("inside", "arn:aws:iam::444455556666:root")
    assert digest(account, gaad()) == base
    admin_role("cross", f"arn:aws:iam::{ACCOUNT}:root")
    assert digest(account, gaad()) != base
