"""The demo organisation's Organization: its management account, OU tree, SCPs and RCP, and what only an
organisation has in the member accounts (a cross-account path to admin, root users, a service-linked role).
"""

from __future__ import annotations

from typing import Any

PROD, STAGING, SANDBOX = "111111111111", "222222222222", "333333333333"
MANAGEMENT = "999999999999"
AWS = "arn:aws:iam::aws:policy/"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: Any, resources: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def service_trust(service: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def account_trust(account: str) -> dict[str, Any]:
    return doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
    )


# IAM writes the sandbox accounts may not make: IAM there is managed from the platform pipeline only.
SANDBOX_IAM_WRITES = [
    f"iam:{verb}*"
    for verb in (
        "Create",
        "Delete",
        "Put",
        "Attach",
        "Detach",
        "Update",
        "Add",
        "Remove",
        "Set",
        "Tag",
        "Untag",
    )
] + ["iam:PassRole"]


# Who may still make them: the role the platform pipeline assumes from the management account, and the
# product's own roles (iamreview-apply applies approved changes; iamreview-read hands Access Analyzer its
# role with iam:PassRole). Without the exemption the SCP would refuse the product's calls in the sandbox.
SANDBOX_IAM_EXEMPT = [
    "arn:aws:iam::*:role/OrganizationAccountAccessRole",
    "arn:aws:iam::*:role/iamreview-*",
]


def management_spec() -> dict[str, Any]:
    """The organisation's management account: few principals, the read role with the management template."""
    return {
        "management": True,
        "users": [
            {
                "name": "org-admin",
                "attached": [f"{AWS}AdministratorAccess"],
                "mfa": True,
                "created_days": 1500,
            }
        ],
        "roles": [
            {
                "name": "platform-pipeline",
                "trust": service_trust("codebuild.amazonaws.com"),
                "inline": {
                    "assume": doc(
                        allow("sts:AssumeRole", "arn:aws:iam::*:role/OrganizationAccountAccessRole")
                    )
                },
                "created_days": 700,
                "last_used_days": 0,
            }
        ],
        "root": {"mfa": True},
    }


def demo_organization() -> dict[str, Any]:
    """The Organization: prod under Production, staging and sandbox under Development, sandbox under
    Development/Sandbox; a guardrail for every account and one that caps IAM in the sandbox."""
    return {
        "accounts": {PROD: "prod", STAGING: "staging", SANDBOX: "sandbox"},
        "ous": [
            {"name": "Production", "accounts": [PROD]},
            {"name": "Development", "accounts": [STAGING]},
            {"name": "Sandbox", "parent": "Development", "accounts": [SANDBOX]},
        ],
        "policies": [
            {
                "name": "deny-leaving-the-organization",
                "document": doc(
                    {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
                ),
                "targets": ["Root"],
            },
            {
                "name": "deny-iam-outside-admins",
                "description": "Sandbox IAM changes go through the platform pipeline in the management account",
                "document": doc(
                    {
                        "Effect": "Deny",
                        "Action": SANDBOX_IAM_WRITES,
                        "Resource": "*",
                        "Condition": {"ArnNotLike": {"aws:PrincipalArn": SANDBOX_IAM_EXEMPT}},
                    }
                ),
                "targets": ["Sandbox"],
            },
            {
                "name": "keep-s3-public-access-block",
                "type": "RCP",
                "document": doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": ["s3:PutBucketPublicAccessBlock", "s3:DeleteBucketOwnershipControls"],
                        "Resource": "*",
                    }
                ),
                "targets": ["Production"],
            },
        ],
    }


def organization_touches(specs: dict[str, dict[str, Any]]) -> None:
    """What only an organisation has: a cross-account path to admin (staging's release role may assume
    prod's deployer, an administrator that trusts staging), and root users that need attention."""
    specs[PROD]["roles"].append(
        {
            "name": "prod-deployer",
            "trust": account_trust(STAGING),
            "attached": [f"{AWS}AdministratorAccess"],
            "created_days": 500,
            "last_used_days": 1,
        }
    )
    specs[STAGING]["roles"].append(
        {
            "name": "release-to-prod",
            "trust": service_trust("codebuild.amazonaws.com"),
            "inline": {"release": doc(allow("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/prod-deployer"))},
            "created_days": 480,
            "last_used_days": 1,
        }
    )
    specs[PROD]["roles"].append(
        {
            "name": "AWSServiceRoleForECS",
            "path": "/aws-service-role/ecs.amazonaws.com/",
            "trust": service_trust("ecs.amazonaws.com"),
            "attached": [f"{AWS}aws-service-role/AmazonECSServiceRolePolicy"],
            "created_days": 900,
            "last_used_days": 0,
        }
    )
    specs[PROD]["usage"]["AWSServiceRoleForECS"] = {"ec2": {"days": 0, "actions": {"DescribeInstances": 0}}}
    specs[PROD]["root"] = {"mfa": True, "keys": [{"age_days": 1500, "last_used_days": 12}]}
    specs[SANDBOX]["root"] = {"mfa": False, "password_last_used_days": 200}  # nosec B105 - a day count


def demo_identity_center() -> list[dict[str, Any]]:
    """IAM Identity Center in the management account: an over-broad DataEngineers set whose roles in prod and
    staging used only part of it (its suggestion targets the set), and an auditors' set used in full."""
    return [
        {
            "name": "DataEngineers",
            "description": "Data platform engineers: the lake, queries, the warehouse",
            "inline": doc(
                {
                    "Sid": "Lake",
                    "Effect": "Allow",
                    "Action": [
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:ListBucket",
                        "s3:CreateBucket",
                        "s3:PutBucketPolicy",
                        "s3:DeleteBucket",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "Query",
                    "Effect": "Allow",
                    "Action": ["athena:StartQueryExecution", "athena:GetQueryResults", "glue:GetTable"],
                    "Resource": "*",
                },
                {
                    "Sid": "Warehouse",
                    "Effect": "Allow",
                    "Action": ["redshift:*", "dynamodb:*"],
                    "Resource": "*",
                },
            ),
            "managed": [f"{AWS}AmazonSQSReadOnlyAccess"],
            "accounts": [PROD, STAGING],
            "created_days": 600,
            "last_used_days": 0,
            # Each account's role used part of the set: together they used the lake and queries.
            "usage": {
                PROD: {
                    "s3": {"days": 0, "actions": {"CreateBucket": 3, "GetObject": 0}},
                    "athena": {"days": 1, "actions": {"StartQueryExecution": 1, "GetQueryResults": 1}},
                },
                STAGING: {
                    "s3": {"days": 2, "actions": {"PutBucketPolicy": 2, "ListBucket": 2}},
                    "glue": {"days": 4, "actions": {"GetTable": 4}},
                },
            },
        },
        {
            "name": "SecurityAuditors",
            "description": "Read the trail and the configuration",
            "inline": doc(allow(["cloudtrail:LookupEvents", "cloudtrail:DescribeTrails"])),
            "accounts": [PROD, SANDBOX],
            "created_days": 500,
            "last_used_days": 1,
            "usage": {
                account: {"cloudtrail": {"days": 1, "actions": {"LookupEvents": 1, "DescribeTrails": 3}}}
                for account in (PROD, SANDBOX)
            },
        },
    ]
