"""The emailed digest: findings new since each subscriber's previous digest, sent once per period."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import DigestSent, LinkedAccount, Profile
from findings.models import Finding, FindingStatus
from policy.kinds import SEVERITY_IDS, SEVERITY_RANK


def period_of(frequency: str, now: datetime) -> str:
    if frequency == Profile.DigestFrequency.WEEKLY:
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    return now.strftime("%Y-%m-%d")


def digest_content(profile: Profile, now: datetime) -> dict[str, Any]:
    """What the user's digest says: new findings grouped by account and severity, and resolved counts."""
    since = profile.last_digest_at or now - (
        timedelta(days=7) if profile.digest_frequency == "weekly" else timedelta(days=1)
    )
    # Chosen digest accounts never widen what the user may see.
    visible = profile.accounts.all() if profile.accounts.exists() else LinkedAccount.objects.all()
    chosen = profile.digest_accounts.all()
    accounts = visible.filter(pk__in=chosen.values("pk")) if chosen.exists() else visible
    threshold = SEVERITY_RANK.get(profile.digest_min_severity, SEVERITY_RANK["info"])
    new = (
        Finding.objects.filter(
            account__in=accounts, first_seen__gt=since, first_seen__lte=now, severity_rank__lte=threshold
        )
        .exclude(status=FindingStatus.RESOLVED)
        .select_related("account")
        .order_by("severity_rank", "principal_arn")
    )
    resolved = Finding.objects.filter(
        account__in=accounts, resolved_at__gt=since, resolved_at__lte=now, severity_rank__lte=threshold
    )
    groups: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in new:
        groups[f.account.name][f.severity].append(f)
    site = settings.SITE_URL
    return {
        "user": profile.user,
        "since": since,
        "now": now,
        "groups": [
            {
                "account": name,
                "severities": [{"severity": s, "findings": by_sev[s]} for s in SEVERITY_IDS if s in by_sev],
            }
            for name, by_sev in sorted(groups.items())
        ],
        "new_count": sum(len(v) for by_sev in groups.values() for v in by_sev.values()),
        "resolved_count": resolved.count(),
        "findings_url": f"{site}{reverse('finding_list')}?since={since.isoformat()}",
        "settings_url": f"{site}{reverse('profile_settings')}",
        "site": site,
    }


def digest_send(*, profile: Profile, now: datetime | None = None) -> DigestSent | None:
    """Send this period's digest unless it was sent (or claimed) already. None when there is nothing to do."""
    now = now or timezone.now()
    if (
        profile.digest_frequency == Profile.DigestFrequency.NEVER
        or not profile.user.email
        or not profile.user.is_active
    ):
        return None
    period = period_of(profile.digest_frequency, now)
    try:
        with transaction.atomic():
            claim = DigestSent.objects.create(user=profile.user, period=period)
    except IntegrityError:
        return None  # this period's digest is done, or being sent by another worker
    content = digest_content(profile, now)
    claim.new_count, claim.resolved_count = content["new_count"], content["resolved_count"]
    if content["new_count"] == 0 and not profile.digest_all_clear:
        claim.save(update_fields=["new_count", "resolved_count"])
        Profile.objects.filter(pk=profile.pk).update(last_digest_at=now)
        return claim
    subject = render_to_string("emails/digest-subject.html", content).strip()
    message = EmailMultiAlternatives(
        subject,
        render_to_string("emails/digest-body-text.html", content),
        settings.DEFAULT_FROM_EMAIL,
        [profile.user.email],
    )
    message.attach_alternative(render_to_string("emails/digest-body-html.html", content), "text/html")
    try:
        message.send()
    except OSError as exc:
        # Let a retry try again: the claim is released, nothing was delivered.
        claim.delete()
        raise RuntimeError(f"could not send the digest to {profile.user.email}: {exc}") from exc
    claim.sent_at = timezone.now()
    claim.save(update_fields=["new_count", "resolved_count", "sent_at"])
    Profile.objects.filter(pk=profile.pk).update(last_digest_at=now)
    return claim


def digests_send_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    sent = 0
    for profile in Profile.objects.exclude(digest_frequency=Profile.DigestFrequency.NEVER).select_related(
        "user"
    ):
        if profile.digest_frequency == Profile.DigestFrequency.WEEKLY and now.isoweekday() != 1:
            continue  # weekly digests go out on Mondays
        claim = digest_send(profile=profile, now=now)
        sent += int(claim is not None and claim.sent_at is not None)
    return sent
