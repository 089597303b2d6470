"""IAM patterns as text: does one pattern cover another, can two match a common string.

These answer for every string a pattern could match, not only for the actions the catalog knows: a
wildcard also grants the actions AWS adds later, and a service the catalog has never heard of is still a
service. Policy variables are tokens of their own: in a 2012-10-17 document `${aws:username}` stands for a
value of the request (the same value wherever it appears in the principal's policies) and `${*}`, `${?}`,
`${$}` for a literal character; in a 2008-10-17 document (or one without Version) it is plain text.
"""

from __future__ import annotations

import functools
import re

STAR = ("*",)
QMARK = ("?",)
_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# A token: STAR, QMARK, ("lit", char) or ("var", name).
Token = tuple[str, ...]


def variables_apply(version: str) -> bool:
    """Are `${...}` policy variables in this document version (else they are literal text)?"""
    return version == "2012-10-17"


@functools.lru_cache(maxsize=65_536)
def tokens(pattern: str, variables: bool, fold_case: bool) -> tuple[Token, ...]:
    """A pattern as tokens. `fold_case` for actions (case-insensitive), not for resources."""
    out: list[Token] = []
    text = pattern.lower() if fold_case else pattern
    pos = 0
    while pos < len(text):
        if variables and text.startswith("${", pos):
            found = _VARIABLE.match(text, pos)
            if found is not None:
                name = found.group(1)
                if name in ("*", "?", "$"):
                    out.append(("lit", name))
                else:
                    out.append(("var", name.lower()))  # variable names are case-insensitive
                pos = found.end()
                continue
        ch = text[pos]
        out.append(STAR if ch == "*" else QMARK if ch == "?" else ("lit", ch))
        pos += 1
    return tuple(out)


def covers(outer: tuple[Token, ...], inner: tuple[Token, ...]) -> bool:
    """Does every string `inner` can match also match `outer`? Sufficient, not necessary: each `*` of
    `inner` (and each variable) must fall inside a `*` of `outer`, or meet the same variable."""
    if outer == inner:
        return True
    # Quick answers before the table: most patterns are plain names, and most differ early.
    if STAR not in outer and len(outer) != len(inner):
        return False
    for t, u in zip(outer, inner, strict=False):
        if t == STAR:
            break
        if t == QMARK:
            if u != QMARK and u[0] != "lit":
                return False
        elif t != u:
            return False
    n, m = len(outer), len(inner)
    # ok[j]: outer[i:] covers inner[j:], filled from the end (i descending); a table, not recursion, so a
    # long ARN cannot exhaust the stack.
    ok = [False] * m + [True]
    for i in range(n - 1, -1, -1):
        t = outer[i]
        row = [False] * (m + 1)
        for j in range(m, -1, -1):
            if t == STAR:
                row[j] = ok[j] or (j < m and row[j + 1])
            elif j < m:
                u = inner[j]
                fits = (u == QMARK or u[0] == "lit") if t == QMARK else t == u
                row[j] = fits and ok[j + 1]
        ok = row
    return ok[0]


def may_overlap(a: tuple[Token, ...], b: tuple[Token, ...]) -> bool:
    """Could some string match both? Errs towards yes: a variable counts as `*`."""
    a = tuple(STAR if t[0] == "var" else t for t in a)
    b = tuple(STAR if t[0] == "var" else t for t in b)
    n, m = len(a), len(b)
    # both[i][j]: a[i:] and b[j:] can match a common string; filled from the ends.
    both = [[False] * (m + 1) for _ in range(n + 1)]
    both[n][m] = True
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            x = a[i] if i < n else None
            y = b[j] if j < m else None
            value = False
            if x == STAR:
                value = both[i + 1][j] or (j < m and both[i][j + 1])
            if not value and y == STAR:
                value = both[i][j + 1] or (i < n and both[i + 1][j])
            if not value and x is not None and y is not None and x != STAR and y != STAR:
                value = (x in (QMARK, y) or y == QMARK) and both[i + 1][j + 1]
            both[i][j] = value
    return both[0][0]


def matches_everything(pattern: tuple[Token, ...]) -> bool:
    return bool(pattern) and all(t == STAR for t in pattern)


def is_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern
