"""The four roles (Django groups) and the check each view makes."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed


class Role(enum.IntEnum):
    """Ordered: each role can do everything the roles below it can."""

    NONE = 0
    VIEWER = 1
    REVIEWER = 2
    APPROVER = 3
    ADMIN = 4

    @property
    def group_name(self) -> str:
        return self.name.lower()


ROLE_GROUPS = [Role.VIEWER, Role.REVIEWER, Role.APPROVER, Role.ADMIN]


def user_role(user: AbstractBaseUser | AnonymousUser) -> Role:
    """The highest role the user holds; superusers are admins, inactive and anonymous users hold none."""
    if not user.is_authenticated or not user.is_active:
        return Role.NONE
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    cached = getattr(user, "_iamreview_role", None)
    if cached is not None:
        return Role(cached)
    names = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
    role = max((r for r in ROLE_GROUPS if r.group_name in names), default=Role.NONE)
    user._iamreview_role = int(role)  # type: ignore[union-attr]
    return role


def has_role(user: AbstractBaseUser | AnonymousUser, role: Role) -> bool:
    return user_role(user) >= role


V = TypeVar("V", bound=Callable[..., HttpResponse])


READ = ("GET", "HEAD")
FORM = ("GET", "HEAD", "POST")
ACTION = ("POST",)


def role_required(role: Role, methods: tuple[str, ...] = READ) -> Callable[[V], V]:
    """Refuse (403) a logged-in user below `role`, then any method not in `methods` (405).

    Login itself is enforced by LoginRequiredMiddleware. The role is checked first so that a user
    without it learns nothing about the view. The role and the methods are recorded on the view so the
    access-control matrix can be generated from the URL conf.
    """
    allowed = tuple(m.upper() for m in methods)

    def decorator(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This needs the {role.group_name} role.")
            if request.method not in allowed:
                return HttpResponseNotAllowed(allowed)
            return view(request, *args, **kwargs)

        wrapper.required_role = role  # type: ignore[attr-defined]
        wrapper.allowed_methods = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
