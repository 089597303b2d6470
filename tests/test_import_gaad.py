"""`manage.py import_gaad`: an offline file becomes an account's snapshot, analysed like a sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import LinkedAccount, SyncRun
from findings.models import Finding, ManagedPolicy, Principal, SnapshotChange

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "gaad" / "small-account.json"
pytestmark = pytest.mark.django_db


def test_import_creates_the_account_and_analyses_it(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import_gaad", str(FIXTURE), "--account", "111122223333")
    out = capsys.readouterr().out
    assert "6 principals" in out
    account = LinkedAccount.objects.get(account_id="111122223333")
    assert not account.enabled  # offline: nothing to sync from
    assert Principal.objects.filter(account=account).count() == 6
    admin = Principal.objects.get(account=account, name="admin")
    assert admin.is_admin and admin.risk_score >= 70
    ci = Principal.objects.get(account=account, name="ci")
    assert ci.escalation_paths[0]["path_id"] == "lambda-001"
    assert ManagedPolicy.objects.filter(account=account, aws_managed=True).count() == 2
    assert Finding.objects.filter(account=account, kind="trust-oidc-no-sub").exists()
    assert SyncRun.objects.get(account=account).trigger == "import"


def test_reimport_records_what_changed(tmp_path: Path) -> None:
    call_command("import_gaad", str(FIXTURE), "--account", "111122223333")
    data = json.loads(FIXTURE.read_text())
    data["UserDetailList"] = [u for u in data["UserDetailList"] if u["UserName"] != "bob"]
    data["RoleDetailList"][2]["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] = [
        "s3:GetObject"
    ]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    call_command("import_gaad", str(changed), "--account", "111122223333")
    latest = SyncRun.objects.filter(account__account_id="111122223333").order_by("-id").first()
    kinds = {
        (c.kind, c.principal_arn.rsplit("/", 1)[-1]) for c in SnapshotChange.objects.filter(sync_run=latest)
    }
    assert kinds == {("principal_removed", "bob"), ("policy_changed", "ci"), ("permission_revoked", "ci")}
    revoked = SnapshotChange.objects.get(sync_run=latest, kind="permission_revoked").detail["actions"]
    assert "iam:PassRole" in revoked and "s3:PutObject" in revoked and "s3:GetObject" not in revoked
    ci = Principal.objects.get(name="ci")
    assert ci.escalation_paths == []
    assert Finding.objects.get(principal_arn=ci.arn, kind="privilege-escalation").status == "resolved"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "12"], "exactly 12 digits"),
        (["--account", "111122223333"], "not a get-account-authorization-details"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(CommandError, match=message):
        call_command("import_gaad", str(path), *args)
    assert not Principal.objects.exists()


def test_catalog_gap_is_one_warning_of_the_run_not_a_finding_per_principal(tmp_path: Path) -> None:
    data = json.loads(FIXTURE.read_text())
    managed = "arn:aws:iam::aws:policy/NewServiceAccess"
    data["Policies"].append(
        {
            "PolicyName": "NewServiceAccess",
            "Arn": managed,
            "DefaultVersionId": "v1",
            "PolicyVersionList": [
                {
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                    "Document": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "brandnewsvc:Do", "Resource": "*"}],
                    },
                }
            ],
        }
    )
    for user in data["UserDetailList"]:
        user.setdefault("AttachedManagedPolicies", []).append(
            {"PolicyName": "NewServiceAccess", "PolicyArn": managed}
        )
    path = tmp_path / "gaad.json"
    path.write_text(json.dumps(data))
    call_command("import_gaad", str(path), "--account", "111122223333")
    account = LinkedAccount.objects.get(account_id="111122223333")
    run = SyncRun.objects.get(account=account)
    assert run.counts["catalog_gaps"] == 1
    assert [w for w in run.warnings if "NewServiceAccess" in w and "catalog_refresh" in w]
    assert not Finding.objects.filter(account=account, kind="unknown-action").exists()


def test_import_memory_per_principal_stays_bounded(tmp_path: Path) -> None:
    """A first import of 2,000 generated roles (docs/benchmarks.md, "One large account"): Python's traced
    peak per principal, from reading the file to the findings written. It was 60 KiB before the engine's
    masks were shared, the ingest read only the fields it needs and let go of the engine before writing
    the findings; it is about 40 KiB now."""
    import tracemalloc

    from benchmarks.gen_gaad import generate
    from policy.catalog import default_catalog

    path = tmp_path / "gaad-2000.json"
    path.write_text(json.dumps(generate(2000)))
    default_catalog().bit("s3:getobject")  # the catalog is loaded once per process, not per import
    tracemalloc.start()
    try:
        call_command("import_gaad", str(path), "--account", "123456789012")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    principals = Principal.objects.filter(account__account_id="123456789012").count()
    assert principals == 2102
    per_principal = peak / principals
    assert per_principal < 48 * 1024, f"{per_principal / 1024:.1f} KiB a principal"
