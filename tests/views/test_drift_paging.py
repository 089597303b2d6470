"""The drift page after a large change: each list a page at a time with plain links, the CSV whole."""

from __future__ import annotations

import csv
import io
from typing import Any

from accounts.models import LinkedAccount
from findings.models import SnapshotChange

ADDED = 60


def test_drift_lists_are_paged_and_the_csv_holds_every_row(client_as: Any) -> None:
    account = LinkedAccount.objects.create(account_id="313131313131", name="big")
    arn = "arn:aws:iam::313131313131:role/r{:03d}"
    SnapshotChange.objects.bulk_create(
        [
            SnapshotChange(
                account=account, kind=SnapshotChange.Kind.PRINCIPAL_ADDED, principal_arn=arn.format(n)
            )
            for n in range(ADDED)
        ]
        + [
            SnapshotChange(
                account=account,
                kind=SnapshotChange.Kind.PRINCIPAL_ADDED,
                principal_arn=arn.format(900 + n),
                detail={"first_sync": True},
            )
            for n in range(3)
        ]
    )
    viewer = client_as("viewer")
    body = viewer.get("/drift/").content.decode()
    added = body.split('<section id="added">')[1].split("</section>")[0]
    assert f"Principals added ({ADDED})" in added and added.count("<code>arn:") == 25
    assert "show more (35 left)" in added and "added_page=2#added" in added
    assert "First seen (3)" in body  # first-sync rows are not counted as added
    page3 = viewer.get("/drift/?added_page=3").content.decode().split('<section id="added">')[1]
    shown = page3.split("</section>")[0]
    assert shown.count("<code>arn:") == 10 and "show more" not in shown and "previous" in shown
    assert arn.format(ADDED - 1) in shown and arn.format(0) not in shown
    response = viewer.get("/drift/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sum(r["change"] == "principal added" for r in rows) == ADDED
    assert sum(r["change"] == "first seen" for r in rows) == 3
