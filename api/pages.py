"""Pages: your API tokens (create, shown once; revoke) and the API's reference (Swagger UI on the
OpenAPI schema, its assets served from our own static files)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.roles import FORM, Role, has_role, role_required
from api.models import ApiToken
from api.tokens import TokenError, token_create, token_revoke
from core.params import db_id


def _tokens_shown(request: HttpRequest) -> list[ApiToken]:
    """Your tokens; an admin also sees (and may revoke) everyone's."""
    qs = ApiToken.objects.select_related("user")
    if not has_role(request.user, Role.ADMIN):
        qs = qs.filter(user=request.user)
    return list(qs.order_by("revoked_at", "-created_at")[:500])


@role_required(Role.VIEWER, FORM)
def api_tokens(request: HttpRequest) -> HttpResponse:
    new_token: str | None = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "create":
            try:
                token, new_token = token_create(
                    actor=request.user, user=request.user, name=request.POST.get("name", "")
                )
            except TokenError as exc:
                messages.error(request, str(exc))
                return redirect("api_tokens")
        elif action == "revoke":
            token = next(
                (t for t in _tokens_shown(request) if t.pk == db_id(request.POST.get("token"))), None
            )
            if token is None:
                messages.error(request, "No such token.")
            elif token_revoke(actor=request.user, token=token):
                messages.success(request, f"Token {token.prefix} ({token.name}) revoked: it works no more.")
            else:
                messages.info(request, f"Token {token.prefix} was already revoked.")
            return redirect("api_tokens")
        else:
            messages.error(request, "Unknown action.")
            return redirect("api_tokens")
    response = render(
        request,
        "api/tokens.html",
        {
            "tokens": _tokens_shown(request),
            "new_token": new_token,
            "token_days": settings.IAMREVIEW_API_TOKEN_DAYS,
            "is_admin": has_role(request.user, Role.ADMIN),
        },
    )
    return response


@role_required(Role.VIEWER)
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api/docs.html")
