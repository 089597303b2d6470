"""Settings for every environment, read from environment variables only (see README, Configuration)."""

from __future__ import annotations

from pathlib import Path

from kombu import Exchange, Queue

from iamreview.env import (
    env_bool,
    env_choice,
    env_database,
    env_email,
    env_group_map,
    env_header,
    env_int,
    env_list,
    env_networks,
    env_secret_keys,
    env_str,
)
from iamreview.logs import logging_config
from iamreview.queues import DEFAULT_QUEUE, queue_names, task_routes

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("IAMREVIEW_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY the demo and tests use a fixed key, known to anyone with the source (public on
# purpose): with DEBUG off `manage.py check --deploy` fails outright (iamreview/checks.py), so a production
# deployment cannot forget it.
IAMREVIEW_DEMO_SECRET_KEY = "django-insecure-demo-only-set-SECRET_KEY-in-production"  # noqa: S105  # nosec B105
SECRET_KEY = env_str("SECRET_KEY") or IAMREVIEW_DEMO_SECRET_KEY
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
# Keys that encrypt stored secrets (webhook URLs, signing secrets; core/crypto.py), comma-separated: the
# first encrypts, all decrypt. Unset: derived from SECRET_KEY (changing SECRET_KEY then loses them).
IAMREVIEW_FIELD_KEYS = env_secret_keys("IAMREVIEW_FIELD_KEY")

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
    "djangosaml2",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files for the API reference page, from a pinned package: served as our static files.
    "drf_spectacular_sidecar",
    "iamreview",
    "core",
    "accounts",
    "findings",
    "api",
    "notify",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # SAML's outstanding requests live in their own cookie (SameSite=None: the IdP posts back cross-site).
    "djangosaml2.middleware.SamlSessionMiddleware",
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
# Passwords through accounts/sso.LocalPasswordBackend (refused when IAMREVIEW_LOCAL_LOGIN is off, except
# for the break-glass users); OpenID Connect and SAML through accounts/oidc.py and accounts/saml.py.
AUTHENTICATION_BACKENDS = [
    "accounts.sso.LocalPasswordBackend",
    "accounts.oidc.OidcBackend",
    "accounts.saml.SamlBackend",
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
# IAMREVIEW_TRUSTED_PROXY_COUNT proxies wrote (core/client.py).
IAMREVIEW_CLIENT_ADDRESS_HEADER = env_header("IAMREVIEW_CLIENT_ADDRESS_HEADER")
IAMREVIEW_TRUSTED_PROXY_COUNT = env_int("IAMREVIEW_TRUSTED_PROXY_COUNT", 1, minimum=1)
# A TOTP code as well as the password for this role and the roles above it (empty: only for users who set
# one up themselves). accounts/two_factor.py.
IAMREVIEW_OTP_REQUIRED_ROLE = env_choice(
    "IAMREVIEW_OTP_REQUIRED_ROLE", ["", "viewer", "reviewer", "approver", "admin"]
)
OTP_TOTP_ISSUER = "iamreview"

# Single sign-on (README, "Single sign-on"). IdP groups -> role and account limits, re-applied at each login.
IAMREVIEW_SSO_GROUP_MAP = env_group_map("IAMREVIEW_SSO_GROUP_MAP")
# Off: only single sign-on, except for the break-glass usernames (local password, throttling and TOTP).
IAMREVIEW_LOCAL_LOGIN = env_bool("IAMREVIEW_LOCAL_LOGIN", True)
IAMREVIEW_BREAK_GLASS_USERS = [u.lower() for u in env_list("IAMREVIEW_BREAK_GLASS_USERS", [])]
# OpenID Connect (mozilla-django-oidc, authorization code flow with PKCE, state and nonce): on when a client id is set.
OIDC_RP_CLIENT_ID = env_str("IAMREVIEW_OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("IAMREVIEW_OIDC_CLIENT_SECRET")
IAMREVIEW_OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("IAMREVIEW_OIDC_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("IAMREVIEW_OIDC_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("IAMREVIEW_OIDC_USERINFO_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("IAMREVIEW_OIDC_JWKS_ENDPOINT")
IAMREVIEW_OIDC_ISSUER = env_str("IAMREVIEW_OIDC_ISSUER")  # the ID token's `iss` must equal it when set
OIDC_RP_SIGN_ALGO = env_choice(
    "IAMREVIEW_OIDC_SIGN_ALGO", ["rs256", "es256", "rs384", "rs512", "es384"]
).upper()
OIDC_RP_SCOPES = env_str("IAMREVIEW_OIDC_SCOPES") or "openid email profile"
IAMREVIEW_OIDC_USERNAME_CLAIM = env_str("IAMREVIEW_OIDC_USERNAME_CLAIM") or "email"
IAMREVIEW_OIDC_GROUPS_CLAIM = env_str("IAMREVIEW_OIDC_GROUPS_CLAIM") or "groups"
IAMREVIEW_OIDC_LABEL = env_str("IAMREVIEW_OIDC_LABEL") or "Sign in with single sign-on"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/login/"
# SAML 2.0 (djangosaml2 and pysaml2; signed assertions checked with xmlsec1): on when IdP metadata is given.
IAMREVIEW_SAML_IDP_METADATA_URL = env_str("IAMREVIEW_SAML_IDP_METADATA_URL")
IAMREVIEW_SAML_IDP_METADATA_FILE = env_str("IAMREVIEW_SAML_IDP_METADATA_FILE")
IAMREVIEW_SAML_ENABLED = bool(IAMREVIEW_SAML_IDP_METADATA_URL or IAMREVIEW_SAML_IDP_METADATA_FILE)
IAMREVIEW_SAML_ENTITY_ID = env_str("IAMREVIEW_SAML_ENTITY_ID")  # default: SITE_URL/saml/metadata/
IAMREVIEW_SAML_SP_KEY_FILE = env_str("IAMREVIEW_SAML_SP_KEY_FILE")  # optional: sign requests, decrypt
IAMREVIEW_SAML_SP_CERT_FILE = env_str("IAMREVIEW_SAML_SP_CERT_FILE")
IAMREVIEW_SAML_USERNAME_ATTRIBUTE = env_str("IAMREVIEW_SAML_USERNAME_ATTRIBUTE")  # empty: the NameID
IAMREVIEW_SAML_GROUPS_ATTRIBUTE = env_str("IAMREVIEW_SAML_GROUPS_ATTRIBUTE") or "groups"
IAMREVIEW_SAML_LABEL = env_str("IAMREVIEW_SAML_LABEL") or "Sign in with SAML"
SAML_CONFIG_LOADER = "accounts.saml.sp_config"
SAML_DEFAULT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"  # no inline script, no form
SAML_ACS_FAILURE_RESPONSE_FUNCTION = "accounts.saml.acs_failure"
SAML_SESSION_COOKIE_NAME = "iamreview_saml"
SAML_CSP_HANDLER = ""  # our own Content-Security-Policy middleware covers every page
SAML_ATTRIBUTE_MAPPING: dict[str, tuple[str, ...]] = {}  # accounts/saml.SamlBackend reads the attributes
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
        # the exchange-to-queue tables; kombu's default is ./control, in whatever directory a process started
        "control_folder": str(_queue_dir / "control"),
    }
    if CELERY_RESULT_BACKEND.startswith("filesystem://"):
        CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'results'}"
# Queues (iamreview/queues.py): every task is routed to `sync`, `analysis`, `apply` or `celery`, and a worker
# started without -Q consumes all of CELERY_TASK_QUEUES. CELERY_QUEUE, when set, is the one queue of every task
# (tests and benchmarks: each worker on a unique queue); set it alike for the web, the workers and beat.
_single_queue = env_str("CELERY_QUEUE", "").strip()
CELERY_TASK_DEFAULT_QUEUE = _single_queue or DEFAULT_QUEUE
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in queue_names(_single_queue)]
CELERY_TASK_ROUTES = task_routes(_single_queue)
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
# History older than this is pruned or rolled up daily (findings/retention.py). At least 400 days: Access
# Advisor answers for up to 400 days and an account's unused window may reach that far back.
IAMREVIEW_RETENTION_DAYS = env_int("IAMREVIEW_RETENTION_DAYS", 400, minimum=400)
# Rows deleted per transaction by the prune: small enough that no table is locked for long.
IAMREVIEW_RETENTION_BATCH = env_int("IAMREVIEW_RETENTION_BATCH", 2000, minimum=1)
IAMREVIEW_KEY_MAX_AGE_DAYS = env_int("IAMREVIEW_KEY_MAX_AGE_DAYS", 90, minimum=1)
IAMREVIEW_KEY_UNUSED_DAYS = env_int("IAMREVIEW_KEY_UNUSED_DAYS", 90, minimum=1)
IAMREVIEW_ADVISOR_CONCURRENCY = env_int("IAMREVIEW_ADVISOR_CONCURRENCY", 4, minimum=1)
IAMREVIEW_ADVISOR_MAX_WAIT = env_int("IAMREVIEW_ADVISOR_MAX_WAIT", 300, minimum=1)
IAMREVIEW_BUILD_SUGGESTIONS = env_bool("IAMREVIEW_BUILD_SUGGESTIONS", True)
# Principals the organisation protects from direct changes: a tag ("key" or "key=value") and path prefixes.
IAMREVIEW_PROTECTED_TAG = env_str("IAMREVIEW_PROTECTED_TAG", "")
IAMREVIEW_PROTECTED_PATHS = env_list("IAMREVIEW_PROTECTED_PATHS", [])
IAMREVIEW_REQUIRED_APPROVALS = env_int("IAMREVIEW_REQUIRED_APPROVALS", 1, minimum=1)
IAMREVIEW_CHANGE_EXPIRY_DAYS = env_int("IAMREVIEW_CHANGE_EXPIRY_DAYS", 14, minimum=1)
IAMREVIEW_WATCH_DAYS = env_int("IAMREVIEW_WATCH_DAYS", 7, minimum=1)
# A stage of a staged change is promoted automatically once its AccessDenied watch stayed clean this long.
IAMREVIEW_STAGE_WATCH_HOURS = env_int("IAMREVIEW_STAGE_WATCH_HOURS", 24, minimum=1)
# Evidence from CloudTrail (findings.evidence): policy generations started per account per day (AWS allows
# 50), and how many times one worker polls a generation before leaving it to the next beat tick.
IAMREVIEW_GENERATION_DAILY_QUOTA = env_int("IAMREVIEW_GENERATION_DAILY_QUOTA", 50, minimum=1)
IAMREVIEW_GENERATION_POLLS = env_int("IAMREVIEW_GENERATION_POLLS", 3, minimum=1)
# First wait between polls of asynchronous AWS jobs (credential report, Access Advisor); doubles up to 10 s.
IAMREVIEW_POLL_MS = env_int("IAMREVIEW_POLL_MS", 2000, minimum=10)

# The REST API (api/): bearer tokens only (no session, so no CSRF), JSON only, pages of 50 like the review
# pages, every view declaring the role each method needs (api/auth.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.RolePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JsonParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_METADATA_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "iamreview API",
    "DESCRIPTION": (
        "Least-privilege review of AWS IAM. Send `Authorization: Bearer <token>` (tokens: /api/tokens/). "
        "Your role and the accounts you may see apply to every call, as on the pages."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SyncStatusEnum": "accounts.models.SyncStatus",
        "FindingStatusEnum": "findings.models.FindingStatus",
        "ChangeStatusEnum": "findings.models.ChangeStatus",
        "PrincipalKindEnum": "findings.models.PrincipalKind",
        "FindingKindEnum": "findings.models.kind_choices",
        "SeverityEnum": "findings.models.severity_choices",
    },
}
# Days an API token lives (0: until revoked).
IAMREVIEW_API_TOKEN_DAYS = env_int("IAMREVIEW_API_TOKEN_DAYS", 90, minimum=0)
# The most rows one API page may hold (`?page_size=`); 50 without it.
IAMREVIEW_API_MAX_PAGE_SIZE = env_int("IAMREVIEW_API_MAX_PAGE_SIZE", 500, minimum=1)
# /metrics (Prometheus) answers a scraper sending this bearer token, or one from these addresses or
# networks (the client address as sign-in throttling sees it); with neither set it is off (404).
IAMREVIEW_METRICS_TOKEN = env_str("IAMREVIEW_METRICS_TOKEN")
IAMREVIEW_METRICS_ALLOWED_ADDRESSES = env_networks("IAMREVIEW_METRICS_ALLOWED_ADDRESSES")
# Notification channels (notify/): Slack, Microsoft Teams and signed webhooks. By default only https://
# URLs of public addresses are called (a webhook must not reach the cloud metadata service or the
# intranet); a channel to an internal receiver needs both switches.
IAMREVIEW_NOTIFY_ALLOW_HTTP = env_bool("IAMREVIEW_NOTIFY_ALLOW_HTTP", False)
IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES = env_bool("IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES", False)
IAMREVIEW_NOTIFY_TIMEOUT = env_int("IAMREVIEW_NOTIFY_TIMEOUT", 10, minimum=1)
# CA certificates (a PEM file) trusted for https channels instead of the system's (an internal CA).
IAMREVIEW_NOTIFY_CA_BUNDLE = env_str("IAMREVIEW_NOTIFY_CA_BUNDLE", "")
# A failed delivery is tried again after this many seconds, doubling each time, up to this many attempts.
IAMREVIEW_NOTIFY_RETRY_SECONDS = env_int("IAMREVIEW_NOTIFY_RETRY_SECONDS", 30, minimum=1)
IAMREVIEW_NOTIFY_MAX_ATTEMPTS = env_int("IAMREVIEW_NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
IAMREVIEW_NOTIFY_LOG_DAYS = env_int("IAMREVIEW_NOTIFY_LOG_DAYS", 30, minimum=1)

LOGGING = logging_config(env_str("LOG_LEVEL", "INFO"))
