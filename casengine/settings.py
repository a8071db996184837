"""Settings read from the environment.

DATABASE_URL picks the database (a SQLite file in the project by default,
PostgreSQL through psycopg 3 when it names one). With DEBUG off the settings
are production-safe: SECRET_KEY must be given and cookies are secure.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set SECRET_KEY in the environment (or DEBUG=true for development)."
        )
    SECRET_KEY = "development-only-secret-key-never-used-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Trigram indexes for the grids' search (clients migration 0007): OpClass in an index.
    "django.contrib.postgres",
    "csp",
    "axes",
    "guardian",
    "django_filters",
    "django_tables2",
    "users",
    "clients",
    "transfers",
    # After transfers: its `db_worker` (django-tasks' worker with the reaper of
    # dead transfer jobs) takes the place of django_tasks_db's.
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Its process_view parses a view's larger form before CSRF's reads request.POST.
    "casengine.middleware.ViewPostFieldLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "users.middleware.EndRefusedSessionsMiddleware",
    "casengine.middleware.UnstorableQueryMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into our lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "casengine.urls"
WSGI_APPLICATION = "casengine.wsgi.application"

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
                "users.context_processors.navigation",
                "clients.context_processors.record_types",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, and the busy
    # timeout makes a second writer wait for it instead of failing with
    # "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs up to a second on the workload subqueries of the
    # user pages and never pays back on short interactive queries.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

# Background transfers report progress through a second alias (why: see
# transfers/background/routers.py): on SQLite a file beside the database, on PostgreSQL
# the same database over a connection of its own.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _database_file = Path(DATABASES["default"]["NAME"])
    DATABASES["progress"] = {
        **DATABASES["default"],
        "NAME": str(_database_file.with_name(f"{_database_file.stem}-progress.sqlite3")),
        "OPTIONS": {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # A file in the tests too, as in production: an in-memory database's shared
        # cache locks whole tables without waiting, so the progress page's read could
        # fail while the worker's thread writes.
        "TEST": {
            "NAME": str(_database_file.with_name(f"test-{_database_file.stem}-progress.sqlite3"))
        },
    }
else:
    DATABASES["progress"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["transfers.background.routers.ProgressRouter"]

# Transfers moving more than this many clients, matters and cases run in a
# worker (`manage.py db_worker`), with a progress page, instead of in the request.
TRANSFER_BACKGROUND_THRESHOLD = int(os.environ.get("TRANSFER_BACKGROUND_THRESHOLD", "20000"))
# A running transfer job renews its heartbeat every INTERVAL seconds; a job
# whose worker has shown no sign of life for TIMEOUT seconds is failed by the
# reaper every worker runs every REAP_INTERVAL seconds (transfers.background.reaper).
TRANSFER_JOB_HEARTBEAT_INTERVAL = float(os.environ.get("TRANSFER_JOB_HEARTBEAT_INTERVAL", "5"))
TRANSFER_JOB_HEARTBEAT_TIMEOUT = int(os.environ.get("TRANSFER_JOB_HEARTBEAT_TIMEOUT", "60"))
TRANSFER_JOB_REAP_INTERVAL = float(os.environ.get("TRANSFER_JOB_REAP_INTERVAL", "15"))
# django-tasks (the backport of Django 6's django.tasks) with its database
# backend: on Django 6 drop "django_tasks" from INSTALLED_APPS, nothing else.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username + address is refused before any password check.
    "casengine.security.SignInThrottleBackend",
    # ModelBackend, refusing suspended accounts as it refuses inactive ones.
    "users.backends.SignInBackend",
    "guardian.backends.ObjectPermissionBackend",
    "clients.backends.RecordAccessBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# guardian: no anonymous user row; object permissions come from the
# direct-foreign-key models in clients.models.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CaseEngine <noreply@casengine.local>")

# Sign-in throttling (django-axes), counted in one cool-off window:
# - five failed attempts for one username from one address lock that pair out;
# - fifty failed attempts from one address, whatever the usernames, lock the
#   address out, so it cannot guess across many usernames (an office behind
#   one address is not locked out by a few typos).
# A success resets only its own username and address (casengine.security). Behind a
# reverse proxy set AXES_IPWARE_PROXY_COUNT to the number of proxies so the
# client's address, not the proxy's, is counted.
SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
SIGN_IN_FAILURES_PER_ADDRESS = int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", "50"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = "casengine.security.failure_limit"
AXES_HANDLER = "casengine.security.SignInAttemptHandler"
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner on every manage.py command
AXES_LOCKOUT_CALLABLE = "casengine.security.lockout_response"
if os.environ.get("AXES_IPWARE_PROXY_COUNT"):
    AXES_IPWARE_PROXY_COUNT = int(os.environ["AXES_IPWARE_PROXY_COUNT"])
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Content-Security-Policy (django-csp): everything the pages use is served by
# the app itself, and no page has inline script or style. The Django admin is
# the one place that needs inline styles (see casengine.security).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
