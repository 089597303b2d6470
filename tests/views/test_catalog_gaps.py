"""Catalog gaps: an action AWS managed policies name and the catalog lacks is listed once on the account's
page (the policies naming it, how many users and roles hold them, what to do), never a finding per
principal; the catalog page lets an administrator refresh the catalog from a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import LinkedAccount
from core.models import AuditEvent
from findings.analysis import account_analyze
from findings.models import CatalogGap, Principal
from policy.catalog import refreshed_definition_path, shipped_definition_path
from policy.gaad import load_gaad
from tests.policy.gaad_builder import ACCOUNT, Gaad, allow, doc

pytestmark = pytest.mark.django_db

MANAGED = "arn:aws:iam::aws:policy/NewServiceAccess"


def _gaad() -> Gaad:
    g = Gaad()
    g.data["Policies"].append(
        {
            "PolicyName": "NewServiceAccess",
            "Arn": MANAGED,
            "DefaultVersionId": "v1",
            "PolicyVersionList": [
                {
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                    "Document": doc(allow(["s3:GetObject", "brandnewsvc:Do", "s3:BrandNewThing"])),
                }
            ],
        }
    )
    g.group("analysts", attached=[MANAGED])
    g.user("ann", groups=["analysts"])
    g.user("bob", attached=[MANAGED])
    g.user("typo", inline={"p": doc(allow("s3:GetObjectt"))})
    return g


@pytest.fixture
def analysed() -> LinkedAccount:
    account = LinkedAccount.objects.create(
        account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
    )
    g = _gaad()
    for kind, items in (("user", "UserDetailList"), ("group", "GroupDetailList")):
        for item in g.data[items]:
            name = item.get("UserName") or item.get("GroupName")
            Principal.objects.create(account=account, arn=item["Arn"], kind=kind, name=name)
    account_analyze(account=account, details=load_gaad(g.data))
    return account


def test_each_unknown_action_is_stored_once_with_its_policies_and_holders(analysed: LinkedAccount) -> None:
    gaps = {g.action: g for g in CatalogGap.objects.filter(account=analysed)}
    assert set(gaps) == {"brandnewsvc:do", "s3:brandnewthing"}
    for gap in gaps.values():
        assert gap.policies == ["NewServiceAccess"]
        assert gap.principal_count == 2  # ann through her group, bob directly; not the group itself
    assert gaps["brandnewsvc:do"].why == "unknown service prefix 'brandnewsvc'"
    assert gaps["s3:brandnewthing"].why == "matches no known action"


def test_account_page_shows_the_gaps_once_with_what_to_do(analysed: LinkedAccount, client_as: Any) -> None:
    page = client_as("viewer").get(f"/accounts/{analysed.pk}/").content.decode()
    assert f'hx-get="/accounts/{analysed.pk}/catalog-gaps/"' in page
    fragment = client_as("viewer").get(f"/accounts/{analysed.pk}/catalog-gaps/").content.decode()
    assert fragment.count("<code>brandnewsvc:do</code>") == 1
    assert "<code>NewServiceAccess</code>" in fragment and "<td>2</td>" in fragment
    assert 'href="/catalog/"' in fragment and "refresh the action catalog" in fragment
    assert "typo" not in fragment  # the account's own policy's unknown action is a finding, not a gap


def test_a_later_analysis_without_gaps_clears_them(analysed: LinkedAccount, client_as: Any) -> None:
    g = _gaad()
    g.data["Policies"][-1]["PolicyVersionList"][0]["Document"] = doc(allow("s3:GetObject"))
    account_analyze(account=analysed, details=load_gaad(g.data))
    assert not CatalogGap.objects.filter(account=analysed).exists()
    fragment = client_as("viewer").get(f"/accounts/{analysed.pk}/catalog-gaps/").content.decode()
    assert "knows every action" in fragment


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("IAMREVIEW_IAM_DEFINITION", raising=False)
    monkeypatch.setenv("IAMREVIEW_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def test_catalog_page_lists_gaps_and_an_admin_refreshes_from_an_upload(
    analysed: LinkedAccount, client_as: Any, var_dir: Path
) -> None:
    page = client_as("viewer").get("/catalog/").content.decode()
    assert "<code>brandnewsvc:do</code>" in page and 'name="definition"' not in page
    admin = client_as("admin")
    assert 'name="definition"' in admin.get("/catalog/").content.decode()
    broken = SimpleUploadedFile("iam-definition.json", b"{not json")
    response = admin.post("/catalog/refresh/", {"definition": broken}, follow=True)
    assert "is not an IAM definition" in response.content.decode()
    assert not refreshed_definition_path().exists()
    data = json.loads(shipped_definition_path().read_text())
    data["brandnewsvc"] = {
        "service_name": "Brand New Service",
        "prefix": "brandnewsvc",
        "privileges": {"Do": {"privilege": "Do", "access_level": "Write", "resource_types": {"": {}}}},
        "resources": {},
        "conditions": {},
    }
    newer = SimpleUploadedFile("iam-definition.json", json.dumps(data).encode())
    response = admin.post("/catalog/refresh/", {"definition": newer}, follow=True)
    assert "IAM definition refreshed" in response.content.decode()
    assert refreshed_definition_path().exists()
    event = AuditEvent.objects.get(action="catalog.refresh")
    assert event.actor_name == "admin" and "1 new" in event.summary
    assert client_as("reviewer").post("/catalog/refresh/", {"definition": newer}).status_code == 403
