"""Small fakeaws scenarios shared by the collection and findings tests."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111111111111"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def lambda_trust() -> dict[str, Any]:
    return doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )


def small_company() -> dict[str, Any]:
    return {
        "policies": [
            {
                "name": "deploy",
                "document": doc(
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "lambda:UpdateFunctionCode"],
                        "Resource": "*",
                    }
                ),
            },
        ],
        "groups": [{"name": "devs", "attached": [READONLY]}],
        "roles": [
            {"name": "admin", "attached": [ADMIN], "created_days": 800, "last_used_days": 3},
            {
                "name": "app",
                "trust": lambda_trust(),
                "created_days": 300,
                "last_used_days": 1,
                "inline": {
                    "app": doc(
                        {
                            "Effect": "Allow",
                            # Lambda management actions: Access Advisor reports them one by one, so
                            # DeleteFunction is known to be unused. (s3:GetObject would not do: a data
                            # event, it never appears in action-level data.)
                            "Action": [
                                "lambda:GetFunction",
                                "lambda:UpdateFunctionCode",
                                "lambda:DeleteFunction",
                                "sqs:SendMessage",
                            ],
                            "Resource": "*",
                        }
                    )
                },
            },
            {
                "name": "old-batch",
                "trust": lambda_trust(),
                "created_days": 500,
                "last_used_days": 200,
                "inline": {"batch": doc({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})},
            },
            {
                "name": "new-role",
                "trust": lambda_trust(),
                "created_days": 10,
                "inline": {"n": doc({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})},
            },
            {"name": "ci", "attached": ["deploy"], "created_days": 400, "last_used_days": 1},
        ],
        "users": [
            {
                "name": "alice",
                "groups": ["devs"],
                "password": {"last_used_days": 2},
                "mfa": True,
                "created_days": 600,
                "keys": [{"age_days": 30, "last_used_days": 1}],
            },
            {
                "name": "old-admin",
                "attached": [ADMIN],
                "password": {"last_used_days": 300},
                "created_days": 1500,
                "keys": [{"age_days": 700, "last_used_days": 400}, {"age_days": 500}],
            },
            {
                "name": "escalator",
                "created_days": 300,
                "inline": {
                    "self": doc(
                        {
                            "Effect": "Allow",
                            "Action": "iam:PutUserPolicy",
                            "Resource": "arn:aws:iam::*:user/${aws:username}",
                        }
                    )
                },
            },
        ],
        "usage": {
            "app": {
                "lambda": {"days": 1, "actions": {"GetFunction": 1, "UpdateFunctionCode": 5}},
                "sqs": {"days": 2},
            },
            "admin": {
                "s3": {"days": 3, "actions": {"ListBucket": 3}},
                "ec2": {"days": 4, "actions": {"DescribeInstances": 4}},
            },
            "ci": {"s3": {"days": 1, "actions": {"PutObject": 1}}},
            "old-batch": {"dynamodb": {"days": 200, "actions": {"GetItem": 200}}},
            "alice": {"s3": {"days": 1, "actions": {"GetObject": 1}}},
        },
        "analyzers": [
            {
                "name": "unused",
                "type": "ACCOUNT_UNUSED_ACCESS",
                "findings": [
                    {
                        "findingType": "UnusedIAMRole",
                        "resource": "old-batch",
                        "findingDetails": [{"unusedIamRoleDetails": {}}],
                    },
                ],
            },
        ],
    }


def small_company_accounts() -> dict[str, dict[str, Any]]:
    return {ACCOUNT: small_company()}
