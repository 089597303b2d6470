"""Django admin: no model is changed there without the product's validation and an audit event.

Seen: a role ARN in another account was saved through admin, unaudited. Linked accounts are now read-only
in admin (the product's form validates and audits edits); users, groups, profiles and schedules are
audited with what changed; role groups cannot be renamed or deleted.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.forms import MultiWidget
from django.test import Client, RequestFactory
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import LinkedAccount, Profile
from core.admin import AuditedAdmin
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def account() -> LinkedAccount:
    return LinkedAccount.objects.create(
        account_id="210987654321", name="prod", role_arn="arn:aws:iam::210987654321:role/iamreview-read"
    )


def form_data(client: Client, url: str) -> dict[str, Any]:
    """What the admin change form would post back unchanged."""
    response = client.get(url)
    assert response.status_code == 200, url
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            for n, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{n}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, (list, tuple)):
            data[name] = [str(getattr(v, "pk", v)) for v in value]
        elif value is not None:
            data[name] = str(value)
    return data


def test_an_account_cannot_be_changed_or_added_in_admin(client_as: Any, account: LinkedAccount) -> None:
    admin_client = client_as("admin")
    url = f"/admin/accounts/linkedaccount/{account.pk}/change/"
    assert admin_client.get(url).status_code == 200, "still visible"
    data = form_data(admin_client, url)
    data["role_arn"] = "arn:aws:iam::999999999999:role/evil"  # another account's role
    response = admin_client.post(url, data)
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.role_arn == "arn:aws:iam::210987654321:role/iamreview-read"
    assert (
        admin_client.post("/admin/accounts/linkedaccount/add/", {"account_id": "111122223333"}).status_code
        == 403
    )
    assert not LinkedAccount.objects.filter(account_id="111122223333").exists()


def test_deleting_an_account_in_admin_is_audited(client_as: Any, account: LinkedAccount) -> None:
    admin_client = client_as("admin")
    response = admin_client.post(f"/admin/accounts/linkedaccount/{account.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not LinkedAccount.objects.exists()
    event = AuditEvent.objects.get(action="admin.delete", object_type="LinkedAccount")
    assert event.actor_name == "admin" and event.account_id == "210987654321"
    assert event.before["role_arn"] == account.role_arn


def test_user_management_in_admin_is_audited(client_as: Any, users: dict[str, Any]) -> None:
    admin_client = client_as("admin")
    response = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "carol",
            "password1": "a long enough passphrase 1",
            "password2": "a long enough passphrase 1",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    carol = User.objects.get(username="carol")
    added = AuditEvent.objects.get(action="admin.add", object_type="User")
    assert added.object_id == str(carol.pk) and added.after["username"] == "carol"

    url = f"/admin/auth/user/{carol.pk}/change/"
    data = form_data(admin_client, url)
    data["groups"] = [str(Group.objects.get(name="approver").pk)]
    assert admin_client.post(url, data).status_code == 302
    changed = AuditEvent.objects.get(action="admin.change", object_type="User")
    assert changed.before == {"groups": []} and changed.after == {"groups": ["approver"]}
    assert "groups" in changed.summary

    response = admin_client.post(
        f"/admin/auth/user/{carol.pk}/password/",
        {
            "password1": "another long passphrase 2",
            "password2": "another long passphrase 2",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    password = AuditEvent.objects.filter(action="admin.change", object_type="User").latest("pk")
    assert "password" in password.summary.lower()
    carol.refresh_from_db()
    for event in AuditEvent.objects.all():
        assert carol.password not in str([event.summary, event.before, event.after]), "no hash in the log"

    assert admin_client.post(f"/admin/auth/user/{carol.pk}/delete/", {"post": "yes"}).status_code == 302
    deleted = AuditEvent.objects.get(action="admin.delete", object_type="User")
    assert deleted.before["username"] == "carol"


def test_account_limits_of_a_profile_are_audited(
    client_as: Any, users: dict[str, Any], account: LinkedAccount
) -> None:
    admin_client = client_as("admin")
    profile, _ = Profile.objects.get_or_create(user=users["viewer"])
    url = f"/admin/accounts/profile/{profile.pk}/change/"
    data = form_data(admin_client, url)
    data["accounts"] = [str(account.pk)]
    data["digest_min_severity"] = "bogus"  # not a field admin offers: the user's own settings page sets it
    assert admin_client.post(url, data).status_code == 302
    profile.refresh_from_db()
    assert list(profile.accounts.all()) == [account] and profile.digest_min_severity == "high"
    event = AuditEvent.objects.get(action="admin.change", object_type="Profile")
    assert event.before == {"accounts": []} and event.after == {"accounts": [str(account)]}


def test_role_groups_cannot_be_renamed_or_deleted(client_as: Any, users: dict[str, Any]) -> None:
    admin_client = client_as("admin")
    group = Group.objects.get(name="admin")
    url = f"/admin/auth/group/{group.pk}/change/"
    data = form_data(admin_client, url)
    data["name"] = "not-admin-any-more"
    admin_client.post(url, data)
    group.refresh_from_db()
    assert group.name == "admin"
    assert admin_client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Group.objects.filter(name="admin").exists()


def test_schedules_paused_in_admin_are_audited(client_as: Any, users: dict[str, Any]) -> None:
    every = IntervalSchedule.objects.create(every=10, period="minutes")
    task = PeriodicTask.objects.create(name="sync-due", task="accounts.tasks.sync_due", interval=every)
    response = client_as("admin").post(
        "/admin/django_celery_beat/periodictask/", {"action": "disable_tasks", "_selected_action": [task.pk]}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.enabled
    event = AuditEvent.objects.get(action="admin.action")
    assert "disable_tasks" in event.summary and event.after == {"ids": [task.pk]}


def test_every_admin_model_is_audited_or_read_only(users: dict[str, Any]) -> None:
    """A model registered later joins this check by being registered."""
    request = RequestFactory().get("/admin/")
    request.user = users["admin"]
    for model, model_admin in admin.site._registry.items():
        writable = (
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)
            or model_admin.has_delete_permission(request)
        )
        assert not writable or isinstance(model_admin, AuditedAdmin), f"{model.__name__} is changed unaudited"
