"""Suggestion and change-request pages: accept, decide, exports, role checks, progress polling."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from django.utils import timezone

from findings.models import ChangeRequest, ChangeStatus, Suggestion
from tests.views.conftest import PROPOSED

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_suggestion_page_shows_the_diff_and_accept(client_as: Any, suggestion: Suggestion) -> None:
    body = client_as("reviewer").get(f"/suggestions/{suggestion.pk}/").content.decode()
    assert "s3:DeleteObject" in body and "80 → 20" in body and "Accept tightened policy" in body
    assert (
        "Accept tightened policy"
        not in client_as("viewer").get(f"/suggestions/{suggestion.pk}/").content.decode()
    )
    principal_page = client_as("viewer").get(f"/principals/{suggestion.principal.pk}/").content.decode()
    assert f"/suggestions/{suggestion.pk}/" in principal_page


def test_accept_opens_a_request_and_approver_signs_off(client_as: Any, suggestion: Suggestion) -> None:
    assert (
        client_as("viewer").post(f"/suggestions/{suggestion.pk}/accept/", {"reason": "x"}).status_code == 403
    )
    response = client_as("reviewer").post(f"/suggestions/{suggestion.pk}/accept/", {"reason": "review"})
    cr = ChangeRequest.objects.get()
    assert response["Location"] == f"/changes/{cr.pk}/"
    page = client_as("reviewer").get(f"/changes/{cr.pk}/").content.decode()
    assert "you cannot approve your own request" in page
    assert client_as("reviewer").post(f"/changes/{cr.pk}/decide/", {"decision": "approve"}).status_code == 403
    approver = client_as("approver")
    form = approver.get(f"/changes/{cr.pk}/").content.decode()
    seen = dict(re.findall(r'<input type="hidden" name="(version|digest)" value="([^"]*)">', form))
    assert seen["version"] == "1" and len(seen["digest"]) == 64, "the form carries what the approver saw"
    stale = approver.post(
        f"/changes/{cr.pk}/decide/", {"decision": "approve", "version": "0", "digest": seen["digest"]}
    )
    assert "changed since you opened this page" in approver.get(stale["Location"]).content.decode()
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.PENDING
    approver.post(f"/changes/{cr.pk}/decide/", {"decision": "approve", "comment": "fine", **seen})
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.APPROVED
    listing = client_as("viewer").get("/changes/?status=approved").content.decode()
    assert f"#{cr.pk}" in listing


def test_progress_fragment_stops_polling_when_done(
    client_as: Any, suggestion: Suggestion, users: Any
) -> None:
    cr = ChangeRequest.objects.create(
        account=suggestion.principal.account,
        principal=suggestion.principal,
        principal_arn=suggestion.principal.arn,
        principal_kind="role",
        principal_name="ci",
        requested_by=users["reviewer"],
        reason="r",
        items=suggestion.items,
        status=ChangeStatus.APPLYING,
        expires_at=timezone.now() + timezone.timedelta(days=1),
    )
    assert client_as("viewer").get(f"/changes/{cr.pk}/", **HX).status_code == 200
    ChangeRequest.objects.filter(pk=cr.pk).update(status=ChangeStatus.APPLIED)
    done = client_as("viewer").get(f"/changes/{cr.pk}/", **HX)
    assert done.status_code == 286 and done["HX-Refresh"] == "true"


def test_exports(client_as: Any, suggestion: Suggestion) -> None:
    viewer = client_as("viewer")
    as_json = json.loads(viewer.get(f"/suggestions/{suggestion.pk}/export.json").content)
    assert as_json[0]["documents"] == [PROPOSED]
    terraform = viewer.get(f"/suggestions/{suggestion.pk}/export.tf").content.decode()
    assert 'resource "aws_iam_role_policy"' in terraform and '"s3:GetObject"' in terraform
    cloudformation = yaml.safe_load(viewer.get(f"/suggestions/{suggestion.pk}/export.yaml").content)
    (policy,) = cloudformation["Resources"].values()
    assert policy["Type"] == "AWS::IAM::RolePolicy" and policy["Properties"]["RoleName"] == "ci"
    assert policy["Properties"]["PolicyDocument"] == PROPOSED
    assert viewer.get(f"/suggestions/{suggestion.pk}/export.exe").status_code == 404


def test_edit_page_revalidates(client_as: Any, suggestion: Suggestion) -> None:
    client_as("reviewer").post(f"/suggestions/{suggestion.pk}/accept/", {"reason": "review"})
    cr = ChangeRequest.objects.get()
    bad = client_as("reviewer").post(
        f"/changes/{cr.pk}/edit/", {"item_0": "{broken", "reason": "x"}, follow=True
    )
    assert "not valid JSON" in bad.content.decode()
    wider = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    refused = client_as("reviewer").post(
        f"/changes/{cr.pk}/edit/", {"item_0": wider, "reason": "x"}, follow=True
    )
    assert "grants more" in refused.content.decode()
    cr.refresh_from_db()
    assert cr.version == 1
