"""Django's debug error page without credentials: also hides the userinfo of every URL it shows."""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host -> scheme://********************@host (user names can be secrets too:
# redis://token@host, https://ghp_...@github.com).
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^@/\s?#'\"<>]+@")


def hide_url_userinfo(text: str) -> str:
    return URL_USERINFO.sub(
        lambda m: m.group(1) + SafeExceptionReporterFilter.cleansed_substitute + "@", text
    )


class UrlCleansingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Settings (DATABASES, CACHES, REDIS_URL, CELERY_BROKER_URL), request META (runserver copies the
    environment there: DATABASE_URL) and traceback variables are shown without passwords in URLs.

    Django hides values by their name only (PASSWORD, SECRET, ...); a URL's name says nothing.
    """

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return hide_url_userinfo(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (
                name,
                self.cleanse_setting(name, value) if isinstance(value, (str, dict, list, tuple)) else value,
            )
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
