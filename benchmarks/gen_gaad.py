"""Generates realistic get-account-authorization-details files from the AWS managed policy corpus moto ships.

python benchmarks/gen_gaad.py --roles 300 --out var/bench/gaad-300.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
SERVICES = ["lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com"]
BROAD = [
    "AdministratorAccess",
    "PowerUserAccess",
    "IAMFullAccess",
    "AmazonS3FullAccess",
    "AmazonEC2FullAccess",
]
RISKY_INLINE = [
    ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
    ["iam:PassRole", "ec2:RunInstances"],
    ["iam:PutRolePolicy"],
    ["iam:CreatePolicyVersion"],
    ["sts:AssumeRole"],
    ["iam:CreateAccessKey"],
    ["ssm:SendCommand"],
    ["iam:PassRole", "cloudformation:CreateStack"],
]
SCOPED_INLINE = [
    (["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::app-{i}-data/*"),
    (
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
        "arn:aws:dynamodb:us-east-1:123456789012:table/t{i}",
    ),
    (["sqs:SendMessage", "sqs:ReceiveMessage"], "arn:aws:sqs:us-east-1:123456789012:q{i}"),
    (["logs:CreateLogStream", "logs:PutLogEvents"], "*"),
]


def managed_corpus() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)  # type: ignore[no-any-return]


def _trust(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.75:
        principal: dict[str, Any] = {"Service": rng.choice(SERVICES)}
    elif roll < 0.92:
        principal = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    else:
        principal = {"AWS": "arn:aws:iam::999988887777:root"}
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


def generate(roles: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    corpus = managed_corpus()
    names = sorted(n for n in corpus if "ServiceRole" not in n)
    used: set[str] = set()
    role_list = []
    for i in range(roles):
        attached = rng.sample(names, rng.randint(1, 3))
        if rng.random() < 0.04 and (broad := rng.choice(BROAD)) not in attached:
            attached.append(broad)  # never twice: AWS does not attach a policy twice
        used.update(attached)
        inline = []
        if rng.random() < 0.5:
            actions, resource = rng.choice(SCOPED_INLINE)
            statements = [{"Effect": "Allow", "Action": actions, "Resource": resource.format(i=i)}]
            if rng.random() < 0.12:
                statements.append({"Effect": "Allow", "Action": rng.choice(RISKY_INLINE), "Resource": "*"})
            inline.append(
                {
                    "PolicyName": f"inline-{i}",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            )
        role_list.append(
            {
                "Path": "/",
                "RoleName": f"role-{i:05d}",
                "RoleId": f"AROA{i:016d}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/role-{i:05d}",
                "CreateDate": "2024-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": _trust(rng),
                "InstanceProfileList": [],
                "RolePolicyList": inline,
                "AttachedManagedPolicies": [
                    {"PolicyName": n, "PolicyArn": f"arn:aws:iam::aws:policy/{n}"} for n in attached
                ],
                "Tags": [],
                "RoleLastUsed": {},
            }
        )
    users = []
    for i in range(max(5, roles // 20)):
        attached = rng.sample(names, 1)
        used.update(attached)
        users.append(
            {
                "Path": "/",
                "UserName": f"user-{i:04d}",
                "UserId": f"AIDA{i:016d}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/user-{i:04d}",
                "CreateDate": "2023-01-01T00:00:00Z",
                "UserPolicyList": [],
                "GroupList": ["developers"] if i % 2 else ["readers"],
                "AttachedManagedPolicies": [
                    {"PolicyName": n, "PolicyArn": f"arn:aws:iam::aws:policy/{n}"} for n in attached
                ],
                "Tags": [],
            }
        )
    used.update(["PowerUserAccess", "ReadOnlyAccess"])
    groups = [
        {
            "Path": "/",
            "GroupName": g,
            "GroupId": f"AGPA{n:016d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:group/{g}",
            "CreateDate": "2023-01-01T00:00:00Z",
            "GroupPolicyList": [],
            "AttachedManagedPolicies": [{"PolicyName": p, "PolicyArn": f"arn:aws:iam::aws:policy/{p}"}],
        }
        for n, (g, p) in enumerate([("developers", "PowerUserAccess"), ("readers", "ReadOnlyAccess")])
    ]
    policies = []
    for n in sorted(used):
        item = corpus[n]
        policies.append(
            {
                "PolicyName": n,
                "PolicyId": f"ANPA{abs(hash(n)) % 10**16:016d}",
                "Arn": f"arn:aws:iam::aws:policy/{n}",
                "Path": item.get("Path", "/"),
                "DefaultVersionId": item["DefaultVersionId"],
                "AttachmentCount": 1,
                "PermissionsBoundaryUsageCount": 0,
                "IsAttachable": True,
                "CreateDate": "2020-01-01T00:00:00Z",
                "UpdateDate": "2020-01-01T00:00:00Z",
                "PolicyVersionList": [
                    {
                        "Document": item["Document"],
                        "VersionId": item["DefaultVersionId"],
                        "IsDefaultVersion": True,
                        "CreateDate": "2020-01-01T00:00:00Z",
                    }
                ],
            }
        )
    return {
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": role_list,
        "Policies": policies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--roles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(generate(args.roles, args.seed)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
