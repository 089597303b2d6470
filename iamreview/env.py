"""Typed readers for environment variables that fail loudly on a bad value."""

from __future__ import annotations

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
