"""The production shape is described in docker-compose.yml; no Docker engine runs in CI, so
check that the file says what the README promises."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_production_service_with_health_checks():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ["postgres", "redis", "web", "worker"]:
        assert "healthcheck" in services[name], name
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_compose_runs_redis_so_it_keeps_queued_work():
    command = _compose()["services"]["redis"]["command"]
    assert "--appendonly" in command and "yes" in command
    assert "noeviction" in command


def test_compose_app_services_take_secrets_from_the_environment():
    env = _compose()["services"]["web"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert env["DEBUG"] == "0"
    assert env["DATABASE_URL"].startswith("postgres://")


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme
