"""Digest content, grouping, links, idempotence and preferences; drift between snapshots; trends."""

from __future__ import annotations

import io
import json
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from accounts.models import DigestSent, LinkedAccount, Profile
from findings.digest import digest_send, digests_send_due
from findings.models import DailyMetric, Finding
from policy.kinds import SEVERITY, SEVERITY_IDS

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"
pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> LinkedAccount:
    call_command(
        "import_gaad", str(FIXTURE), "--account", "111122223333", "--name", "prod", stdout=io.StringIO()
    )
    return LinkedAccount.objects.get(account_id="111122223333")


def subscribe(user: Any, **prefs: Any) -> Profile:
    user.email = f"{user.username}@example.com"
    user.save()
    profile, _ = Profile.objects.get_or_create(user=user)
    for k, v in {
        "digest_frequency": "daily",
        "digest_min_severity": "high",
        "last_digest_at": timezone.now() - timedelta(days=1),
        **prefs,
    }.items():
        setattr(profile, k, v)
    profile.save()
    return profile


def test_digest_groups_new_findings_and_links(users: dict[str, Any], account: LinkedAccount) -> None:
    profile = subscribe(users["reviewer"])
    claim = digest_send(profile=profile)
    assert claim is not None and claim.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    critical = Finding.objects.filter(account=account, severity="critical").count()
    high = Finding.objects.filter(account=account, severity="high").count()
    assert message.subject == f"iamreview: {critical + high} new findings"
    assert (
        "prod" in message.body
        and "CRITICAL" in message.body
        and "HIGH" in message.body
        and "MEDIUM" not in message.body
    )
    html = message.alternatives[0][0]
    assert (
        "http://127.0.0.1:8000/principals/" in html and "/findings/?since=" in html and "/settings/" in html
    )
    assert message.body.index("CRITICAL") < message.body.index("HIGH")


def test_digest_is_sent_once_per_period_even_if_retried(
    users: dict[str, Any], account: LinkedAccount
) -> None:
    profile = subscribe(users["reviewer"])
    now = timezone.now()
    assert digest_send(profile=profile, now=now) is not None
    assert digest_send(profile=profile, now=now) is None
    assert digests_send_due(now=now) == 0
    assert len(mail.outbox) == 1 and DigestSent.objects.count() == 1


def test_preferences_are_honoured(users: dict[str, Any], account: LinkedAccount) -> None:
    other = LinkedAccount.objects.create(account_id="999999999999", name="other")
    subscribe(users["viewer"], digest_frequency="never")
    quiet = subscribe(users["approver"])
    quiet.digest_accounts.set([other])
    subscribe(users["admin"], digest_min_severity="critical")
    digests_send_due(now=timezone.now())
    recipients = {m.to[0] for m in mail.outbox}
    assert recipients == {"admin@example.com"}  # viewer opted out; approver's account has nothing new
    assert "HIGH" not in mail.outbox[0].body
    with_all_clear = subscribe(users["approver"], digest_all_clear=True)
    with_all_clear.digest_accounts.set([other])
    DigestSent.objects.all().delete()
    digest_send(profile=with_all_clear)
    assert mail.outbox[-1].subject == "iamreview: all clear"


def test_digest_through_a_real_smtp_server(users: dict[str, Any], account: LinkedAccount) -> None:
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def smtp_sink() -> None:  # just enough SMTP for one message
        conn, _ = server.accept()
        f = conn.makefile("rwb")
        f.write(b"220 sink\r\n")
        f.flush()
        data = False
        while line := f.readline():
            if data:
                if line == b".\r\n":
                    data = False
                    f.write(b"250 queued\r\n")
                    f.flush()
                else:
                    received.append(line)
                continue
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                f.write(b"250 sink\r\n")
            elif cmd == b"DATA":
                data = True
                f.write(b"354 go\r\n")
            elif cmd == b"QUIT":
                f.write(b"221 bye\r\n")
                f.flush()
                break
            else:
                f.write(b"250 ok\r\n")
            f.flush()
        conn.close()

    thread = threading.Thread(target=smtp_sink, daemon=True)
    thread.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
    ):
        assert digest_send(profile=subscribe(users["reviewer"])) is not None
    thread.join(timeout=10)
    server.close()
    body = b"".join(received).decode()
    assert "Subject: iamreview:" in body and "reviewer@example.com" in body


def test_failed_send_is_recorded_and_tried_again(users: dict[str, Any], account: LinkedAccount) -> None:
    profile = subscribe(users["reviewer"])
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=1,
        EMAIL_TIMEOUT=2,
    ):
        failed = digest_send(profile=profile)
    assert failed is not None and failed.sent_at is None and "could not send" in failed.error
    retried = digest_send(profile=profile)  # the mail server is back (the test backend)
    assert retried is not None and retried.pk == failed.pk and retried.sent_at is not None
    assert len(mail.outbox) == 1 and DigestSent.objects.get().error == ""


def test_drift_between_two_snapshots_is_exact(client_as: Any, account: LinkedAccount, tmp_path: Path) -> None:
    from findings.models import SnapshotChange

    # The first snapshot was taken ten days ago; the second today.
    SnapshotChange.objects.update(created_at=timezone.now() - timedelta(days=10))
    Finding.objects.update(first_seen=timezone.now() - timedelta(days=10))
    data = json.loads(FIXTURE.read_text())
    data["UserDetailList"] = [u for u in data["UserDetailList"] if u["UserName"] != "bob"]
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
    data["RoleDetailList"][2]["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] = [
        "s3:GetObject"
    ]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    call_command("import_gaad", str(changed), "--account", "111122223333", stdout=io.StringIO())
    body = client_as("viewer").get("/drift/").content.decode()
    added = body.split("Principals added")[1].split("Principals removed")[0]
    removed = body.split("Principals removed")[1].split("Policies edited")[0]
    edited = body.split("Policies edited")[1]
    assert "user/dora" in added and "user/bob" not in added
    assert "user/bob" in removed and "user/dora" not in removed
    assert "role/ci" in edited and "edited outside iamreview" in edited
    assert "revoked:" in edited and "iam:PassRole" in edited
    assert (
        "diff of deploy" in edited and '<span class="del">-' in edited and "lambda:CreateFunction" in edited
    )
    admins = body.split("New administrators")[1].split("New privilege-escalation")[0]
    assert "user/dora" in admins


def test_trends_page_and_csv(client_as: Any, account: LinkedAccount) -> None:
    today = DailyMetric.objects.get(account=account)
    DailyMetric.objects.create(
        account=account,
        date=today.date - timedelta(days=3),
        admins=5,
        score_mean=40,
        principals=6,
        open_by_severity={"critical": 9},
    )
    page = client_as("viewer").get("/trends/?days=30").content.decode()
    assert 'id="chart-admins"' in page and "last 30 days" in page
    csv_body = b"".join(
        client_as("viewer").get("/trends/data.csv?chart=admins&days=30").streaming_content
    ).decode()
    lines = csv_body.strip().splitlines()
    assert lines[0] == "date,admins" and len(lines) == 31
    assert f"{(today.date - timedelta(days=3)).isoformat()},5" in csv_body
    assert lines[-1] == f"{today.date.isoformat()},{today.admins}"
    settings_page = client_as("viewer").post(
        "/settings/", {"digest_frequency": "weekly", "digest_min_severity": "medium"}
    )
    assert settings_page.status_code == 302


def test_trend_severity_colours_are_the_registry_colours(client_as: Any, account: LinkedAccount) -> None:
    """Every severity has its series, drawn in the colour its badges have (critical is not a default blue)."""
    page = client_as("viewer").get("/trends/?days=30").content.decode()
    source = page.split('<script id="chart-findings" type="application/json">', 1)[1].split("</script>", 1)[0]
    datasets = json.loads(source)["datasets"]
    assert [d["label"] for d in datasets] == list(SEVERITY_IDS)
    for d in datasets:
        assert d["borderColor"] == SEVERITY[d["label"]].colour
    for s in SEVERITY.values():
        assert f".sev-{s.id}, .band-{s.id} {{ color: {s.text_colour}; background: {s.colour}; }}" in page
