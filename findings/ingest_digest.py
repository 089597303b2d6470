"""Whether a sync's inputs changed since the account's last successful sync: one digest per account.

How "inputs changed" is decided, in two levels:

1. **The account.** `input_digest` hashes (SHA-256) everything the ingest reads, in a canonical form
   (orjson, keys sorted, so the same content always hashes the same, whatever the order AWS or the file
   listed its keys in):

   - the authorization details as collected or read from the file, every principal, group, role and managed
     policy with its documents, trust policy, boundary, tags and dates, a role's last use to the day only
     (`gaad_item_key`: the read role iamreview assumes is used by every sync; the exact times of the roles
     whose last use moved are still stored, a handful of rows, see `findings.ingest.last_used_refresh`);
   - usage: Access Advisor (None for an imported file: the stored rows stand), access keys, the credential
     report's rows (not the time it was generated: a report generated again with the same rows changes
     nothing) and Access Analyzer's findings as they are stored (not `analyzedAt`, which every rescan
     moves);
   - the organisation and the Identity Center permission sets this sync read (management account only), and the SCP and RCP levels that cap this
     account (`findings.organization.policy_levels`, which another account's sync may have moved);
   - what the analysis reads outside this account: the ids of the linked accounts and the stored
     organisations (trusting one of their accounts needs no ExternalId), the review windows set on single
     principals, and the other accounts' administrator roles whose trust policy names this account
     or one of its principals, with the policy's hash (`findings.cross_account`);
   - the settings and the account's own options the findings depend on (unused days, key age limits,
     protected tag and paths), the action catalog in use (its definition file's size and mtime), and
     `DIGEST_VERSION`, bumped when the meaning of a stored result changes;
   - the calendar day, because "unused for N days" and key ages move with it even when AWS reports the
     same dates. An unchanged account is therefore analysed in full once a day, at its first sync of the day.

   Not in it: `collected_at` (every sync has its own) and anything people change (triage, comments,
   suppression rules: they apply to new findings, and an unchanged sync creates none).

   When the digest equals the one recorded in the counts of the account's latest successful run, and every
   principal has been analysed (a new organisation marks member accounts' principals not analysed), the
   snapshot in the database is the one these inputs produced: nothing is read back, stored or analysed
   (`findings.ingest.snapshot_ingest`), and no principal, document or finding row is written.

2. **The principal**, when the account's digest moved. Storing (`findings.snapshot`) compares each
   principal's `documents_hash` (its inline and attached documents, its groups' documents, its trust
   policy and boundary) and writes only the rows whose content moved. The engine then runs over the whole
   account, because what a principal can reach is transitive over the graph (a role that becomes an
   administrator makes everyone who can assume it, directly or in a chain, reach one; the own-account trust
   finding lists every assumer): only a whole-account run can say which principals a one-document change
   affects. Its per-principal results are hashed (`analysis_hash`) and only principals whose results moved
   are written (`findings.analysis.account_analyze`), so the rows rewritten are the changed principals and
   those whose neighbourhood in the graph depends on them, as the engine found them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.utils import timezone

from accounts.aws.collect import Collected
from accounts.models import LinkedAccount
from findings.cross_account import trusted_principals
from findings.models import OrganizationSnapshot, PolicyDocument, Principal, PrincipalWindow
from findings.organization import policy_levels
from policy.catalog import _definition_path

DIGEST_VERSION = 1
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTIONS, default=str)


def _catalog_identity() -> str:
    try:
        stat = _definition_path().stat()
    except OSError:
        return "unknown"
    return f"{stat.st_size}-{int(stat.st_mtime)}"


_ANALYZER_FIELDS = ("id", "analyzerArn", "findingType", "resource", "status", "findingDetails", "updatedAt")


def _analyzer(findings: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Access Analyzer's findings as they are stored: `analyzedAt` moves at every rescan, not with them."""
    if findings is None:
        return None
    return [{k: f.get(k) for k in _ANALYZER_FIELDS} for f in findings]


def _outside_inputs(account: LinkedAccount) -> dict[str, Any]:
    """What the analysis of this account reads from the rest of the database: the linked accounts' ids,
    its SCP and RCP levels, and the administrator roles of other accounts whose trust policy names this
    account or one of its principals (those `findings.cross_account` can find a path to)."""
    rows = list(
        Principal.objects.filter(kind="role", is_admin=True, trust_document__isnull=False)
        .exclude(account=account)
        .order_by("account__account_id", "arn")
        .values_list("account__account_id", "account__name", "arn", "trust_document_id")
    )
    documents = PolicyDocument.objects.filter(pk__in={r[3] for r in rows}).values_list(
        "pk", "sha256", "document"
    )
    trusting = {pk: sha for pk, sha, doc in documents if trusted_principals(doc, account.account_id)}
    windows = PrincipalWindow.objects.filter(principal__account=account).order_by("principal__arn")
    return {
        "org_accounts": sorted(LinkedAccount.objects.values_list("account_id", flat=True)),
        # The stored organisations: which accounts are the organisation's own (no ExternalId needed).
        "organizations": list(OrganizationSnapshot.objects.order_by("pk").values_list("digest", flat=True)),
        # Review windows set on single principals: their unused findings move with them.
        "windows": list(windows.values_list("principal__arn", "unused_days", "periodic_days")),
        "admin_roles_elsewhere": [[*r[:3], trusting[r[3]]] for r in rows if r[3] in trusting],
        "scp_levels": policy_levels(account.account_id),
    }


_GAAD_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def gaad_item_key(item: dict[str, Any]) -> dict[str, Any]:
    """A principal or policy of the authorization details as the digest sees it: a role's last use to the
    day (`RoleLastUsed`, its region left out: no finding reads it). Our own read role is used by every sync, so its time moves every time; the
    findings count days. `findings.ingest.last_used_refresh` still stores the exact time of the roles whose
    time moved."""
    used = item.get("RoleLastUsed")
    if not used:
        return item
    return {**item, "RoleLastUsed": str(used.get("LastUsedDate") or "")[:10]}


def gaad_content_digest(gaad: dict[str, Any]) -> str:
    """The authorization details' digest, item by item (`gaad_item_key`), keys in a canonical order."""
    h = hashlib.sha256()
    for key in _GAAD_LISTS:
        h.update(key.encode())
        for item in gaad.get(key) or []:
            h.update(_canonical(gaad_item_key(item)))
    h.update(_canonical({k: v for k, v in gaad.items() if k not in _GAAD_LISTS}))
    return h.hexdigest()


@dataclass(frozen=True)
class InputDigest:
    """`total`: everything the ingest reads; `outside`: the part that comes from outside the account's own
    snapshot (linked accounts, other accounts' administrator roles, SCPs, settings, catalog, day). When
    only `outside` moved, no document changed, but the analysis must still run again."""

    total: str
    outside: str
    gaad: str


def input_digest(
    *, account: LinkedAccount, collected: Collected, gaad_digest: str | None = None
) -> InputDigest:
    """The SHA-256 of everything this sync's ingest reads (see the module's docstring). `gaad_digest`: the
    authorization details' digest when the caller already has it (`import_gaad` of a file byte for byte
    the one of the account's latest import reuses that import's, without reading the file)."""
    outside = hashlib.sha256(
        _canonical(
            {
                "version": DIGEST_VERSION,
                "day": timezone.localdate().isoformat(),
                "catalog": _catalog_identity(),
                "unused_days": account.unused_days,
                "periodic_days": getattr(account, "periodic_days", None),
                "settings": [
                    settings.IAMREVIEW_UNUSED_DAYS,
                    settings.IAMREVIEW_KEY_MAX_AGE_DAYS,
                    settings.IAMREVIEW_KEY_UNUSED_DAYS,
                    settings.IAMREVIEW_PROTECTED_TAG,
                    list(settings.IAMREVIEW_PROTECTED_PATHS),
                ],
                **_outside_inputs(account),
            }
        )
    ).hexdigest()
    gaad_digest = gaad_digest or gaad_content_digest(collected.gaad)
    h = hashlib.sha256(outside.encode())
    for part in (
        gaad_digest,
        collected.credential_rows,
        collected.access_keys,
        collected.last_accessed,
        _analyzer(collected.analyzer_findings),
        collected.organization,
        collected.identity_center,
    ):
        h.update(b"\x00")
        h.update(_canonical(part))
    return InputDigest(total=h.hexdigest(), outside=outside, gaad=gaad_digest)
