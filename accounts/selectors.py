"""Reads about accounts and who may see them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import AccountCheck, CheckKind, LinkedAccount, Profile, SyncRun


def profile_of(user: AbstractBaseUser | AnonymousUser) -> Profile | None:
    if not user.is_authenticated:
        return None
    profile, _ = Profile.objects.get_or_create(user=user)  # type: ignore[misc]
    return profile


def visible_accounts(user: AbstractBaseUser | AnonymousUser) -> QuerySet[LinkedAccount]:
    """All accounts, or only those on the user's profile when it names some."""
    profile = profile_of(user)
    if profile is not None and profile.accounts.exists():
        return LinkedAccount.objects.filter(pk__in=profile.accounts.values("pk"))
    return LinkedAccount.objects.all()


def linked_account_ids() -> set[str]:
    """The 12-digit ids of every linked account (the organisation as this install knows it)."""
    return set(LinkedAccount.objects.values_list("account_id", flat=True))


def visible_sync_runs(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(account__in=visible_accounts(user)).select_related(
        "account", "requested_by"
    )


def sync_run_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> SyncRun:
    """A sync run of an account the user may see; 404 otherwise."""
    return get_object_or_404(visible_sync_runs(user=user), pk=pk)


def check_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> AccountCheck:
    """A connection test or discovery of an account the user may see; 404 otherwise."""
    return get_object_or_404(
        AccountCheck.objects.select_related("account"), pk=pk, account__in=visible_accounts(user)
    )


def discovery_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> AccountCheck | None:
    return (
        AccountCheck.objects.select_related("account")
        .filter(pk=pk, kind=CheckKind.DISCOVERY, account__in=visible_accounts(user))
        .first()
    )
