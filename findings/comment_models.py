"""Reviewers' comments on findings and change requests (findings.comments writes them, audited)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Comment(models.Model):
    """A reviewer's note on a finding or on a change request (exactly one of the two)."""

    finding = models.ForeignKey(
        "findings.Finding", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    change_request = models.ForeignKey(
        "findings.ChangeRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(finding__isnull=False, change_request__isnull=True)
                | models.Q(finding__isnull=True, change_request__isnull=False),
                name="comment_on_one_object",
            )
        ]

    def __str__(self) -> str:
        return f"comment by {self.author_name}"
