"""`manage.py analyze` against `cloudsplaining scan` on the same generated accounts, in the same run.

    make bench            # or: .venv/bin/python benchmarks/analyze.py [--sizes 300 2000]

Prints a Markdown table (wall time, peak memory, principals flagged for privilege escalation) and the
principals cloudsplaining flags that we do not, with cloudsplaining's reason; writes both into
docs/benchmarks.md between the `analyze` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.gen_gaad import generate  # noqa: E402
from benchmarks.report import replace_section  # noqa: E402
from policy.analyze import AccountAnalysis  # noqa: E402
from policy.catalog import default_catalog  # noqa: E402
from policy.gaad import load_gaad  # noqa: E402

BIN = Path(sys.executable).parent


# Peak memory is read by a small launcher process that forks the command. Measured straight from this
# (large) process, Linux would charge the command with this process's own peak: a spawned child inherits
# the parent's high-water mark through exec.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(cmd: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, int]:
    """Wall seconds and peak resident memory (MiB) of a command."""
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as peak:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, peak.name, *cmd],
            cwd=ROOT,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed: {proc.stderr.decode()[-2000:]}")
        return wall, int(peak.read()) // 1024


def cloudsplaining_flagged(results: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Principal ARN -> {privilege-escalation type: actions} cloudsplaining reports on any of its policies."""
    by_policy: dict[str, dict[str, list[str]]] = {}
    for section in ("aws_managed_policies", "customer_managed_policies", "inline_policies"):
        for key, policy in results.get(section, {}).items():
            findings = (policy.get("PrivilegeEscalation") or {}).get("findings") or []
            if findings:
                by_policy[key] = {f["type"]: f["actions"] for f in findings}
    groups = {g["name"]: g for g in results.get("groups", {}).values()}
    flagged: dict[str, dict[str, list[str]]] = {}
    for kind in ("users", "roles", "groups"):
        for principal in results.get(kind, {}).values():
            keys = [
                *principal.get("aws_managed_policies", {}),
                *principal.get("customer_managed_policies", {}),
                *principal.get("inline_policies", {}),
            ]
            for group_name in principal.get("groups", {}) if kind == "users" else ():
                group = groups.get(group_name) or {}
                keys += [*group.get("aws_managed_policies", {}), *group.get("inline_policies", {})]
            types = {t: a for k in keys for t, a in by_policy.get(k, {}).items()}
            if types:
                flagged[principal["arn"]] = types
    return flagged


PASSROLE_TYPES = (
    "Pass",
    "Existing",
    "EC2",
    "ECS",
    "Lambda",
    "SageMaker",
    "Glue",
    "CloudFormation",
    "Bedrock",
)


def why_not_flagged(analysis: Any, arn: str, types: dict[str, list[str]]) -> str:
    """Our engine's reason for not reporting what cloudsplaining flags on one principal."""
    report = analysis.reports[arn]
    if report.is_admin:
        return "already an administrator (nothing to escalate to)"
    perms = analysis.perms[arn]
    reasons = set()
    for kind, actions in types.items():
        if not all(perms.allows_somewhere(a, analysis.catalog) for a in actions):
            reasons.add("an explicit Deny (or scope) in another of its policies removes the actions")
        elif kind in ("CreateNewPolicyVersion", "SetExistingDefaultPolicyVersion"):
            reasons.add(
                "no customer-managed policy it could rewrite is attached to it or to a principal it can become"
            )
        elif any(word in kind for word in PASSROLE_TYPES):
            reasons.add("no role that the service may assume is more privileged than it")
        else:
            reasons.add(f"other: {kind}")
    return "; ".join(sorted(reasons))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool per account (median)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if shutil.which("cloudsplaining", path=str(BIN)) is None:
        raise SystemExit("cloudsplaining is not installed: pip install -c requirements.lock -e '.[bench]'")
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    misses: list[str] = []
    spreads: list[str] = []
    for size in args.sizes:
        gaad = work / f"gaad-{size}.json"
        gaad.write_text(json.dumps(generate(size)))
        ours_out = work / f"ours-{size}.json"
        # Warm the catalog cache once so both tools start from installed data, not a cold parse.
        subprocess.run(
            [str(BIN / "python"), "manage.py", "analyze", str(gaad), "--format", "json"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        # The tools take turns, so a slow moment of the machine falls on both; the median run counts.
        ours_runs: list[tuple[float, int]] = []
        cs_runs: list[tuple[float, int]] = []
        cs_dir = work / f"cloudsplaining-{size}"
        for _ in range(args.repeat):
            with ours_out.open("w") as fh:
                ours_runs.append(
                    run_measured(
                        [str(BIN / "python"), "manage.py", "analyze", str(gaad), "--format", "json"],
                        stdout=fh,
                    )
                )
            shutil.rmtree(cs_dir, ignore_errors=True)
            cs_dir.mkdir()
            cs_runs.append(
                run_measured([str(BIN / "cloudsplaining"), "scan", "-i", str(gaad), "-o", str(cs_dir), "-s"])
            )
        ours_wall, ours_mem = statistics.median(w for w, _ in ours_runs), max(m for _, m in ours_runs)
        cs_wall, cs_mem = statistics.median(w for w, _ in cs_runs), max(m for _, m in cs_runs)
        spreads.append(
            f"- {size} roles, every run (s): iamreview {', '.join(f'{w:.2f}' for w, _ in ours_runs)}; "
            f"cloudsplaining {', '.join(f'{w:.2f}' for w, _ in cs_runs)}"
        )
        ours = json.loads(ours_out.read_text())
        ours_flagged = {p["arn"] for p in ours["principals"] if p["privilege_escalation"]}
        results = json.loads(next(cs_dir.glob("iam-results-*.json")).read_text())
        cs_flagged = cloudsplaining_flagged(results)
        missed = {arn: types for arn, types in cs_flagged.items() if arn not in ours_flagged}
        analysis = AccountAnalysis(load_gaad(json.loads(gaad.read_text())), default_catalog())
        analysis.run()
        reasons = Counter(why_not_flagged(analysis, arn, types) for arn, types in missed.items())
        principals = len(ours["principals"])
        rows.append(
            f"| {size} roles ({principals} principals) | {ours_wall:.2f} s | {ours_mem} MiB | {cs_wall:.2f} s "
            f"| {cs_mem} MiB | {cs_wall / ours_wall:.1f}x | {len(ours_flagged)} | {len(cs_flagged)} "
            f"| {len(missed)} |"
        )
        if missed:
            misses.append(
                f"- {size} roles: {len(missed)} principals flagged by cloudsplaining only. Why we do not:"
            )
            misses += [f"  - {n} x {reason}" for reason, n in reasons.most_common()]
    table = "\n".join(
        [
            f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"command: `.venv/bin/python benchmarks/analyze.py --sizes {' '.join(map(str, args.sizes))} "
            f"--repeat {args.repeat}` (wall time: the median of {args.repeat} runs, the tools taking turns; "
            "memory: the highest peak)",
            "",
            "| account | iamreview analyze | peak memory | cloudsplaining scan | peak memory | speed-up "
            "| flagged for privesc (ours) | flagged (cloudsplaining) | flagged by cloudsplaining only |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            *spreads,
            "",
            *misses,
        ]
    )
    print(table)
    if not args.no_write:
        replace_section(ROOT / "docs" / "benchmarks.md", "analyze", table)


if __name__ == "__main__":
    main()
