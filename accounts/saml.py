"""SAML 2.0 sign-in through djangosaml2 and pysaml2 (xmlsec1 checks the signatures).

The service provider's configuration is built from settings (IAMREVIEW_SAML_*), with the identity
provider's metadata from a URL or a file; it is kept for an hour per process so a remote metadata URL is
not fetched on every request. Assertions must be signed, must answer a request this browser started
(InResponseTo, kept by djangosaml2 in its own cookie) and must be addressed to our ACS. What the IdP
vouched for goes to accounts/sso.py for the user and its role.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import saml2
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from djangosaml2.backends import Saml2Backend
from djangosaml2.views import AssertionConsumerServiceView, LoginView, MetadataView
from saml2.config import SPConfig
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED
from saml2.sigver import get_xmlsec_binary

from accounts.sso import SSO_SESSION_KEY, SsoRefused, sso_sign_in
from core.audit import audit_record

logger = logging.getLogger(__name__)
PROTOCOL = "SAML"
CONFIG_SECONDS = 3600
_cache: dict[tuple[Any, ...], tuple[float, SPConfig]] = {}
_lock = threading.Lock()


def _settings_key() -> tuple[Any, ...]:
    return (
        settings.SITE_URL,
        settings.IAMREVIEW_SAML_IDP_METADATA_URL,
        settings.IAMREVIEW_SAML_IDP_METADATA_FILE,
        settings.IAMREVIEW_SAML_ENTITY_ID,
        settings.IAMREVIEW_SAML_SP_KEY_FILE,
        settings.IAMREVIEW_SAML_SP_CERT_FILE,
    )


def sp_config_dict() -> dict[str, Any]:
    base = settings.SITE_URL
    metadata: dict[str, Any] = {}
    if settings.IAMREVIEW_SAML_IDP_METADATA_URL:
        metadata["remote"] = [{"url": settings.IAMREVIEW_SAML_IDP_METADATA_URL}]
    if settings.IAMREVIEW_SAML_IDP_METADATA_FILE:
        metadata["local"] = [settings.IAMREVIEW_SAML_IDP_METADATA_FILE]
    signing = bool(settings.IAMREVIEW_SAML_SP_KEY_FILE and settings.IAMREVIEW_SAML_SP_CERT_FILE)
    config: dict[str, Any] = {
        "entityid": settings.IAMREVIEW_SAML_ENTITY_ID or f"{base}{reverse('saml2_metadata')}",
        "xmlsec_binary": get_xmlsec_binary(["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"]),
        "allow_unknown_attributes": True,
        "metadata": metadata,
        "service": {
            "sp": {
                "name": "iamreview",
                "endpoints": {
                    "assertion_consumer_service": [(f"{base}{reverse('saml2_acs')}", saml2.BINDING_HTTP_POST)]
                },
                "allow_unsolicited": False,
                "authn_requests_signed": signing,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "name_id_format": NAMEID_FORMAT_UNSPECIFIED,
            }
        },
    }
    if signing:
        config["key_file"] = settings.IAMREVIEW_SAML_SP_KEY_FILE
        config["cert_file"] = settings.IAMREVIEW_SAML_SP_CERT_FILE
        config["encryption_keypairs"] = [
            {
                "key_file": settings.IAMREVIEW_SAML_SP_KEY_FILE,
                "cert_file": settings.IAMREVIEW_SAML_SP_CERT_FILE,
            }
        ]
    return config


def sp_config(request: HttpRequest | None = None) -> SPConfig:
    """djangosaml2's SAML_CONFIG_LOADER: built from settings, kept for CONFIG_SECONDS."""
    key = _settings_key()
    with _lock:
        cached = _cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CONFIG_SECONDS:
            return cached[1]
        conf = SPConfig()
        conf.load(sp_config_dict())
        _cache.clear()
        _cache[key] = (time.monotonic(), conf)
        return conf


def _first(value: Any) -> str:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return str(value or "")


class SamlBackend(Saml2Backend):
    """Only djangosaml2's ACS view (with a verified `session_info`) reaches it."""

    def authenticate(self, request: Any, session_info: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if session_info is None or not settings.IAMREVIEW_SAML_ENABLED:
            return None
        attributes = session_info.get("ava") or {}
        name_attribute = settings.IAMREVIEW_SAML_USERNAME_ATTRIBUTE
        name_id = session_info.get("name_id")
        username = _first(attributes.get(name_attribute)) if name_attribute else getattr(name_id, "text", "")
        groups = attributes.get(settings.IAMREVIEW_SAML_GROUPS_ATTRIBUTE) or []
        try:
            return sso_sign_in(
                protocol=PROTOCOL,
                username=username or "",
                email=_first(attributes.get("mail") or attributes.get("email")),
                groups=[str(g) for g in (groups if isinstance(groups, list | tuple) else [groups])],
            )
        except SsoRefused as exc:  # audited by sso_sign_in
            request._iamreview_sso_refused = True
            messages.error(request, str(exc))
            return None


def acs_failure(
    request: HttpRequest, exception: Exception | None = None, status: int = 403, **kwargs: Any
) -> HttpResponse:
    """SAML_ACS_FAILURE_RESPONSE_FUNCTION: back to the login page with what went wrong."""
    if not getattr(request, "_iamreview_sso_refused", False):
        reason = f"{type(exception).__name__}: {exception}"[:200] if exception else "unknown"
        audit_record(
            actor=None, action="login.sso_refused", obj="saml", summary=f"{PROTOCOL} refused: {reason}"
        )
        messages.error(
            request,
            "The identity provider's answer could not be accepted (not signed by it, not for this site, "
            "expired, or not an answer to a sign-in started from this browser). Start again.",
        )
    return HttpResponseRedirect(reverse("login"))


def _enabled() -> None:
    if not settings.IAMREVIEW_SAML_ENABLED:
        raise Http404("SAML is not configured.")


@method_decorator(login_not_required, name="dispatch")
class SamlStartView(LoginView):
    """/saml/login/: sends the browser to the IdP with a request (HTTP-Redirect binding)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _enabled()
        try:
            sp_config(request)
        except Exception as exc:  # pysaml2 raises many kinds for unreadable or invalid metadata
            logger.warning("SAML identity provider metadata could not be loaded: %s", type(exc).__name__)
            messages.error(
                request, "The SAML identity provider cannot be reached right now. Try again in a moment."
            )
            return HttpResponseRedirect(reverse("login"))
        return super().get(request, *args, **kwargs)


@method_decorator(login_not_required, name="dispatch")
class SamlAcsView(AssertionConsumerServiceView):
    """/saml/acs/: the IdP posts its signed answer here."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _enabled()
        return super().post(request, *args, **kwargs)

    def post_login_hook(self, request: HttpRequest, user: Any, session_info: dict[str, Any]) -> None:
        request.session[SSO_SESSION_KEY] = "saml"


@method_decorator(login_not_required, name="dispatch")
class SamlMetadataView(MetadataView):
    """/saml/metadata/: our service provider metadata, for the IdP's administrator."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _enabled()
        return super().get(request, *args, **kwargs)
