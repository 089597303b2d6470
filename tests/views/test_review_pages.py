"""Dashboard, principals, principal page, findings, keys: roles, htmx fragments, filters, sorting, scoping."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.utils import timezone
from django.utils.html import escape

from accounts.models import LinkedAccount
from core.models import AuditEvent
from findings.models import Finding, FindingStatus, Principal
from policy.kinds import KINDS

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def text(response: Any) -> str:
    return (
        response.content.decode()
        if hasattr(response, "content")
        else b"".join(response.streaming_content).decode()
    )


def test_dashboard_figures(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    body = text(client_as("viewer").get("/"))
    assert "administrators" in body and "prod" in body and "sandbox" in body
    assert "Start the weekly review" in body


def test_dashboard_empty_state(client_as: Any) -> None:
    body = text(client_as("viewer").get("/"))
    assert "No AWS account linked yet" in body and "make demo" in body


def test_principal_list_full_and_fragment(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    viewer = client_as("viewer")
    full = text(viewer.get("/principals/"))
    fragment = text(viewer.get("/principals/", **HX))
    assert "<html" in full and 'id="principal-table"' in full
    assert "<html" not in fragment and fragment.strip().startswith('<div id="principal-table">')
    assert "reaches admin" in full  # bob, ci: one step from an administrator


def test_reasons_are_listed_once() -> None:
    from findings.templatetags.review import top_reasons

    explanation = [
        {"kind": "service-admin", "points": 25},
        {"kind": "service-admin", "points": 12.5},
        {"kind": "data-exfiltration", "points": 9},
        {"kind": "resource-exposure", "points": 5},
    ]
    assert top_reasons(explanation) == ["service-admin", "data-exfiltration", "resource-exposure"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=user", {"alice", "bob"}),
        ("admin=1", {"admin", "lambda-admin", "alice"}),  # alice: administrator-equivalent
        ("escalation=1", {"alice", "bob", "ci"}),
        ("q=lambda", {"lambda-admin"}),
        ("finding=trust-oidc-no-sub", {"ci"}),
        # bob may assume the admin role: one clean step from administrator, so critical too
        ("band=critical", {"admin", "lambda-admin", "alice", "ci", "bob"}),
    ],
)
def test_principal_filters(
    client_as: Any, imported: dict[str, LinkedAccount], query: str, expected: set[str]
) -> None:
    account = imported["prod"].pk
    body = text(client_as("viewer").get(f"/principals/?account={account}&{query}", **HX))
    names = {p.name for p in Principal.objects.filter(account_id=account) if f">{p.name}</a>" in body}
    assert names == expected


def test_principal_sorting(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    account = imported["prod"].pk
    by_risk = text(client_as("viewer").get(f"/principals/?account={account}&sort=-risk", **HX))
    by_name = text(client_as("viewer").get(f"/principals/?account={account}&sort=name", **HX))
    scores = list(
        Principal.objects.filter(account_id=account)
        .order_by("-risk_score", "id")
        .values_list("name", flat=True)
    )
    names = sorted(Principal.objects.filter(account_id=account).values_list("name", flat=True))

    def order(body: str, items: list[str]) -> list[str]:
        return sorted(items, key=lambda n: body.index(f">{n}</a>"))

    assert order(by_risk, scores) == scores
    assert order(by_name, names) == names
    assert "hx-push-url" in by_risk and 'href="?account=' in by_risk  # real links without JavaScript


def test_principal_page(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    ci = Principal.objects.get(account=imported["prod"], name="ci")
    body = text(client_as("viewer").get(f"/principals/{ci.pk}/"))
    assert "lambda-001" in body and "lambda-admin" in body  # escalation drawn step by step
    assert "Why this score" in body and "trust-oidc-no-sub" in body
    assert 'class="risky' in body  # the s3:* / PassRole statement is highlighted
    assert "Trust policy" in body and "token.actions.githubusercontent.com" in body
    assert "score-history" in body
    # Stored analysis: ci reaches administrator in one hop (PassRole to a new function running as
    # lambda-admin), drawn with the hop's actions; alice (PutUserPolicy on itself) is administrator-equivalent.
    assert ci.reaches_admin is True and not ci.is_admin
    assert ci.admin_path is not None and ci.admin_path["steps"] == 1
    assert ci.admin_path["hops"][0]["path_id"] == "lambda-001"
    assert "reaches administrator" in body and "lambda:CreateFunction" in body
    alice = Principal.objects.get(account=imported["prod"], name="alice")
    assert (
        alice.is_admin and alice.reaches_admin and alice.admin_reason.startswith("Administrator-equivalent")
    )
    alice_page = text(client_as("viewer").get(f"/principals/{alice.pk}/"))
    assert "Administrator-equivalent" in alice_page
    Principal.objects.filter(pk=ci.pk).update(reaches_admin=False, admin_path=None)
    assert "cannot reach administrator" in text(client_as("viewer").get(f"/principals/{ci.pk}/"))
    bob = Principal.objects.get(account=imported["prod"], name="bob")
    bob_page = text(client_as("viewer").get(f"/principals/{bob.pk}/"))
    assert (
        "AKIAOLDKEY0000000001" in bob_page and "no-data" in bob_page
    )  # no Access Advisor data: not "unused"


def test_findings_filters_sort_and_fragment(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    viewer = client_as("viewer")
    account = imported["prod"].pk
    body = text(viewer.get(f"/findings/?account={account}&severity=critical", **HX))
    assert "<html" not in body
    critical = Finding.objects.filter(account_id=account, severity="critical")
    assert critical.exists() and all(f.title in body for f in critical)
    assert "Data exfiltration" not in body and "Can read data or secrets" not in body
    sorted_body = text(viewer.get(f"/findings/?account={account}&sort=severity", **HX))
    positions = [
        sorted_body.index(f"sev-{s}") for s in ("critical", "high", "medium") if f"sev-{s}" in sorted_body
    ]
    assert positions == sorted(positions)


def test_bulk_actions(client_as: Any, users: dict[str, Any], imported: dict[str, LinkedAccount]) -> None:
    reviewer = client_as("reviewer")
    ids = list(Finding.objects.filter(account=imported["prod"], kind="admin").values_list("pk", flat=True))
    assert reviewer.post("/findings/bulk/", {"finding": ids, "action": "acknowledge"}).status_code == 302
    assert set(Finding.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        FindingStatus.ACKNOWLEDGED
    }
    reviewer.post("/findings/bulk/", {"finding": ids, "action": "assign", "assignee": "approver"})
    assert set(Finding.objects.filter(pk__in=ids).values_list("assignee__username", flat=True)) == {
        "approver"
    }
    no_reason = reviewer.post(
        "/findings/bulk/",
        {"finding": ids, "action": "suppress", "reason": "", "until": "2099-01-01"},
        follow=True,
    )
    assert "needs a reason" in text(no_reason)
    reviewer.post(
        "/findings/bulk/",
        {"finding": ids, "action": "suppress", "reason": "break glass", "until": "2099-01-01"},
    )
    assert set(Finding.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        FindingStatus.SUPPRESSED
    }
    assert AuditEvent.objects.filter(action="finding.suppress", actor_name="reviewer").count() == len(ids)
    assert (
        client_as("viewer").post("/findings/bulk/", {"finding": ids, "action": "reopen"}).status_code == 403
    )


def test_csv_export_neutralises_formulas(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    Finding.objects.filter(kind="admin").update(
        detail='=HYPERLINK("http://evil")', title="+cmd|' /C calc'!A0"
    )
    rows = list(csv.reader(io.StringIO(text(client_as("viewer").get("/findings/export.csv?status=all")))))
    header, data = rows[0], rows[1:]
    assert header[:3] == ["account", "principal", "kind"]
    admin_rows = [r for r in data if r[2] == "admin"]
    assert admin_rows and all(r[5].startswith("'+") and r[11].startswith("'=") for r in admin_rows)


def test_weekly_review_walks_new_findings(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    reviewer = client_as("reviewer")
    page = text(reviewer.get("/findings/review/"))
    assert "review-card" in page and "left" in page
    first = Finding.objects.filter(status="open").order_by("first_seen").first()
    assert first is not None
    card = text(reviewer.get("/findings/review/?skip=999999", **HX))
    assert card.strip().startswith('<div id="review-card">')
    reviewer.post("/findings/review/done/")
    done = text(reviewer.get("/findings/review/"))
    assert "All caught up" in done


def test_keys_page(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    body = text(client_as("viewer").get("/keys/?state=old"))
    assert "AKIAOLDKEY0000000001" in body and "AKIANEWKEY0000000002" not in body
    assert "400 days" in body


def test_account_scoped_user_sees_only_their_account(
    scoped_client: Any, imported: dict[str, LinkedAccount]
) -> None:
    prod_principal = Principal.objects.get(account=imported["prod"], name="ci")
    sandbox_principal = Principal.objects.get(account=imported["sandbox"], name="ci")
    assert scoped_client.get(f"/principals/{prod_principal.pk}/").status_code == 404
    assert scoped_client.get(f"/principals/{sandbox_principal.pk}/").status_code == 200
    listing = text(scoped_client.get("/principals/?q=ci", **HX))
    assert "<td>sandbox</td>" in listing and "<td>prod</td>" not in listing
    export = list(csv.reader(io.StringIO(text(scoped_client.get("/findings/export.csv?status=all")))))
    assert {row[0] for row in export[1:]} == {"444455556666"}
    prod_finding = Finding.objects.filter(account=imported["prod"]).first()
    assert prod_finding is not None
    scoped_client.post("/findings/bulk/", {"finding": [prod_finding.pk], "action": "acknowledge"})
    prod_finding.refresh_from_db()
    assert prod_finding.status == FindingStatus.OPEN  # not theirs to touch
    dashboard = text(scoped_client.get("/"))
    assert "sandbox" in dashboard and ">prod<" not in dashboard


def test_html_in_names_is_escaped(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    Principal.objects.filter(name="bob").update(
        name="<script>alert(1)</script>", tags={"<b>x</b>": "<i>y</i>"}
    )
    body = text(client_as("viewer").get("/principals/?q=script", **HX))
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    bob = Principal.objects.filter(name__contains="script").first()
    assert bob is not None
    page = text(client_as("viewer").get(f"/principals/{bob.pk}/"))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_remediation_is_shown_where_findings_are(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    """Each kind's remediation, from the registry, on the principal page, the findings list and the review."""
    viewer = client_as("viewer")
    ci = Principal.objects.get(account=imported["prod"], name="ci")
    page = text(viewer.get(f"/principals/{ci.pk}/"))
    for f in Finding.objects.filter(principal=ci):
        assert escape(KINDS[f.kind].remediation) in page, f.kind
    listing = text(viewer.get(f"/findings/?account={imported['prod'].pk}&kind=trust-oidc-no-sub", **HX))
    assert escape(KINDS["trust-oidc-no-sub"].remediation) in listing
    card = text(client_as("reviewer").get("/findings/review/"))
    shown = Finding.objects.filter(status="open").order_by("first_seen").first()
    assert shown is not None and "What to do:" in card


def test_principal_findings_sorted_by_severity_rank(
    client_as: Any, imported: dict[str, LinkedAccount]
) -> None:
    bob = Principal.objects.get(account=imported["prod"], name="bob")
    now = timezone.now()
    Finding.objects.create(
        fingerprint="bob-unused-password",
        account=imported["prod"],
        principal=bob,
        principal_arn=bob.arn,
        kind="unused-password",
        severity="medium",
        subject="password",
        title="Console password not used in 90 days",
        first_seen=now,
        last_seen=now,
    )
    page = text(client_as("viewer").get(f"/principals/{bob.pk}/"))
    findings = page.split('id="findings"', 1)[1]
    positions = [findings.index(f'sev-{s}">{s}') for s in ("critical", "medium", "low")]
    assert positions == sorted(positions)  # by rank, not by name ("low" < "medium")


def test_a_group_page_lists_its_members_only(client_as: Any, imported: dict[str, Any]) -> None:
    from findings.models import Principal

    devs = Principal.objects.get(account=imported["prod"], kind="group", name="devs")
    body = client_as("viewer").get(f"/principals/{devs.pk}/").content.decode()
    members = body.split("<h2>Members", 1)[1].split("</section>", 1)[0]
    assert "(1)" in members and ">alice<" in members and ">bob<" not in members
