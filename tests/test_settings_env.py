"""Settings helpers fail loudly on bad values, and production settings pass `check --deploy`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iamreview.env import ConfigError, env_bool, env_database, env_group_map, env_int, env_str

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("off", False), ("False", False)])
def test_env_bool_accepts(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["yes", "no", "enabled", "2"])
def test_env_bool_refuses_guesses(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ConfigError, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_env_int_refuses_text_and_low_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_N", "ten")
    with pytest.raises(ConfigError, match="not an integer"):
        env_int("X_N", 1)
    monkeypatch.setenv("X_N", "3")
    with pytest.raises(ConfigError, match="minimum"):
        env_int("X_N", 10, minimum=5)


def test_secret_from_file_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "from-file"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot be read"):
        env_str("X_SECRET")


def test_database_url_errors_are_clear() -> None:
    os.environ["X_DB"] = "nosuchdb://host/db"
    try:
        with pytest.raises(ConfigError, match="X_DB"):
            env_database("X_DB", "")
    finally:
        del os.environ["X_DB"]


PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 20 + "Q8r!z" + "production-grade-secret-value-0123456789",
    "ALLOWED_HOSTS": "iam.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/iamreview"),
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    unset = {"SECRET_KEY", "DEBUG", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_a_secret_key() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


def test_bad_boolean_stops_startup() -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "DEBUG": "yes"})
    assert result.returncode != 0
    assert "DEBUG='yes' is not a boolean" in result.stderr


def test_production_cookies_sessions_and_headers() -> None:
    """What check --deploy does not look at, read from the settings production would run with."""
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in "
        "['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SESSION_COOKIE_SAMESITE', 'SESSION_COOKIE_AGE', 'SESSION_EXPIRE_AT_BROWSER_CLOSE', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'X_FRAME_OPTIONS', "
        "'SECURE_CONTENT_TYPE_NOSNIFF', 'SECURE_REFERRER_POLICY', 'CSRF_COOKIE_HTTPONLY']}))"
    )
    result = _manage("shell", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SESSION_COOKIE_HTTPONLY"] and values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SESSION_COOKIE_AGE"] <= 8 * 3600 and values["SESSION_EXPIRE_AT_BROWSER_CLOSE"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["X_FRAME_OPTIONS"] == "DENY" and values["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"


def test_check_deploy_fails_with_the_demo_key_even_without_fail_level() -> None:
    """The README promises `check --deploy` fails without SECRET_KEY: Django's own check only warns."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "iamreview.E001" in result.stderr and "SECRET_KEY" in result.stderr
    assert _manage("check", "--deploy", env=PRODUCTION_ENV).returncode == 0
    # The demo (DEBUG on) keeps working with the demo key.
    assert "iamreview.E001" not in _manage("check", "--deploy", env={**env, "DEBUG": "true"}).stderr


def test_new_accounts_take_the_unused_window_from_the_setting(db: None, settings: object) -> None:
    from accounts.models import LinkedAccount

    settings.IAMREVIEW_UNUSED_DAYS = 45  # type: ignore[attr-defined]
    account = LinkedAccount.objects.create(
        account_id="123456789012", name="x", role_arn="arn:aws:iam::123456789012:role/r"
    )
    assert account.unused_days == 45


def test_sso_group_map_reads_roles_and_account_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "X_MAP", json.dumps({"admins": "Admin", "team-a": {"role": "reviewer", "accounts": ["111111111111"]}})
    )
    assert env_group_map("X_MAP") == {
        "admins": {"role": "admin", "accounts": None},
        "team-a": {"role": "reviewer", "accounts": ["111111111111"]},
    }
    monkeypatch.delenv("X_MAP")
    assert env_group_map("X_MAP") == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "is not JSON"),
        ('["admin"]', "JSON object"),
        ('{"g": "owner"}', "has role 'owner'"),
        ('{"g": {"role": "viewer", "accounts": ["12345"]}}', "12-digit"),
        ('{"g": {"role": "viewer", "accounts": []}}', "leave it out"),
        ('{"g": {"role": "viewer", "acounts": ["111111111111"]}}', "must be a role name"),
    ],
)
def test_sso_group_map_refuses_what_it_cannot_trust(
    monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    monkeypatch.setenv("X_MAP", raw)
    with pytest.raises(ConfigError) as info:
        env_group_map("X_MAP")
    assert "X_MAP" in str(info.value) and message in str(info.value)


def test_half_configured_single_sign_on_stops_check_deploy() -> None:
    sso = {
        "IAMREVIEW_OIDC_CLIENT_ID": "iamreview",
        "IAMREVIEW_OIDC_CLIENT_SECRET": "s3cret-from-the-provider",
        "IAMREVIEW_OIDC_AUTHORIZATION_ENDPOINT": "https://login.example.com/authorize",
        "IAMREVIEW_OIDC_TOKEN_ENDPOINT": "https://login.example.com/token",
        "IAMREVIEW_OIDC_USERINFO_ENDPOINT": "https://login.example.com/userinfo",
        "IAMREVIEW_OIDC_JWKS_ENDPOINT": "https://login.example.com/jwks",
        "IAMREVIEW_SSO_GROUP_MAP": '{"iam-admins": "admin"}',
        "IAMREVIEW_LOCAL_LOGIN": "false",
        "IAMREVIEW_BREAK_GLASS_USERS": "root-admin",
    }
    assert (
        _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, **sso}).returncode == 0
    )
    half = {
        k: v for k, v in sso.items() if k not in {"IAMREVIEW_OIDC_TOKEN_ENDPOINT", "IAMREVIEW_SSO_GROUP_MAP"}
    }
    result = _manage("check", "--deploy", env={**PRODUCTION_ENV, **half})
    assert result.returncode != 0
    assert "iamreview.E002" in result.stderr and "IAMREVIEW_OIDC_TOKEN_ENDPOINT" in result.stderr
    assert "iamreview.E004" in result.stderr


def test_env_networks_reads_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    import ipaddress

    from iamreview.env import env_networks

    monkeypatch.setenv("X_NETS", "10.0.0.5, 192.168.0.0/16,::1")
    nets = env_networks("X_NETS")
    assert ipaddress.ip_address("10.0.0.5") in nets[0] and ipaddress.ip_address("10.0.0.6") not in nets[0]
    assert ipaddress.ip_address("192.168.7.1") in nets[1] and ipaddress.ip_address("::1") in nets[2]
    monkeypatch.setenv("X_NETS", "10.0.0.5,prometheus.internal")
    with pytest.raises(ConfigError, match=r"prometheus\.internal"):
        env_networks("X_NETS")
    monkeypatch.delenv("X_NETS")
    assert env_networks("X_NETS") == []


def test_check_deploy_is_clean_with_the_api_and_metrics_configured() -> None:
    """No warning either: drf-spectacular generates the schema under --deploy and would warn there."""
    env = {
        **PRODUCTION_ENV,
        "IAMREVIEW_METRICS_TOKEN": "m" * 40,
        "IAMREVIEW_METRICS_ALLOWED_ADDRESSES": "10.0.0.0/8",
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    bad = _manage("check", env={**env, "IAMREVIEW_METRICS_ALLOWED_ADDRESSES": "10.0.0.0/33"})
    assert bad.returncode != 0 and "IAMREVIEW_METRICS_ALLOWED_ADDRESSES" in bad.stderr
