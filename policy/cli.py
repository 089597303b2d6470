"""`analyze PATH`: report on a get-account-authorization-details file; no Django, no database, no AWS.

`manage.py analyze` runs this directly, before Django starts, so the offline analysis pays only for
what it uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import orjson

from policy.analyze import AccountAnalysis, AccountReport, PrincipalReport
from policy.catalog import default_catalog
from policy.gaad import AccountDetails, GaadError, load_gaad
from policy.model import PolicyDocument, PolicyError, gc_paused, parse_policy
from policy.scp import scp_caps

FULL_AWS_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class AnalyzeError(Exception):
    """The input could not be analyzed; the message says why."""


def render_table(report: AccountReport, caps: dict[str, list[str]] | None = None) -> str:
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
    capped = [(p.arn, caps[p.arn]) for p in report.principals if caps and caps.get(p.arn)]
    if capped:
        lines += ["", "Capped by SCPs:"]
        for arn, sentences in capped:
            lines += [f"  {arn}: {s}" for s in sentences]
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
        "--scp",
        action="append",
        default=[],
        metavar="POLICY.json",
        help="an SCP level (repeatable, root first): one policy, or a JSON list of the policies attached "
        "at that level; a level that allows nothing gets FullAWSAccess, as AWS attaches by default",
    )
    p.add_argument(
        "--org-accounts",
        default="",
        help="comma-separated ids of the organisation's own accounts (trusting them needs no ExternalId)",
    )
    return p


def load_scp_level(path: str) -> list[PolicyDocument]:
    """One SCP level from a file: a policy, or a list of policies; each named "SCP <file stem>[-n]"."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise AnalyzeError(f"cannot read {path}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise AnalyzeError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    raw = data if isinstance(data, list) else [data]
    stem = Path(path).stem
    try:
        docs = [
            parse_policy(d, f"SCP {stem}" if len(raw) == 1 else f"SCP {stem}-{n + 1}")
            for n, d in enumerate(raw)
        ]
        if not any(st.is_allow for d in docs for st in d.statements):
            docs.append(parse_policy(FULL_AWS_ACCESS, "SCP FullAWSAccess"))
    except PolicyError as exc:
        raise AnalyzeError(f"{path}: {exc}") from exc
    return docs


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


def write_json(
    report: AccountReport,
    out: TextIO,
    indent: int | None = None,
    caps: dict[str, list[dict[str, object]]] | None = None,
) -> None:
    """The report as compact JSON (orjson), written a principal at a time so the whole document never sits
    in memory twice (as objects and as one string); with `indent`, pretty-printed in one piece."""

    def principal_json(principal: PrincipalReport) -> dict[str, object]:
        data = principal.to_json()
        if caps is not None:
            data["scp_caps"] = caps.get(principal.arn, [])
        return data

    if indent is not None:
        whole = report.to_json()
        whole["principals"] = [principal_json(p) for p in report.principals]
        out.write(json.dumps(whole, indent=indent))
        return
    out.write('{"principals":[')
    for n, principal in enumerate(report.principals):
        if n:
            out.write(",")
        out.write(orjson.dumps(principal_json(principal)).decode())
    out.write('],"stats":')
    out.write(orjson.dumps(report.stats()).decode())
    out.write(',"catalog_gaps":')
    out.write(orjson.dumps(report.catalog_gaps).decode())
    out.write(',"catalog_gap_actions":')
    out.write(orjson.dumps([g.to_json() for g in report.catalog_gap_actions]).decode())
    out.write("}")


def run(
    path: str,
    *,
    fmt: str = "table",
    indent: int | None = None,
    account: str = "",
    scps: Sequence[str] = (),
    org_accounts: tuple[str, ...] = (),
    out: TextIO,
) -> None:
    levels = [load_scp_level(p) for p in scps]
    with gc_paused():
        catalog = default_catalog()
        analysis = AccountAnalysis(_load(path, account), catalog, scps=levels, org_accounts=org_accounts)
        report = analysis.run()
        caps = {arn: scp_caps(perms, catalog) for arn, perms in analysis.perms.items()} if levels else None
        if fmt == "json":
            json_caps = {a: [c.to_json() for c in v] for a, v in caps.items()} if caps is not None else None
            write_json(report, out, indent, json_caps)
        else:
            text_caps = {a: [c.sentence() for c in v] for a, v in caps.items()} if caps is not None else None
            out.write(render_table(report, text_caps))
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
            scps=args.scp,
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
