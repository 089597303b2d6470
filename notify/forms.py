"""The channel form. URL and signing secret are write-only: password inputs that never render a value,
so a saved secret (or one just typed, on a form with an error) is never sent back to the browser."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import LinkedAccount
from notify.models import Channel, ChannelKind, EventKind, MinSeverity
from notify.transport import UrlRefused, check_url


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ChannelKind.choices, label="Kind")
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The incoming webhook or workflow URL. Stored encrypted and never shown again.",
    )
    secret = forms.CharField(
        required=False,
        min_length=16,
        max_length=200,
        label="Signing secret (webhook only)",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty: iamreview makes one and shows it to you once.",
    )
    events = forms.MultipleChoiceField(
        choices=EventKind.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Events"
    )
    min_severity = forms.ChoiceField(choices=MinSeverity.choices, initial=MinSeverity.HIGH, label="Findings")
    accounts = forms.ModelMultipleChoiceField(
        queryset=LinkedAccount.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every account you may see.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    team = forms.BooleanField(
        required=False, label="Team channel", help_text="Managed by admins, not tied to your account."
    )

    def __init__(
        self, *args: Any, channel: Channel | None, accounts: Any, is_admin: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.fields["accounts"].queryset = accounts
        if channel is not None:
            self.fields["kind"].disabled = True
            self.fields["url"].help_text = f"Now {channel.url_hint}. Leave empty to keep it."
            self.fields["secret"].help_text = "Leave empty to keep the current one."
            del self.fields["team"]
            self.initial.update(
                name=channel.name,
                kind=channel.kind,
                events=channel.events,
                min_severity=channel.min_severity,
                accounts=list(channel.accounts.all()),
                enabled=channel.enabled,
            )
        elif not is_admin:
            del self.fields["team"]

    def clean_url(self) -> str:
        url = str(self.cleaned_data.get("url") or "").strip()
        if not url:
            if self.channel is None:
                raise forms.ValidationError("Give the channel's URL.")
            return ""
        try:
            check_url(url)
        except UrlRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = self.channel.kind if self.channel is not None else data.get("kind")
        if data.get("secret") and kind != ChannelKind.WEBHOOK:
            self.add_error("secret", "Only webhook channels are signed.")
        return data
