"""The principal page's long lists a page at a time: granted services (each service's actions on demand),
policies and findings. Only the page asked for is built: an administrator is granted hundreds of services
and tens of thousands of actions, and listing them all made its page megabytes long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.paging import ListPage, page_of, queryset_page
from findings.facts import PrincipalUsage
from findings.models import Finding, FindingStatus, Principal
from policy.catalog import Catalog, default_catalog
from policy.evaluate import PrincipalPermissions
from policy.usage import ActionUse

ACTIONS_PAGE_SIZE = 100
# A service granting this many actions or fewer lists them in its row; larger ones load them on demand.
INLINE_ACTIONS = 20
STATE_ORDER = {"unused": 0, "used": 1, "not-tracked": 2, "too-young": 3, "no-data": 4}

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
    return queryset_page(live, number)
