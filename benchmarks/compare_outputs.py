"""Compares what two revisions make of the same account files: stored analysis, open findings, `analyze` JSON.

    python benchmarks/compare_outputs.py --before 5155d3e --after HEAD

For each revision it checks the revision out in a temporary `git worktree` under /tmp, migrates a fresh
PostgreSQL database, imports every account file with `manage.py import_gaad`, dumps per principal a
canonical record (risk score, admin, escalation path ids and targets, score explanation, open findings as
kind/severity/subject) and runs `manage.py analyze FILE --format json` on each file. Then it diffs the two
dumps and prints a summary table and every difference, grouped by field.

The account files are the JSON fixtures under tests/fixtures/gaad, two files from benchmarks/gen_gaad.py
(300 and 2,000 roles, seed 7) and the three demo accounts exported from fakeaws (see `demo_export`).
They are written once under --inputs and reused, so every run compares the same bytes.

Environment: DATABASE_URL names the server (its database name is replaced by --db / --db-old), REDIS_URL
and CACHE_URL are passed through; the interpreter is this one unless --python says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess  # nosec B404
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
FIELDS = ["risk_score", "is_admin", "escalation", "score_explanation", "findings", "finding_text"]
DEMO_NOW = "2026-11-30T12:00:00+00:00"

# Runs inside a revision's worktree (cwd and PYTHONPATH) after import: one JSON line per principal.
DUMP = """
import json, re, sys, django
django.setup()
from findings.models import Finding, Principal
key = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}")  # access key ids are random in fakeaws: compared by count
open_findings, texts = {}, {}
for f in Finding.objects.filter(status="open").values_list(
    "principal_arn", "kind", "severity", "subject", "title", "detail"
):
    subject, title, detail = (key.sub("AKIA...", v) for v in f[3:])
    open_findings.setdefault(f[0], []).append([f[1], f[2], subject])
    texts.setdefault(f[0], []).append([f[1], subject, title, detail])
out = {}
for p in Principal.objects.select_related("account").order_by("arn"):
    out[p.account.account_id + " " + p.arn] = {
        "risk_score": p.risk_score,
        "is_admin": p.is_admin,
        "escalation": sorted({(e.get("path_id", ""), e.get("target", "")) for e in p.escalation_paths}),
        "score_explanation": p.score_explanation,
        "findings": sorted(open_findings.pop(p.arn, [])),
        "finding_text": sorted(texts.pop(p.arn, [])),
    }
for arn, items in open_findings.items():  # findings with no principal row (account-level ones)
    out.setdefault("- " + arn, {"findings": []})["findings"] = sorted(items)
json.dump(out, sys.stdout, sort_keys=True)
"""


# Runs inside a revision's worktree: the demo accounts seeded into this checkout's fakeaws (put first on
# sys.path by the caller, so both revisions read the same AWS), then one in-process sync of each.
SYNC = """
import importlib.util, sys, django
django.setup()
try:
    import accounts.product_roles
except ImportError:  # the old revision has no such module; fakeaws reads the product roles from it
    spec = importlib.util.spec_from_file_location("accounts.product_roles", sys.argv[1])
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    sys.modules["accounts.product_roles"] = module
from django.test import override_settings
import fakeaws
from fakeaws.demo import DEMO_ACCOUNTS, demo_accounts, demo_external_id
from fakeaws.scenario import READ_ROLE, seed_account
from accounts.models import LinkedAccount, SyncRun
try:
    from findings.ingest import sync_run_execute
except ImportError:
    from accounts.sync import sync_run_execute
specs = demo_accounts()
with fakeaws.mock():
    for account_id, env in DEMO_ACCOUNTS:
        seed_account(account_id, specs[account_id])
        account = LinkedAccount.objects.create(account_id=account_id, name=env,
            role_arn=f"arn:aws:iam::{account_id}:role/{READ_ROLE}", regions=["us-east-1"],
            external_id=demo_external_id(account_id))
        run = SyncRun.objects.create(account=account, trigger="manual")
        with override_settings(AWS_ENDPOINT_URL="", IAMREVIEW_POLL_MS=20):
            done = sync_run_execute(run_id=run.pk)
        print(env, done.status, done.error, file=sys.stderr)
"""


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # nosec B603
    if result.returncode:
        sys.exit(
            f"failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return result


# ---------------------------------------------------------------- inputs


def demo_export(out_dir: Path) -> list[tuple[str, str, Path]]:
    """The demo's accounts as authorization-details files: seeded into fakeaws in process, then read back
    page by page with GetAccountAuthorizationDetails (as the read role would, AWS managed policies only
    when attached). Ages are relative to a fixed `now` so the files do not change between runs."""
    from datetime import datetime

    import fakeaws
    from fakeaws.demo import DEMO_ACCOUNTS, demo_accounts
    from fakeaws.scenario import account_clients, seed_account

    now = datetime.fromisoformat(DEMO_NOW)
    files = []
    specs = demo_accounts()
    with fakeaws.mock():
        for account_id, env in DEMO_ACCOUNTS:
            seed_account(account_id, specs[account_id], now=now)
            iam = account_clients(account_id)["iam"]
            merged: dict[str, list[Any]] = defaultdict(list)
            for page in iam.get_paginator("get_account_authorization_details").paginate():
                for key, value in page.items():
                    if isinstance(value, list):
                        merged[key].extend(value)
            path = out_dir / f"demo-{env}.json"
            path.write_text(json.dumps(merged, default=_json_default, sort_keys=True, indent=1))
            files.append((account_id, f"demo {env}", path))
    return files


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _file_account(path: Path, default: str) -> str:
    text = path.read_text()
    marker = text.find("arn:aws:iam::")
    while marker >= 0:
        candidate = text[marker + 13 : marker + 25]
        if candidate.isdigit() and len(candidate) == 12:
            return candidate
        marker = text.find("arn:aws:iam::", marker + 1)
    return default


def prepare_inputs(inputs: Path, python: str) -> list[tuple[str, str, Path]]:
    """(account id, name, file) for every account file, written under `inputs` unless already there."""
    inputs.mkdir(parents=True, exist_ok=True)
    files = []
    for i, fixture in enumerate(sorted((REPO / "tests/fixtures/gaad").glob("*.json"))):
        target = inputs / f"fixture-{fixture.name}"
        shutil.copyfile(fixture, target)
        files.append((_file_account(target, f"{100000000000 + i}"), f"fixture {fixture.stem}", target))
    for roles in (300, 2000):
        target = inputs / f"gen-{roles}.json"
        if not target.exists():
            run(
                [
                    python,
                    str(REPO / "benchmarks/gen_gaad.py"),
                    "--roles",
                    str(roles),
                    "--seed",
                    "7",
                    "--out",
                    str(target),
                ],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        files.append(("123456789012", f"generated {roles}", target))
    demo = sorted(inputs.glob("demo-*.json"))
    if not demo:
        files += demo_export(inputs)
    else:
        from fakeaws.demo import DEMO_ACCOUNTS

        for account_id, env in DEMO_ACCOUNTS:
            files.append((account_id, f"demo {env}", inputs / f"demo-{env}.json"))
    return files


# ---------------------------------------------------------------- one revision


def _db_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _psql(base: str, sql: str) -> None:
    run(["psql", _db_url(base, "postgres"), "-v", "ON_ERROR_STOP=1", "-qc", sql])


def revision_dump(
    rev: str, files: list[tuple[str, str, Path]], *, db: str, python: str, out: Path, sync_demo: bool = False
) -> dict[str, Any]:
    """Per file: {"principals": {...}, "analyze": {...}} for revision `rev`."""
    sha = run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=REPO).stdout.strip()
    tree = Path(tempfile.mkdtemp(prefix=f"compare-{sha[:8]}-", dir="/tmp"))
    run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=REPO)
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    template = f"{db}_tpl"
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "DJANGO_SETTINGS_MODULE": "iamreview.settings",
        "DATABASE_URL": _db_url(base, db),
        "DEBUG": "false",
        "IAMREVIEW_VAR_DIR": str(tree / "var"),
    }
    result: dict[str, Any] = {"revision": sha, "files": {}}
    try:
        for name in (db, template):
            _psql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _psql(base, f'CREATE DATABASE "{db}"')
        run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=tree, env=env)
        _psql(base, f'CREATE DATABASE "{template}" TEMPLATE "{db}"')
        for account_id, name, path in files:
            # Every file in a fresh copy of the migrated database: two files may name the same account.
            _psql(base, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            _psql(base, f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
            run(
                [python, "manage.py", "import_gaad", "--account", account_id, "--name", name, str(path)],
                cwd=tree,
                env=env,
            )
            principals = json.loads(run([python, "-c", DUMP], cwd=tree, env=env).stdout)
            analyzed = json.loads(
                run([python, "manage.py", "analyze", str(path), "--format", "json"], cwd=tree, env=env).stdout
            )
            result["files"][path.name] = {"principals": principals, "analyze": analyzed}
            print(f"  {sha[:8]} {path.name}: {len(principals)} principals", file=sys.stderr)
        if sync_demo:
            shim = Path(tempfile.mkdtemp(prefix="compare-shim-", dir="/tmp"))
            (shim / "fakeaws").symlink_to(REPO / "fakeaws")
            _psql(base, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            _psql(base, f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
            sync_env = {**env, "PYTHONPATH": f"{shim}:{tree}"}
            # cwd is the shim: `python -c` puts the working directory before PYTHONPATH.
            done = run([python, "-c", SYNC, str(REPO / "accounts/product_roles.py")], cwd=shim, env=sync_env)
            principals = json.loads(run([python, "-c", DUMP], cwd=tree, env=env).stdout)
            result["files"]["sync-demo"] = {"principals": principals, "analyze": {}}
            print(
                f"  {sha[:8]} sync-demo: {len(principals)} principals\n{done.stderr[-1000:]}", file=sys.stderr
            )
    finally:
        _psql(base, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO)
    (out / f"dump-{sha[:8]}.json").write_text(json.dumps(result, sort_keys=True, indent=1))
    return result


# ---------------------------------------------------------------- diff


def _analyze_records(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    records = {}
    for p in report.get("principals", []):
        records[p["arn"]] = {
            "risk_score": p.get("risk_score"),
            "is_admin": p.get("is_admin"),
            "escalation": sorted({(e["path_id"], e["target"]) for e in p.get("privilege_escalation", [])}),
            "score_explanation": p.get("score_explanation"),
            "findings": sorted(
                [f["kind"], f["severity"], f.get("resources", [])] for f in p.get("findings", [])
            ),
            "finding_text": sorted(p.get("findings", []), key=lambda f: json.dumps(f, sort_keys=True)),
            "warnings": sorted(p.get("warnings", [])),
        }
    return records


def _canon(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{"compared", "identical", "by_field": Counter, "differences": [{source, file, principal, field, before, after}]}."""
    compared: Counter[str] = Counter()
    identical: Counter[str] = Counter()
    by_field: Counter[str] = Counter()
    differences = []
    for file_name in sorted(set(before["files"]) | set(after["files"])):
        b_file, a_file = before["files"].get(file_name, {}), after["files"].get(file_name, {})
        sources = {
            "stored": (b_file.get("principals", {}), a_file.get("principals", {})),
            "analyze": (
                _analyze_records(b_file.get("analyze", {})),
                _analyze_records(a_file.get("analyze", {})),
            ),
        }
        for source, (b_side, a_side) in sources.items():
            for principal in sorted(set(b_side) | set(a_side)):
                compared[source] += 1
                b_rec, a_rec = b_side.get(principal), a_side.get(principal)
                if b_rec is None or a_rec is None:
                    by_field["principal present"] += 1
                    differences.append(
                        {
                            "source": source,
                            "file": file_name,
                            "principal": principal,
                            "field": "principal present",
                            "before": b_rec is not None,
                            "after": a_rec is not None,
                        }
                    )
                    continue
                same = True
                for key in sorted(set(b_rec) | set(a_rec)):
                    b_val, a_val = _canon(b_rec.get(key)), _canon(a_rec.get(key))
                    if b_val != a_val:
                        same = False
                        by_field[f"{source}.{key}"] += 1
                        differences.append(
                            {
                                "source": source,
                                "file": file_name,
                                "principal": principal,
                                "field": key,
                                "before": b_val,
                                "after": a_val,
                            }
                        )
                identical[source] += same
        b_stats = _canon(b_file.get("analyze", {}).get("stats"))
        a_stats = _canon(a_file.get("analyze", {}).get("stats"))
        if b_stats != a_stats:
            by_field["analyze.stats"] += 1
            differences.append(
                {
                    "source": "analyze",
                    "file": file_name,
                    "principal": "-",
                    "field": "stats",
                    "before": b_stats,
                    "after": a_stats,
                }
            )
    return {"compared": compared, "identical": identical, "by_field": by_field, "differences": differences}


def _list_delta(b: Any, a: Any) -> str:
    if isinstance(b, list) and isinstance(a, list):
        bs = {json.dumps(x, sort_keys=True) for x in b}
        as_ = {json.dumps(x, sort_keys=True) for x in a}
        return f"removed {sorted(bs - as_)} added {sorted(as_ - bs)}"
    return f"{json.dumps(b)} -> {json.dumps(a)}"


def report(result: dict[str, Any], before: str, after: str, out: Any = sys.stdout) -> None:
    out.write(f"before {before}  after {after}\n\n")
    out.write(f"{'principals':<40}{'compared':>10}{'identical':>10}{'differing':>10}\n")
    for source, label in (
        ("stored", "stored (import_gaad; sync)"),
        ("analyze", "manage.py analyze --format json"),
    ):
        n, same = result["compared"][source], result["identical"][source]
        out.write(f"{label:<40}{n:>10}{same:>10}{n - same:>10}\n")
    out.write("\ndifferences by field (principals)\n")
    for field, count in sorted(result["by_field"].items()):
        out.write(f"  {field:<38}{count:>8}\n")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in result["differences"]:
        groups[f"{d['source']}.{d['field']}"].append(d)
    for group, items in sorted(groups.items()):
        out.write(f"\n== {group} ({len(items)})\n")
        for d in items:
            out.write(f"  {d['file']}  {d['principal']}\n    {_list_delta(d['before'], d['after'])}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="5155d3e")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--inputs", type=Path, default=REPO / "var/compare/inputs")
    parser.add_argument("--out", type=Path, default=REPO / "var/compare")
    parser.add_argument("--db", default="iamreview_compare", help="database for --after")
    parser.add_argument("--db-old", default="iamreview_compare_old", help="database for --before")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--only", nargs="*", default=None, help="file names to keep (e.g. gen-300.json)")
    parser.add_argument(
        "--sync-demo",
        action="store_true",
        help="also sync the demo accounts from this checkout's fakeaws in process (usage, keys, credentials)",
    )
    args = parser.parse_args()
    files = prepare_inputs(args.inputs, args.python)
    if args.only:
        files = [f for f in files if f[2].name in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    kw = {"python": args.python, "out": args.out, "sync_demo": args.sync_demo}
    before = revision_dump(args.before, files, db=args.db_old, **kw)
    after = revision_dump(args.after, files, db=args.db, **kw)
    result = diff(before, after)
    report(result, before["revision"][:8], after["revision"][:8])
    with (args.out / f"diff-{before['revision'][:8]}-{after['revision'][:8]}.txt").open("w") as fh:
        report(result, before["revision"][:8], after["revision"][:8], fh)
    sys.exit(0)


if __name__ == "__main__":
    main()
