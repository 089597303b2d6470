"""Secrets never reach the logs or the database, even with every logger at DEBUG.

The flows that handle secrets run for real: logins (right and wrong passwords), a sync that assumes a
role and receives temporary credentials from STS, a sync that fails, and a digest sent over SMTP with a
password. Everything the console handler printed is then searched for each secret, and so is every row
of every table.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core import serializers
from django.test import Client, override_settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sts.models import sts_backends

import fakeaws
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from fakeaws.scenario import READ_ROLE, seed_account
from findings.ingest import sync_run_execute
from iamreview.logs import REDACTED, RedactSecretsFilter, redact
from tests.conftest import PASSWORD
from tests.scenarios import ACCOUNT, small_company

pytestmark = pytest.mark.django_db(transaction=True)

AWS_SECRET = "base-secret-key-for-the-product-9f8e7d"
WRONG_PASSWORD = "wrong-password-Kd83-not-mine"
SMTP_PASSWORD = "smtp-relay-password-Q7w3"
SECRET_KEY = "production-secret-key-" + "x" * 40


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The console handler the product configures, writing to a buffer, with every logger at DEBUG."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPRODUCTBASEKEY01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    root = logging.getLogger()
    handler = next(h for h in root.handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters))
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)  # type: ignore[attr-defined]
    loggers = [root, logging.getLogger("botocore"), logging.getLogger("urllib3")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)  # the wire logs too: the filter must catch what they print
    try:
        yield buffer
    finally:
        handler.setStream(old_stream)  # type: ignore[attr-defined]
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _issued_credentials() -> list[str]:
    """Every secret key and session token fakeaws's STS handed out in this test."""
    found = []
    for account_id in {DEFAULT_ACCOUNT_ID, ACCOUNT}:
        for role in sts_backends[account_id]["global"].assumed_roles:
            found += [role.secret_access_key, role.session_token]
    return found


def _database_text() -> str:
    out = io.StringIO()
    for model in apps.get_models():
        serializers.serialize("json", model._default_manager.all(), stream=out)
    return out.getvalue()


def test_no_secret_reaches_the_logs_or_the_database(console: io.StringIO, users: dict[str, Any]) -> None:
    with (
        fakeaws.mock(),
        override_settings(
            SECRET_KEY=SECRET_KEY,
            AWS_ENDPOINT_URL="",
            IAMREVIEW_POLL_MS=20,
            EMAIL_HOST_PASSWORD=SMTP_PASSWORD,
        ),
    ):
        # Logins: a wrong password, then the right one.
        client = Client()
        client.post("/login/", {"username": "viewer", "password": WRONG_PASSWORD})
        assert client.post("/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302

        # A sync that assumes the read role and gets temporary credentials, and one that is refused.
        seed_account(ACCOUNT, small_company())
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/{READ_ROLE}"
        )
        run = sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
        assert run is not None and run.status == SyncStatus.SUCCEEDED, run and run.error
        fakeaws.faults().deny_assume.add(account.role_arn)
        failed = sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
        assert failed is not None and failed.status == SyncStatus.FAILED
        issued = _issued_credentials()
        # An exception carrying credentials, logged the way a careless handler would.
        try:
            raise RuntimeError(f"connect failed: postgresql://app:{SMTP_PASSWORD}@db/iamreview")
        except RuntimeError:
            logging.getLogger("accounts").exception("while testing: %s", {"SessionToken": issued[-1]})

    logged = console.getvalue()
    assert "botocore" in logged and "AssumeRole" in logged, "the wire logs ran, so the test means something"
    assert REDACTED in logged
    secrets = {
        "AWS secret key": AWS_SECRET,
        "wrong password": WRONG_PASSWORD,
        "user password": PASSWORD,
        "SMTP password": SMTP_PASSWORD,
        "SECRET_KEY": SECRET_KEY,
        **{f"issued credential {n}": value for n, value in enumerate(issued)},
    }
    # The first sync assumed the read role (a secret key and a session token); the second was refused.
    # (Seeding names the account with a header and assumes no role.)
    assert len(issued) >= 2, "the sync assumed a role"
    stored = _database_text()
    for what, value in secrets.items():
        assert value not in logged, f"the {what} was logged"
        assert value not in stored, f"the {what} was stored in the database"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "<AssumeRoleResult><SecretAccessKey>wJalrXUtnFEMI/K7MDENG</SecretAccessKey>",
            "wJalrXUtnFEMI/K7MDENG",
        ),
        ("{'SessionToken': 'FQoGZXIvYXdzEJr//////////wEaDM'}", "FQoGZXIvYXdzEJr"),
        ("headers={'X-Amz-Security-Token': b'IQoJb3JpZ2luX2VjEH'}", "IQoJb3JpZ2luX2VjEH"),
        ("Signature=0f3c5e4b1a2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0e1f2a", "0f3c5e4b1a2d3c4e"),
        ("DATABASE_URL=postgresql://iamreview:s3cr3t-pw@db:5432/iamreview", "s3cr3t-pw"),
        ("redis://:r3dis-pass@cache:6379/0", "r3dis-pass"),
        ("password=hunter2hunter2&next=/", "hunter2hunter2"),
        ('{"id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}', "eyJzdWIiOiIxIn0"),
        ("token iamr_0a1b2c3d4e5f_Zq8-x_Yv3W9kLmN2pQrS7tUvW1xYz0AbCdEfGhIjKlM used", "Zq8-x_Yv3W9kLmN2pQrS7"),
        ("{'HTTP_AUTHORIZATION': 'Bearer s0me-metrics-t0ken'}", "s0me-metrics-t0ken"),
    ],
)
def test_secret_shapes_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text, secrets=[])
    assert REDACTED in redact(text, secrets=[])


def test_ordinary_text_is_left_alone() -> None:
    for text in [
        "Sync of prod (111122223333) finished: 12 principals, 3 tokens of work",
        "GET /principals/?q=ci",
    ]:
        assert redact(text, secrets=[]) == text
