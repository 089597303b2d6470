"""The principal page's long lists a page at a time: granted services (each service's actions on demand),
policies and findings. Only the page asked for is built: an administrator is granted hundreds of services
and tens of thousands of actions, and listing them all made its page megabytes long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from findings.facts import PrincipalUsage
from findings.models import Finding, FindingStatus, Principal
from policy.catalog import Catalog, default_catalog
from policy.evaluate import PrincipalPermissions
from policy.usage import ActionUse

PAGE_SIZE = 25
ACTIONS_PAGE_SIZE = 100
# A service granting this many actions or fewer lists them in its row; larger ones load them on demand.
INLINE_ACTIONS = 20
MAX_PAGE = 100_000
STATE_ORDER = {"unused": 0, "used": 1, "not-tracked": 2, "too-young": 3, "no-data": 4}

T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list: its items, which page it is, and how many items the whole list holds."""

    items: list[T]
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.size + 1

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1

    @property
    def left(self) -> int:
        """Items after this page."""
        return max(0, self.total - self.number * self.size)

    @property
    def next_number(self) -> int | None:
        return self.number + 1 if self.left else None


def page_number(value: str | None) -> int:
    """A `?…_page=` value as a page number: anything that is not a positive integer is the first page."""
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def page_of(items: list[T], number: int, size: int = PAGE_SIZE) -> ListPage[T]:
    """A page of a list already in memory (a page past the end is the last one)."""
    last = max(1, -(-len(items) // size))
    number = min(number, last)
    return ListPage(items[(number - 1) * size : number * size], number, len(items), size)


# -- services and actions ----------------------------------------------------------------------------------


@dataclass
class ServiceUse:
    service: str
    action_count: int
    last_used: datetime | None
    state: str  # used | unused | not-tracked | too-young | no-data
    # (action, last used, state): filled for a service of at most INLINE_ACTIONS actions, else on demand.
    actions: list[tuple[str, datetime | None, str]]


_SERVICES: dict[int, tuple[Catalog, list[str]]] = {}


def _catalog_services(catalog: Catalog) -> list[str]:
    """Every service prefix of the catalog, computed once per catalog."""
    hit = _SERVICES.get(id(catalog))
    if hit is None or hit[0] is not catalog:
        hit = _SERVICES[id(catalog)] = (catalog, sorted({a.split(":", 1)[0] for a in catalog.all_actions}))
    return hit[1]


def granted_services(perms: PrincipalPermissions) -> dict[str, int]:
    """Each service the principal is granted something of, with the mask of its granted actions: read off
    the permission mask service by service, so no action name is built."""
    catalog = default_catalog()
    mask = perms.allowed_mask(catalog)
    granted = {}
    for service in _catalog_services(catalog):
        own = mask & catalog.services_mask([service])
        if own:
            granted[service] = own
    return granted


def service_state(usage: PrincipalUsage, service: str) -> str:
    if usage.status in ("too-young", "no-data"):
        return usage.status
    if not usage.service_tracked(service):
        return "not-tracked"
    return "used" if service in usage.usage.used_services else "unused"


def action_rows(
    usage: PrincipalUsage, state: str, actions: list[str]
) -> list[tuple[str, datetime | None, str]]:
    """Each action's name, last use and state, as `findings.facts` reads usage: "service-used" marks what
    Access Advisor cannot see (data-plane actions of a used service): never unused."""
    catalog = default_catalog()
    rows = []
    for a in actions:
        answer = usage.state(a)
        if answer is ActionUse.USED:
            a_state = "used"
        elif answer is ActionUse.UNUSED:
            a_state = "unused"
        else:
            a_state = state if state in ("too-young", "no-data", "not-tracked") else "service-used"
        rows.append((catalog.name(a), usage.action_last_used(a), a_state))
    return rows


def services_page(
    perms: PrincipalPermissions, usage: PrincipalUsage, number: int
) -> tuple[ListPage[ServiceUse], int]:
    """One page of the granted services, unused first, and how many services are unused in all."""
    catalog = default_catalog()
    granted = granted_services(perms)
    states = {s: service_state(usage, s) for s in granted}
    ordered = sorted(granted, key=lambda s: (STATE_ORDER.get(states[s], 5), s))
    page = page_of(ordered, number)
    rows = []
    for service in page.items:
        count = granted[service].bit_count()
        actions = (
            action_rows(usage, states[service], sorted(catalog.actions_of(granted[service])))
            if count <= INLINE_ACTIONS
            else []
        )
        rows.append(ServiceUse(service, count, usage.service_last_used(service), states[service], actions))
    unused = sum(1 for s in states.values() if s == "unused")
    return ListPage(rows, page.number, page.total, page.size), unused


def service_actions_page(
    perms: PrincipalPermissions, usage: PrincipalUsage, service: str, number: int
) -> ListPage[tuple[str, datetime | None, str]] | None:
    """One page of the actions granted in one service; None when the principal is granted nothing of it."""
    own = granted_services(perms).get(service)
    if own is None:
        return None
    actions = sorted(default_catalog().actions_of(own))
    page = page_of(actions, number, ACTIONS_PAGE_SIZE)
    return ListPage(
        action_rows(usage, service_state(usage, service), page.items), page.number, page.total, page.size
    )


# -- findings ----------------------------------------------------------------------------------------------


def findings_page(principal: Principal, number: int) -> ListPage[Finding]:
    """One page of the principal's open findings, most severe first: counted and sliced in the database."""
    live = (
        Finding.objects.filter(principal=principal)
        .exclude(status=FindingStatus.RESOLVED)
        .order_by("severity_rank", "kind", "subject", "id")
    )
    total = live.count()
    number = min(number, max(1, -(-total // PAGE_SIZE)))
    start = (number - 1) * PAGE_SIZE
    return ListPage(list(live[start : start + PAGE_SIZE]), number, total)
