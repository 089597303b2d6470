"""Pages about the organisation as a whole: roles that accounts outside it may assume."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import Role, role_required
from accounts.selectors import linked_account_ids
from findings import reads
from findings.cross_account import external_trusts
from findings.organization import organization_account_ids


@role_required(Role.VIEWER)
def external_trust(request: HttpRequest) -> HttpResponse:
    """Roles of the visible accounts whose trust policy names an AWS account outside the organisation
    (and outside the linked accounts), or anyone."""
    known = organization_account_ids() | linked_account_ids()
    roles = reads.external_trust_roles(user=request.user)
    product = str(settings.IAMREVIEW_AWS_PRINCIPAL).split(":")
    rows = external_trusts(roles, known, product[4] if len(product) > 4 else "")
    context = {"rows": rows, "organization_known": bool(organization_account_ids())}
    return render(request, "findings/external_trust.html", context)
