"""Notification pages: your channels (and the team's, for admins), a channel's settings and delivery log,
and the "send a test" button. Anyone with a role may have channels of their own; a channel someone else
owns is a 404, like another account's objects."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.models import LinkedAccount
from accounts.roles import ACTION, FORM, Role, has_role, role_required
from accounts.selectors import profile_of, visible_accounts
from notify.channels import (
    ChannelError,
    channel_delete,
    channel_rotate_secret,
    channel_save,
    channel_test,
    manageable_channels,
)
from notify.forms import ChannelForm
from notify.models import Channel, ChannelKind, Delivery

LOG_ROWS = 50


def _channel(request: HttpRequest, pk: int) -> Channel:
    return get_object_or_404(manageable_channels(request.user), pk=pk)


def _form(request: HttpRequest, channel: Channel | None) -> ChannelForm:
    return ChannelForm(
        request.POST if request.method == "POST" else None,
        channel=channel,
        accounts=visible_accounts(request.user),
        is_admin=has_role(request.user, Role.ADMIN),
    )


def _accounts(request: HttpRequest, form: ChannelForm, channel: Channel | None) -> list[LinkedAccount]:
    """The accounts ticked (the form offers, and accepts, only those the user may see). A personal channel
    is limited to its owner's accounts when it sends; a team channel has no owner, so one made by a user
    limited to some accounts is limited to those when none is ticked."""
    chosen = list(form.cleaned_data.get("accounts") or [])
    team = channel.is_team if channel is not None else bool(form.cleaned_data.get("team"))
    profile = profile_of(request.user)
    if team and not chosen and profile is not None and profile.accounts.exists():
        chosen = list(visible_accounts(request.user))
    return chosen


@role_required(Role.VIEWER)
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = (
        manageable_channels(request.user)
        .select_related("owner")
        .prefetch_related("subscriptions")
        .order_by("owner_id", "name", "pk")
    )
    rows = [(c, Delivery.objects.filter(channel=c).first()) for c in channels]
    return render(
        request,
        "notify/channel_list.html",
        {"rows": rows, "is_admin": has_role(request.user, Role.ADMIN)},
    )


@role_required(Role.VIEWER, FORM)
def channel_create(request: HttpRequest) -> HttpResponse:
    form = _form(request, None)
    if request.method == "POST" and form.is_valid():
        try:
            channel, secret = channel_save(
                actor=request.user,
                channel=None,
                data=form.cleaned_data,
                accounts=_accounts(request, form, None),
            )
        except ChannelError as exc:
            form.add_error(None, str(exc))
        else:
            if secret:
                return render(request, "notify/channel_secret.html", {"channel": channel, "secret": secret})
            messages.success(request, "Channel saved. Send a test to check it.")
            return redirect("channel_detail", pk=channel.pk)
    return render(request, "notify/channel_form.html", {"form": form, "channel": None})


@role_required(Role.VIEWER, FORM)
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    form = _form(request, channel)
    if request.method == "POST" and form.is_valid():
        try:
            channel_save(
                actor=request.user,
                channel=channel,
                data=form.cleaned_data,
                accounts=_accounts(request, form, channel),
            )
        except ChannelError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Saved.")
            return redirect("channel_detail", pk=channel.pk)
    return render(
        request,
        "notify/channel_form.html",
        {
            "form": form,
            "channel": channel,
            "deliveries": channel.deliveries.all()[:LOG_ROWS],
            "is_webhook": channel.kind == ChannelKind.WEBHOOK,
        },
    )


@role_required(Role.VIEWER)
def channel_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    return render(
        request,
        "notify/htmx/delivery_log.html",
        {"channel": channel, "deliveries": channel.deliveries.all()[:LOG_ROWS]},
    )


@role_required(Role.VIEWER, ACTION)
def channel_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    delivery = channel_test(actor=request.user, channel=channel)
    response = render(request, "notify/htmx/test_result.html", {"delivery": delivery, "channel": channel})
    response["HX-Trigger"] = "deliveries-changed"
    return response


@role_required(Role.VIEWER, ACTION)
def channel_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    try:
        secret = channel_rotate_secret(actor=request.user, channel=channel)
    except ChannelError as exc:
        messages.error(request, str(exc))
        return redirect("channel_detail", pk=channel.pk)
    return render(
        request, "notify/channel_secret.html", {"channel": channel, "secret": secret, "rotated": True}
    )


@role_required(Role.VIEWER, ACTION)
def channel_remove(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    channel_delete(actor=request.user, channel=channel)
    messages.success(request, f"Deleted the channel {channel.name}.")
    return redirect("channel_list")
