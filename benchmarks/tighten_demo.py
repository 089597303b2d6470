"""Tightening and resource scoping on the demo organisation, checked by the independent z3 evaluator.

    DATABASE_URL=postgresql://... .venv/bin/python benchmarks/tighten_demo.py [--accounts prod staging sandbox]

Seeds the demo accounts in fakeaws, syncs each into PostgreSQL, collects each account's CloudTrail evidence
the way the worker does (a LookupEvents sweep over 90 days of the events the demo's workloads recorded:
management events only, their resources read from the records), builds every suggestion from the stored
evidence, and prints: actions removed, actions narrowed to resources, the share of principals
with a resource-scoped suggestion, and what z3 (`tests/independent/z3_policy.py`, no code shared with
`policy/`) found: tightened documents granting a request the original refused, and used requests refused.
The figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Documents with more action patterns than this are left to the engine's own check: z3's encoding of
# thousands of patterns (an administrator's replacement keeps every action Access Advisor cannot see)
# takes minutes each.
Z3_MAX_PATTERNS = 400


def collect_evidence(account: Any) -> None:
    """The account's own evidence collection, as the worker runs it: one CloudTrail LookupEvents sweep
    over the window (`findings.evidence`), through fakeaws with the read role."""
    from django.utils import timezone

    from findings import evidence
    from findings.evidence_models import EvidenceJobKind

    now = timezone.now()
    job = evidence._create(account, EvidenceJobKind.LOOKUP, None, now - evidence.WINDOW, now)
    assert job is not None  # nosec B101 - a fresh database: nothing else runs
    done = evidence.evidence_job_run(job_id=job.pk)
    if done.status != "succeeded":
        raise SystemExit(f"evidence collection failed for {account.name}: {done.error}")


def cloudtrail_rows(evidence: list[Any]) -> list[Any]:
    """The evidence rows CloudTrail gave (per action, with the resource where the event named one)."""
    from policy.evidence import SOURCES_WITH_RESOURCES

    return [e for e in evidence if e.source in SOURCES_WITH_RESOURCES and not e.service_level]


def z3_check(item: dict[str, Any], evidence: list[Any]) -> tuple[str, int]:
    """("", checked requests) when z3 finds nothing wrong with this item; else what it found."""
    from tests.independent.z3_policy import new_access

    original = [item["original"]]
    proposed = item["proposed"]
    found = new_access(original, proposed)
    if found is not None:
        return f"{item['name']}: the tightened policy allows {found}", 0
    if item.get("hardening"):
        found = new_access(original, item["hardening"]["proposed"])
        if found is not None:
            return f"{item['name']}: the hardened policy allows {found}", 0
    checked = 0
    for e in evidence:
        resources = [] if e.resource is None else [e.resource]
        # Allowed by the original (in some context) and refused by the tightened documents?
        lost = new_access(proposed, original, [e.action], resources)
        if lost is not None:
            return f"{item['name']}: {e.action} on {e.resource} was used and is refused: {lost}", checked
        checked += 1
    return "", checked


def patterns(documents: list[dict[str, Any]]) -> int:
    total = 0
    for d in documents:
        for st in d["Statement"] if isinstance(d["Statement"], list) else [d["Statement"]]:
            actions = st.get("Action", st.get("NotAction", []))
            total += len(actions) if isinstance(actions, list) else 1
    return total


def run(accounts: list[str], *, z3_limit: int = Z3_MAX_PATTERNS) -> dict[str, Any]:
    """Every figure, for the named demo accounts (prod, staging, sandbox)."""
    from django.test import override_settings

    import fakeaws
    from accounts.models import LinkedAccount, SyncRun
    from fakeaws.demo import DEMO_ACCOUNTS, demo_accounts, demo_external_id
    from fakeaws.scenario import READ_ROLE, seed_account, trail_arn
    from findings.facts import principal_evidence
    from findings.ingest import sync_run_execute
    from findings.models import Principal
    from findings.suggestions import suggestion_build

    specs = demo_accounts()
    figures: dict[str, Any] = {
        "principals": 0,
        "suggestions": 0,
        "actions_removed": 0,
        "actions_narrowed": 0,
        "scoped_principals": 0,
        "evidence_principals": 0,
        "resource_evidence_principals": 0,
        "z3_items": 0,
        "z3_skipped": 0,
        "z3_requests": 0,
        "z3_problems": [],
    }
    with fakeaws.mock():
        for account_id, env in DEMO_ACCOUNTS:
            if env not in accounts:
                continue
            spec = specs[account_id]
            seed_account(account_id, spec)
            account = LinkedAccount.objects.create(
                account_id=account_id,
                name=env,
                role_arn=f"arn:aws:iam::{account_id}:role/{READ_ROLE}",
                external_id=demo_external_id(account_id),
                cloudtrail_trail_arn=trail_arn(account_id),
                cloudtrail_lookup=True,
            )
            with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
                sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
                collect_evidence(account)
            for principal in Principal.objects.filter(account=account).order_by("kind", "name"):
                figures["principals"] += 1
                evidence = cloudtrail_rows(principal_evidence(principal))
                figures["evidence_principals"] += bool(evidence)
                figures["resource_evidence_principals"] += any(e.resource for e in evidence)
                suggestion = suggestion_build(principal=principal)
                if suggestion is None:
                    continue
                figures["suggestions"] += 1
                figures["actions_removed"] += suggestion.removed_count
                narrowed = sum(len(i.get("narrowed", [])) for i in suggestion.items)
                figures["actions_narrowed"] += narrowed
                figures["scoped_principals"] += bool(narrowed)
                for item in suggestion.items:
                    if patterns([item["original"], *item["proposed"]]) > z3_limit:
                        figures["z3_skipped"] += 1
                        continue
                    problem, checked = z3_check(item, evidence)
                    figures["z3_items"] += 1
                    figures["z3_requests"] += checked
                    if problem:
                        figures["z3_problems"].append(f"{principal.name}: {problem}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", nargs="+", default=["prod", "staging", "sandbox"])
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iamreview.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        f = run(args.accounts)
        took = time.perf_counter() - started
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)
    share = f["scoped_principals"] / f["evidence_principals"] if f["evidence_principals"] else 0.0
    print(f"| accounts | {' '.join(args.accounts)} |")
    print(
        f"| principals | {f['principals']} ({f['evidence_principals']} with CloudTrail evidence, "
        f"{f['resource_evidence_principals']} of them with resources) |"
    )
    print(f"| suggestions | {f['suggestions']} |")
    print(f"| actions removed | {f['actions_removed']:,} |")
    print(f"| actions narrowed to the resources used | {f['actions_narrowed']} |")
    print(
        f"| principals with a resource-scoped suggestion | {f['scoped_principals']} of {f['principals']} "
        f"({f['scoped_principals'] / max(f['principals'], 1):.0%}); {share:.0%} of those with evidence |"
    )
    print(
        f"| z3: items checked | {f['z3_items']} ({f['z3_skipped']} with over {Z3_MAX_PATTERNS} action "
        "patterns left to the engine's check) |"
    )
    print(f"| z3: used requests confirmed still allowed | {f['z3_requests']} |")
    print(f"| z3: problems | {len(f['z3_problems'])} |")
    print(f"| wall time | {took:.0f} s |")
    for p in f["z3_problems"]:
        print("PROBLEM:", p)


if __name__ == "__main__":
    main()
