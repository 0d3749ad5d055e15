"""Django settings. Everything configurable comes from WINBACK_* environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from winback.environment import (
    SettingError,
    data_dir,
    database_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    lockout_parameters,
)

BASE_DIR = Path(__file__).resolve().parent
WINBACK_ENV = env_str("WINBACK_ENV", "development")
PRODUCTION = WINBACK_ENV == "production"
DATA_DIR = data_dir()

_DEV_KEY = "winback-development-key-not-for-production-use-0123456789abcdef"
SECRET_KEY = env_str("WINBACK_SECRET_KEY", "" if PRODUCTION else _DEV_KEY)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_KEY):
    raise SettingError("WINBACK_SECRET_KEY must be set to a long random value in production")

DEBUG = env_bool("WINBACK_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("WINBACK_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("WINBACK_CSRF_TRUSTED_ORIGINS", [])

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
    "axes",
    "csp",
    "winback.store.accounts",
    "winback.store.customers",
    "winback.store.imports",
    "winback.store.analysis",
    "winback.store.programme",
    "winback.web.workbench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "winback.web.middleware.SessionMaxAgeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # last, as django-axes asks: it turns a locked-out sign-in into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "winback.web.urls"
WSGI_APPLICATION = "winback.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

_db = database_url()
DATABASES: dict[str, dict[str, Any]]
if _db.engine == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _db.name,
            "OPTIONS": {
                # WAL lets readers (workbench) run while an import or analysis writes.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": os.environ.get("WINBACK_TEST_SQLITE_NAME") or None},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _db.name,
            "USER": _db.user,
            "PASSWORD": _db.password,
            "HOST": _db.host,
            "PORT": _db.port,
            "CONN_MAX_AGE": env_int("WINBACK_DB_CONN_MAX_AGE", 60),
            # A throwaway test database per test process, so parallel runs never collide.
            "TEST": {"NAME": f"test_{_db.name}_{os.getpid()}"},
        }
    }
WINBACK_DATABASE = _db

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

# django-axes first: it refuses a locked-out sign-in before any password is checked. It
# watches every authenticate() that carries a request (workbench and admin sign-in); calls
# without one (scripts, the test client's login) go straight to the model backend.
AUTHENTICATION_BACKENDS = [
    "winback.app.accounts.signin.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in throttling: after WINBACK_SIGNIN_FAILURES wrong passwords, each within
# WINBACK_SIGNIN_COOLOFF_MINUTES of the previous one, signing in is locked until that many
# minutes have passed since the last failure (the right password is refused meanwhile).
AXES_ENABLED = env_bool("WINBACK_SIGNIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("WINBACK_SIGNIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("WINBACK_SIGNIN_COOLOFF_MINUTES", 15))
# A user name and a client address are each locked after that many failures (one guesser
# cannot try many names either). Behind a proxy, WINBACK_PROXY_COUNT names how many proxies
# append to X-Forwarded-For, so the address is the client's, not the proxy's.
AXES_LOCKOUT_PARAMETERS = lockout_parameters(
    env_list("WINBACK_SIGNIN_LOCK_BY", ["username", "ip_address"])
)
WINBACK_PROXY_COUNT = env_int("WINBACK_PROXY_COUNT", 0)
if WINBACK_PROXY_COUNT > 0:
    AXES_IPWARE_PROXY_COUNT = WINBACK_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock ends on time, however tried
AXES_LOCKOUT_CALLABLE = "winback.web.workbench.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit log, not axes' tables
if AXES_FAILURE_LIMIT < 1 or timedelta(0) >= AXES_COOLOFF_TIME:
    raise SettingError("WINBACK_SIGNIN_FAILURES and WINBACK_SIGNIN_COOLOFF_MINUTES must be > 0")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sessions: 30 idle minutes, 12 hours at most. The idle limit is the session's expiry, moved
# forward by activity (at most once a minute, not a write per request); the absolute cap is
# enforced by accounts.middleware.
SESSION_COOKIE_AGE = env_int("WINBACK_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
WINBACK_SESSION_MAX_SECONDS = env_int("WINBACK_SESSION_MAX_SECONDS", 12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = env_str("WINBACK_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("WINBACK_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# In development and tests WhiteNoise serves straight from the apps' static folders; production
# serves what `winback serve` collected into STATIC_ROOT.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"

# Supervisor exports of the customer list: at most this many rows per file; an export of at
# least WINBACK_EXPORT_FLAG_ROWS rows, one cut at the cap, or a user's export beyond
# WINBACK_EXPORT_FLAG_DAILY in one day is flagged as unusual in the audit log.
WINBACK_EXPORT_MAX_ROWS = env_int("WINBACK_EXPORT_MAX_ROWS", 5000)
WINBACK_EXPORT_FLAG_ROWS = env_int("WINBACK_EXPORT_FLAG_ROWS", 2000)
WINBACK_EXPORT_FLAG_DAILY = env_int("WINBACK_EXPORT_FLAG_DAILY", 10)
# Retention (R13, PIPL): `winback monthly` anonymises customers with no order, event or contact
# for this many years (0 turns it off).
WINBACK_RETENTION_INACTIVE_YEARS = env_int("WINBACK_RETENTION_INACTIVE_YEARS", 3)

# Content-Security-Policy, the same in every environment so a page that breaks it breaks in
# development first: scripts, styles, images and frames from the workbench itself only; no
# inline script or style, no plug-ins, no framing by other sites. The HTML report, which is a
# self-contained file with its own <style>, is served with a policy of its own (no scripts at
# all; see views_reports).
CSP_SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "frame-src": [CSP_SELF],
        "frame-ancestors": ["'none'"],
        "form-action": [CSP_SELF],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if PRODUCTION:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (see docs/workbench.md).
    SECURE_SSL_REDIRECT = env_bool("WINBACK_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("WINBACK_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The CSRF token travels in the forms (and htmx's headers from the page), never read by
    # scripts from the cookie.
    CSRF_COOKIE_HTTPONLY = True
    if DEBUG:
        raise SettingError("WINBACK_DEBUG must not be true in production")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise SettingError("WINBACK_ALLOWED_HOSTS must name the workbench's host(s) in production")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_phones": {"()": "winback.redaction.RedactPhones"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_phones"]},
    },
    "root": {"handlers": ["console"], "level": env_str("WINBACK_LOG_LEVEL", "WARNING")},
    # Django's own loggers write only through the redacting handler (not Django's default
    # console handler, which would bypass the phone filter when DEBUG is on).
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}
