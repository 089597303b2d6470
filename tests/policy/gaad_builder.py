"""Builds small get-account-authorization-details documents for table-driven engine tests."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: str | list[str], resources: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def deny(actions: str | list[str], resources: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def trust_service(service: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def trust_web_identity(provider: str) -> dict[str, Any]:
    return doc(
        {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}
    )


def trust_account(account: str = ACCOUNT, **extra: Any) -> dict[str, Any]:
    return doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "sts:AssumeRole",
            **extra,
        }
    )


ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


class Gaad:
    def __init__(self) -> None:
        self.data: dict[str, list[dict[str, Any]]] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [
                {
                    "PolicyName": "AdministratorAccess",
                    "Arn": ADMIN_ARN,
                    "DefaultVersionId": "v1",
                    "PolicyVersionList": [
                        {"VersionId": "v1", "IsDefaultVersion": True, "Document": doc(allow("*"))}
                    ],
                }
            ],
        }

    def policy(self, name: str, document: dict[str, Any]) -> str:
        policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        self.data["Policies"].append(
            {
                "PolicyName": name,
                "Arn": policy_arn,
                "DefaultVersionId": "v1",
                "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
            }
        )
        return policy_arn

    def _inline(self, inline: dict[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
        return [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()]

    def user(
        self,
        name: str,
        inline: dict[str, dict[str, Any]] | None = None,
        attached: list[str] | None = None,
        groups: list[str] | None = None,
        boundary: str = "",
    ) -> str:
        item: dict[str, Any] = {
            "UserName": name,
            "Arn": arn("user", name),
            "UserPolicyList": self._inline(inline),
            "AttachedManagedPolicies": [
                {"PolicyArn": a, "PolicyName": a.rsplit("/", 1)[-1]} for a in attached or []
            ],
            "GroupList": groups or [],
        }
        if boundary:
            item["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
        self.data["UserDetailList"].append(item)
        return item["Arn"]

    def group(
        self, name: str, inline: dict[str, dict[str, Any]] | None = None, attached: list[str] | None = None
    ) -> str:
        item = {
            "GroupName": name,
            "Arn": arn("group", name),
            "GroupPolicyList": self._inline(inline),
            "AttachedManagedPolicies": [
                {"PolicyArn": a, "PolicyName": a.rsplit("/", 1)[-1]} for a in attached or []
            ],
        }
        self.data["GroupDetailList"].append(item)
        return item["Arn"]

    def role(
        self,
        name: str,
        trust: dict[str, Any] | None = None,
        inline: dict[str, dict[str, Any]] | None = None,
        attached: list[str] | None = None,
        boundary: str = "",
    ) -> str:
        item: dict[str, Any] = {
            "RoleName": name,
            "Arn": arn("role", name),
            "AssumeRolePolicyDocument": trust or trust_account(),
            "RolePolicyList": self._inline(inline),
            "AttachedManagedPolicies": [
                {"PolicyArn": a, "PolicyName": a.rsplit("/", 1)[-1]} for a in attached or []
            ],
        }
        if boundary:
            item["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
        self.data["RoleDetailList"].append(item)
        return item["Arn"]

    def analyze(self, catalog: Any = None, **kwargs: Any) -> dict[str, Any]:
        from policy.analyze import analyze_account
        from policy.catalog import default_catalog
        from policy.gaad import load_gaad

        report = analyze_account(load_gaad(self.data), catalog or default_catalog(), **kwargs)
        return {p.arn: p for p in report.principals}
