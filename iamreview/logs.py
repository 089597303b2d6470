"""Secrets never reach the logs: a filter on every handler redacts them, whatever the log level.

Two nets. Known values (SECRET_KEY, the database and SMTP passwords, the OpenID Connect client secret,
the metrics token, AWS keys from the environment) are replaced wherever they appear. Shapes are replaced too, for secrets we never see beforehand:
the temporary credentials STS returns (botocore logs response bodies at DEBUG), request signatures
and session tokens in headers, JSON Web Tokens, passwords in URLs and in key=value text.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

REDACTED = "[redacted]"
_SHAPES = [
    # XML and JSON bodies from STS: <SecretAccessKey>..</SecretAccessKey>, "SessionToken": "..".
    (re.compile(r"(<(SecretAccessKey|SessionToken|Password)>)[^<]*(</\2>)"), rf"\1{REDACTED}\3"),
    (
        re.compile(
            r"""(['"]?\b(?:SecretAccessKey|SessionToken|secret_access_key|session_token|aws_secret_access_key|"""
            r"""aws_session_token|X-Amz-Security-Token|password|passwd|Password|secret|api[_-]?key|token)"""
            r"""['"]?\s*[:=]\s*b?['"]?)[^'",\s}&]+"""
        ),
        rf"\1{REDACTED}",
    ),
    # JSON Web Tokens (OpenID Connect ID and access tokens): header.payload.signature, base64url.
    (re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"), REDACTED),
    (re.compile(r"(Signature=)[0-9a-f]{16,}"), rf"\1{REDACTED}"),
    # Our API tokens (the prefix stays: it names the token, and is no secret), and any bearer credential.
    (re.compile(r"(\biamr_[0-9a-f]{12}_)[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(\bBearer\s+)(?!\[redacted\])[^\s'\",}]+", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"(X-Amz-Signature=)[0-9a-f]{16,}"), rf"\1{REDACTED}"),
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
]


def known_secrets() -> list[str]:
    """Secret values from settings and the environment; short values are left out (they would mangle text)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    values: list[str] = []
    try:
        values += [settings.SECRET_KEY, getattr(settings, "EMAIL_HOST_PASSWORD", "")]
        values.append(getattr(settings, "OIDC_RP_CLIENT_SECRET", ""))
        values += [getattr(settings, "IAMREVIEW_METRICS_TOKEN", "")]
        values += [db.get("PASSWORD", "") for db in settings.DATABASES.values()]
    except ImproperlyConfigured:
        values = []  # logging before settings are ready: only the environment is known
    values += [
        os.environ.get(n, "") for n in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "EMAIL_HOST_PASSWORD")
    ]
    return sorted({v for v in values if v and len(v) >= 8}, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in known_secrets() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        secrets = known_secrets()
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        clean = redact(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def logging_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "iamreview.logs.RedactSecretsFilter"}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Even at DEBUG, botocore's wire logs stay off: the filter is the second net, not the first.
            "botocore": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            # pysaml2 and djangosaml2 log whole assertions at DEBUG and chatter at INFO.
            "saml2": {"level": "WARNING"},
            "djangosaml2": {"level": "WARNING"},
            "xmlschema": {"level": "WARNING"},
            "mozilla_django_oidc": {"level": "WARNING"},
        },
    }
