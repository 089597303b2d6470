"""Account-wide figures (dashboard counts, filter choices) cached for a few seconds, shared by every web
process through the cache (Redis in a normal deployment).

Every write that changes them (a sync storing, triage, suppression expiry) bumps a data version that is
part of each key, so a change shows at once; the time limit only bounds what a missed bump could cost.
A cache that cannot be reached is skipped: the figures are computed, never lost.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.utils.functional import cached_property

logger = logging.getLogger(__name__)
T = TypeVar("T")
VERSION_KEY = "figures-version"


def data_version() -> int:
    try:
        return int(cache.get(VERSION_KEY) or 0)
    except Exception:
        logger.warning("figures cache unreachable; computing figures directly", exc_info=True)
        return -1


def figures_changed() -> None:
    """Call after any write that changes principals or findings."""
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, 1, timeout=None)
    except Exception:
        logger.warning("figures cache unreachable; cached figures expire on their own", exc_info=True)


def figures_changed_on_commit() -> None:
    """Bump the version once the current transaction commits, so nobody caches the old figures anew."""
    from django.db import transaction

    transaction.on_commit(figures_changed)


class CachedCountPaginator(Paginator):
    """A paginator whose row count (a full scan on a big account) comes from the figures cache."""

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        sql, params = qs.query.sql_with_params()
        return cached_figures("count", [sql, params], qs.count)


def cached_figures(name: str, parts: list[Any], compute: Callable[[], T]) -> T:
    ttl = settings.IAMREVIEW_FIGURES_CACHE_SECONDS
    version = data_version() if ttl > 0 else -1
    if version < 0:
        return compute()
    from django.db import connection

    digest = hashlib.sha256(repr([connection.settings_dict["NAME"], *parts]).encode()).hexdigest()[:20]
    key = f"figures:{name}:{version}:{digest}"
    try:
        hit = cache.get(key)
    except Exception:
        return compute()
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    value = compute()
    try:
        cache.set(key, value, timeout=ttl)
    except Exception:
        logger.warning("figures cache unreachable", exc_info=True)
    return value
