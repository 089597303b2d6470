"""The credential report's `<root_account>` row, which moto leaves out: every account has one, as in AWS.

Seed it with `"root": {"mfa": false, "keys": [{"last_used_days": 3}], "password_last_used_days": 2}` in an
account spec (`fakeaws.scenario`); unseeded, the root user has MFA, no access key, and no recorded use.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_installed = False


def _iso(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00") if when else "N/A"


def root_row(account_id: str, spec: dict[str, Any]) -> str:
    # Whole days: the same report all day long, as AWS gives the same dates until something happens.
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    created = now - timedelta(days=spec.get("created_days", 2000))
    password_days = spec.get("password_last_used_days")
    cells = [
        "<root_account>",
        f"arn:aws:iam::{account_id}:root",
        _iso(created),
        "not_supported",
        _iso(now - timedelta(days=password_days)) if password_days is not None else "no_information",
        "not_supported",
        "not_supported",
        "true" if spec.get("mfa", True) else "false",
    ]
    keys = list(spec.get("keys", []))[:2]
    for slot in range(2):
        key = keys[slot] if slot < len(keys) else None
        if key is None:
            cells += ["false", "N/A", "N/A", "N/A", "N/A"]
            continue
        used = key.get("last_used_days")
        cells += [
            "true",
            _iso(now - timedelta(days=key.get("age_days", 400))),
            _iso(now - timedelta(days=used)) if used is not None else "N/A",
            "us-east-1" if used is not None else "N/A",
            "iam" if used is not None else "N/A",
        ]
    cells += ["false", "N/A", "false", "N/A"]
    return ",".join(cells) + "\n"


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.iam.models import IAMBackend

    from fakeaws.state import STATE

    original = IAMBackend.get_credential_report

    def get_credential_report(self: IAMBackend) -> str:
        report = original(self)
        header, _, rows = report.partition("\n")
        return f"{header}\n{root_row(self.account_id, STATE.root_users.get(self.account_id, {}))}{rows}"

    IAMBackend.get_credential_report = get_credential_report  # type: ignore[method-assign]
