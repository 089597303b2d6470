"""Resource patterns: IAM's `*` and `?` wildcards, matched against ARNs with caches shared per process."""

from __future__ import annotations

import re
from collections.abc import Sequence

_ARN_CACHE: dict[str, re.Pattern[str]] = {}
_CACHE_LIMIT = 50_000  # compiled patterns kept per process; a long-lived worker starts over past it


def _glob_to_regex(pattern: str) -> str:
    parts = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return "".join(parts)


def _arn_regex(pattern: str) -> re.Pattern[str]:
    rx = _ARN_CACHE.get(pattern)
    if rx is None:
        if len(_ARN_CACHE) >= _CACHE_LIMIT:
            _ARN_CACHE.clear()
        rx = _ARN_CACHE[pattern] = re.compile(_glob_to_regex(pattern), re.DOTALL)
    return rx


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM resource matching: `*` and `?` wildcards, case-sensitive."""
    if pattern == "*" or pattern == arn:
        return True
    return _arn_regex(pattern).fullmatch(arn) is not None


class _ResourceMatcher:
    """Which ARNs a Resource list names. Names without wildcards are a set. A pattern whose only wildcard
    is `*` is matched piece by piece with string methods (no regex to compile); the rest, by regex. Either
    is tried only on ARNs that start with the pattern's literal prefix."""

    __slots__ = ("combined", "everything", "exact", "patterns", "wild")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self.combined: re.Pattern[str] | None = None
        self.everything = "*" in patterns
        exact: set[str] = set()
        wild: list[tuple[str, tuple[str, ...] | None, str]] = []
        for p in patterns:
            cuts = [i for i in (p.find("*"), p.find("?"), p.find("\\")) if i >= 0]
            if not cuts:
                exact.add(p)
            elif "?" in p or "\\" in p:
                wild.append((p[: min(cuts)], None, p))
            else:
                wild.append((p[: min(cuts)], tuple(p.split("*")), p))
        self.exact = frozenset(exact)
        self.wild = tuple(wild)

    def matches(self, arn: str) -> bool:
        if self.everything or arn in self.exact:
            return True
        for prefix, pieces, pattern in self.wild:
            if not arn.startswith(prefix):
                continue
            if pieces is None:
                if _arn_regex(pattern).fullmatch(arn) is not None:
                    return True
            elif _star_match(pieces, arn):
                return True
        return False

    def matching(self, arns: Sequence[str]) -> list[str]:
        """The ARNs this list names, in order: one regex over all patterns, run by `filter` in C, pays for
        its compilation when many ARNs are asked at once."""
        if self.everything:
            return list(arns)
        if self.combined is None:
            self.combined = re.compile("|".join(f"(?:{_glob_to_regex(p)})" for p in self.patterns), re.DOTALL)
        return list(filter(self.combined.fullmatch, arns))


def _star_match(pieces: tuple[str, ...], text: str) -> bool:
    """Does `text` match the pattern `"*".join(pieces)` (at least two pieces)? Each `*` takes any run of
    characters, so finding each middle piece leftmost after the previous one decides it."""
    first, last = pieces[0], pieces[-1]
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return False
    pos = len(first)
    for piece in pieces[1:-1]:
        at = text.find(piece, pos, end)
        if at < 0:
            return False
        pos = at + len(piece)
    return True


_MATCHERS: dict[tuple[str, ...], _ResourceMatcher] = {}


def _matcher(patterns: tuple[str, ...]) -> _ResourceMatcher:
    hit = _MATCHERS.get(patterns)
    if hit is None:
        if len(_MATCHERS) >= _CACHE_LIMIT:
            _MATCHERS.clear()
        hit = _MATCHERS[patterns] = _ResourceMatcher(patterns)
    return hit
