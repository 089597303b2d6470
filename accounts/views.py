"""Pages for linked accounts: list, link, onboarding, sync runs with live progress, organization discovery."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts import onboarding, services
from accounts.checks import account_check_request
from accounts.forms import LinkedAccountForm
from accounts.models import AccountCheck, CheckKind, LinkedAccount, last_sync_runs
from accounts.roles import ACTION, FORM, Role, role_required
from accounts.selectors import (
    check_for,
    discovery_for,
    linked_account_ids,
    sync_run_for,
    visible_accounts,
)
from accounts.sync import sync_run_request
from core.htmx import is_partial, poll_response
from core.params import db_id


def _account(request: HttpRequest, pk: int) -> LinkedAccount:
    """The account, if this user may see it: a user limited to some accounts gets 404 for the others."""
    return get_object_or_404(visible_accounts(request.user), pk=pk)


@role_required(Role.VIEWER)
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = list(visible_accounts(request.user))
    last_runs = last_sync_runs([a.pk for a in accounts])
    rows = [(a, last_runs.get(a.pk)) for a in accounts]
    return render(request, "accounts/account_list.html", {"rows": rows, "accounts": accounts})


@role_required(Role.VIEWER)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    runs = list(account.sync_runs.all()[:10])
    context = {
        "account": account,
        "runs": runs,
        "active_run": next((r for r in runs if r.is_active), None),
        "cloudformation": onboarding.cloudformation_template(account, with_apply=True),
        "terraform": onboarding.terraform_snippet(account, with_apply=True),
        "read_actions": onboarding.READ_ACTIONS,
        "apply_actions": onboarding.APPLY_ACTIONS,
        "organization_actions": onboarding.ORGANIZATION_READ_ACTIONS,
        "identity_center_read_actions": onboarding.IDENTITY_CENTER_READ_ACTIONS,
        "identity_center_apply_actions": onboarding.IDENTITY_CENTER_APPLY_ACTIONS,
        "product_principal": onboarding.product_principal(),
    }
    return render(request, "accounts/account_detail.html", context)


@role_required(Role.ADMIN, FORM)
def account_link(request: HttpRequest) -> HttpResponse:
    form = LinkedAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        account = services.account_link(actor=request.user, **form.cleaned_data)
        messages.success(
            request, f"Linked {account}. Deploy the read-only role below, then test the connection."
        )
        return redirect("account_detail", pk=account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "account": None})


@role_required(Role.ADMIN, FORM)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form = LinkedAccountForm(request.POST if request.method == "POST" else None, instance=account)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "account_id"}
        services.account_update(actor=request.user, account=account, **data)
        messages.success(request, f"Saved {account}.")
        return redirect("account_detail", pk=account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "account": account})


@role_required(Role.REVIEWER, ACTION)
def account_sync(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    run, created = sync_run_request(account=account, trigger="manual", actor=request.user)
    if is_partial(request):
        return render(request, "accounts/htmx/sync_run_status.html", {"run": run})
    if created:
        messages.success(request, f"Sync of {account.name} queued.")
    else:
        messages.info(request, f"A sync of {account.name} is already {run.status}.")
    return redirect("account_detail", pk=account.pk)


@role_required(Role.VIEWER)
def sync_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = sync_run_for(user=request.user, pk=pk)
    if is_partial(request):
        response = render(request, "accounts/htmx/sync_run_status.html", {"run": run})
        return poll_response(response, finished=not run.is_active)
    return render(request, "accounts/sync_run_detail.html", {"run": run})


@role_required(Role.REVIEWER, ACTION)
def account_test_connection(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a test of the read role; the fragment polls the check until the worker has answered."""
    account = _account(request, pk)
    check, _ = account_check_request(account=account, kind=CheckKind.CONNECTION, actor=request.user)
    if is_partial(request):
        return render(request, "accounts/htmx/check_status.html", {"check": check})
    return redirect("account_check_detail", pk=check.pk)


@role_required(Role.VIEWER)
def account_check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    check = check_for(user=request.user, pk=pk)
    if is_partial(request):
        context = {"check": check, "found": _found_rows(check), "read_role": onboarding.READ_ROLE_NAME}
        response = render(request, "accounts/htmx/check_status.html", context)
        return poll_response(response, finished=not check.is_active)
    if check.kind == CheckKind.DISCOVERY:
        return redirect(f"{reverse('organization_discover')}?check={check.pk}")
    return render(request, "accounts/check_detail.html", {"check": check})


def _organization_param(request: HttpRequest) -> bool | None:
    """`?organization=1` asks for the management-account template, `0` for the member one; absent, the
    account's own kind decides."""
    value = request.GET.get("organization")
    return None if value is None else value == "1"


@role_required(Role.VIEWER)
def account_cloudformation(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    body = onboarding.cloudformation_template(
        account, with_apply=request.GET.get("apply") == "1", organization=_organization_param(request)
    )
    response = HttpResponse(body, content_type="application/x-yaml")
    response["Content-Disposition"] = f'attachment; filename="iamreview-{account.account_id}.yaml"'
    return response


@role_required(Role.VIEWER)
def account_terraform(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    body = onboarding.terraform_snippet(
        account, with_apply=request.GET.get("apply") == "1", organization=_organization_param(request)
    )
    response = HttpResponse(body, content_type="text/plain")
    response["Content-Disposition"] = f'attachment; filename="iamreview-{account.account_id}.tf"'
    return response


@role_required(Role.ADMIN, FORM)
def organization_discover(request: HttpRequest) -> HttpResponse:
    """From a linked management account, list the organization's accounts (in the worker) and offer to
    link them. POST queues the listing; the page then shows the check, polling until it has answered."""
    visible = visible_accounts(request.user)
    chosen = db_id(request.POST.get("management") or request.GET.get("management") or "")
    management = visible.filter(pk=chosen).first() if chosen else None  # a visible account, or none
    check: AccountCheck | None = None
    if management is not None and request.method == "POST":
        check, _ = account_check_request(account=management, kind=CheckKind.DISCOVERY, actor=request.user)
        return redirect(f"{reverse('organization_discover')}?check={check.pk}")
    elif check_id := db_id(request.GET.get("check") or ""):
        check = discovery_for(user=request.user, pk=check_id)
        management = check.account if check else None
    context = {
        "accounts": visible,
        "management": management,
        "check": check,
        "found": _found_rows(check),
        "read_role": onboarding.READ_ROLE_NAME,
    }
    return render(request, "accounts/organization_discover.html", context)


def _found_rows(check: AccountCheck | None) -> list[dict[str, object]]:
    if check is None or not check.ok:
        return []
    linked = linked_account_ids()
    return [{**a, "linked": a.get("Id") in linked} for a in check.found]


@role_required(Role.ADMIN, ACTION)
def organization_link(request: HttpRequest) -> HttpResponse:
    ids = [i for i in request.POST.getlist("account_id") if i.isascii() and i.isdigit() and len(i) == 12]
    names = {i: request.POST.get(f"name_{i}", "") or i for i in ids}
    created = 0
    for account_id in ids:
        if account_id in linked_account_ids():
            continue
        services.account_link(
            actor=request.user,
            account_id=account_id,
            name=names[account_id][:100],
            role_arn=f"arn:aws:iam::{account_id}:role/{onboarding.READ_ROLE_NAME}",
            regions=["us-east-1"],
        )
        created += 1
    messages.success(
        request, f"Linked {created} account(s). Deploy the read-only role in each (a StackSet works well)."
    )
    return redirect("account_list")
