"""Managers' pages: trends over time, drift between two dates; and each user's digest settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.forms import validate_email_address
from accounts.models import LinkedAccount, Profile
from accounts.roles import FORM, Role, role_required
from core.audit import audit_record
from core.params import db_id
from findings import reads, selectors
from findings.views import _csv_response
from policy.kinds import SEVERITY, SEVERITY_CHOICES, SEVERITY_IDS

PERIODS = (30, 90, 365)
CHARTS = {
    "risk": ("Risk score (mean and 90th percentile)", ["score_mean", "score_p90"]),
    "admins": ("Administrators", ["admins"]),
    "findings": ("Open findings by severity", list(SEVERITY_IDS)),
    "unused": ("Unused permissions (single actions, wildcards expanded)", ["unused_permissions"]),
    "keys": ("Access keys past their age limit (IAMREVIEW_KEY_MAX_AGE_DAYS)", ["old_keys"]),
    "changes": ("Tightened policies accepted and applied", ["accepted", "applied"]),
}


def _series(request: HttpRequest) -> tuple[list[str], dict[str, dict[str, list[float]]], int, str]:
    days = db_id(request.GET.get("days", "90")) or 90
    days = days if days in PERIODS else 90
    accounts = selectors.visible_accounts(request.user)
    account = request.GET.get("account", "")
    if db_id(account):
        accounts = accounts.filter(pk=db_id(account))
    start = timezone.localdate() - timedelta(days=days - 1)
    labels = [(start + timedelta(days=n)).isoformat() for n in range(days)]
    per_day = reads.trend_days(accounts=accounts, start=start)
    series = {
        chart: {f: [per_day[d].get(f, None) if d in per_day else None for d in labels] for f in fields}
        for chart, (_, fields) in CHARTS.items()
    }
    for f in ("accepted", "applied"):
        series["changes"][f] = [v or 0 for v in series["changes"][f]]
    return labels, series, days, account


def _colours(series: str) -> dict[str, str]:
    """A severity's series is drawn in that severity's colour (the badges' colour); others keep the
    chart's own."""
    severity = SEVERITY.get(series)
    if severity is None:
        return {}
    return {"borderColor": severity.colour, "backgroundColor": severity.colour}


@role_required(Role.VIEWER)
def trends(request: HttpRequest) -> HttpResponse:
    labels, series, days, account = _series(request)
    charts = [
        {
            "key": key,
            "title": title,
            "data": {
                "labels": labels,
                "datasets": [
                    {"label": f.replace("_", " "), "data": series[key][f], "spanGaps": True} | _colours(f)
                    for f in fields
                ],
            },
        }
        for key, (title, fields) in CHARTS.items()
    ]
    has_data = any(v is not None for c in series.values() for values in c.values() for v in values if v)
    return render(
        request,
        "findings/trends.html",
        {
            "charts": charts,
            "days": days,
            "periods": PERIODS,
            "account": account,
            "has_data": has_data,
            "accounts": selectors.visible_accounts(request.user),
            "has_accounts": selectors.visible_accounts(request.user).exists(),
        },
    )


@role_required(Role.VIEWER)
def trends_csv(request: HttpRequest) -> StreamingHttpResponse:
    labels, series, _, _ = _series(request)
    chart = request.GET.get("chart", "risk")
    chart = chart if chart in CHARTS else "risk"
    fields = CHARTS[chart][1]

    def cell(value: float | None) -> Any:
        if value is None:
            return ""
        return int(value) if float(value).is_integer() else value

    rows = ([label, *[cell(series[chart][f][n]) for f in fields]] for n, label in enumerate(labels))
    return _csv_response(f"trend-{chart}.csv", ["date", *fields], rows)


class DigestSettingsForm(forms.ModelForm):
    email = forms.CharField(
        label="Send to", max_length=254, required=False, validators=[validate_email_address]
    )
    digest_min_severity = forms.ChoiceField(choices=SEVERITY_CHOICES)

    class Meta:
        model = Profile
        fields = ["digest_frequency", "digest_accounts", "digest_min_severity", "digest_all_clear"]
        widgets = {"digest_accounts": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["digest_accounts"].queryset = (
            selectors.visible_accounts(user) if user else LinkedAccount.objects.none()
        )
        self.fields["digest_accounts"].help_text = "None selected: every account you can see."
        # The address is the user's; it is checked here, when saved, rather than when a digest is sent.
        self.fields["email"].initial = getattr(user, "email", "")
        self.order_fields(["email"])


def _digest_settings(profile: Profile, user: Any) -> dict[str, Any]:
    return {
        "frequency": profile.digest_frequency,
        "min_severity": profile.digest_min_severity,
        "all_clear": profile.digest_all_clear,
        "accounts": sorted(profile.digest_accounts.values_list("account_id", flat=True)),
        "email": user.email,
    }


@role_required(Role.VIEWER, FORM)
def profile_settings(request: HttpRequest) -> HttpResponse:
    profile = selectors.profile_of(request.user)
    if profile is None:  # only anonymous users have none, and they never get here
        raise PermissionDenied
    # Read before the form is bound: validating a model form writes the new values onto the instance.
    before = _digest_settings(profile, request.user)
    form = DigestSettingsForm(
        request.POST if request.method == "POST" else None, instance=profile, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        request.user.email = form.cleaned_data["email"]
        request.user.save(update_fields=["email"])
        audit_record(
            actor=request.user,
            action="profile.digest",
            obj=profile,
            summary=f"Digest settings: {profile.digest_frequency}, {profile.digest_min_severity} and above",
            before=before,
            after=_digest_settings(profile, request.user),
        )
        messages.success(request, "Saved.")
        return redirect("profile_settings")
    return render(request, "findings/profile_settings.html", {"form": form, "email": request.user.email})
