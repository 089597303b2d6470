"""How an API request proves who it is (a bearer token) and what it may do (the same four roles as the
pages). Every API view declares `roles`: the role each HTTP method needs; other methods answer 405."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.roles import Role, user_role
from api.models import ApiToken
from api.tokens import token_authenticate


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer iamr_…`. No header: anonymous (401 from the permission check). A header
    naming a token that is unknown, revoked, expired or of an inactive user: 401, the same words for each."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        token = token_authenticate(credentials)
        if token is None:
            raise AuthenticationFailed("The bearer token is not valid (unknown, revoked or expired).")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="iamreview"'


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A token from the API tokens page."}


def method_role(view: Any, method: str) -> Role | None:
    """The role `method` needs on `view`, or None when the view does not allow it (HEAD is GET)."""
    roles: dict[str, Role] = view.roles
    return roles.get("GET" if method == "HEAD" else method)


class DeclaredMethods:
    """The `Allow` header names the methods the view declares a role for (HEAD with GET), nothing else."""

    roles: dict[str, Role]

    @property
    def allowed_methods(self) -> list[str]:
        methods = list(self.roles)
        return [*methods, "HEAD"] if "GET" in methods else methods


class RolePermission(BasePermission):
    """Below the lowest role the view needs: 403 whatever the method (nothing is learned about the view).
    Then a method the view does not allow: 405 (DRF answers it). Then the method's own role: 403."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        role = user_role(request.user)
        if role < min(view.roles.values()):
            return False
        need = method_role(view, request.method or "")
        return need is None or role >= need
