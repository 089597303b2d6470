"""docker-compose.yml is well-formed and wires the five services the README describes."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_has_the_services_and_their_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    assert services["worker"]["command"][:4] == ["celery", "-A", "iamreview", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "iamreview", "beat"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "SECRET_KEY" in env and "?" in env["SECRET_KEY"], "SECRET_KEY must be required, not defaulted"
        assert services[name]["build"] == "."
    assert "pgdata" in compose["volumes"]


def test_dockerfile_runs_as_non_root_and_collects_static() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER iamreview" in text
    assert "collectstatic" in text
    assert "requirements.lock" in text
