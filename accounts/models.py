"""Linked AWS accounts.

Snapshot storage (principals, policies, usage) lives in `findings` because every reader of it is there;
this app owns what we know about an account as a link: where to assume, and how often to sync.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from core.models import JobRow

account_id_validator = RegexValidator(r"^\d{12}$", "An AWS account id is exactly 12 digits.")
role_arn_validator = RegexValidator(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
    "A role ARN looks like arn:aws:iam::123456789012:role/iamreview-read.",
)

trail_arn_validator = RegexValidator(
    r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[\w.-]{3,128}$",
    "A trail ARN looks like arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events.",
)


def default_unused_days() -> int:
    """The unused-permission window of a newly linked account (IAMREVIEW_UNUSED_DAYS); each has its own."""
    return int(settings.IAMREVIEW_UNUSED_DAYS)


def new_external_id() -> str:
    return "iamreview-" + secrets.token_hex(16)


class LinkedAccount(models.Model):
    account_id = models.CharField(max_length=12, unique=True, validators=[account_id_validator])
    name = models.CharField(max_length=100)
    role_arn = models.CharField(
        max_length=600,
        blank=True,
        validators=[role_arn_validator],
        help_text="Read-only role to assume. Leave empty to use the product's own credentials.",
    )
    apply_role_arn = models.CharField(
        max_length=600,
        blank=True,
        validators=[role_arn_validator],
        help_text="Optional role with the few write actions that applying tightened policies needs.",
    )
    # Not a secret (AWS documents it as a confused-deputy guard), but unique per account and never reused.
    external_id = models.CharField(max_length=64, unique=True, default=new_external_id, editable=False)
    reads_organization = models.BooleanField(
        default=False,
        verbose_name="Management account",
        help_text=(
            "The organisation's management (or delegated-admin) account: each sync also reads the OU tree "
            "and the SCPs and RCPs, which then cap every member account's analysis. Deploy the "
            "management-account template here."
        ),
    )
    regions = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    sync_interval_minutes = models.PositiveIntegerField(default=360, validators=[MinValueValidator(15)])
    unused_days = models.PositiveIntegerField(default=default_unused_days, validators=[MinValueValidator(1)])
    # Evidence of use from CloudTrail (findings.evidence). Policy generation needs the trail that logs the
    # account's management events and the service role Access Analyzer assumes to read it.
    cloudtrail_trail_arn = models.CharField(
        max_length=600,
        blank=True,
        validators=[trail_arn_validator],
        help_text="Trail for IAM Access Analyzer policy generation (evidence of use from CloudTrail).",
    )
    policy_generation_role_arn = models.CharField(
        max_length=600,
        blank=True,
        validators=[role_arn_validator],
        help_text="Service role IAM Access Analyzer assumes to read the trail (iamreview-policy-generation).",
    )
    cloudtrail_lookup = models.BooleanField(
        default=False, help_text="Also read management events with CloudTrail LookupEvents (90 days)."
    )
    # A permission last used between the window and this many days ago is kept as "periodic?".
    periodic_days = models.PositiveIntegerField(default=400, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_SYNC_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)
FINISHED_SYNC_STATUSES = (SyncStatus.SUCCEEDED, SyncStatus.FAILED)


class SyncRun(JobRow):
    """One collection of one account: queued, claimed by one worker, finished with counts or an error."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    trigger = models.CharField(max_length=16, default="schedule")  # schedule | manual | import
    requested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    counts = models.JSONField(default=dict, blank=True)
    api_calls = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one queued or running sync per account: a second "Sync now" or a beat tick that
            # races the first cannot create a parallel run.
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_sync_per_account",
            )
        ]
        indexes = [
            # "Last sync of each account" on the dashboard and account pages.
            models.Index(fields=["account", "-created_at"], name="syncrun_account_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"sync #{self.pk} of {self.account.account_id}: {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_SYNC_STATUSES

    @property
    def total_api_calls(self) -> int:
        return sum(int(v) for v in self.api_calls.values())

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Profile(models.Model):
    """Per-user settings: which accounts the user may see, review bookmark, digest preferences."""

    class DigestFrequency(models.TextChoices):
        NEVER = "never", "Never"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="profile")
    # Empty: every account. Otherwise the user sees only these accounts' data, everywhere.
    accounts = models.ManyToManyField(LinkedAccount, blank=True, related_name="+")
    last_review_at = models.DateTimeField(null=True, blank=True)
    digest_frequency = models.CharField(
        max_length=8, choices=DigestFrequency.choices, default=DigestFrequency.NEVER
    )
    digest_accounts = models.ManyToManyField(LinkedAccount, blank=True, related_name="+")
    digest_min_severity = models.CharField(max_length=16, default="high")
    digest_all_clear = models.BooleanField(default=False, help_text="Send a digest even when nothing is new")
    last_digest_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


def last_sync_runs(account_ids: list[int]) -> dict[int, SyncRun]:
    """The newest run of each account, in one query on any database."""
    newest = (
        SyncRun.objects.filter(account=models.OuterRef("account"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    runs = SyncRun.objects.filter(account_id__in=account_ids, pk=models.Subquery(newest)).select_related(
        "account", "requested_by"
    )
    return {r.account_id: r for r in runs}


class DigestSent(models.Model):
    """One digest per user per period: created before sending, so a retried task sends nothing twice."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=16, help_text="2026-11-24 (daily) or 2026-W48 (weekly)")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    new_count = models.PositiveIntegerField(default=0)
    resolved_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "period"], name="one_digest_per_period")]

    def __str__(self) -> str:
        return f"digest {self.period} for {self.user_id}"


class LoginFailure(models.Model):
    """A failed sign-in: enough of them for one username (or from one address) locks it out for a while."""

    username = models.CharField(max_length=150)  # lower-cased
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # "failures for this username in the last N minutes", and the same for an address.
            models.Index(fields=["username", "created_at"], name="loginfailure_user_idx"),
            models.Index(fields=["ip", "created_at"], name="loginfailure_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"failed sign-in for {self.username} from {self.ip} at {self.created_at:%Y-%m-%d %H:%M}"


class CheckKind(models.TextChoices):
    CONNECTION = "connection", "Connection test"
    DISCOVERY = "discovery", "Organization discovery"


class AccountCheck(JobRow):
    """A short AWS call a person asked for from a page (test the read role, list the organization's
    accounts): run by a worker like a sync, so a page never waits on AWS; the page polls the row."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=16, choices=CheckKind.choices)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    requested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What was found, in words, and (discovery) the member accounts as AWS listed them.
    message = models.TextField(blank=True)
    found = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One check of a kind at a time per account: pressing the button twice polls the same row.
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_check_per_account_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.account.account_id}: {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_SYNC_STATUSES

    @property
    def ok(self) -> bool:
        return self.status == SyncStatus.SUCCEEDED

    @property
    def is_discovery(self) -> bool:
        return self.kind == CheckKind.DISCOVERY
