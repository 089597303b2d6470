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
    "sync-due-accounts": {
        "task": "accounts.tasks.sync_due_accounts",
        "schedule": 300.0,
    },
    "send-digests": {
        "task": "findings.tasks.send_digests",
        "schedule": crontab(hour=7, minute=0),
    },
    "expire-change-requests": {
        "task": "findings.tasks.expire_change_requests",
        "schedule": crontab(minute=17),
    },
    "expire-suppressions": {
        "task": "findings.tasks.expire_suppressions",
        "schedule": crontab(minute=7),
    },
}
