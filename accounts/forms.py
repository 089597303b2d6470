"""Forms for linking and editing an AWS account, and the check of an email address."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import LinkedAccount, role_arn_validator

ROLE_ARN_RE = re.compile(role_arn_validator.regex.pattern)
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def validate_email_address(value: str) -> None:
    """One plain address: no line break or other invisible character (they would add mail headers) and no
    separator (it would add recipients)."""
    if not value.isprintable() or any(c.isspace() or c in ',;<>()[]\\"' for c in value):
        raise ValidationError("Enter one email address, without spaces, line breaks or separators.")
    validate_email(value)


class LinkedAccountForm(forms.ModelForm):
    regions = forms.CharField(
        required=False,
        help_text="Comma-separated, e.g. us-east-1, eu-west-1 (IAM is global; Access Analyzer is regional).",
    )

    class Meta:
        model = LinkedAccount
        fields = [
            "account_id",
            "name",
            "role_arn",
            "apply_role_arn",
            "reads_organization",
            "regions",
            "enabled",
            "sync_interval_minutes",
            "unused_days",
            "periodic_days",
            "cloudtrail_trail_arn",
            "policy_generation_role_arn",
            "cloudtrail_lookup",
        ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields[
            "periodic_days"
        ].required = False  # left empty: the account keeps its value (400 at first)
        if self.instance.pk:
            self.initial["regions"] = ", ".join(self.instance.regions)
            self.fields["account_id"].disabled = True

    def clean_periodic_days(self) -> int:
        return int(self.cleaned_data.get("periodic_days") or self.instance.periodic_days or 400)

    def clean_regions(self) -> list[str]:
        raw = self.cleaned_data.get("regions") or ""
        regions = [r.strip() for r in raw.split(",") if r.strip()]
        bad = [r for r in regions if not REGION_RE.match(r)]
        if bad:
            raise forms.ValidationError(f"Not an AWS region name: {', '.join(bad)}")
        return regions or ["us-east-1"]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        account_id = data.get("account_id") or self.instance.account_id
        for field in ("role_arn", "apply_role_arn", "policy_generation_role_arn"):
            arn = data.get(field)
            if arn and account_id and ROLE_ARN_RE.match(str(arn)) and f":{account_id}:" not in str(arn):
                self.add_error(field, f"This role is not in account {account_id}.")
        return data
