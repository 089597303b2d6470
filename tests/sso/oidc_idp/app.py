"""The provider's URLs, its claims (groups among them) and a control endpoint the tests use to set users."""

from __future__ import annotations

import json
import os
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    oidc_claim_scope = None  # every claim, whatever the scopes

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "preferred_username": user.username,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }


@csrf_exempt
def control(request: HttpRequest, what: str) -> HttpResponse:
    if request.headers.get("X-Control-Token") != os.environ["IDP_CONTROL_TOKEN"]:
        return HttpResponseForbidden("no")
    data = json.loads(request.body)
    if what == "user":
        user, _ = User.objects.get_or_create(username=data["username"])
        user.email = data.get("email", "")
        user.set_password(data["password"])
        user.save()
        user.groups.set([Group.objects.get_or_create(name=g)[0] for g in data.get("groups", [])])
    elif what == "client":
        Application.objects.filter(client_id=data["client_id"]).delete()
        Application.objects.create(
            name="iamreview",
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(data["redirect_uris"]),
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=True,
        )
    return JsonResponse({"ok": True})


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("control/<str:what>", control),
]
