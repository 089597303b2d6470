"""CloudTrail evidence in the demo organisation: per account, what the workloads recorded, what one
LookupEvents sweep over 90 days returns (management events only), and how many principals it shows with
the resources their calls touched. fakeaws only, no database.

    .venv/bin/python benchmarks/evidence_demo.py
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    import boto3

    import fakeaws
    from accounts.aws.evidence import lookup_events
    from fakeaws.demo import DEMO_ACCOUNTS, demo_accounts
    from fakeaws.scenario import READ_ROLE, seed_account
    from fakeaws.state import STATE

    specs = demo_accounts()
    now = datetime.now(UTC)
    print(
        "| account | events recorded (data events included) | returned by LookupEvents | principals "
        "| principals with resource evidence | LookupEvents calls |"
    )
    print("|---|---|---|---|---|---|")
    with fakeaws.mock():
        for account_id, env in DEMO_ACCOUNTS:
            if env == "management":
                continue
            seed_account(account_id, specs[account_id])
            creds = boto3.client("sts", region_name="us-east-1").assume_role(
                RoleArn=f"arn:aws:iam::{account_id}:role/{READ_ROLE}", RoleSessionName="bench"
            )["Credentials"]
            trail = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name="us-east-1",
            ).client("cloudtrail")
            pages = list(lookup_events(trail, now - timedelta(days=90), now))
            events = [e for page in pages for e in page]
            spec = specs[account_id]
            principals = len(spec["roles"]) + len(spec["users"]) + len(spec["groups"])
            with_resources = len({e.caller for e in events if e.resources and not e.error})
            recorded = len(STATE.events.get(account_id, []))
            print(f"| {env} | {recorded} | {len(events)} | {principals} | {with_resources} | {len(pages)} |")


if __name__ == "__main__":
    main()
