"""Review pages. Each renders the whole page, or only its swappable region for htmx requests."""

from __future__ import annotations

import csv
import json
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ACTION, Role, role_required
from core.htmx import render_page_or_fragment
from core.params import db_ids
from findings import lifecycle, reads, selectors
from findings.figures_cache import CachedCountPaginator
from findings.models import (
    Finding,
    FindingStatus,
)

PAGE_SIZE = 50


def _report_problems(request: HttpRequest, listing: selectors.Listing) -> None:
    for problem in listing.problems:
        messages.warning(request, problem)


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def csv_safe(value: Any) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ (or tab/CR) is prefixed with '."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(filename: str, header: list[str], rows: Any) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    stream = (writer.writerow([csv_safe(c) for c in row]) for row in [header, *rows])
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- dashboard -----------------------------------------------------------------------------------------


@role_required(Role.VIEWER)
def dashboard(request: HttpRequest) -> HttpResponse:
    context = selectors.dashboard(request.user)
    context["pending_changes"] = reads.pending_change_count(user=request.user)
    context["active_runs"] = [
        r["last_run"] for r in context["rows"] if r["last_run"] and r["last_run"].is_active
    ]
    return render(request, "findings/dashboard.html", context)


def _listing_context(request: HttpRequest, listing: selectors.Listing, page: Any) -> dict[str, Any]:
    """What every filtered list page shows around its rows: filters, sort, accounts, kinds."""
    return {
        "page": page,
        "filters": listing.filters,
        "sort": listing.sort,
        "accounts": selectors.visible_accounts(request.user),
        "kinds": selectors.finding_kinds(request.user),
        "query_without_sort": _query_without(request, "sort", "page"),
        "has_accounts": selectors.visible_accounts(request.user).exists(),
    }


# -- principals ----------------------------------------------------------------------------------------


@role_required(Role.VIEWER)
def principal_list(request: HttpRequest) -> HttpResponse:
    listing = selectors.principal_listing(request.user, request.GET)
    _report_problems(request, listing)
    page = CachedCountPaginator(listing.queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **_listing_context(request, listing, page),
        "bands": [
            (b, "high or critical" if b == selectors.HIGH_RISK_BAND else b) for b in selectors.BAND_FILTERS
        ],
    }
    return render_page_or_fragment(
        request, "findings/principal_list.html", "findings/htmx/principal_table.html", context
    )


# -- findings ------------------------------------------------------------------------------------------


@role_required(Role.VIEWER)
def finding_list(request: HttpRequest) -> HttpResponse:
    listing = selectors.finding_listing(request.user, request.GET)
    _report_problems(request, listing)
    page = CachedCountPaginator(listing.queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **_listing_context(request, listing, page),
        "severities": selectors.SEVERITIES,
        "statuses": ["live", *FindingStatus.values, "all"],
        "assignees": reads.active_users(),
        "query": request.GET.urlencode(),
        "default_until": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    return render_page_or_fragment(
        request, "findings/finding_list.html", "findings/htmx/finding_table.html", context
    )


def _selected_findings(request: HttpRequest) -> list[Finding]:
    return reads.findings_by_ids(user=request.user, ids=db_ids(request.POST.getlist("finding")))


def _findings_url(query: str) -> str:
    """Back to the findings list with the filters the user had: the query is re-encoded, never trusted."""
    params = QueryDict(query[:2000]).copy()
    clean = params.urlencode()
    return f"/findings/?{clean}" if clean and len(clean) <= 2000 else "/findings/"


@role_required(Role.REVIEWER, ACTION)
def finding_bulk(request: HttpRequest) -> HttpResponse:
    """Acknowledge, assign, suppress (reason and expiry) or reopen the selected findings."""
    selected = _selected_findings(request)
    action = request.POST.get("action", "")
    # A card of the weekly review goes back to the review, with or without htmx (a key pressed before htmx
    # has bound the freshly swapped form submits it as a plain form).
    in_review = request.POST.get("review") == "1"
    target = reverse("finding_review") if in_review else _findings_url(request.POST.get("next", ""))
    if not selected:
        messages.error(request, "Select at least one finding first.")
        return redirect(target)
    if action == "acknowledge":
        n = lifecycle.findings_acknowledge(actor=request.user, findings=selected)
        messages.success(request, f"Acknowledged {n} finding(s).")
    elif action == "assign":
        username = request.POST.get("assignee", "")
        assignee = reads.active_user(username=username) if username else None
        if username and assignee is None:
            messages.error(request, f"No active user called {username!r}.")
            return redirect(target)
        n = lifecycle.findings_assign(actor=request.user, findings=selected, assignee=assignee)
        messages.success(
            request, f"Assigned {n} finding(s) to {assignee.get_username() if assignee else 'nobody'}."
        )
    elif action == "suppress":
        reason = request.POST.get("reason", "")
        try:
            day = datetime.fromisoformat(request.POST.get("until", ""))
        except ValueError:
            messages.error(request, "Give the date the suppression ends (YYYY-MM-DD).")
            return redirect(target)
        until = timezone.make_aware(datetime.combine(day.date(), time(23, 59)))
        try:
            n = lifecycle.findings_suppress(actor=request.user, findings=selected, reason=reason, until=until)
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect(target)
        messages.success(request, f"Suppressed {n} finding(s) until {day.date():%Y-%m-%d}.")
    elif action == "reopen":
        n = lifecycle.findings_reopen(actor=request.user, findings=selected, why="reopened by a reviewer")
        messages.success(request, f"Reopened {n} finding(s).")
    else:
        messages.error(request, "Unknown action.")
    return redirect(target)


def _suppressed_by(f: Finding) -> str:
    if f.status != FindingStatus.SUPPRESSED:
        return ""
    if f.suppressed_by is not None:
        return f.suppressed_by.get_username()
    rule = f.suppression_rule
    if rule is not None:
        return f"rule {rule.pk}" + (f" by {rule.created_by.get_username()}" if rule.created_by else "")
    return ""


def _json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


@role_required(Role.VIEWER)
def finding_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    listing = selectors.finding_listing(request.user, request.GET)
    if listing.problems:  # an export of more than was asked for would pass unnoticed
        return HttpResponseBadRequest("\n".join(listing.problems), content_type="text/plain; charset=utf-8")
    rows = (
        [
            f.account.account_id,
            f.principal_arn,
            f.kind,
            f.severity,
            f.subject,
            f.title,
            f.status,
            ",".join(f.sources),
            f.first_seen.isoformat(),
            f.last_seen.isoformat(),
            f.assignee.get_username() if f.assignee else "",
            f.detail,
            f.suppression_reason if f.status == FindingStatus.SUPPRESSED else "",
            _suppressed_by(f),
            f.suppressed_until.isoformat()
            if f.status == FindingStatus.SUPPRESSED and f.suppressed_until
            else "",
        ]
        for f in listing.queryset.select_related("suppressed_by", "suppression_rule__created_by").iterator(
            chunk_size=2000
        )
    )
    header = [
        "account",
        "principal",
        "kind",
        "severity",
        "subject",
        "title",
        "status",
        "sources",
        "first_seen",
        "last_seen",
        "assignee",
        "detail",
        "suppression_reason",
        "suppressed_by",
        "suppressed_until",
    ]
    return _csv_response(f"findings-{timezone.localdate():%Y%m%d}.csv", header, rows)


# -- keys ----------------------------------------------------------------------------------------------


@role_required(Role.VIEWER)
def key_list(request: HttpRequest) -> HttpResponse:
    accounts = selectors.visible_accounts(request.user)
    state = request.GET.get("state", "")
    now = timezone.now()
    page = Paginator(reads.key_listing(user=request.user, state=state, now=now), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    creds = selectors.credential_status([a.pk for a in accounts])
    findings = reads.key_findings(arns=[k.principal.arn for k in page.object_list])
    rows = [
        {
            "key": k,
            "age": (now - k.created_at).days if k.created_at else None,
            "mfa": (creds.get(k.principal.arn) or {}).get("mfa_active"),
            "console": bool((creds.get(k.principal.arn) or {}).get("password_enabled")),
            "findings": findings.get(k.key_id, []) + findings.get(k.principal.arn, []),
        }
        for k in page.object_list
    ]
    context = {
        "page": page,
        "rows": rows,
        "state": state,
        "max_age_days": settings.IAMREVIEW_KEY_MAX_AGE_DAYS,
        "unused_days": settings.IAMREVIEW_KEY_UNUSED_DAYS,
        "has_accounts": accounts.exists(),
        "query_without_sort": _query_without(request, "page"),
    }
    return render_page_or_fragment(request, "findings/key_list.html", "findings/htmx/key_table.html", context)


# -- changes, trends (filled by their own modules when present) ---------------------------------------


# -- audit log -----------------------------------------------------------------------------------------


def _audit_events(request: HttpRequest) -> tuple[Any, dict[str, str]]:
    listing = selectors.audit_listing(request.user, request.GET)
    return listing.queryset, listing.filters


@role_required(Role.REVIEWER)
def audit_list(request: HttpRequest) -> HttpResponse:
    events, filters = _audit_events(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "action": filters.get("action", ""), "filters": filters}
    return render_page_or_fragment(
        request, "findings/audit_list.html", "findings/htmx/audit_table.html", context
    )


@role_required(Role.REVIEWER)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    events, _ = _audit_events(request)
    rows = (
        [
            e.created_at.isoformat(),
            e.actor_name,
            e.action,
            e.object_type,
            e.object_id,
            e.account_id,
            e.summary,
            _json_cell(e.before),
            _json_cell(e.after),
        ]
        for e in events.iterator(chunk_size=2000)
    )
    return _csv_response(
        "audit-log.csv",
        ["when", "who", "action", "object_type", "object_id", "account", "summary", "before", "after"],
        rows,
    )
