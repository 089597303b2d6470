"""Drift after an account's first sync: its principals are first seen, not added; drift as CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import LinkedAccount, SyncRun
from findings.models import Finding, Principal

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"
pytestmark = pytest.mark.django_db


def _import(path: Path) -> None:
    call_command(
        "import_gaad", str(path), "--account", "111122223333", "--name", "prod", stdout=io.StringIO()
    )


def _csv(client: Any) -> list[dict[str, str]]:
    response = client.get("/drift/export.csv")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_first_sync_is_first_seen_then_later_syncs_add(client_as: Any, tmp_path: Path) -> None:
    _import(FIXTURE)
    run = SyncRun.objects.get()
    assert run.counts["first_sync"] is True and run.counts["added"] == 0
    assert run.counts["first_seen"] == Principal.objects.count() > 0
    assert Finding.objects.filter(kind="admin").exists()
    viewer = client_as("viewer")
    page = viewer.get("/drift/")
    context = page.context
    assert context["first_seen"].total == Principal.objects.count()
    assert context["added"].items == [] and context["new_admins"].items == []
    body = page.content.decode()
    assert "Principals added (0)" in body and "New administrators (0)" in body and "First seen (" in body
    rows = _csv(viewer)
    assert {r["change"] for r in rows} == {"first seen"}

    data = json.loads(FIXTURE.read_text())
    data["UserDetailList"].append(
        {
            "UserName": "dora",
            "Arn": "arn:aws:iam::111122223333:user/dora",
            "UserPolicyList": [],
            "GroupList": [],
            "AttachedManagedPolicies": [
                {
                    "PolicyName": "AdministratorAccess",
                    "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                }
            ],
        }
    )
    second = tmp_path / "second.json"
    second.write_text(json.dumps(data))
    _import(second)
    assert SyncRun.objects.order_by("-pk").first().counts["added"] == 1
    context = viewer.get("/drift/").context
    assert [c.principal_arn for c in context["added"].items] == ["arn:aws:iam::111122223333:user/dora"]
    assert [f.principal_arn for f in context["new_admins"].items] == ["arn:aws:iam::111122223333:user/dora"]
    rows = _csv(viewer)
    added = [r for r in rows if r["change"] in ("principal added", "new administrator")]
    assert {(r["change"], r["principal"]) for r in added} == {
        ("principal added", "arn:aws:iam::111122223333:user/dora"),
        ("new administrator", "arn:aws:iam::111122223333:user/dora"),
    }
    assert all(r["account"] == "prod" for r in rows)
    assert LinkedAccount.objects.count() == 1
