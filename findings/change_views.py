"""Pages for tightened policies and change requests: review, accept, approve, apply, roll back, export."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts import exports
from accounts.roles import ACTION, FORM, Role, has_role, role_required
from core.htmx import is_partial, poll_response
from core.params import db_id
from findings import add_back, change_stages, reads, selectors
from findings import change_requests as changes
from findings.change_items import items_digest
from findings.evidence_record import evidence_record
from findings.models import ChangeRequest, ChangeStatus, Suggestion
from findings.suggestions import with_hardening
from policy.tighten import policy_diff


def _suggestion(request: HttpRequest, pk: int) -> Suggestion:
    return reads.suggestion_for(user=request.user, pk=pk)


def _change(request: HttpRequest, pk: int) -> ChangeRequest:
    return reads.change_for(user=request.user, pk=pk)


def _with_diffs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        proposed = item["proposed"][0] if len(item["proposed"]) == 1 else {"documents": item["proposed"]}
        out.append({**item, "diff": policy_diff(item["original"], proposed if item["proposed"] else None)})
    return out


@role_required(Role.VIEWER)
def suggestion_detail(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = _suggestion(request, pk)
    open_request = reads.open_request_of(suggestion=suggestion)
    return render(
        request,
        "findings/suggestion_detail.html",
        {
            "suggestion": suggestion,
            "items": _with_diffs(suggestion.items),
            "open_request": open_request,
            "has_hardening": any(i.get("hardening") for i in suggestion.items),
            "hardening_regions": next(
                (i["hardening"]["regions"] for i in suggestion.items if i.get("hardening")), []
            ),
            "record": evidence_record(suggestion),
        },
    )


@role_required(Role.REVIEWER, ACTION)
def suggestion_accept(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = _suggestion(request, pk)
    try:
        items = with_hardening(suggestion.items) if request.POST.get("harden") else None
        opener = change_stages.change_plan_open if request.POST.get("staged") else changes.change_request_open
        cr = opener(
            actor=request.user, suggestion=suggestion, reason=request.POST.get("reason", ""), items=items
        )
    except changes.ChangeError as exc:
        messages.error(request, str(exc))
        return redirect("suggestion_detail", pk=pk)
    messages.success(
        request, f"Change request #{cr.pk} opened; an approver must sign it off before it is applied."
    )
    return redirect("change_detail", pk=cr.pk)


@role_required(Role.VIEWER)
def change_list(request: HttpRequest) -> HttpResponse:
    listing = selectors.change_listing(request.user, request.GET)
    status = listing.filters.get("status", "")
    page = Paginator(listing.queryset, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "findings/change_list.html",
        {"page": page, "status": status, "statuses": ChangeStatus.choices},
    )


@role_required(Role.VIEWER)
def change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cr = _change(request, pk)
    if is_partial(request):
        response = render(request, "findings/htmx/change_progress.html", {"change": cr})
        finished = cr.status not in (ChangeStatus.APPLYING, ChangeStatus.ROLLING_BACK)
        if finished:
            # Done: reload the whole page once, so that the actions now possible (roll back) appear.
            response["HX-Refresh"] = "true"
        return poll_response(response, finished=finished)
    approvals = cr.approvals.select_related("approver").order_by("created_at")
    history = reads.audit_history(obj=cr)
    return render(
        request,
        "findings/change_detail.html",
        {
            "change": cr,
            "items": _with_diffs(cr.items),
            "approvals": approvals,
            "history": history.exclude(action="comment.add"),
            "comments": cr.comments.all(),
            "can_comment": has_role(request.user, Role.REVIEWER),
            "approved_count": changes.approvals_count(cr),
            "digest": items_digest(cr.items),
            "is_requester": cr.requested_by_id == request.user.pk,
            "can_roll_back": cr.status in changes.ROLLBACK_FROM
            and any(not s.get("undone") for s in cr.steps),
            "stage_label": change_stages.LABELS.get(cr.stage_name, ""),
            "next_stage": cr.next_stages.order_by("id").first() if cr.stage else None,
            "stage_watch_hours": settings.IAMREVIEW_STAGE_WATCH_HOURS,
            "promote_blocked": change_stages.watch_clean_since(cr) if cr.plan else "",
        },
    )


@role_required(Role.REVIEWER, FORM)
def change_edit(request: HttpRequest, pk: int) -> HttpResponse:
    cr = _change(request, pk)
    if request.method == "POST":
        items = [dict(i) for i in cr.items]
        try:
            for n, item in enumerate(items):
                raw = request.POST.get(f"item_{n}", "")
                item["proposed"] = json.loads(raw) if raw.strip() else []
                if isinstance(item["proposed"], dict):
                    item["proposed"] = [item["proposed"]]
            changes.change_request_edit(
                actor=request.user, change=cr, items=items, reason=request.POST.get("reason", "")
            )
        except json.JSONDecodeError as exc:
            messages.error(
                request, f"That is not valid JSON ({exc.msg} at line {exc.lineno}); nothing was changed."
            )
            return redirect("change_edit", pk=pk)
        except RecursionError:
            messages.error(request, "That JSON is nested too deeply to be a policy; nothing was changed.")
            return redirect("change_edit", pk=pk)
        except changes.ChangeError as exc:
            messages.error(request, f"{exc} Nothing was changed.")
            return redirect("change_edit", pk=pk)
        messages.success(request, "Documents updated and checked; approvals start over.")
        return redirect("change_detail", pk=pk)
    docs = [
        json.dumps(i["proposed"][0] if len(i["proposed"]) == 1 else i["proposed"], indent=2) for i in cr.items
    ]
    return render(
        request, "findings/change_edit.html", {"change": cr, "pairs": list(zip(cr.items, docs, strict=True))}
    )


@role_required(Role.APPROVER, ACTION)
def change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    cr = _change(request, pk)
    approve = request.POST.get("decision") == "approve"
    try:
        cr = changes.change_request_decide(
            actor=request.user,
            change=cr,
            approve=approve,
            comment=request.POST.get("comment", ""),
            version=db_id(request.POST.get("version")),
            digest=request.POST.get("digest", ""),
        )
    except changes.ChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Change #{cr.pk} is now {cr.get_status_display().lower()}.")
    return redirect("change_detail", pk=pk)


@role_required(Role.APPROVER, ACTION)
def change_apply(request: HttpRequest, pk: int) -> HttpResponse:
    cr = _change(request, pk)
    try:
        changes.change_request_queue_apply(actor=request.user, change=cr)
    except changes.ChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Applying: the page follows the progress.")
    return redirect("change_detail", pk=pk)


@role_required(Role.REVIEWER, ACTION)
def change_add_back(request: HttpRequest, pk: int) -> HttpResponse:
    """The one-click follow-up after an AccessDenied: a change request adding back the denied access."""
    cr = _change(request, pk)
    number = db_id(request.POST.get("event"))  # 1 for the first AccessDenied on the change
    try:
        follow = add_back.change_request_add_back(
            actor=request.user,
            change=cr,
            event=number - 1 if number else -1,
            reason=request.POST.get("reason", ""),
        )
    except changes.ChangeError as exc:
        messages.error(request, str(exc))
        return redirect("change_detail", pk=pk)
    messages.success(
        request, f"Change request #{follow.pk} opened: an approver signs it off before it is applied."
    )
    return redirect("change_detail", pk=follow.pk)


@role_required(Role.APPROVER, ACTION)
def change_promote(request: HttpRequest, pk: int) -> HttpResponse:
    """Open and apply the next stage of a staged change."""
    cr = _change(request, pk)
    try:
        child = change_stages.stage_promote(actor=request.user, change=cr)
    except changes.ChangeError as exc:
        messages.error(request, str(exc))
        return redirect("change_detail", pk=pk)
    messages.success(
        request, f"Stage {child.stage} of {child.stage_count} is being applied as change #{child.pk}."
    )
    return redirect("change_detail", pk=child.pk)


@role_required(Role.APPROVER, ACTION)
def change_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    cr = _change(request, pk)
    try:
        changes.change_request_queue_rollback(
            actor=request.user, change=cr, reason=request.POST.get("reason", "")
        )
    except changes.ChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Rolling back: the page follows the progress.")
    return redirect("change_detail", pk=pk)


def _export(items: list[dict[str, Any]], kind: str, name: str, fmt: str, stem: str) -> HttpResponse:
    if fmt == "json":
        body, content_type = exports.policies_json(items), "application/json"
    elif fmt == "tf":
        body, content_type = exports.policies_terraform(items, kind, name), "text/plain"
    elif fmt == "yaml":
        body, content_type = exports.policies_cloudformation(items, kind, name), "application/x-yaml"
    else:
        raise Http404("unknown format")
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


@role_required(Role.VIEWER)
def suggestion_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    s = _suggestion(request, pk)
    return _export(s.items, s.principal.kind, s.principal.name, fmt, f"suggestion-{s.pk}")


@role_required(Role.VIEWER)
def change_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    cr = _change(request, pk)
    return _export(cr.items, cr.principal_kind, cr.principal_name, fmt, f"change-{cr.pk}")
