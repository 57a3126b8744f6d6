"""Settings refuse unsafe production values. Each case imports the settings in a fresh
interpreter, as a production process would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(**env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "smarketing.settings"
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_key():
    result = _load_settings(DEBUG="0", SECRET_KEY="django-insecure-smarketing-development-only")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_short_key():
    result = _load_settings(DEBUG="0", SECRET_KEY="short")
    assert result.returncode != 0
    assert "too short" in result.stderr


def test_production_starts_with_a_real_key():
    result = _load_settings(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False")


def test_development_runs_without_a_key():
    result = _load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_bad_boolean_is_a_clear_error():
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_database_url_selects_the_engine():
    result = _load_settings(DEBUG="1", DATABASE_URL="postgres://u:p@127.0.0.1:5432/x")
    assert result.returncode == 0, result.stderr
    assert "postgresql" in result.stdout


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("smtp://user:pw@mail.example.com:587", "smtp.EmailBackend"),
        ("console://", "console.EmailBackend"),
    ],
)
def test_email_url_is_understood(url, backend):
    from smarketing.env import mailer_from_url

    assert mailer_from_url(url)["BACKEND"].endswith(backend)


def test_unknown_email_scheme_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    from smarketing.env import mailer_from_url

    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme"):
        mailer_from_url("carrier-pigeon://coop")


def test_production_passes_the_deploy_checks():
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(
        DEBUG="0",
        SECRET_KEY="7Jq2-vX9#mL4pR8zT1wY6bN3cF5hK0dS" * 2,
        ALLOWED_HOSTS="smarketing.example.com",
        EMAIL_URL="smtp://user:pw@mail.example.com:587",
        DJANGO_SETTINGS_MODULE="smarketing.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
