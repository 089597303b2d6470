"""URL configuration: every page needs a login (LoginRequiredMiddleware) except login and health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import two_factor
from accounts.login import ThrottledLoginView
from iamreview import views

urlpatterns = [
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("two-factor/code/", two_factor.otp_verify, name="otp_verify"),
    path("two-factor/setup/", two_factor.otp_setup, name="otp_setup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("notifications/", include("notify.urls")),
    path("", include("findings.urls")),
]
