"""System checks of our own: `check --deploy` refuses the demo secret key outside DEBUG."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def demo_secret_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Django's own check (security.W009) is only a warning, so `check --deploy` passed with the key every
    # clone of the repository knows: sessions, CSRF tokens and password-reset links could be forged.
    if settings.DEBUG or settings.SECRET_KEY != settings.IAMREVIEW_DEMO_SECRET_KEY:
        return []
    return [
        Error(
            "SECRET_KEY is the demo key from the source code while DEBUG is off.",
            hint="Set SECRET_KEY (or SECRET_KEY_FILE) to 50 or more random characters.",
            id="iamreview.E001",
        )
    ]
