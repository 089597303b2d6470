"""`manage.py analyze`: the JSON contract of DESIGN.md, the table, clear errors, and no database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from policy.rules import PRIVESC_PATHS

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "gaad" / "small-account.json"
PATH_IDS = {p.id for p in PRIVESC_PATHS}


def _python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _run_json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    call_command("analyze", str(FIXTURE), "--format", "json")
    return json.loads(capsys.readouterr().out)


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    # No django_db mark: pytest-django makes any database access here raise.
    out = _run_json(capsys)
    assert set(out) == {"principals", "stats", "catalog_gaps", "catalog_gap_actions"}
    by_arn = {p["arn"]: p for p in out["principals"]}
    for p in out["principals"]:
        assert p["type"] in ("user", "role", "group")
        assert 0 <= p["risk_score"] <= 100
        assert isinstance(p["is_admin"], bool)
        for e in p["privilege_escalation"]:
            assert e["path_id"] in PATH_IDS
            assert isinstance(e["actions"], list) and isinstance(e["via"], list)
        for f in p["findings"]:
            assert {"kind", "severity", "actions", "resources", "detail"} <= set(f)
    assert by_arn["arn:aws:iam::111122223333:role/admin"]["is_admin"] is True
    alice = by_arn["arn:aws:iam::111122223333:user/alice"]
    assert [e["path_id"] for e in alice["privilege_escalation"]] == ["iam-007"]
    # PutUserPolicy on itself: an administrator-equivalent, counted among the administrators.
    assert alice["is_admin"] is True and alice["reaches_admin"] is True
    assert alice["admin_reason"].startswith("Administrator-equivalent")
    assert [h["path_id"] for h in alice["admin_path"]["hops"]] == ["iam-007"]
    ci = by_arn["arn:aws:iam::111122223333:role/ci"]
    assert {e["path_id"] for e in ci["privilege_escalation"]} == {"lambda-001"}
    assert ci["privilege_escalation"][0]["via"] == ["arn:aws:iam::111122223333:role/lambda-admin"]
    assert "trust-oidc-no-sub" in {f["kind"] for f in ci["findings"]}
    bob = by_arn["arn:aws:iam::111122223333:user/bob"]
    assert {e["path_id"] for e in bob["privilege_escalation"]} == {"sts-001"}
    assert out["stats"]["principals"] == 6 and out["stats"]["admins"] == 3
    for p in out["principals"]:
        assert isinstance(p["reaches_admin"], bool)
        assert p["reaches_admin"] == (p["admin_path"] is not None)


def test_table_lists_every_principal(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("analyze", str(FIXTURE))
    out = capsys.readouterr().out
    assert out.count("arn:aws:iam::111122223333:") == 6
    assert "6 principals, 3 admins" in out


def test_not_a_gaad_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(CommandError, match="not a get-account-authorization-details document"):
        call_command("analyze", str(bad))
    bad.write_text("{oops")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("analyze", str(bad))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("analyze", str(tmp_path / "missing.json"))


def test_a_malformed_policy_does_not_stop_the_analysis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(FIXTURE.read_text())
    data["UserDetailList"][1]["UserPolicyList"].append(
        {"PolicyName": "broken", "PolicyDocument": "{not json"}
    )
    path = tmp_path / "gaad.json"
    path.write_text(json.dumps(data))
    call_command("analyze", str(path), "--format", "json")
    out = json.loads(capsys.readouterr().out)
    bob = next(p for p in out["principals"] if p["arn"].endswith("user/bob"))
    broken = [f for f in bob["findings"] if f["kind"] == "malformed-policy"]
    assert broken and "bob/broken" in broken[0]["detail"]
    assert bob["privilege_escalation"]  # its other policy is still analysed


def test_runs_without_any_database() -> None:
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"}
    result = _python(["manage.py", "analyze", str(FIXTURE), "--format", "json"], env)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["principals"]) == 6
    assert connection.vendor == "postgresql"


def test_manage_py_analyze_never_starts_django(tmp_path: Path) -> None:
    """The offline analysis skips Django's start-up: broken settings cannot stop it, and it imports no Django."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import runpy, sys\n"
        f"sys.argv = ['manage.py', 'analyze', {str(FIXTURE)!r}, '--format', 'json']\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / 'manage.py')!r}, run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print('DJANGO-LOADED' if 'django' in sys.modules else 'NO-DJANGO', file=sys.stderr)\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "no.such.settings", "PATH": "/usr/bin:/bin"}
    result = _python([str(probe)], env)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["principals"]) == 6
    assert result.stderr.strip().endswith("NO-DJANGO")
    bad = _python(["manage.py", "analyze", str(tmp_path / "missing.json")], env)
    assert bad.returncode == 1 and "cannot read" in bad.stderr


def test_streamed_json_is_the_report_byte_for_byte() -> None:
    import io

    import orjson

    from policy.analyze import analyze_account
    from policy.catalog import default_catalog
    from policy.cli import write_json
    from policy.gaad import load_gaad

    report = analyze_account(load_gaad(json.loads(FIXTURE.read_text())), default_catalog())
    assert len(report.principals) > 1
    out = io.StringIO()
    write_json(report, out)
    assert out.getvalue() == orjson.dumps(report.to_json()).decode()
    assert json.loads(out.getvalue()) == json.loads(json.dumps(report.to_json()))
    out = io.StringIO()
    write_json(report, out, indent=2)
    assert out.getvalue() == json.dumps(report.to_json(), indent=2)


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    from tests.policy.gaad_builder import ADMIN_ARN, Gaad

    g = Gaad()
    for i in range(150):
        g.role(f"admin-{i:03d}", attached=[ADMIN_ARN])
    big = tmp_path / "gaad.json"
    big.write_text(json.dumps(g.data))  # its report is far larger than a pipe's buffer
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "analyze", str(big), "--format", "json", "--indent", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(1) == b"{"
    proc.stdout.close()  # like `| head -c 1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_scps_cap_the_offline_analysis_and_say_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deny_iam = tmp_path / "deny-iam-outside-admins.json"
    deny_iam.write_text(
        json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
        )
    )
    call_command("analyze", str(FIXTURE), "--format", "json")
    before = {p["name"]: p for p in json.loads(capsys.readouterr().out)["principals"]}
    assert before["admin"]["is_admin"] and "scp_caps" not in before["admin"]
    call_command("analyze", str(FIXTURE), "--format", "json", "--scp", str(deny_iam))
    after = {p["name"]: p for p in json.loads(capsys.readouterr().out)["principals"]}
    assert not after["admin"]["is_admin"]
    assert after["admin"]["risk_score"] < before["admin"]["risk_score"]
    caps = after["admin"]["scp_caps"]
    assert [(c["source"], c["actions"], c["how"]) for c in caps] == [
        ("SCP deny-iam-outside-admins", ["iam:*"], "denied")
    ]
    # alice's iam:PutUserPolicy escalation is gone with iam:*.
    assert before["alice"]["privilege_escalation"] and not after["alice"]["privilege_escalation"]
    # An allow-list level: only s3 and sts; everything else is "not allowed".
    allow_list = tmp_path / "allow-s3-sts.json"
    allow_list.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:*"], "Resource": "*"}],
            }
        )
    )
    call_command("analyze", str(FIXTURE), "--scp", str(deny_iam), "--scp", str(allow_list))
    table = capsys.readouterr().out
    assert "Capped by SCPs:" in table
    assert "arn:aws:iam::111122223333:role/admin: iam:* denied by SCP deny-iam-outside-admins" in table
    assert "not allowed by any of SCP allow-s3-sts" in table


def test_a_bad_scp_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}')
    with pytest.raises(CommandError, match=r"bad\.json"):
        call_command("analyze", str(FIXTURE), "--scp", str(bad))
