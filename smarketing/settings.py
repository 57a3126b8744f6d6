"""The one settings module. Every value comes from the environment; production differs from
development only by what the environment says (see README, "Configuration")."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from smarketing.crypto import check_keys
from smarketing.env import env_bool, env_int, env_list, env_str, mailer_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SMARKETING_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# pytest-django imports these settings with pytest loaded; a subprocess started by a test
# (to check production refusals) does not, so it sees the real rules.
TESTING = "pytest" in sys.modules

DEBUG = env_bool("DEBUG", False)

_INSECURE_KEY = "django-insecure-smarketing-development-only"
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY or SECRET_KEY == _INSECURE_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a long random value when DEBUG is off "
            "(for development, set DEBUG=1 instead)."
        )
    SECRET_KEY = _INSECURE_KEY
elif len(SECRET_KEY) < 32 and not (DEBUG or TESTING):
    raise ImproperlyConfigured("SECRET_KEY is too short: use at least 32 random characters.")

# Keys for secrets stored encrypted (webhook signing secrets): comma-separated Fernet keys,
# the first encrypts, all decrypt. Empty: one key derived from SECRET_KEY (why, and how to
# rotate: smarketing/crypto.py, docs/reliability.md).
FIELD_ENCRYPTION_KEYS = check_keys(env_list("FIELD_ENCRYPTION_KEYS", []))

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG or TESTING else []
)
if TESTING:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "bootstrap",
    "chartkick.django",
    "smarketing",
    "personas",
    "leads",
    "sla",
    "goals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view says @login_not_required; DRF views opt
    # out and authenticate for themselves (session, token, ingest key), answering in JSON.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "smarketing.urls"
WSGI_APPLICATION = "smarketing.wsgi.application"

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
                "smarketing.context_processors.navigation",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL names another one.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'smarketing.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions wait for the lock instead of failing half-way.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if TESTING:
    # Tests start workers in threads; connections must not outlive the task that opened them.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not SQLite's shared in-memory database: its table locks fail at once
        # ("database table is locked") when a worker thread writes, where a file in WAL
        # mode waits for the lock. One file per test process.
        DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when there is one, else files under var/ so that every process sees
# the same rate-limit counters.
REDIS_URL = env_str("REDIS_URL")
if TESTING:
    # Tests run workers in threads of their own process; a per-process cache keeps one
    # test's counters and keys from leaking into the next run.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "smarketing.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smarketing",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Rate limits (smarketing/ratelimit.py, atomic counters in the cache above)
LOGIN_RATE_LIMIT = env_int("LOGIN_RATE_LIMIT", 10)  # attempts per username + address
LOGIN_RATE_WINDOW_SECONDS = env_int("LOGIN_RATE_WINDOW_SECONDS", 300)
# Requests per minute per ingest key (a batch of up to 1,000 events is one request); 0 = off.
INGEST_KEY_RATE_PER_MINUTE = env_int("INGEST_KEY_RATE_PER_MINUTE", 6000)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing is deliberately slow; tests log in hundreds of times.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# --- Security: secure cookies and HSTS whenever we are not in development.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health checks come from inside the network over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Joining the browsers' HSTS preload list is a commitment for the whole domain that only its
# owner can make; SECURE_HSTS_PRELOAD=1 opts in.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite builds covering indexes (INCLUDE) as plain ones: same rows, no index-only scan.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
# Only our own origin may serve code, styles, images or receive data. Inline scripts stay
# allowed because chartkick renders each chart as an inline script; every asset is local.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Email: printed to the console unless EMAIL_URL names a server.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "smarketing <noreply@smarketing.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MAILERS = {"default": mailer_from_url(env_str("EMAIL_URL", "console://"))}

# --- Notifications: links in emails and webhooks are absolute, built on SITE_URL.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")
# Webhooks to loopback, link-local or private addresses are refused (SSRF) unless allowed
# here, for tests and receivers on the same machine.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
# Delivery retries back off exponentially from this step, with jitter, up to an hour apart.
NOTIFICATION_RETRY_BASE_SECONDS = env_int("NOTIFICATION_RETRY_BASE_SECONDS", 5)
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 10)

# --- Celery: Redis when REDIS_URL / CELERY_BROKER_URL is set; otherwise kombu's filesystem
# transport under var/, which needs no server (it polls about once a second).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's transport, with messages written whole (see smarketing/broker.py).
    CELERY_BROKER_TRANSPORT = "smarketing.broker:Transport"
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _processed_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        # Look for new messages ten times a second (the default is once): a handoff
        # reaches its rep within a fraction of a second, and the startup backlog of demo
        # notifications drains in seconds, not minutes.
        "polling_interval": 0.1,
        # Broadcast/control messages (pidbox) would otherwise land in ./control.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
else:
    # Above the longest task and any countdown we use; scheduled follow-ups are database
    # rows swept by beat, never long ETAs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_IMPORTS = [
    "leads.scoring.tasks",
    "leads.handoff.tasks",
    "leads.reconcile",
    "smarketing.notifications.tasks",
]
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "smarketing.tasks.heartbeat", "schedule": timedelta(seconds=15)},
    "scoring-decay": {"task": "leads.scoring.tasks.decay_sweep", "schedule": timedelta(hours=1)},
    # The outbox's safety net: retries and rows whose on-commit wake-up was lost.
    "notifications-sweep": {
        "task": "smarketing.notifications.tasks.deliver_due",
        "schedule": timedelta(seconds=30),
    },
    "sla-sweep": {"task": "sla.tasks.sla_sweep_task", "schedule": timedelta(minutes=1)},
    # Hourly; the task emails the weekly review once, on the agreement's review weekday.
    "sla-weekly-review": {"task": "sla.tasks.send_weekly_review", "schedule": timedelta(hours=1)},
    "reconcile": {"task": "leads.reconcile.reconcile_task", "schedule": timedelta(minutes=2)},
    # Hourly, so an alert goes out early in the day; the task itself sends at most one
    # email per goal per day.
    "goals-pacing-alerts": {
        "task": "goals.tasks.send_pacing_alerts",
        "schedule": timedelta(hours=1),
    },
}
# A heartbeat older than this means no worker is consuming.
WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=env_int("WORKER_HEARTBEAT_MAX_AGE", 60))

# --- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # DRF's token login with the token and its user read in one query.
        "smarketing.authentication.TokenAuthentication",
        # Listed everywhere so that an ingest key used off the intake endpoints gets a
        # clear 403 instead of a vague 401; see smarketing/authentication.py.
        "smarketing.authentication.IngestKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "smarketing.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "smarketing API",
    "DESCRIPTION": "Leads, events, personas, scoring, the sales queue, SLA and goals.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents the errors DRF answers everywhere (400/401/403/404/415).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "smarketing.openapi.document_error_responses",
    ],
    # One schema name per choice set, so clients see e.g. RejectReasonEnum, not ReasonEnum
    # twice or a hashed KindB3aEnum.
    "ENUM_NAME_OVERRIDES": {
        "ActivityTypeEnum": "leads.models.ActivityType",
        "AgreementStatusEnum": "sla.models.AgreementStatus",
        "BodyFormatEnum": "smarketing.notifications.models.BodyFormat",
        "BuyerStageEnum": "personas.models.BuyerStage",
        "ChannelEnum": "smarketing.notifications.models.Channel",
        "ClockKindEnum": "sla.models.ClockKind",
        "ClockStatusEnum": "sla.models.ClockStatus",
        "ContentFormatEnum": "personas.models.ContentFormat",
        "CriterionKindEnum": "personas.models.CriterionKind",
        "DeliveryStatusEnum": "smarketing.notifications.models.DeliveryStatus",
        "HandoffStatusEnum": "leads.handoff.models.HandoffStatus",
        "ImportStatusEnum": "leads.models.ImportStatus",
        "ModelStatusEnum": "leads.scoring.models.ModelStatus",
        "OperatorEnum": "personas.models.Operator",
        "PacingCurveEnum": "goals.models.PacingCurve",
        "PeriodKindEnum": "goals.periods.PeriodKind",
        "PersonaStatusEnum": "personas.models.PersonaStatus",
        "QuestionStatusEnum": "personas.models.QuestionStatus",
        "RejectReasonEnum": "leads.handoff.models.RejectReason",
        "RescoreStatusEnum": "leads.scoring.models.RescoreStatus",
        "RuleKindEnum": "leads.scoring.models.RuleKind",
        "SeniorityEnum": "leads.models.Seniority",
        "TeamEnum": "personas.models.SignOffTeam",  # goals.GoalTeam too (plus blank)
        "SlaEventKindEnum": "sla.models.SlaEventKind",
        "StageKindEnum": "leads.models.StageKind",
        "TargetKindEnum": "leads.routing.models.TargetKind",
        "TouchKindEnum": "leads.handoff.models.TouchKind",
        "TouchOutcomeEnum": "leads.handoff.models.TouchOutcome",
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
