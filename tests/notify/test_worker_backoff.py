"""The backoff is real: a real Celery worker (Redis broker) retries a delivery the receiver answers with
500 after 1 s, then 2 s (IAMREVIEW_NOTIFY_RETRY_SECONDS=1), measured at the receiver."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from notify.models import Delivery, DeliveryStatus
from notify.tasks import delivery_send
from tests.notify.helpers import make_channel
from tests.processes import celery_worker
from tests.receiver import Receiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SECRET = "worker-test-signing-secret-0042"


def test_a_real_worker_retries_with_exponential_backoff(users: Any, server: Receiver, tmp_path: Path) -> None:
    db = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "IAMREVIEW_NOTIFY_ALLOW_HTTP": "true",
        "IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES": "true",
        "IAMREVIEW_NOTIFY_RETRY_SECONDS": "1",
    }
    channel, _ = make_channel(users["viewer"], f"{server.url}/hook", secret=SECRET)
    delivery = Delivery.objects.create(
        channel=channel, event="change_done", message={"title": "t", "lines": [], "link": "", "data": {}}
    )
    server.script = [500, 500, 200]
    queue = f"notify-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    with celery_worker(queue, env, log):
        delivery_send.apply_async(args=[delivery.pk, 0], queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            delivery.refresh_from_db()
            if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
                break
            time.sleep(0.2)
    assert delivery.status == DeliveryStatus.DELIVERED, log.read_text()[-3000:]
    assert [a["status_code"] for a in delivery.attempt_log] == [500, 500, 200]
    assert [a["retry_in"] for a in delivery.attempt_log] == [1, 2, None]
    first, second, third = (r.at for r in server.requests)
    assert 0.9 <= second - first < 10 and 1.9 <= third - second < 12, (second - first, third - second)
    assert all(server.verify(r, SECRET) for r in server.requests)
    assert "/hook" not in log.read_text() and SECRET not in log.read_text()
