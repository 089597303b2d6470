"""Settings for every environment, read from environment variables only (see README, Configuration)."""

from __future__ import annotations

from pathlib import Path

from iamreview.env import (
    env_bool,
    env_choice,
    env_database,
    env_email,
    env_header,
    env_int,
    env_list,
    env_str,
)
from iamreview.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("IAMREVIEW_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY the demo and tests use a fixed key, known to anyone with the source (public on
# purpose): with DEBUG off `manage.py check --deploy` fails outright (iamreview/checks.py), so a production
# deployment cannot forget it.
IAMREVIEW_DEMO_SECRET_KEY = "django-insecure-demo-only-set-SECRET_KEY-in-production"  # noqa: S105  # nosec B105
SECRET_KEY = env_str("SECRET_KEY") or IAMREVIEW_DEMO_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "iamreview",
    "core",
    "accounts",
    "findings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "iamreview.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "iamreview.middleware.RejectNulCharactersMiddleware",
    "iamreview.middleware.ContentSecurityPolicyMiddleware",
    "iamreview.middleware.PrivateResponsesMiddleware",
]
# Debug error pages hide passwords inside URLs too (DATABASES, CACHES, REDIS_URL, the environment).
DEFAULT_EXCEPTION_REPORTER_FILTER = "iamreview.debug.UrlCleansingExceptionReporterFilter"

ROOT_URLCONF = "iamreview.urls"
WSGI_APPLICATION = "iamreview.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "iamreview.context_processors.roles",
            ],
        },
    },
]

# With no DATABASE_URL the demo runs on a SQLite file; tests and production use PostgreSQL.
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'iamreview.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's worker, beat and web server share the file: WAL lets readers go on during a sync.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            # Hashed, compressed files need `collectstatic` first: the Dockerfile runs it and sets this.
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

# Security. Behind TLS (SECURE_SSL_REDIRECT=true) every cookie is Secure and HSTS is sent.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_SSL_REDIRECT else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Brute-force protection: this many failed sign-ins for one username within the lockout time lock it out.
IAMREVIEW_LOGIN_MAX_FAILURES = env_int("IAMREVIEW_LOGIN_MAX_FAILURES", 10, minimum=1)
IAMREVIEW_LOGIN_LOCKOUT_SECONDS = env_int("IAMREVIEW_LOGIN_LOCKOUT_SECONDS", 900, minimum=60)
# Sign-in throttling counts failures per client address. Only REMOTE_ADDR unless the proxy in front sets a
# header we are told to trust (X-Forwarded-For, X-Real-IP, ...): then the hop the outermost of
# IAMREVIEW_TRUSTED_PROXY_COUNT proxies wrote (iamreview/client.py).
IAMREVIEW_CLIENT_ADDRESS_HEADER = env_header("IAMREVIEW_CLIENT_ADDRESS_HEADER")
IAMREVIEW_TRUSTED_PROXY_COUNT = env_int("IAMREVIEW_TRUSTED_PROXY_COUNT", 1, minimum=1)
# A TOTP code as well as the password for this role and the roles above it (empty: only for users who set
# one up themselves). accounts/two_factor.py.
IAMREVIEW_OTP_REQUIRED_ROLE = env_choice(
    "IAMREVIEW_OTP_REQUIRED_ROLE", ["", "viewer", "reviewer", "approver", "admin"]
)
OTP_TOTP_ISSUER = "iamreview"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Celery: Redis by default; the demo falls back to kombu's filesystem transport when no Redis runs.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
# Shared by every web process when Redis is the broker (the normal deployment), else per process.
# Give the cache its own Redis database (CACHE_URL): a cache flush must never wipe the broker's queues.
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "iamreview",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if CELERY_BROKER_URL.startswith("redis")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Seconds the dashboard's account-wide figures may be served from the cache (0: never cached).
IAMREVIEW_FIGURES_CACHE_SECONDS = env_int("IAMREVIEW_FIGURES_CACHE_SECONDS", 60, minimum=0)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
    }
    if CELERY_RESULT_BACKEND.startswith("filesystem://"):
        CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'results'}"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 55 * 60, minimum=10)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60 * 60, minimum=20)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False

EMAIL_CONFIG = env_email("EMAIL_URL", "consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "iamreview <iamreview@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# AWS: with AWS_ENDPOINT_URL set, every boto3 client talks to that endpoint (fakeaws in the demo).
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL", "")
AWS_DEFAULT_REGION = env_str("AWS_DEFAULT_REGION", "us-east-1")
AWS_MAX_ATTEMPTS = env_int("AWS_MAX_ATTEMPTS", 8, minimum=1)
AWS_READ_TIMEOUT = env_int("AWS_READ_TIMEOUT", 60, minimum=1)
# A sync or apply whose worker has not reported for this long is failed (its worker died).
IAMREVIEW_STALE_SECONDS = env_int("IAMREVIEW_STALE_SECONDS", 900, minimum=10)
# A sync still queued after this long was lost by the queue and is failed so the account can sync again.
IAMREVIEW_QUEUED_MAX_SECONDS = env_int("IAMREVIEW_QUEUED_MAX_SECONDS", 3 * 3600, minimum=10)
# The AWS principal iamreview runs as (its instance/task role); member accounts' roles trust it.
IAMREVIEW_AWS_PRINCIPAL = env_str("IAMREVIEW_AWS_PRINCIPAL", "arn:aws:iam::123456789012:role/iamreview")
IAMREVIEW_UNUSED_DAYS = env_int("IAMREVIEW_UNUSED_DAYS", 90, minimum=1)
IAMREVIEW_KEY_MAX_AGE_DAYS = env_int("IAMREVIEW_KEY_MAX_AGE_DAYS", 90, minimum=1)
IAMREVIEW_KEY_UNUSED_DAYS = env_int("IAMREVIEW_KEY_UNUSED_DAYS", 90, minimum=1)
IAMREVIEW_ADVISOR_CONCURRENCY = env_int("IAMREVIEW_ADVISOR_CONCURRENCY", 4, minimum=1)
IAMREVIEW_ADVISOR_MAX_WAIT = env_int("IAMREVIEW_ADVISOR_MAX_WAIT", 300, minimum=1)
IAMREVIEW_BUILD_SUGGESTIONS = env_bool("IAMREVIEW_BUILD_SUGGESTIONS", True)
IAMREVIEW_REQUIRED_APPROVALS = env_int("IAMREVIEW_REQUIRED_APPROVALS", 1, minimum=1)
IAMREVIEW_CHANGE_EXPIRY_DAYS = env_int("IAMREVIEW_CHANGE_EXPIRY_DAYS", 14, minimum=1)
IAMREVIEW_WATCH_DAYS = env_int("IAMREVIEW_WATCH_DAYS", 7, minimum=1)
# Evidence from CloudTrail (findings.evidence): policy generations started per account per day (AWS allows
# 50), and how many times one worker polls a generation before leaving it to the next beat tick.
IAMREVIEW_GENERATION_DAILY_QUOTA = env_int("IAMREVIEW_GENERATION_DAILY_QUOTA", 50, minimum=1)
IAMREVIEW_GENERATION_POLLS = env_int("IAMREVIEW_GENERATION_POLLS", 3, minimum=1)
# First wait between polls of asynchronous AWS jobs (credential report, Access Advisor); doubles up to 10 s.
IAMREVIEW_POLL_MS = env_int("IAMREVIEW_POLL_MS", 2000, minimum=10)

LOGGING = logging_config(env_str("LOG_LEVEL", "INFO"))
