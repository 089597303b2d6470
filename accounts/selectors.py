"""Reads about accounts and who may see them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import LinkedAccount, Profile


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
