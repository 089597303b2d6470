"""`analyze PATH`: report on a get-account-authorization-details file; no Django, no database, no AWS.

`manage.py analyze` runs this directly, before Django starts, so the offline analysis pays only for
what it uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

import orjson

from policy.analyze import AccountReport, analyze_account
from policy.catalog import default_catalog
from policy.gaad import AccountDetails, GaadError, load_gaad
from policy.model import gc_paused


class AnalyzeError(Exception):
    """The input could not be analyzed; the message says why."""


def render_table(report: AccountReport) -> str:
    rows = [("score", "admin", "type", "principal", "escalation paths", "findings")]
    for p in report.principals:
        paths = ",".join(sorted({e.path_id for e in p.privilege_escalation})) or "-"
        kinds = ",".join(sorted({f.kind for f in p.findings})) or "-"
        rows.append((str(p.risk_score), "yes" if p.is_admin else "", p.kind, p.arn, paths, kinds))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])) + "  " + r[-1] for r in rows]
    stats = report.stats()
    lines.append("")
    lines.append(
        f"{stats['principals']} principals, {stats['admins']} admins, {stats['reach_admin']} reach admin, "
        f"{stats['with_privilege_escalation']} with privilege escalation, {stats['high_risk']} high risk"
    )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="manage.py analyze",
        description="Analyze a get-account-authorization-details JSON file (no database, no AWS calls).",
    )
    p.add_argument("path", help="JSON from `aws iam get-account-authorization-details`, or - for stdin")
    p.add_argument("--format", choices=["json", "table"], default="table")
    p.add_argument("--indent", type=int, default=None, help="pretty-print JSON (slower on big accounts)")
    p.add_argument("--account", default="", help="account id, when the file's ARNs do not say")
    p.add_argument(
        "--org-accounts",
        default="",
        help="comma-separated ids of the organisation's own accounts (trusting them needs no ExternalId)",
    )
    return p


def _load(path: str, account: str) -> AccountDetails:
    """The parsed account; the file's bytes and JSON tree are freed on return, before the analysis."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise AnalyzeError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise AnalyzeError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    try:
        return load_gaad(data, account)
    except GaadError as exc:
        raise AnalyzeError(str(exc)) from exc


def write_json(report: AccountReport, out: TextIO, indent: int | None = None) -> None:
    """The report as compact JSON (orjson), written a principal at a time so the whole document never sits
    in memory twice (as objects and as one string); with `indent`, pretty-printed in one piece."""
    if indent is not None:
        out.write(json.dumps(report.to_json(), indent=indent))
        return
    out.write('{"principals":[')
    for n, principal in enumerate(report.principals):
        if n:
            out.write(",")
        out.write(orjson.dumps(principal.to_json()).decode())
    out.write('],"stats":')
    out.write(orjson.dumps(report.stats()).decode())
    out.write(',"catalog_gaps":')
    out.write(orjson.dumps(report.catalog_gaps).decode())
    out.write("}")


def run(
    path: str,
    *,
    fmt: str = "table",
    indent: int | None = None,
    account: str = "",
    org_accounts: tuple[str, ...] = (),
    out: TextIO,
) -> None:
    with gc_paused():
        report = analyze_account(_load(path, account), default_catalog(), org_accounts=org_accounts)
        if fmt == "json":
            write_json(report, out, indent)
        else:
            out.write(render_table(report))
        out.write("\n")


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        orgs = tuple(a.strip() for a in args.org_accounts.split(",") if a.strip())
        run(
            args.path,
            fmt=args.format,
            indent=args.indent,
            account=args.account,
            org_accounts=orgs,
            out=sys.stdout,
        )
        sys.stdout.flush()
    except AnalyzeError as exc:
        print(f"CommandError: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from failing again on the
        # final flush of the closed stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
