"""Typed readers for environment variables that fail loudly on a bad value."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path

import environ

_TRUE = {"true", "1", "on"}
_FALSE = {"false", "0", "off", ""}


class ConfigError(Exception):
    """A setting from the environment has a value we refuse to guess about."""


def env_str(name: str, default: str = "") -> str:
    """A string; `NAME_FILE` (a path) wins over `NAME` so secrets can come from mounted files."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_path!r} cannot be read: {exc.strerror}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: use true/false, 1/0 or on/off")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
    return value


def env_choice(name: str, choices: list[str]) -> str:
    """One of `choices` (the first is the default), compared without case."""
    raw = os.environ.get(name, choices[0]).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} is not one of: {', '.join(c or '(empty)' for c in choices)}")
    return raw


def env_header(name: str) -> str:
    """An HTTP header name (letters, digits, dashes), or empty."""
    raw = os.environ.get(name, "").strip()
    if raw and not re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", raw):
        raise ConfigError(f"{name}={raw!r} is not an HTTP header name such as X-Forwarded-For")
    return raw


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of addresses or networks (10.0.0.5, 10.1.0.0/16, ::1), or empty."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network") from exc
    return networks


def env_secret_keys(name: str) -> list[str]:
    """Comma-separated keys (`NAME_FILE` works too), each long enough to be a key, not a password."""
    keys = [k.strip() for k in env_str(name).split(",") if k.strip()]
    short = [n for n, k in enumerate(keys, start=1) if len(k) < 32]
    if short:
        raise ConfigError(f"{name}: key {short[0]} is shorter than 32 characters; use 32+ random characters")
    return keys


def env_database(name: str, default: str) -> dict[str, object]:
    raw = env_str(name, default)
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises bare exceptions for unknown schemes
        raise ConfigError(f"{name} is not a database URL we understand: {exc}") from exc
    engine = str(config.get("ENGINE", ""))
    if engine not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
        raise ConfigError(f"{name} must be a postgresql:// or sqlite:/// URL, not {raw.split(':', 1)[0]}://")
    return dict(config)


def env_email(name: str, default: str) -> dict[str, object]:
    raw = env_str(name, default)
    try:
        return dict(environ.Env.email_url_config(raw))
    except Exception as exc:
        raise ConfigError(
            f"{name} is not an email URL we understand (smtp://, consolemail://, ...): {exc}"
        ) from exc


SSO_ROLES = ("viewer", "reviewer", "approver", "admin")


def env_group_map(name: str) -> dict[str, dict[str, object]]:
    """IdP group -> {"role": one of SSO_ROLES, "accounts": [12-digit ids] or None for every account}.

    JSON: {"iam-admins": "admin", "team-a": {"role": "reviewer", "accounts": ["111111111111"]}}.
    """
    raw = env_str(name, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{name} must be a JSON object of IdP group to role")
    result: dict[str, dict[str, object]] = {}
    for group, value in data.items():
        entry = {"role": value} if isinstance(value, str) else value
        if not isinstance(entry, dict) or set(entry) - {"role", "accounts"}:
            raise ConfigError(f"{name}[{group!r}] must be a role name or {{'role': ..., 'accounts': [...]}}")
        role = str(entry.get("role", "")).strip().lower()
        if role not in SSO_ROLES:
            raise ConfigError(f"{name}[{group!r}] has role {role!r}: use one of {', '.join(SSO_ROLES)}")
        accounts = entry.get("accounts")
        if accounts is not None:
            if not isinstance(accounts, list) or not all(
                isinstance(a, str) and re.fullmatch(r"\d{12}", a) for a in accounts
            ):
                raise ConfigError(f"{name}[{group!r}] accounts must be a list of 12-digit AWS account ids")
            if not accounts:
                raise ConfigError(f"{name}[{group!r}] accounts is empty: leave it out for every account")
        result[str(group)] = {"role": role, "accounts": accounts}
    return result
