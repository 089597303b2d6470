"""Writes for linked accounts; every one lands in the audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.forms.models import model_to_dict

from accounts.aws.client import AwsTarget
from accounts.models import LinkedAccount
from core.audit import audit_record

_AUDITED_FIELDS = [
    "account_id",
    "name",
    "role_arn",
    "apply_role_arn",
    "regions",
    "enabled",
    "sync_interval_minutes",
    "unused_days",
    "periodic_days",
    "cloudtrail_trail_arn",
    "policy_generation_role_arn",
    "cloudtrail_lookup",
]


def _snapshot(account: LinkedAccount) -> dict[str, Any]:
    return model_to_dict(account, fields=_AUDITED_FIELDS)


@transaction.atomic
def account_link(*, actor: AbstractBaseUser, **fields: Any) -> LinkedAccount:
    account = LinkedAccount(**fields)
    account.full_clean()
    account.save()
    audit_record(
        actor=actor,
        action="account.link",
        obj=account,
        summary=f"Linked account {account}",
        after=_snapshot(account),
    )
    return account


@transaction.atomic
def account_update(*, actor: AbstractBaseUser, account: LinkedAccount, **fields: Any) -> LinkedAccount:
    account = LinkedAccount.objects.select_for_update().get(pk=account.pk)
    before = _snapshot(account)
    for name, value in fields.items():
        setattr(account, name, value)
    account.full_clean()
    account.save()
    after = _snapshot(account)
    if before != after:
        changed = sorted(k for k in after if before.get(k) != after[k])
        audit_record(
            actor=actor,
            action="account.update",
            obj=account,
            summary=f"Changed {', '.join(changed)} of {account}",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return account


def aws_target(account: LinkedAccount, *, apply: bool = False) -> AwsTarget:
    """Where and as whom to call AWS for the account: its read-only role, or its apply role for writes."""
    role = account.apply_role_arn if apply and account.apply_role_arn else account.role_arn
    region = (account.regions or [settings.AWS_DEFAULT_REGION])[0]
    return AwsTarget(
        account_id=account.account_id,
        role_arn=role,
        external_id=account.external_id,
        region=region,
        endpoint_url=settings.AWS_ENDPOINT_URL,
        max_attempts=settings.AWS_MAX_ATTEMPTS,
        read_timeout=settings.AWS_READ_TIMEOUT,
    )
