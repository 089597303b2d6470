"""Comments on findings and change requests: reviewers and above write them, every role reads them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from core.audit import audit_record
from findings.models import ChangeRequest, Comment, Finding

MAX_COMMENT = 4000


class CommentError(ValueError):
    pass


@transaction.atomic
def comment_add(
    *,
    actor: AbstractBaseUser,
    body: str,
    finding: Finding | None = None,
    change_request: ChangeRequest | None = None,
) -> Comment:
    """Store one comment on exactly one finding or change request, and audit it."""
    text = body.strip()
    if not text:
        raise CommentError("Write something first.")
    if len(text) > MAX_COMMENT:
        raise CommentError(f"A comment holds at most {MAX_COMMENT} characters.")
    if (finding is None) == (change_request is None):
        raise CommentError("A comment is on one finding or one change request.")
    target: Finding | ChangeRequest = finding if finding is not None else change_request  # type: ignore[assignment]
    comment = Comment.objects.create(
        finding=finding,
        change_request=change_request,
        author=actor,
        author_name=actor.get_username(),
        body=text,
    )
    label = f"finding #{finding.pk}" if finding is not None else f"change #{target.pk}"
    audit_record(
        actor=actor,
        action="comment.add",
        obj=target,
        account_id=target.account.account_id,
        summary=f"Comment on {label}: {text[:200]}",
        after={"comment": comment.pk, "body": text},
    )
    return comment
