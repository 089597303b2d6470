"""IAM Identity Center's permission sets as the hosting account's last sync saw them (imported by
`findings.models`, kept apart so that module stays readable)."""

from __future__ import annotations

from django.db import models

from accounts.models import LinkedAccount, SyncRun


class PermissionSet(models.Model):
    """One permission set of an Identity Center instance, from a sync of the account that hosts Identity
    Center (the management or delegated-admin account). A sync writes a row only when the set changed, and
    deletes the rows of sets that are gone; an `AWSReservedSSO_<name>_<hash>` role in an account the set is
    provisioned to is that set's role (`findings.identity_center.permission_set_for`)."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    instance_arn = models.CharField(max_length=200)
    arn = models.CharField(max_length=300)
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True, default="")
    session_duration = models.CharField(max_length=32, blank=True, default="")
    inline_policy = models.JSONField(null=True, blank=True)
    managed_policies = models.JSONField(default=list)  # [{"arn", "name"}]
    customer_managed = models.JSONField(default=list)  # [{"name", "path"}]: a policy of that name per account
    boundary = models.JSONField(null=True, blank=True)
    accounts = models.JSONField(default=list)  # account ids it is provisioned to
    collected_at = models.DateTimeField()  # when a sync first saw this content

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instance_arn", "arn"], name="permissionset_instance_arn_uniq")
        ]
        # The role's set by name (`permission_set_for`): name = ..., newest first.
        indexes = [models.Index(fields=["name"], name="permissionset_name_idx")]

    def __str__(self) -> str:
        return f"permission set {self.name}"
