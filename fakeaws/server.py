"""fakeaws as a server: `python -m fakeaws.server --port 5055 [--scenario demo|small] [--deny-assume ARN]`.

Point iamreview at it with AWS_ENDPOINT_URL=http://127.0.0.1:5055 (and any AWS_ACCESS_KEY_ID/SECRET).
Seeded accounts have the product's read and apply roles with the onboarding templates' policies, and calls
made through them are refused when those policies do not allow them; FAKEAWS_ENFORCE=0 turns that off.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from typing import Any

SCENARIOS: dict[str, str] = {
    "small": "tests.scenarios:small_company_accounts",
    "demo": "fakeaws.demo:demo_accounts",
    "bench": "benchmarks.scenarios:bench_accounts",
}


# Scenarios with an Organization: the management account and the loader of its spec.
ORGANIZATIONS: dict[str, tuple[str, str]] = {"demo": ("999999999999", "fakeaws.demo:demo_organization")}
# Scenarios with IAM Identity Center in the management account: the loader of its permission sets.
IDENTITY_CENTERS: dict[str, str] = {"demo": "fakeaws.demo:demo_identity_center"}


def _load(name: str) -> Any:
    import importlib

    module, _, attr = (SCENARIOS.get(name) or name).partition(":")
    return getattr(importlib.import_module(module), attr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="")
    parser.add_argument(
        "--deny-assume", action="append", default=[], help="role ARN whose AssumeRole is refused"
    )
    parser.add_argument(
        "--job-polls", type=int, default=0, help="Access Advisor polls before a job completes"
    )
    args = parser.parse_args()

    os.environ["FAKEAWS_SERVER"] = "1"
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "fakeaws")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fakeaws")
    from moto.server import ThreadedMotoServer

    import fakeaws

    fakeaws.install()
    fakeaws.reset()
    fakeaws.faults().deny_assume.update(args.deny_assume)
    fakeaws.faults().job_polls_before_complete = args.job_polls
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    endpoint = f"http://{args.host}:{args.port}"
    if args.scenario:
        from fakeaws.scenario import seed_account

        for account_id, spec in _load(args.scenario)().items():
            seed_account(account_id, spec, endpoint_url=endpoint)
        if args.scenario in ORGANIZATIONS:
            from fakeaws.organization import seed_organization

            management, loader = ORGANIZATIONS[args.scenario]
            seed_organization(management, _load(loader)(), endpoint_url=endpoint)
            if args.scenario in IDENTITY_CENTERS:
                from fakeaws.identity_center import seed_identity_center

                seed_identity_center(
                    management, _load(IDENTITY_CENTERS[args.scenario])(), endpoint_url=endpoint
                )
    print(f"fakeaws listening on {endpoint}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
