"""Storing a collected snapshot of one account: one transaction, documents once per hash, changes recorded.

`snapshot_store` is called with everything already collected in memory, so a failed or killed collection
never reaches the database and the previous snapshot stays current.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.aws.collect import Collected
from accounts.models import LinkedAccount, SyncRun
from core.models import assign_changed
from findings.bulk import objects_copy, rows_update
from findings.models import (
    ANALYSIS_RESULT_FIELDS,
    InlinePolicy,
    ManagedPolicy,
    PolicyDocument,
    Principal,
    SnapshotChange,
)
from findings.snapshot_usage import as_datetime, usage_store
from policy.catalog import default_catalog
from policy.evaluate import PrincipalContext, PrincipalPermissions
from policy.gaad import AccountDetails, load_gaad, principal_documents
from policy.model import PolicyDocument as ParsedPolicy
from policy.model import PolicyError, load_document_json, minified_length, parse_policy


def document_hash(document: Any) -> str:
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


class _Documents:
    """Policy documents by hash, created in bulk when first seen."""

    def __init__(self) -> None:
        self.pending: dict[str, Any] = {}

    def key(self, raw: Any) -> str | None:
        if raw is None:
            return None
        try:
            doc = load_document_json(raw, "document")
        except ValueError:
            doc = {"unparseable": str(raw)[:10000]}
        digest = document_hash(doc)
        self.pending.setdefault(digest, doc)
        return digest

    def save(self) -> dict[str, int]:
        """Each document's id by its hash. Only ids are read back: the documents' JSON is what the sync
        holds already, and reading it again doubled an account's documents in memory."""
        existing = dict(
            PolicyDocument.objects.filter(sha256__in=list(self.pending)).values_list("sha256", "pk")
        )
        missing = [
            PolicyDocument(sha256=h, document=d, size=minified_length(d) if isinstance(d, dict) else 0)
            for h, d in self.pending.items()
            if h not in existing
        ]
        objects_copy(missing, ignore_conflicts=True)  # another account's sync may store one first
        if missing:
            existing.update(
                PolicyDocument.objects.filter(sha256__in=[m.sha256 for m in missing]).values_list(
                    "sha256", "pk"
                )
            )
        return existing


def _principal_items(gaad: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for item in gaad.get("UserDetailList") or []:
        yield "user", item
    for item in gaad.get("GroupDetailList") or []:
        yield "group", item
    for item in gaad.get("RoleDetailList") or []:
        yield "role", item


_INLINE_KEY = {"user": "UserPolicyList", "group": "GroupPolicyList", "role": "RolePolicyList"}
_NAME_KEY = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


class _PreviousState:
    """The account's documents as stored before this snapshot: what a principal could do before."""

    def __init__(self, account: LinkedAccount) -> None:
        managed = [
            p
            for p in ManagedPolicy.objects.filter(account=account).select_related("document")
            if p.document is not None
        ]
        self.managed = {p.arn: p.document.document for p in managed}  # type: ignore[union-attr]
        self.managed_hash = {p.arn: p.document.sha256 for p in managed}  # type: ignore[union-attr]
        self.inline: dict[int, list[tuple[str, Any]]] = {}
        self.inline_hash: dict[int, dict[str, str]] = {}
        for row in InlinePolicy.objects.filter(principal__account=account).select_related("document"):
            self.inline.setdefault(row.principal_id, []).append((row.name, row.document.document))
            self.inline_hash.setdefault(row.principal_id, {})[row.name] = row.document.sha256
        self.groups = {p.name: p for p in Principal.objects.filter(account=account, kind="group")}

    def policy_hashes(self, principal: Principal) -> dict[str, str]:
        """Each policy of the principal (inline by name, managed by ARN) and its document's hash, as stored."""
        out = {f"inline:{name}": digest for name, digest in self.inline_hash.get(principal.pk, {}).items()}
        out.update(
            {f"managed:{arn}": self.managed_hash.get(arn, "") for arn in principal.attached_policy_arns}
        )
        return out

    def _documents(self, principal: Principal) -> list[ParsedPolicy]:
        raw = list(self.inline.get(principal.pk, []))
        raw += [(arn, self.managed[arn]) for arn in principal.attached_policy_arns if arn in self.managed]
        for name in principal.groups:
            group = self.groups.get(name)
            if group is not None:
                raw += list(self.inline.get(group.pk, []))
                raw += [(arn, self.managed[arn]) for arn in group.attached_policy_arns if arn in self.managed]
        docs = []
        for name, document in raw:
            try:
                docs.append(parse_policy(document, name))
            except PolicyError:
                continue
        return docs

    def permission_diff(self, principal: Principal, details: AccountDetails) -> tuple[list[str], list[str]]:
        """Actions granted and revoked by this snapshot (principal as stored, before its fields change)."""
        record = details.principals.get(principal.arn)
        if record is None:
            return [], []
        catalog = default_catalog()
        ctx = PrincipalContext(principal.arn, principal.name, principal.kind, record.account_id)
        before = PrincipalPermissions.build(ctx, self._documents(principal), catalog).allowed_actions()
        after = PrincipalPermissions.build(
            ctx, principal_documents(details, record), catalog
        ).allowed_actions()
        return sorted(catalog.name(a) for a in after - before), sorted(
            catalog.name(a) for a in before - after
        )


@dataclass
class StoreResult:
    account_details: AccountDetails
    counts: dict[str, Any]
    changed_principals: set[str]
    usage_changed: bool = True


@transaction.atomic
def snapshot_store(*, account: LinkedAccount, collected: Collected, run: SyncRun | None) -> StoreResult:
    """Replace the account's snapshot with `collected`, recording what changed. All or nothing."""
    gaad = collected.gaad
    details = load_gaad(gaad, account.account_id)  # validates the shape before anything is written
    docs = _Documents()

    policy_rows = []
    for item in gaad.get("Policies") or []:
        arn = item.get("Arn", "")
        versions = item.get("PolicyVersionList") or []
        default = next((v for v in versions if v.get("IsDefaultVersion")), versions[0] if versions else None)
        policy_rows.append((arn, item, docs.key(default.get("Document")) if default else None, len(versions)))

    principal_rows = []
    for kind, item in _principal_items(gaad):
        inline = [
            (p.get("PolicyName", ""), docs.key(p.get("PolicyDocument")))
            for p in item.get(_INLINE_KEY[kind]) or []
        ]
        trust = docs.key(item.get("AssumeRolePolicyDocument")) if kind == "role" else None
        principal_rows.append((kind, item, inline, trust))
    by_hash = docs.save()

    previous = _PreviousState(account)

    # Managed policies
    existing_policies = {p.arn: p for p in ManagedPolicy.objects.filter(account=account)}
    seen_policy_arns = set()
    to_create, to_update = [], []
    for arn, item, digest, version_count in policy_rows:
        seen_policy_arns.add(arn)
        policy = existing_policies.get(arn) or ManagedPolicy(account=account, arn=arn)
        document_id = by_hash.get(digest) if digest else None
        moved = assign_changed(
            policy,
            name=item.get("PolicyName") or arn.rsplit("/", 1)[-1],
            aws_managed=arn.startswith("arn:aws:iam::aws:policy/"),
            default_version=item.get("DefaultVersionId", ""),
            document_id=document_id,
            version_count=version_count,
            error=details.policies[arn].error if arn in details.policies else "",
        )
        if policy.pk is None:
            to_create.append(policy)
        elif moved:
            to_update.append(policy)
    ManagedPolicy.objects.bulk_create(to_create)
    rows_update(to_update, ["name", "aws_managed", "default_version", "document", "version_count", "error"])
    ManagedPolicy.objects.filter(account=account).exclude(arn__in=seen_policy_arns).delete()
    policy_hash = {arn: digest or "" for arn, _, digest, _ in policy_rows}

    # Principals
    # The stored analysis results are not the store's to read (the analysis rewrites them): an account's
    # worth of paths and explanations would sit in memory for nothing.
    existing = {p.arn: p for p in Principal.objects.filter(account=account).defer(*ANALYSIS_RESULT_FIELDS)}
    earlier_runs = SyncRun.objects.filter(account=account, status="succeeded").exclude(
        pk=getattr(run, "pk", None)
    )
    first_sync = not existing and not earlier_runs.exists()  # first seen by iamreview, not added in AWS
    group_hash: dict[str, str] = {}
    for kind, item, inline, _trust in principal_rows:
        if kind == "group":
            parts = sorted(d or "" for _, d in inline) + sorted(
                policy_hash.get(a["PolicyArn"], a["PolicyArn"])
                for a in item.get("AttachedManagedPolicies") or []
            )
            group_hash[item.get("GroupName", "")] = hashlib.sha256("|".join(parts).encode()).hexdigest()
    changes: list[SnapshotChange] = []
    changed: set[str] = set()
    seen: set[str] = set()
    new_rows, update_rows = [], []
    inline_by_arn: dict[str, list[tuple[str, str | None]]] = {}
    for kind, item, inline, trust in principal_rows:
        arn = item.get("Arn", "")
        seen.add(arn)
        attached = [a["PolicyArn"] for a in item.get("AttachedManagedPolicies") or [] if a.get("PolicyArn")]
        groups = list(item.get("GroupList") or []) if kind == "user" else []
        boundary = (item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn", "")
        parts = (
            sorted(f"{n}={d}" for n, d in inline)
            + sorted(f"{a}={policy_hash.get(a, '')}" for a in attached)
            + sorted(f"g:{g}={group_hash.get(g, '')}" for g in groups)
            + [f"trust={trust or ''}", f"boundary={boundary}={policy_hash.get(boundary, '')}"]
        )
        documents_hash = hashlib.sha256("|".join(parts).encode()).hexdigest()
        principal = existing.get(arn)
        is_new = principal is None
        if principal is None:
            principal = Principal(account=account, arn=arn, kind=kind)
        elif principal.documents_hash != documents_hash:
            changed.add(arn)
            granted, revoked = previous.permission_diff(principal, details)
            after_hashes = {f"inline:{n}": d or "" for n, d in inline}
            after_hashes.update({f"managed:{a}": policy_hash.get(a, "") for a in attached})
            changes.append(
                SnapshotChange(
                    account=account,
                    sync_run=run,
                    kind=SnapshotChange.Kind.POLICY_CHANGED,
                    principal_arn=arn,
                    detail={
                        "before": principal.documents_hash,
                        "after": documents_hash,
                        "granted": granted[:50],
                        "revoked": revoked[:50],
                        "policies": {"before": previous.policy_hashes(principal), "after": after_hashes},
                    },
                )
            )
            for change_kind, actions in (
                (SnapshotChange.Kind.PERMISSION_GRANTED, granted),
                (SnapshotChange.Kind.PERMISSION_REVOKED, revoked),
            ):
                if actions:
                    changes.append(
                        SnapshotChange(
                            account=account,
                            sync_run=run,
                            kind=change_kind,
                            principal_arn=arn,
                            detail={"actions": actions[:500], "count": len(actions)},
                        )
                    )
        last_used = item.get("RoleLastUsed") or {}
        record = details.principals.get(arn)
        trust_document_id = by_hash.get(trust) if trust else None
        moved = assign_changed(
            principal,
            name=item.get(_NAME_KEY[kind], arn.rsplit("/", 1)[-1]),
            path=item.get("Path", "/"),
            aws_created_at=as_datetime(item.get("CreateDate")),
            last_used_at=as_datetime(last_used.get("LastUsedDate")),
            last_used_region=last_used.get("Region") or "",
            tags={t.get("Key"): t.get("Value", "") for t in item.get("Tags") or []},
            trust_document_id=trust_document_id,
            boundary_arn=boundary,
            groups=groups,
            attached_policy_arns=attached,
            documents_hash=documents_hash,
            errors=list(record.errors) if record is not None else [],
        )
        if is_new:
            new_rows.append(principal)
            changed.add(arn)
            changes.append(
                SnapshotChange(
                    account=account,
                    sync_run=run,
                    kind=SnapshotChange.Kind.PRINCIPAL_ADDED,
                    principal_arn=arn,
                    detail={"type": kind, "first_sync": True} if first_sync else {"type": kind},
                )
            )
        elif moved:  # an unchanged principal is not written again
            update_rows.append(principal)
        inline_by_arn[arn] = inline
    objects_copy(new_rows)  # their ids are read below, with every other principal's
    rows_update(
        update_rows,
        [
            "name",
            "path",
            "aws_created_at",
            "last_used_at",
            "last_used_region",
            "tags",
            "trust_document",
            "boundary_arn",
            "groups",
            "attached_policy_arns",
            "documents_hash",
            "errors",
        ],
        batch_size=500,
    )
    removed = [p for arn, p in existing.items() if arn not in seen]
    for p in removed:
        changes.append(
            SnapshotChange(
                account=account,
                sync_run=run,
                kind=SnapshotChange.Kind.PRINCIPAL_REMOVED,
                principal_arn=p.arn,
                detail={"type": p.kind, "name": p.name},
            )
        )
    Principal.objects.filter(pk__in=[p.pk for p in removed]).delete()
    ids = dict(Principal.objects.filter(account=account).values_list("arn", "id"))

    # Inline policies: rewritten for new and changed principals only.
    rewrite = [ids[a] for a in inline_by_arn if a in changed or a not in existing]
    InlinePolicy.objects.filter(principal_id__in=rewrite).delete()
    rewritten = set(rewrite)
    objects_copy(
        [
            InlinePolicy(principal_id=ids[arn], name=name, document_id=by_hash[digest])
            for arn, inline in inline_by_arn.items()
            if ids[arn] in rewritten
            for name, digest in inline
            if digest
        ]
    )

    user_ids = {p.name: ids[p.arn] for p in details.of_kind("user") if p.arn in ids}
    key_count, (last_accessed_rows, last_accessed_written) = usage_store(
        account=account, collected=collected, ids=ids, user_ids=user_ids
    )

    objects_copy(changes)
    # "Usage changed" decides whether the analysis and the usage findings run again when no document
    # changed. Their inputs: Access Advisor (None for an imported file: the stored rows stand), keys, the
    # credential report, Access Analyzer, and the day, because "unused for N days" moves with the calendar
    # even when AWS reports the same dates.
    usage_digest = document_hash(
        {
            "advisor": collected.last_accessed,
            "keys": collected.access_keys,
            "report": collected.credential_rows,
            "analyzer": collected.analyzer_findings,
            "day": timezone.localdate().isoformat(),
        }
    )
    previous = earlier_runs.order_by("-finished_at").values_list("counts", flat=True).first() or {}
    counts = {
        "principals": len(seen),
        "users": len(details.of_kind("user")),
        "roles": len(details.of_kind("role")),
        "groups": len(details.of_kind("group")),
        "managed_policies": len(policy_rows),
        "documents": len(by_hash),
        "access_keys": key_count,
        "credential_rows": len(collected.credential_rows),
        "last_accessed_rows": last_accessed_rows,
        "last_accessed_written": last_accessed_written,
        "analyzer_findings": len(collected.analyzer_findings or []),
        "added": 0 if first_sync else sum(c.kind == SnapshotChange.Kind.PRINCIPAL_ADDED for c in changes),
        "first_seen": len(seen) if first_sync else 0,
        "first_sync": first_sync,
        "removed": len(removed),
        "changed": sum(c.kind == SnapshotChange.Kind.POLICY_CHANGED for c in changes),
        "usage_hash": usage_digest,
    }
    return StoreResult(details, counts, changed, usage_changed=previous.get("usage_hash") != usage_digest)
