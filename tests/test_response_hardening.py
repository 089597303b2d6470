"""Debug pages hide credentials in URLs; htmx-varying pages say so; signed-in pages are never cached."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.views.debug import technical_500_response

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-Pa55word"


def _technical_500(settings: Any) -> str:
    settings.DEBUG = True
    request = RequestFactory().get("/", HTTP_X_SOMETHING=f"https://bob:{SECRET}@example.com/")
    request.META["DATABASE_URL"] = (
        f"postgresql://iam:{SECRET}@db:5432/iamreview"  # runserver copies os.environ
    )
    dsn = f"redis://:{SECRET}@cache:6379/1"  # a local variable in a frame of the traceback
    try:
        raise RuntimeError(f"could not reach {dsn.split('@')[-1]}")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    return response.content.decode()


def test_debug_page_hides_passwords_in_urls(settings: Any) -> None:
    settings.REDIS_URL = f"redis://:{SECRET}@redis:6379/0"
    settings.CELERY_BROKER_URL = f"redis://default:{SECRET}@redis:6379/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://u:{SECRET}@redis/2",
        }
    }
    page = _technical_500(settings)
    assert "redis:6379/0" in page and "cache:6379/1" in page, "the rest of each URL is still shown"
    assert SECRET not in page


def test_htmx_pages_vary_on_the_htmx_header(client_as: Any) -> None:
    viewer = client_as("viewer")
    for url in ("/principals/", "/findings/", "/keys/"):
        page, fragment = viewer.get(url), viewer.get(url, HTTP_HX_REQUEST="true")
        assert page.content != fragment.content
        for response in (page, fragment):
            assert "HX-Request" in response.get("Vary", ""), url


def test_signed_in_pages_are_not_stored(client_as: Any) -> None:
    viewer = client_as("viewer")
    for url in ("/", "/principals/", "/findings/export.csv", "/settings/"):
        cache_control = {v.strip() for v in viewer.get(url)["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache_control, url
    assert "no-store" not in Client().get("/healthz").get("Cache-Control", ""), "public pages may be cached"
