"""URL configuration: every page needs a login (LoginRequiredMiddleware) except login, single sign-on and
health; the API (/api/v1/) and /metrics answer 401 themselves (api/urls.py)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import oidc, saml, two_factor
from accounts.login import ThrottledLoginView
from iamreview import views

urlpatterns = [
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("two-factor/code/", two_factor.otp_verify, name="otp_verify"),
    path("two-factor/setup/", two_factor.otp_setup, name="otp_setup"),
    # Single sign-on (404 unless configured): accounts/oidc.py and accounts/saml.py.
    path("oidc/authenticate/", oidc.OidcStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.OidcCallbackView.as_view(), name="oidc_authentication_callback"),
    path("saml/login/", saml.SamlStartView.as_view(), name="saml2_login"),
    path("saml/acs/", saml.SamlAcsView.as_view(), name="saml2_acs"),
    path("saml/metadata/", saml.SamlMetadataView.as_view(), name="saml2_metadata"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("api.urls")),
    path("notifications/", include("notify.urls")),
    path("", include("findings.urls")),
]
