"""The emailed digest: findings new since each subscriber's previous digest, sent once per period.

Each subscriber gets a message of their own and a record of their own (DigestSent): an address the mail
server refuses, or one that could inject headers, fails that digest alone, and every other one is sent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.forms import validate_email_address
from accounts.models import DigestSent, LinkedAccount, Profile
from accounts.roles import Role, user_role
from findings.models import Finding, FindingStatus
from policy.kinds import SEVERITY_IDS, SEVERITY_RANK

# Findings listed in one digest; the others are counted, with a link to the full list. A first sync of a
# large account finds thousands: a mail of them all is unread, and mail servers refuse very large ones.
DIGEST_MAX_FINDINGS = 100


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
        # Suppressed findings were decided on; resolved ones are counted below.
        .exclude(status__in=[FindingStatus.RESOLVED, FindingStatus.SUPPRESSED])
        .select_related("account")
        .order_by("severity_rank", "principal_arn", "id")
    )
    new_count = new.count()
    resolved = Finding.objects.filter(
        account__in=accounts, resolved_at__gt=since, resolved_at__lte=now, severity_rank__lte=threshold
    )
    groups: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in new[:DIGEST_MAX_FINDINGS]:
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
        "new_count": new_count,
        "more_count": max(0, new_count - DIGEST_MAX_FINDINGS),
        "resolved_count": resolved.count(),
        # Encoded: a `+` in the time zone left as is reads as a space, and the list drops the filter.
        "findings_url": f"{site}{reverse('finding_list')}?{urlencode({'since': since.isoformat()})}",
        "settings_url": f"{site}{reverse('profile_settings')}",
        "site": site,
    }


def _claim(profile: Profile, period: str) -> DigestSent | None:
    """This period's record for the user, ours to send; None when it was sent or another worker has it.
    A digest that failed this period is tried again."""
    try:
        with transaction.atomic():
            return DigestSent.objects.create(user=profile.user, period=period)
    except IntegrityError:
        retry = DigestSent.objects.filter(user=profile.user, period=period, sent_at=None).exclude(error="")
        if retry.update(error="") != 1:
            return None
        return DigestSent.objects.get(user=profile.user, period=period)


def _fail(claim: DigestSent, error: str) -> DigestSent:
    claim.error = error[:2000]
    claim.save(update_fields=["new_count", "resolved_count", "error"])
    return claim


def digest_send(*, profile: Profile, now: datetime | None = None) -> DigestSent | None:
    """Send this period's digest unless it was sent (or claimed) already. None when there is nothing to do;
    a record with `error` (and no `sent_at`) when this user's digest could not be sent."""
    now = now or timezone.now()
    user = profile.user
    # A user who lost every role (or was deactivated) may no longer see findings: no digest either.
    if (
        profile.digest_frequency == Profile.DigestFrequency.NEVER
        or not user.email
        or user_role(user) < Role.VIEWER
    ):
        return None
    period = period_of(profile.digest_frequency, now)
    claim = _claim(profile, period)
    if claim is None:
        return None  # this period's digest is done, or being sent by another worker
    content = digest_content(profile, now)
    claim.new_count, claim.resolved_count = content["new_count"], content["resolved_count"]
    if content["new_count"] == 0 and not profile.digest_all_clear:
        claim.save(update_fields=["new_count", "resolved_count"])
        Profile.objects.filter(pk=profile.pk).update(last_digest_at=now)
        return claim
    try:
        # Saved addresses are checked by the settings form; one set another way (admin, shell) is
        # checked again here, so it cannot add headers or recipients.
        validate_email_address(user.email)
    except ValidationError as exc:
        return _fail(claim, f"address {user.email!r} refused: {' '.join(exc.messages)}")
    subject = render_to_string("emails/digest-subject.html", content).strip()
    message = EmailMultiAlternatives(
        subject,
        render_to_string("emails/digest-body-text.html", content),
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )
    message.attach_alternative(render_to_string("emails/digest-body-html.html", content), "text/html")
    try:
        message.send()
    except (OSError, ValueError) as exc:  # SMTP errors are OSErrors; a bad header is a ValueError
        return _fail(claim, f"could not send the digest to {user.email}: {exc}")
    claim.sent_at = timezone.now()
    claim.save(update_fields=["new_count", "resolved_count", "sent_at"])
    Profile.objects.filter(pk=profile.pk).update(last_digest_at=now)
    return claim


def digests_send_due(*, now: datetime | None = None) -> int:
    """Send every due digest, one subscriber at a time. Raises RuntimeError after all the others were sent
    when some could not be (the task retries those, and only those)."""
    now = now or timezone.now()
    sent = 0
    failed: list[str] = []
    for profile in Profile.objects.exclude(digest_frequency=Profile.DigestFrequency.NEVER).select_related(
        "user"
    ):
        if profile.digest_frequency == Profile.DigestFrequency.WEEKLY and now.isoweekday() != 1:
            continue  # weekly digests go out on Mondays
        claim = digest_send(profile=profile, now=now)
        if claim is not None and claim.error:
            failed.append(claim.error)
        sent += int(claim is not None and claim.sent_at is not None)
    if failed:
        raise RuntimeError(f"{sent} digest(s) sent, {len(failed)} could not be: {failed[0]}")
    return sent
