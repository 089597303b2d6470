"""What the organisation's SCPs and RCPs take away from a principal, policy by policy.

`PrincipalPermissions` already caps identity permissions by each SCP level; this says which policy did it,
for the principal page and the offline report ("iam:* denied by SCP deny-iam-outside-admins").
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.catalog import Catalog
from policy.evaluate import PolicySet, PrincipalPermissions

MAX_NAMED = 12


@dataclass(frozen=True, slots=True)
class ScpCap:
    source: (
        str  # the policy ("SCP deny-iam-outside-admins"), or the policies of a level that allow too little
    )
    how: str  # "denied": a Deny names the actions; "not-allowed": no policy of that level allows them
    actions: tuple[str, ...]  # `service:*` where the whole service is taken, else action names
    count: int  # actions taken, of those the principal's own policies grant
    conditional: bool  # every Deny of it is under conditions or on some resources only
    truncated: bool = False  # `actions` names only the first of them

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "how": self.how,
            "actions": list(self.actions),
            "count": self.count,
            "conditional": self.conditional,
            "truncated": self.truncated,
        }

    def sentence(self) -> str:
        names = ", ".join(self.actions) + (" …" if self.truncated else "")
        verb = "may be denied" if self.conditional else "denied"
        if self.how == "denied":
            return f"{names} {verb} by {self.source}"
        return f"{names} not allowed by any of {self.source}"


def summarise(mask: int, catalog: Catalog, limit: int = MAX_NAMED) -> tuple[tuple[str, ...], bool]:
    """A mask as `service:*` for each service it holds whole, then single names, at most `limit`; and
    whether some were left out."""
    names: list[str] = []
    partial = 0
    for service in sorted({a.partition(":")[0] for a in catalog.actions_of(mask)}):
        whole = catalog.services_mask([service])
        if whole & ~mask == 0:
            names.append(f"{service}:*")
        else:
            partial |= mask & whole
    whole_count = len(names)
    names += catalog.first_names(partial, max(0, limit - len(names)))
    truncated = whole_count > limit or len(names) - whole_count < partial.bit_count()
    return tuple(names[:limit]), truncated


def _level_sources(level: PolicySet) -> str:
    return ", ".join(sorted({g.source for g in (*level.allows, *level.denies)})) or "the SCPs of a level"


def scp_caps(perms: PrincipalPermissions, catalog: Catalog) -> list[ScpCap]:
    """Each SCP (or RCP) level's share of what the principal's own policies (after its boundary) grant."""
    if not perms.scps:
        return []
    held = perms.identity.allowed & ~perms.identity.denied_on_all
    if perms.boundary is not None:
        held &= perms.boundary.allowed & ~perms.boundary.denied_on_all
    found: dict[tuple[str, str], list[int]] = {}  # (source, how) -> [mask, every Deny conditional]
    for level in perms.scps:
        for deny in level.denies:
            hit = held & deny.mask
            if hit:
                entry = found.setdefault((deny.source, "denied"), [0, 1])
                entry[0] |= hit
                entry[1] &= int(deny.conditional or not deny.all_resources)
        missing = held & ~level.allowed
        if missing:
            entry = found.setdefault((_level_sources(level), "not-allowed"), [0, 0])
            entry[0] |= missing
    caps = []
    for (source, how), (mask, conditional) in found.items():
        names, truncated = summarise(mask, catalog)
        caps.append(ScpCap(source, how, names, mask.bit_count(), bool(conditional), truncated))
    return sorted(caps, key=lambda c: (c.conditional, -c.count, c.source))
