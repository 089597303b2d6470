"""Drift between two dates: principals first seen, added and removed, policies edited, new administrators
and escalation paths; as a page and as a CSV. An account's first sync is its baseline: what it found is
"first seen" by iamreview, not added in AWS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.roles import Role, role_required
from core.paging import page_number, queryset_page
from findings.drift import drift_report, with_policy_diffs
from findings.views import _csv_response


def _parse_day(value: str, default: date) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return default


def _window(request: HttpRequest) -> tuple[date, date]:
    today = timezone.localdate()
    return (
        _parse_day(request.GET.get("from", ""), today - timedelta(days=7)),
        _parse_day(request.GET.get("to", ""), today),
    )


def drift_context(request: HttpRequest) -> dict[str, Any]:
    start, end = _window(request)
    return drift_report(user=request.user, start=start, end=end)


# Each list of the page, shown a page at a time (`?added_page=2`); the CSV holds them whole.
LISTS = ("new_admins", "new_escalations", "first_seen", "added", "removed", "edited")


@role_required(Role.VIEWER)
def drift(request: HttpRequest) -> HttpResponse:
    context = drift_context(request)
    for name in LISTS:
        context[name] = queryset_page(context[name], page_number(request.GET.get(f"{name}_page")))
    with_policy_diffs(context["edited"].items)
    context["query"] = f"from={context['start']:%Y-%m-%d}&to={context['end']:%Y-%m-%d}"
    return render(request, "findings/drift.html", context)


def _rows(context: dict[str, Any]) -> Iterator[list[Any]]:
    labels = (
        ("first_seen", "first seen"),
        ("added", "principal added"),
        ("removed", "principal removed"),
        ("edited", "policy edited"),
    )
    for key, label in labels:
        for c in context[key].iterator(chunk_size=2000):
            detail = ""
            if key == "edited":
                outside = c.principal_arn not in context["applied_by_us"]
                granted, revoked = c.detail.get("granted") or [], c.detail.get("revoked") or []
                detail = "; ".join(
                    [
                        "edited outside iamreview" if outside else "applied from iamreview",
                        *([f"granted: {' '.join(granted)}"] if granted else []),
                        *([f"revoked: {' '.join(revoked)}"] if revoked else []),
                    ]
                )
            elif c.detail.get("type"):
                detail = c.detail["type"]
            yield [
                c.created_at.isoformat(),
                c.account.account_id,
                c.account.name,
                label,
                c.principal_arn,
                detail,
            ]
    for key, label in (("new_admins", "new administrator"), ("new_escalations", "new escalation path")):
        for f in context[key].iterator(chunk_size=2000):
            yield [
                f.first_seen.isoformat(),
                f.account.account_id,
                f.account.name,
                label,
                f.principal_arn,
                f.detail,
            ]


@role_required(Role.VIEWER)
def drift_export(request: HttpRequest) -> StreamingHttpResponse:
    context = drift_context(request)
    return _csv_response(
        f"drift-{context['start']:%Y%m%d}-{context['end']:%Y%m%d}.csv",
        ["when", "account_id", "account", "change", "principal", "detail"],
        _rows(context),
    )
