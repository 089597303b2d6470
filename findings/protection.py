"""Principals never changed directly, and what to do instead: service-linked roles (AWS owns them), IAM
Identity Center roles whose permission set is not known (Identity Center reverts changes; a known set is
tightened instead, `findings.identity_center`), and those the organisation marks as protected by a
tag (IAMREVIEW_PROTECTED_TAG) or a path (IAMREVIEW_PROTECTED_PATHS)."""

from __future__ import annotations

from django.conf import settings

from findings.identity_center import permission_set_for
from findings.models import Principal


def protected_reason(principal: Principal) -> str:
    """Why a principal is never changed directly and what to do instead, or "" when it may be."""
    if principal.path.startswith("/aws-service-role/"):
        return (
            "it is a service-linked role: AWS owns its policies and refuses changes to them. Nothing to "
            "apply; remove the service's use of it if the access is not needed."
        )
    if principal.name.startswith("AWSReservedSSO_") or principal.path.startswith("/aws-reserved/sso."):
        if permission_set_for(principal) is not None:
            return ""  # its suggestion tightens the permission set itself (findings.identity_center)
        return (
            "IAM Identity Center created this role and reverts changes to it: tighten its permission set "
            "in Identity Center instead. (Its permission set is not known here: sync the account that hosts "
            "Identity Center with the management-account template, and the suggestion will target the set.)"
        )
    tag = str(getattr(settings, "IAMREVIEW_PROTECTED_TAG", "") or "")
    if tag:
        key, has_value, value = tag.partition("=")
        tags = principal.tags if isinstance(principal.tags, dict) else {}
        if key in tags and (not has_value or str(tags[key]) == value):
            return (
                f"the organisation marks it as protected (tag {tag}): change it through the process that "
                "owns it (its infrastructure code or a change ticket); export the tightened policy as JSON, "
                "Terraform or CloudFormation and hand it over."
            )
    for prefix in getattr(settings, "IAMREVIEW_PROTECTED_PATHS", []) or []:
        if prefix and principal.path.startswith(prefix):
            return (
                f"the organisation marks principals under the path {prefix} as protected: change it through "
                "the process that owns it (its infrastructure code or a change ticket); export the "
                "tightened policy as JSON, Terraform or CloudFormation and hand it over."
            )
    return ""
