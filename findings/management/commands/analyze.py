"""`manage.py analyze PATH`: report on a get-account-authorization-details file; touches no database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policy.analyze import AccountReport, analyze_account
from policy.catalog import default_catalog
from policy.gaad import GaadError, load_gaad


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
        f"{stats['principals']} principals, {stats['admins']} admins, "
        f"{stats['with_privilege_escalation']} with privilege escalation, {stats['high_risk']} high risk"
    )
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Analyze a get-account-authorization-details JSON file (no database, no AWS calls)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "path", help="JSON from `aws iam get-account-authorization-details`, or - for stdin"
        )
        parser.add_argument("--format", choices=["json", "table"], default="table")
        parser.add_argument(
            "--indent", type=int, default=None, help="pretty-print JSON (slower on big accounts)"
        )
        parser.add_argument("--account", default="", help="account id, when the file's ARNs do not say")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            text = sys.stdin.read() if opts["path"] == "-" else Path(opts["path"]).read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {opts['path']}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{opts['path']} is not JSON: {exc.msg} at line {exc.lineno}") from exc
        try:
            account = load_gaad(data, opts["account"])
        except GaadError as exc:
            raise CommandError(str(exc)) from exc
        report = analyze_account(account, default_catalog())
        if opts["format"] == "json":
            self.stdout.write(json.dumps(report.to_json(), indent=opts["indent"]))
        else:
            self.stdout.write(render_table(report))
