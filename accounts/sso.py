"""Single sign-on users: IdP groups decide the role and the account limits, again at every sign-in.

OpenID Connect (accounts/oidc.py) and SAML (accounts/saml.py) hand what the identity provider vouched
for (a username, an e-mail address, groups) to `sso_sign_in`, which creates the user on first sign-in,
sets its role and account limits from IAMREVIEW_SSO_GROUP_MAP and audits the sign-in and any change.
A user none of whose groups is mapped is refused with a message that says so.

Local passwords go through `LocalPasswordBackend`: with IAMREVIEW_LOCAL_LOGIN off only the usernames in
IAMREVIEW_BREAK_GLASS_USERS may use one (and single sign-on never signs in as them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import LinkedAccount, Profile
from accounts.roles import ROLE_GROUPS, Role, user_role
from core.audit import audit_record

# Set in the session of a single sign-on: the IdP did the second factor, ours is for local passwords.
SSO_SESSION_KEY = "iamreview_sso"


class SsoRefused(Exception):
    """The identity provider vouched for someone we must not let in; the message is for that person."""


def local_login_allowed(username: str) -> bool:
    return settings.IAMREVIEW_LOCAL_LOGIN or username.strip().lower() in settings.IAMREVIEW_BREAK_GLASS_USERS


class LocalPasswordBackend(ModelBackend):
    """Django's username and password check, refused when local passwords are off (except break-glass)."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kw: Any
    ) -> Any:
        if username is None or password is None or not local_login_allowed(username):
            return None
        return super().authenticate(request, username=username, password=password, **kw)


@dataclass(frozen=True)
class Grant:
    role: Role
    account_ids: tuple[str, ...] | None  # None: every account
    groups: tuple[str, ...]  # the IdP groups that were mapped


def grant_for(groups: list[str]) -> Grant | None:
    """The highest mapped role among `groups`; accounts are the union of the mapped groups' limits, and
    a mapped group without limits means every account. None when no group is mapped."""
    mapping = settings.IAMREVIEW_SSO_GROUP_MAP
    matched = [g for g in dict.fromkeys(groups) if g in mapping]
    if not matched:
        return None
    role = max(Role[str(mapping[g]["role"]).upper()] for g in matched)
    limits = [mapping[g]["accounts"] for g in matched]
    if any(limit is None for limit in limits):
        account_ids: tuple[str, ...] | None = None
    else:
        account_ids = tuple(sorted({a for limit in limits for a in limit}))
    return Grant(role=role, account_ids=account_ids, groups=tuple(matched))


def _refuse(username: str, protocol: str, message: str, reason: str) -> SsoRefused:
    audit_record(
        actor=None,
        action="login.sso_refused",
        obj=username or "(no username)",
        summary=f"{protocol} sign-in for {username!r} refused: {reason}",
    )
    return SsoRefused(message)


def _state(user: Any) -> dict[str, Any]:
    user._iamreview_role = None  # user_role caches per object
    profile = Profile.objects.filter(user=user).first()
    accounts = sorted(profile.accounts.values_list("account_id", flat=True)) if profile else []
    return {"role": user_role(user).group_name, "accounts": accounts or "all"}


def _apply(user: Any, grant: Grant, linked: list[LinkedAccount]) -> None:
    role_names = [r.group_name for r in ROLE_GROUPS]
    user.groups.remove(*Group.objects.filter(name__in=role_names).exclude(name=grant.role.group_name))
    user.groups.add(Group.objects.get_or_create(name=grant.role.group_name)[0])
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.accounts.set(linked)


def _strip_roles(user: Any, protocol: str, groups: list[str]) -> None:
    """An existing user whose groups map to nothing any more keeps no role."""
    before = _state(user)
    user.groups.remove(*Group.objects.filter(name__in=[r.group_name for r in ROLE_GROUPS]))
    if user.is_superuser or user.is_staff:
        user.is_superuser = user.is_staff = False
        user.save(update_fields=["is_superuser", "is_staff"])
    after = _state(user)
    if before != after:
        audit_record(
            actor=None,
            action="user.role_changed",
            obj=user,
            summary=f"{user.get_username()}'s role {before['role']} -> none ({protocol}: no mapped group in {groups})",
            before=before,
            after=after,
        )


def sso_sign_in(*, protocol: str, username: str, email: str, groups: list[str]) -> Any:
    """The user the identity provider vouched for, created or brought up to date; SsoRefused otherwise."""
    username = (username or "").strip().lower()
    groups = [str(g) for g in groups]
    if not username or len(username) > 150:
        raise _refuse(
            username[:150],
            protocol,
            "The identity provider did not send a usable username. Ask an administrator to check the "
            "single sign-on settings.",
            "no usable username",
        )
    if username in settings.IAMREVIEW_BREAK_GLASS_USERS:
        raise _refuse(
            username,
            protocol,
            "This is a break-glass account: it signs in with its password only.",
            "break-glass account",
        )
    with transaction.atomic():
        outcome = _sign_in(protocol, username, email, groups)
    if isinstance(outcome, tuple):  # refused: audited after the transaction, which kept what it changed
        raise _refuse(username, protocol, *outcome)
    return outcome


def _sign_in(protocol: str, username: str, email: str, groups: list[str]) -> Any:
    """The user, or (message, reason) when refused. Inside a transaction holding the user's row."""
    user_model = get_user_model()
    grant = grant_for(groups)
    user = user_model.objects.select_for_update().filter(username=username).first()
    if grant is None:
        if user is not None:
            _strip_roles(user, protocol, groups)
        shown = ", ".join(groups[:10]) or "none"
        return (
            f"You signed in as {username}, but none of your groups ({shown}) gives access to iamreview. "
            "Ask an administrator to add you to a group that does.",
            f"no mapped group in {groups[:20]}",
        )
    linked: list[LinkedAccount] = []
    if grant.account_ids is not None:
        linked = list(LinkedAccount.objects.filter(account_id__in=grant.account_ids))
        if not linked:  # an empty limit would mean every account
            return (
                "Your groups give access only to AWS accounts that are not linked here yet. Ask an "
                "administrator.",
                f"accounts {list(grant.account_ids)} not linked",
            )
    if user is not None and not user.is_active:
        return ("This user is disabled here. Ask an administrator.", "user disabled")
    created = user is None
    if user is None:
        user = user_model(username=username, email=email or "")
        user.set_unusable_password()
        user.save()
        audit_record(
            actor=None,
            action="user.sso_created",
            obj=user,
            summary=f"{username} created at first {protocol} sign-in",
        )
    before = None if created else _state(user)
    _apply(user, grant, linked)
    user.email = email or user.email
    user.is_superuser = False  # the role comes from the IdP's groups alone
    user.is_staff = grant.role == Role.ADMIN
    user.save(update_fields=["email", "is_superuser", "is_staff"])
    after = _state(user)
    if before != after:
        audit_record(
            actor=None,
            action="user.role_changed",
            obj=user,
            summary=f"{username}'s role {before['role'] if before else 'none'} -> {after['role']}, "
            f"accounts {after['accounts']} (from {protocol} groups {list(grant.groups)})",
            before=before,
            after=after,
        )
    audit_record(
        actor=user,
        action="login.sso",
        obj=user,
        summary=f"{username} signed in with {protocol} as {after['role']} (groups {list(grant.groups)})",
    )
    return user
