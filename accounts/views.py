"""Pages for linked accounts: list, link, detail, edit."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import LinkedAccountForm
from accounts.models import LinkedAccount
from accounts.roles import Role, role_required


@role_required(Role.VIEWER)
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = LinkedAccount.objects.all()
    return render(request, "accounts/account_list.html", {"accounts": accounts})


@role_required(Role.VIEWER)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(LinkedAccount, pk=pk)
    return render(request, "accounts/account_detail.html", {"account": account})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def account_link(request: HttpRequest) -> HttpResponse:
    form = LinkedAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = services.account_link(actor=request.user, **form.cleaned_data)
        messages.success(request, f"Linked {account}. Deploy the read-only role, then test the connection.")
        return redirect("account_detail", pk=account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "account": None})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(LinkedAccount, pk=pk)
    form = LinkedAccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "account_id"}
        services.account_update(actor=request.user, account=account, **data)
        messages.success(request, f"Saved {account}.")
        return redirect("account_detail", pk=account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "account": account})
