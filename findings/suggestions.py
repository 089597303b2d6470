"""Building suggestions for an account after a sync (a task of its own, so a sync's API calls stay bounded)."""

from __future__ import annotations

import logging

from accounts.aws.client import AwsAccessError, AwsSession
from accounts.models import LinkedAccount
from findings.changes import suggestion_build
from findings.models import Principal

logger = logging.getLogger(__name__)


def suggestions_build_for_account(*, account_id: int, session_factory: object = None) -> int:
    """A suggestion for every principal with unused permissions; Access Analyzer checks where available."""
    from accounts.sync import aws_target

    account = LinkedAccount.objects.get(pk=account_id)
    analyzer = None
    try:
        session = (session_factory or AwsSession)(aws_target(account))  # type: ignore[operator]
        analyzer = session.client("accessanalyzer")
    except AwsAccessError as exc:
        logger.info("suggestions for %s without Access Analyzer checks: %s", account.account_id, exc)
    built = 0
    for principal in Principal.objects.filter(account=account, unused_count__gt=0).exclude(kind="group"):
        if suggestion_build(principal=principal, analyzer=analyzer) is not None:
            built += 1
    return built
