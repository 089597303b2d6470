"""Data for the view tests: two imported accounts, so account scoping can be checked too."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import LinkedAccount, Profile
from findings.models import AccessKey, ChangeRequest, Principal, Suggestion

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"


@pytest.fixture
def imported(db: None) -> dict[str, LinkedAccount]:
    call_command(
        "import_gaad",
        str(FIXTURE),
        "--account",
        "210987654321",
        "--name",
        "prod",
        stdout=io.StringIO(),
    )
    call_command(
        "import_gaad",
        str(FIXTURE),
        "--account",
        "444455556666",
        "--name",
        "sandbox",
        stdout=io.StringIO(),
    )
    prod = LinkedAccount.objects.get(account_id="210987654321")
    sandbox = LinkedAccount.objects.get(account_id="444455556666")
    bob = Principal.objects.get(account=prod, name="bob")
    AccessKey.objects.create(
        principal=bob,
        key_id="AKIAOLDKEY0000000001",
        active=True,
        created_at=timezone.now() - timedelta(days=400),
        last_used_at=None,
    )
    AccessKey.objects.create(
        principal=bob,
        key_id="AKIANEWKEY0000000002",
        active=True,
        created_at=timezone.now() - timedelta(days=5),
        last_used_at=timezone.now(),
    )
    return {"prod": prod, "sandbox": sandbox}


@pytest.fixture
def scoped_client(client_as: Any, users: dict[str, Any], imported: dict[str, LinkedAccount]) -> Any:
    """A reviewer who may only see the sandbox account."""
    profile, _ = Profile.objects.get_or_create(user=users["reviewer"])
    profile.accounts.set([imported["sandbox"]])
    return client_as("reviewer")


ORIGINAL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": "*"}],
}
PROPOSED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


@pytest.fixture
def suggestion(imported: Any) -> Suggestion:
    principal = Principal.objects.get(account=imported["prod"], name="ci")
    return Suggestion.objects.create(
        principal=principal,
        basis_hash="x",
        removed_count=1,
        risk_before=80,
        risk_after=20,
        items=[
            {
                "kind": "inline",
                "name": "deploy",
                "arn": "",
                "original": ORIGINAL,
                "proposed": [PROPOSED],
                "removed_actions": ["s3:DeleteObject"],
                "kept_actions": 1,
                "size": 80,
                "limit": 10240,
                "warnings": [],
                "last_used": {"s3": "2026-01-01"},
            }
        ],
    )


@pytest.fixture
def pending_change(suggestion: Suggestion, users: dict[str, Any]) -> ChangeRequest:
    """A pending change request from the reviewer, for the suggestion above."""
    principal = suggestion.principal
    return ChangeRequest.objects.create(
        account=principal.account,
        principal=principal,
        principal_arn=principal.arn,
        principal_kind=principal.kind,
        principal_name=principal.name,
        suggestion=suggestion,
        requested_by=users["reviewer"],
        reason="least privilege",
        items=suggestion.items,
        expires_at=timezone.now() + timedelta(days=7),
    )
