"""Making, finding and revoking API tokens. A token reads `iamr_<prefix>_<secret>`: the prefix finds the
row, the SHA-256 digest of the whole token proves it; neither the token nor its secret is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import ApiToken
from core.audit import audit_record

# A public marker that makes a leaked token easy to recognise (secret scanners), not a secret.
TOKEN_START = "iamr_"  # noqa: S105  # nosec B105
# A use is recorded at most this often per token: one write per request would make reads cost writes.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenError(Exception):
    """A token action refused, with the reason in words."""


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _split(raw: str) -> tuple[str, str] | None:
    if not raw.startswith(TOKEN_START) or len(raw) > 200:
        return None
    prefix, sep, secret = raw[len(TOKEN_START) :].partition("_")
    if not sep or not prefix or not secret:
        return None
    return prefix, secret


def token_create(
    *, actor: AbstractBaseUser | None, user: AbstractBaseUser, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`: (row, the token to show once). `days` defaults to IAMREVIEW_API_TOKEN_DAYS
    (0: no expiry)."""
    name = name.strip()
    if not name:
        raise TokenError("Name the token after what will use it.")
    if len(name) > 100:
        raise TokenError("A token name has at most 100 characters.")
    if not user.is_active:
        raise TokenError("An inactive user cannot hold a token.")
    days = settings.IAMREVIEW_API_TOKEN_DAYS if days is None else days
    expires = timezone.now() + timedelta(days=days) if days > 0 else None
    for _ in range(5):
        prefix = secrets.token_hex(6)
        raw = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user, name=name, prefix=prefix, digest=token_digest(raw), expires_at=expires
                )
                audit_record(
                    actor=actor,
                    action="api_token.create",
                    obj=token,
                    summary=f"Created API token {prefix} ({name}) for {user.get_username()}",
                    after={
                        "user": user.get_username(),
                        "name": name,
                        "prefix": prefix,
                        "expires_at": expires.isoformat() if expires else None,
                    },
                )
        except IntegrityError:  # the 48-bit prefix was taken: draw again
            continue
        return token, raw
    raise TokenError("Could not draw an unused token prefix; try again.")


def token_revoke(*, actor: AbstractBaseUser, token: ApiToken) -> bool:
    """Revoke a token now (False when it was already revoked); audited."""
    with transaction.atomic():
        if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        ):
            return False
        token.refresh_from_db()
        audit_record(
            actor=actor,
            action="api_token.revoke",
            obj=token,
            summary=f"Revoked API token {token.prefix} ({token.name}) of {token.user.get_username()}",
            before={"revoked_at": None},
            after={"revoked_at": token.revoked_at.isoformat() if token.revoked_at else None},
        )
    return True


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token `raw` names, with its user, or None; records the use (at most once a minute)."""
    parts = _split(raw.strip())
    if parts is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[0]).first()
    if token is None or not hmac.compare_digest(token.digest, token_digest(raw.strip())):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
