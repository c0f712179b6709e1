"""CivicPost settings: one file, every value from the environment (see README, "Configuration")."""

import zoneinfo
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from accounts.sso import saml_available, sso_providers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Only debug mode falls back to a fixed key (`make run` writes a real one into .env anyway); empty counts as unset.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    "django-insecure-civicpost-local-development-only" if DEBUG else ""
)
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a long random value: CivicPost only starts without one when DJANGO_DEBUG is true."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("CIVICPOST_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

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
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
    "csp",
    "civicpost",
    "departments",
    "people",
    "scheduler",
    "feeds",
    "connections",
    "audit",
    "audittrail",
    "monitoring",
    "accounts",
    "medialibrary",
    "composer",
    "governance",
    "analytics",
    "archive",
    "inbox",
    "postqueue",
    "firstrun",
    "demo",
    "navigation",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "webhooks",
    "intake",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After sign-in: the language the person chose on their account page wins over the browser's.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SessionLimitMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "audit.context.AuditOriginMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    # With DEBUG on (make run), the site's own 404 page instead of Django's list of every URL pattern.
    "civicpost.errors.NotFoundPageMiddleware",
]

ROOT_URLCONF = "civicpost.urls"
WSGI_APPLICATION = "civicpost.wsgi.application"

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
                "scheduler.context_processors.navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL when DATABASE_URL is set, SQLite (embedded mode) otherwise.
SQLITE_PATH = env.str("CIVICPOST_SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # The web server and the embedded publisher share the file: WAL lets them read
            # while the other writes, IMMEDIATE makes writers queue instead of failing.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": env.str("CIVICPOST_SQLITE_TEST_PATH", default="") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set (allauth's rate limits need a shared cache).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CIVICPOST_CACHE_PREFIX", default="civicpost"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery: Redis rings the doorbell, PostgreSQL is the ledger (shared/reliability.md).
# Without REDIS_URL tasks run eagerly inside the process that enqueues them: the embedded
# publisher loop of `make run` drives the same dispatcher and publish services.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes every database connection before and after each task unless this is set; then
# it does so every this many tasks, and between tasks Django's own rule applies (civicpost/celery.py): a new
# PostgreSQL backend per delivery cost the server more CPU than the delivery's statements.
CELERY_DB_REUSE_MAX = 1000
CELERY_TIMEZONE = "UTC"

# --- Publishing
CIVICPOST_DISPATCH_INTERVAL_SECONDS = env.int("CIVICPOST_DISPATCH_INTERVAL_SECONDS", default=15)
CIVICPOST_DISPATCH_BATCH_SIZE = env.int("CIVICPOST_DISPATCH_BATCH_SIZE", default=500)
# No HTTP has been sent for a claimed delivery, so an expired claim is safely put back.
CIVICPOST_CLAIM_LEASE_SECONDS = env.int("CIVICPOST_CLAIM_LEASE_SECONDS", default=600)
# A sending delivery past this lease may have reached the platform: it becomes "unknown".
CIVICPOST_SEND_LEASE_SECONDS = env.int("CIVICPOST_SEND_LEASE_SECONDS", default=300)
if CIVICPOST_SEND_LEASE_SECONDS <= CELERY_TASK_TIME_LIMIT:
    # Otherwise the sweeper could call a send "unknown" while its worker is still waiting for the answer.
    raise ImproperlyConfigured("CIVICPOST_SEND_LEASE_SECONDS must be longer than CELERY_TASK_TIME_LIMIT.")
CIVICPOST_MAX_ATTEMPTS = env.int("CIVICPOST_MAX_ATTEMPTS", default=5)
# Calendar hints: two posts on one channel closer than this; one link used by two departments within this.
CIVICPOST_CALENDAR_CONFLICT_GAP_MINUTES = env.int("CIVICPOST_CALENDAR_CONFLICT_GAP_MINUTES", default=60)
CIVICPOST_CALENDAR_LINK_WINDOW_HOURS = env.int("CIVICPOST_CALENDAR_LINK_WINDOW_HOURS", default=72)
CIVICPOST_CALENDAR_QUIET_DAYS = env.int("CIVICPOST_CALENDAR_QUIET_DAYS", default=7)
CIVICPOST_CALENDAR_MONTH_CELL_LIMIT = env.int("CIVICPOST_CALENDAR_MONTH_CELL_LIMIT", default=6)
# How long an unconfirmed send may be re-checked with the platform before a person is asked to look.
CIVICPOST_RECONCILE_GIVE_UP_MINUTES = env.int("CIVICPOST_RECONCILE_GIVE_UP_MINUTES", default=30)
# A scheduled delivery this many minutes past its time makes /health/ answer 503 and emails the admins.
CIVICPOST_OVERDUE_ALERT_MINUTES = env.int("CIVICPOST_OVERDUE_ALERT_MINUTES", default=10)
CIVICPOST_HTTP_TIMEOUT_SECONDS = env.float("CIVICPOST_HTTP_TIMEOUT_SECONDS", default=10.0)
CIVICPOST_HTTP_CONNECT_TIMEOUT_SECONDS = env.float("CIVICPOST_HTTP_CONNECT_TIMEOUT_SECONDS", default=5.0)
CIVICPOST_PLATFORM_URLS: dict[str, str] = env.dict("CIVICPOST_PLATFORM_URLS", default={})

# Analytics (issue 13): the ages at which each published delivery's metrics are read, how often the
# collector runs, how many platform requests one channel may use per pass, and X's paid reads per
# department per calendar month.
CIVICPOST_METRICS_AGES: list[str] = env.list("CIVICPOST_METRICS_AGES", default=["1h", "24h", "7d", "30d"])
CIVICPOST_METRICS_INTERVAL_SECONDS = env.int("CIVICPOST_METRICS_INTERVAL_SECONDS", default=600)
CIVICPOST_METRICS_REQUESTS_PER_CHANNEL = env.int("CIVICPOST_METRICS_REQUESTS_PER_CHANNEL", default=20)
CIVICPOST_X_MONTHLY_READ_BUDGET = env.int("CIVICPOST_X_MONTHLY_READ_BUDGET", default=500)
# The analytics pages draw no conclusion ("posts with an image do better") from fewer posts than this.
CIVICPOST_ANALYTICS_MIN_SAMPLE = env.int("CIVICPOST_ANALYTICS_MIN_SAMPLE", default=10)
# Channel health: a token expiring within this many days, a channel quiet for this many days, a failure
# rate (failed deliveries / finished deliveries over the last 30 days) at or above this share.
CIVICPOST_HEALTH_TOKEN_DAYS = env.int("CIVICPOST_HEALTH_TOKEN_DAYS", default=14)
CIVICPOST_HEALTH_QUIET_DAYS = env.int("CIVICPOST_HEALTH_QUIET_DAYS", default=21)
CIVICPOST_HEALTH_FAILURE_RATE = env.float("CIVICPOST_HEALTH_FAILURE_RATE", default=0.2)
# More health checks (dotted paths of f(channels, now) -> list[analytics.health.Finding]), added by other apps.
CIVICPOST_HEALTH_CHECKS: list[str] = env.list("CIVICPOST_HEALTH_CHECKS", default=[])
# The inbox (issue 15): how often each channel's replies, comments and mentions are read, and how many platform
# requests one channel may use per pass (the rest waits for the next pass; X's reads also count against the
# monthly budget above).
CIVICPOST_INBOX_INTERVAL_SECONDS = env.int("CIVICPOST_INBOX_INTERVAL_SECONDS", default=120)
# Evergreen posts are placed in free posting slots at most this many days ahead (postqueue.services).
CIVICPOST_EVERGREEN_HORIZON_DAYS = env.int("CIVICPOST_EVERGREEN_HORIZON_DAYS", default=14)
CIVICPOST_INBOX_REQUESTS_PER_CHANNEL = env.int("CIVICPOST_INBOX_REQUESTS_PER_CHANNEL", default=5)
# Applied by publishing to what each delivery sends (dotted paths; f(delivery, content) -> content). The
# composition root wires analytics' short links in here, so scheduler never imports analytics.
CIVICPOST_DELIVERY_CONTENT_FILTERS: list[str] = [
    "analytics.shortlinks.delivery_content_with_short_links",
    # Emergency posts go out as urgent alerts where the platform has them (governance/delivery_content.py).
    "governance.delivery_content.delivery_content_urgent_for_emergencies",
]
# Findings the channels page lists under "needs attention" (dotted paths; f(*, user) -> [finding with
# .message, .action_url, .action_label, .department]). Wired here so scheduler imports no app above it.
CIVICPOST_CHANNEL_PAGE_FINDINGS: list[str] = ["intake.selectors.feed_findings"]
# The public-records archive (issue 14): where archived media copies and records-request bundles are kept
# (outside the media library), the sources the capture job reads (dotted paths of archive.sources.CaptureSource
# values; the inbox's comments and moderation actions plug in here), how often it runs, and whether the city
# publishes the public transparency page (/records/public/) and its RSS feed.
CIVICPOST_ARCHIVE_ROOT = env.str("CIVICPOST_ARCHIVE_ROOT", default=str(BASE_DIR / "archive-store"))
CIVICPOST_ARCHIVE_SOURCES: list[str] = env.list(
    "CIVICPOST_ARCHIVE_SOURCES",
    default=[
        "archive.sources.PUBLICATIONS",
        "archive.sources.REMOTE_REMOVALS",
        "archive.sources.COMMENTS",
        "archive.sources.MODERATION",
    ],
)
CIVICPOST_ARCHIVE_CAPTURE_SECONDS = env.int("CIVICPOST_ARCHIVE_CAPTURE_SECONDS", default=300)
CIVICPOST_TRANSPARENCY_PAGE = env.bool("CIVICPOST_TRANSPARENCY_PAGE", default=False)
# User-given platform addresses (Mastodon instances, Bluesky PDSes) must be public https; tests and local
# demos against a fake platform on this machine set this to allow http://127.0.0.1 (scheduler/adapters/ssrf.py).
CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = env.bool("CIVICPOST_ALLOW_LOOPBACK_PLATFORMS", default=False)
# X app keys: consumer key/secret sign OAuth 1.0a calls; client id/secret renew OAuth 2.0 user tokens.
CIVICPOST_X_CONSUMER_KEY = env.str("CIVICPOST_X_CONSUMER_KEY", default="")
CIVICPOST_X_CONSUMER_SECRET = env.str("CIVICPOST_X_CONSUMER_SECRET", default="")
CIVICPOST_X_CLIENT_ID = env.str("CIVICPOST_X_CLIENT_ID", default="")
CIVICPOST_X_CLIENT_SECRET = env.str("CIVICPOST_X_CLIENT_SECRET", default="")
# Meta (Facebook Pages, Instagram, Threads). The Graph API version is pinned; Meta supports each version
# about two years (https://developers.facebook.com/docs/graph-api/changelog). Threads has its own app id.
CIVICPOST_GRAPH_API_VERSION = env.str("CIVICPOST_GRAPH_API_VERSION", default="v27.0")
CIVICPOST_META_APP_ID = env.str("CIVICPOST_META_APP_ID", default="")
CIVICPOST_META_APP_SECRET = env.str("CIVICPOST_META_APP_SECRET", default="")
# The word Meta's webhook set-up sends back (hub.verify_token) when the inbox's Instagram webhook is registered in
# the Meta app (README "Inbox"); empty: the endpoint refuses verification. Deliveries are checked with the app secret.
CIVICPOST_META_WEBHOOK_VERIFY_TOKEN = env.str("CIVICPOST_META_WEBHOOK_VERIFY_TOKEN", default="")
CIVICPOST_THREADS_APP_ID = env.str("CIVICPOST_THREADS_APP_ID", default="")
CIVICPOST_THREADS_APP_SECRET = env.str("CIVICPOST_THREADS_APP_SECRET", default="")
# Nextdoor's Publish API for public agencies: client id and secret issued by Nextdoor after applying.
CIVICPOST_NEXTDOOR_CLIENT_ID = env.str("CIVICPOST_NEXTDOOR_CLIENT_ID", default="")
CIVICPOST_NEXTDOOR_CLIENT_SECRET = env.str("CIVICPOST_NEXTDOOR_CLIENT_SECRET", default="")
# LinkedIn Pages (Community Management API, granted by LinkedIn on request). Every call names a monthly API
# version (YYYYMM), each supported at least a year: https://learn.microsoft.com/en-us/linkedin/marketing/versioning
CIVICPOST_LINKEDIN_CLIENT_ID = env.str("CIVICPOST_LINKEDIN_CLIENT_ID", default="")
CIVICPOST_LINKEDIN_CLIENT_SECRET = env.str("CIVICPOST_LINKEDIN_CLIENT_SECRET", default="")
CIVICPOST_LINKEDIN_API_VERSION = env.str("CIVICPOST_LINKEDIN_API_VERSION", default="202607")
# One Google Cloud OAuth client for YouTube and Google Business Profile (scheduler/adapters/google/).
CIVICPOST_GOOGLE_CLIENT_ID = env.str("CIVICPOST_GOOGLE_CLIENT_ID", default="")
CIVICPOST_GOOGLE_CLIENT_SECRET = env.str("CIVICPOST_GOOGLE_CLIENT_SECRET", default="")
# YouTube Data API daily quota CivicPost lets each channel use (reset at midnight Pacific Time): units for
# every method but uploads, and videos.insert calls (their own bucket since 2026; see youtube/adapter.py).
CIVICPOST_YOUTUBE_DAILY_QUOTA_UNITS = env.int("CIVICPOST_YOUTUBE_DAILY_QUOTA_UNITS", default=10000)
CIVICPOST_YOUTUBE_DAILY_UPLOADS = env.int("CIVICPOST_YOUTUBE_DAILY_UPLOADS", default=100)
# Sandbox behaviour for demos and tests: ok, fail, rate_limit, timeout, drop_response.
CIVICPOST_SANDBOX_MODE = env.str("CIVICPOST_SANDBOX_MODE", default="ok")
# Adapters import no app module (scheduler/adapters/): these name the app code they are handed instead.
# The media library's fitter for attached images, and where the Sandbox platform keeps its posts.
CIVICPOST_MEDIA_FITTER = "scheduler.media_fitting.LibraryMediaFitter"
CIVICPOST_SANDBOX_STORE = "scheduler.sandbox_store.DatabaseSandboxStore"
# Where a video upload still being processed by a platform is kept between attempts (scheduler/adapters/video.py).
CIVICPOST_UPLOAD_PROGRESS_STORE = "medialibrary.uploads.DatabaseUploadProgress"
# How long a worker waits for a platform to process a video before it lets go and checks again later.
CIVICPOST_VIDEO_INLINE_WAIT_SECONDS = env.float("CIVICPOST_VIDEO_INLINE_WAIT_SECONDS", default=10.0)

# Comma-separated Fernet keys, newest first. Tokens are encrypted with the first one and can be
# read with any; `manage.py rotate_keys` re-encrypts everything under the first.
CIVICPOST_ENCRYPTION_KEYS = env.list("CIVICPOST_ENCRYPTION_KEYS", default=[])

# --- Sign-in (django-allauth): email + password, accounts created by administrators.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "departments.allauth.CivicAccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
LOGIN_REDIRECT_URL = "scheduler:dashboard"
LOGIN_URL = "account_login"
# allauth's defaults, written out: 5 failed sign-ins for one address in 5 minutes (10 a minute from one
# address) and it refuses more. They count in CACHES["default"]: Redis whenever REDIS_URL is set.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "login": "30/m/ip", "reauthenticate": "10/m/user"}
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# Whose address the "/ip" limits count: behind a proxy every request comes from the proxy, so one person
# guessing passwords would lock everybody out. X-Forwarded-For is trusted only for the given number of
# proxies of our own (the last address each appended; the rest can be typed by anyone), or one header
# that the proxy sets and nobody else can (such as X-Real-IP from nginx, CF-Connecting-IP). The audit
# trail records the same address (audit.context).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int(
    "CIVICPOST_TRUSTED_PROXY_COUNT", default=1 if env.bool("DJANGO_BEHIND_PROXY", default=False) else 0
)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("CIVICPOST_TRUSTED_CLIENT_IP_HEADER", default="") or None
# E-mail the user when their password, e-mail address or two-step verification changes.
ACCOUNT_EMAIL_NOTIFICATIONS = True

# Two-step verification (allauth.mfa). accounts.middleware.MFARequiredMiddleware sends approvers, department
# admins and staff without it to set it up; secrets are encrypted by accounts.adapters.CivicMFAAdapter.
MFA_ADAPTER = "accounts.adapters.CivicMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = "CivicPost"
# Browsers allow security keys on http://127.0.0.1 only in local development.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
CIVICPOST_REQUIRE_MFA = env.bool("CIVICPOST_REQUIRE_MFA", default=True)
# A sign-in through the city's identity provider follows that provider's own MFA policy.
CIVICPOST_MFA_TRUST_SSO = env.bool("CIVICPOST_MFA_TRUST_SSO", default=True)
# civicpost.reauth.require_recent_auth: the password again before connecting or disconnecting a channel,
# changing roles, the approval policy or a department's settings, switching a crisis hold on or off,
# releasing a held post or an emergency post, unless the user signed in within ACCOUNT_REAUTHENTICATION_TIMEOUT.
CIVICPOST_REQUIRE_REAUTH = True

# Single sign-on (allauth.socialaccount): OpenID Connect (Microsoft Entra ID, Google Workspace) and SAML,
# only when configured here, and only for accounts that already exist (accounts/sso.py explains).
SOCIALACCOUNT_PROVIDERS = sso_providers(
    oidc_json=env.str("CIVICPOST_OIDC_PROVIDERS", default=""),
    saml_json=env.str("CIVICPOST_SAML_PROVIDERS", default=""),
    entra=(
        env.str("CIVICPOST_ENTRA_TENANT_ID", default=""),
        env.str("CIVICPOST_ENTRA_CLIENT_ID", default=""),
        env.str("CIVICPOST_ENTRA_CLIENT_SECRET", default=""),
    ),
    google=(
        env.str("CIVICPOST_GOOGLE_CLIENT_ID", default=""),
        env.str("CIVICPOST_GOOGLE_CLIENT_SECRET", default=""),
        env.str("CIVICPOST_GOOGLE_WORKSPACE_DOMAIN", default=""),
    ),
    email_domains=env.list("CIVICPOST_SSO_EMAIL_DOMAINS", default=[]),
)
if saml_available():
    # python3-saml is optional: without it SAML cannot be configured (accounts/sso.py says so).
    INSTALLED_APPS.insert(INSTALLED_APPS.index("allauth.usersessions"), "allauth.socialaccount.providers.saml")
SOCIALACCOUNT_ADAPTER = "accounts.adapters.CivicSocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
# The identity provider's tokens are only needed to sign in; allauth would store them in clear.
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = CIVICPOST_HTTP_TIMEOUT_SECONDS

# "Where you are signed in" (allauth.usersessions), with the last address and time seen.
USERSESSIONS_TRACK_ACTIVITY = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Have I Been Pwned's k-anonymity range API (only 5 hex characters of the SHA-1 leave); needs the internet.
CIVICPOST_PWNED_PASSWORDS_CHECK = env.bool("CIVICPOST_PWNED_PASSWORDS_CHECK", default=False)
if CIVICPOST_PWNED_PASSWORDS_CHECK:
    AUTH_PASSWORD_VALIDATORS.append({"NAME": "accounts.validators.PwnedPasswordValidator"})

# Idle limit: a sign-in ends after this long without a request (renewed by every request).
SESSION_COOKIE_AGE = env.int("CIVICPOST_SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
# Absolute limit: however active, sign in again after this long (0: no limit).
CIVICPOST_SESSION_MAX_SECONDS = env.int("CIVICPOST_SESSION_MAX_SECONDS", default=12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG and SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content Security Policy (django-csp): scripts, styles, fonts and images only from CivicPost itself; no
# inline script or style anywhere (templates keep them in static/). data: images are allauth's TOTP QR
# code and USWDS's inline SVG icons. No form-action: sign-in with an identity provider and connecting a
# platform post a form that redirects to another site, which form-action would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Language and time: store UTC, show each department's zone.
# The interface language: the one a person chose on their account page (people.PersonalSettings), else the
# browser's (Accept-Language, through LocaleMiddleware), else English. Also the languages posts may be in;
# their names are translated where shown (civicpost.languages.language_name).
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("es", "Spanish")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: our own in static/, USWDS and htmx straight from node_modules (npm ci).
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("uswds", BASE_DIR / "node_modules" / "@uswds" / "uswds" / "dist"),
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "CIVICPOST_STATICFILES_STORAGE", default="django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env.str("CIVICPOST_MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = "media/"

# --- Email: one URL (django-environ), e.g. smtp+tls://user:password@smtp.example.gov:587 (percent-encode
# "@" and ":" in the user name and password). consolemail:// prints each message (the default, as in
# `make run`), dummymail:// drops them.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or None
# Notifications are sent when a request's transaction commits: a mail server that hangs must not hang it.
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="civicpost@localhost")
# Sender of the error reports Django mails to ADMINS.
SERVER_EMAIL = env.str("DJANGO_SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Approval digest: one email a day per approver with what waits for them, from this hour (0-23) on,
# in this zone (an IANA name).
CIVICPOST_DIGEST_HOUR = env.int("CIVICPOST_DIGEST_HOUR", default=7)
CIVICPOST_DIGEST_TIME_ZONE = env.str("CIVICPOST_DIGEST_TIME_ZONE", default="America/Chicago")
if not 0 <= CIVICPOST_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("CIVICPOST_DIGEST_HOUR must be an hour from 0 to 23.")
try:
    zoneinfo.ZoneInfo(CIVICPOST_DIGEST_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
    raise ImproperlyConfigured(
        "CIVICPOST_DIGEST_TIME_ZONE must be a time zone name such as America/Chicago."
    ) from error

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("CIVICPOST_LOG_LEVEL", default="INFO")},
    "loggers": {
        # These client libraries log request headers (bearer tokens) at DEBUG: never below INFO.
        "tweepy": {"level": "INFO"},
        "mastodon": {"level": "INFO"},
        "atproto_client": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "urllib3": {"level": "INFO"},
    },
}


# --- The REST API (api/, README "API"): personal tokens and the session, problem-details errors, cursor pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that an unauthenticated request answers 401 with `WWW-Authenticate: Bearer`.
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "api.permissions.HasTokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerTokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per minute (or "/hour", "/day") one API token may make; a signed-in browser counts per person.
CIVICPOST_API_RATE_LIMIT = env.str("CIVICPOST_API_RATE_LIMIT", default="300/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "CivicPost API",
    "DESCRIPTION": (
        "Drafts, submissions and delivery status for the city's own systems. Authenticate with a personal API "
        "token (Account & security → API tokens): `Authorization: Bearer cpt_…`. Errors are RFC 9457 problem "
        "details (application/problem+json). Approving a post stays a signed-in browser action with two-step "
        "verification."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN, and within the site's CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PostStatusEnum": "scheduler.models.PostStatus",
        "DeliveryStatusEnum": "scheduler.models.DeliveryStatus",
        "ChannelStatusEnum": "scheduler.models.ChannelStatus",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "apiToken": {"type": "http", "scheme": "bearer", "description": "A personal API token (cpt_…)."}
        }
    },
    "SECURITY": [{"apiToken": []}],
    "AUTHENTICATION_WHITELIST": ["api.authentication.ApiTokenAuthentication"],
}
