"""The audit log's writer: the AWS account of an entry comes from the object unless the caller says."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from accounts.models import LinkedAccount, SyncRun
from core.audit import audit_record
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_account_of_an_entry_comes_from_its_object() -> None:
    account = LinkedAccount.objects.create(account_id="111111111111", name="prod")
    run = SyncRun.objects.create(account=account)
    user = User.objects.create(username="alice")
    own = audit_record(actor=user, action="account.update", obj=account, summary="x")
    child = audit_record(actor=None, action="sync.request", obj=run, summary="x")
    none = audit_record(actor=user, action="user.update", obj=user, summary="x")
    told = audit_record(actor=user, action="sync.request", obj=run, summary="x", account_id="222222222222")
    assert (own.account_id, child.account_id, none.account_id) == ("111111111111", "111111111111", "")
    assert told.account_id == "222222222222"
    assert (own.actor_name, child.actor_name) == ("alice", "system")
    assert AuditEvent.objects.filter(account_id="111111111111").count() == 2
