"""The Celery application: configured from Django settings, tasks autodiscovered, schedule in code."""

from __future__ import annotations

import os

from celery import Celery, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iamreview.settings")

app = Celery("iamreview")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _use_django_logging(**_: object) -> None:
    """Workers and beat log through Django's LOGGING (with its secret-redacting filter), not Celery's own."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# The schedule lives here; django-celery-beat's DatabaseScheduler copies it into the database when beat
# starts, where admins can pause an entry or change its timing.
app.conf.beat_schedule = {
    # accounts
    "sync-due-accounts": {"task": "accounts.tasks.accounts_sync_due", "schedule": 300.0},
    "reap-sync-runs": {"task": "accounts.tasks.sync_runs_reap_stale", "schedule": 300.0},
    "reap-account-checks": {"task": "accounts.tasks.account_checks_reap_stale", "schedule": 300.0},
    "forget-login-failures": {"task": "accounts.tasks.login_failures_forget", "schedule": crontab(minute=41)},
    # findings
    "reap-change-requests": {"task": "findings.tasks.change_requests_reap_stale", "schedule": 300.0},
    "collect-evidence": {"task": "findings.tasks.evidence_tick", "schedule": 300.0},
    "watch-access-denied": {"task": "findings.tasks.access_denied_watch", "schedule": 900.0},
    "promote-stages": {"task": "findings.tasks.stages_promote_due", "schedule": 900.0},
    "send-digests": {"task": "findings.tasks.digests_send_due", "schedule": crontab(hour=7, minute=0)},
    "expire-change-requests": {
        "task": "findings.tasks.change_requests_expire",
        "schedule": crontab(minute=17),
    },
    "expire-suppressions": {"task": "findings.tasks.suppressions_expire", "schedule": crontab(minute=7)},
    # Once a day, off the hour the digests go out: history beyond the retention period (findings.retention).
    "prune-history": {"task": "findings.tasks.retention_prune", "schedule": crontab(hour=3, minute=23)},
    # notify: the minute's batch of new findings, and events or deliveries a lost task left behind
    "dispatch-notifications": {"task": "notify.tasks.notifications_dispatch_due", "schedule": 60.0},
}
