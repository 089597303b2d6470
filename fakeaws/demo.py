"""The demo organisation: a management account and prod, staging and sandbox, about 150 principals that look
like a real company's (the Organization and its Identity Center are in `fakeaws.demo_org`)."""

from __future__ import annotations

import random
from typing import Any

from fakeaws.demo_org import AWS, MANAGEMENT, PROD, SANDBOX, STAGING, management_spec, organization_touches
from fakeaws.demo_org import demo_identity_center as demo_identity_center
from fakeaws.demo_org import demo_organization as demo_organization

__all__ = [
    "MANAGEMENT",
    "PROD",
    "SANDBOX",
    "STAGING",
    "demo_accounts",
    "demo_external_id",
    "demo_identity_center",
    "demo_organization",
]


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def service_trust(service: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def account_trust(account: str, external_id: str = "") -> dict[str, Any]:
    st: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        st["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return doc(st)


def github_trust(account: str, sub: str | None) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    }
    if sub:
        condition["StringLike"] = {"token.actions.githubusercontent.com:sub": sub}
    return doc(
        {
            "Effect": "Allow",
            "Principal": {
                "Federated": f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
            },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }
    )


SERVICES = [
    "s3",
    "dynamodb",
    "sqs",
    "sns",
    "logs",
    "kms",
    "secretsmanager",
    "lambda",
    "ec2",
    "ecr",
    "cloudwatch",
    "ssm",
]


def _usage(rng: random.Random, services: list[str], recent: bool = True) -> dict[str, Any]:
    """What a workload did. Most of it is data events (GetObject, GetItem, InvokeFunction), which Access
    Advisor never reports per action; the occasional management call (GetBucketLocation from the SDK,
    DescribeTable, GetFunction) is what shows at action level, as in a real account."""
    out = {}
    for service in services:
        days = rng.randint(0, 20) if recent else rng.randint(100, 119)
        actions = {}
        if service == "s3":
            actions = {
                "GetObject": days,
                "PutObject": days + rng.randint(0, 5),
                "GetBucketLocation": days + 3,
            }
        elif service == "dynamodb":
            actions = {"GetItem": days, "Query": days, "DescribeTable": days + 7}
        elif service == "lambda":
            actions = {"InvokeFunction": days, "GetFunction": days + 2}
        out[service] = {"days": days, "actions": actions}
    return out


# The services each AWS managed policy used by the generated roles grants (None: nearly all of them).
MANAGED_SERVICES: dict[str, set[str] | None] = {
    "AmazonS3FullAccess": {"s3"},
    "AmazonDynamoDBFullAccess": {"dynamodb"},
    "AmazonSQSFullAccess": {"sqs"},
    "PowerUserAccess": None,
}


def _granted_services(attached: list[str], inline: dict[str, Any]) -> set[str] | None:
    services: set[str] = set()
    for arn in attached:
        named = MANAGED_SERVICES[arn.rsplit("/", 1)[-1]]
        if named is None:
            return None
        services |= named
    for document in inline.values():
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            services |= {a.split(":", 1)[0] for a in actions}
    return services


APPS = ("orders", "billing", "search", "images", "reports", "auth", "etl")


def _resources(account: str, env: str, service: str, app: str) -> list[str]:
    """The ARNs a workload's calls touch, as CloudTrail records them."""
    region = "us-east-1"
    return {
        "s3": [f"arn:aws:s3:::acme-{env}-{app}"],
        "dynamodb": [f"arn:aws:dynamodb:{region}:{account}:table/{app}"],
        "lambda": [f"arn:aws:lambda:{region}:{account}:function:{app}-handler"],
        "sqs": [f"arn:aws:sqs:{region}:{account}:{app}-jobs"],
        "logs": [f"arn:aws:logs:{region}:{account}:log-group:/aws/{app}"],
        "secretsmanager": [f"arn:aws:secretsmanager:{region}:{account}:secret:{env}/{app}-AbCdEf"],
    }.get(service, [])


def _events(account: str, env: str, usage: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """What each workload's calls left in CloudTrail: its recorded actions, one to three calls each, on the
    resources of its application (derived from its name); data events (s3:GetObject, dynamodb:GetItem) too,
    which only a trail's files hold (LookupEvents and policy generation leave them out, as in AWS). A seeded generator of its own, so that the rest
    of the demo is drawn as before."""
    events: dict[str, list[dict[str, Any]]] = {}
    for name, services in usage.items():
        rng = random.Random(f"{account}:{name}")  # nosec B311 - reproducible demo data
        app = next((a for a in APPS if a in name), name.split("-")[0])
        out = events.setdefault(name, [])
        for service, use in services.items():
            actions = use.get("actions") or {}
            for action, days in actions.items():
                for n in range(rng.randint(1, 3)):
                    resources = _resources(account, env, service, app)
                    if service == "s3" and action in ("GetObject", "PutObject"):
                        resources = [f"{resources[0]}/uploads/{rng.randint(1, 999)}.json"]
                    out.append({"action": f"{service}:{action}", "days": days + n, "resources": resources})
    return events


def account_spec(account: str, env: str, rng: random.Random, size: int) -> dict[str, Any]:
    roles: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    usage: dict[str, Any] = {}
    policies = [
        {
            "name": "deploy-app",
            "document": doc(
                allow(
                    [
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "lambda:UpdateFunctionCode",
                        "lambda:UpdateFunctionConfiguration",
                        "lambda:GetFunction",
                        "cloudformation:*",
                    ]
                )
            ),
        },
        {
            "name": "read-secrets",
            "document": doc(
                allow(
                    ["secretsmanager:GetSecretValue", "kms:Decrypt"],
                    f"arn:aws:secretsmanager:*:{account}:secret:{env}/*",
                )
            ),
        },
    ]
    groups = [
        {
            "name": "developers",
            "attached": [f"{AWS}ReadOnlyAccess"],
            "inline": {"dev-extra": doc(allow(["sqs:*", "sns:Publish", "logs:*"]))},
        },
        {"name": "admins", "attached": [f"{AWS}AdministratorAccess"]},
        {"name": "support", "attached": [f"{AWS}job-function/ViewOnlyAccess"]},
    ]
    # Humans
    people = [
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
        "frank",
        "grace",
        "heidi",
        "ivan",
        "judy",
        "mallory",
        "oscar",
    ]
    for n, person in enumerate(people[: max(4, size // 10)]):
        group = "admins" if n == 0 else ("support" if n % 4 == 3 else "developers")
        users.append(
            {
                "name": person,
                "groups": [group],
                "created_days": rng.randint(200, 1500),
                "mfa": n % 5 != 4,
                "password": {"last_used_days": rng.choice([1, 3, 10, 150])},
                "keys": [
                    {"age_days": rng.choice([20, 200, 500]), "last_used_days": rng.choice([1, 40, None])}
                ]
                if n % 3 == 0
                else [],
            }
        )
        usage[person] = _usage(rng, rng.sample(["s3", "sqs", "logs", "ec2", "cloudwatch"], 2))
    users.append(
        {
            "name": "old-admin",
            "attached": [f"{AWS}AdministratorAccess"],
            "created_days": 2000,
            "password": {"last_used_days": 400},
            "keys": [{"age_days": 900, "last_used_days": 300}, {"age_days": 450, "last_used_days": 200}],
        }
    )
    users.append(
        {
            "name": "build-bot",
            "attached": [f"{AWS}AmazonS3FullAccess", f"{AWS}IAMFullAccess"],
            "created_days": 800,
            "keys": [{"age_days": 420, "last_used_days": 0}],
        }
    )
    usage["build-bot"] = _usage(rng, ["s3"])
    users.append(
        {
            "name": "self-service",
            "created_days": 300,
            "inline": {
                "own-keys": doc(
                    allow(
                        ["iam:CreateAccessKey", "iam:PutUserPolicy"],
                        f"arn:aws:iam::{account}:user/${{aws:username}}",
                    )
                )
            },
        }
    )
    # Machines
    roles.append(
        {
            "name": "break-glass",
            "trust": account_trust(MANAGEMENT),
            "attached": [f"{AWS}AdministratorAccess"],
            "created_days": 900,
            "last_used_days": 200,
        }
    )
    roles.append(
        {
            "name": "OrganizationAccountAccessRole",
            "trust": account_trust(MANAGEMENT),
            "attached": [f"{AWS}AdministratorAccess"],
            "created_days": 1200,
            "last_used_days": 30,
        }
    )
    roles.append(
        {
            "name": "github-deploy",
            "trust": github_trust(account, "repo:acme/app:ref:refs/heads/main"),
            "attached": ["deploy-app"],
            "inline": {"pass": doc(allow("iam:PassRole", f"arn:aws:iam::{account}:role/lambda-*"))},
            "created_days": 400,
            "last_used_days": 0,
        }
    )
    usage["github-deploy"] = {
        "s3": {"days": 0, "actions": {"PutObject": 0, "GetObject": 2}},
        "lambda": {"days": 1, "actions": {"UpdateFunctionCode": 1, "GetFunction": 1}},
    }
    roles.append(
        {
            "name": "github-any-repo",
            "trust": github_trust(account, None),
            "attached": [f"{AWS}PowerUserAccess"],
            "created_days": 200,
            "last_used_days": 5,
        }
    )
    usage["github-any-repo"] = _usage(rng, ["s3", "ecr", "logs"])
    roles.append(
        {
            "name": "vendor-monitoring",
            "trust": account_trust("444455556666"),
            "attached": [f"{AWS}ReadOnlyAccess"],
            "created_days": 600,
            "last_used_days": 1,
        }
    )
    usage["vendor-monitoring"] = _usage(rng, ["cloudwatch", "ec2", "logs"])
    roles.append(
        {
            "name": "vendor-backup",
            "trust": account_trust("777788889999", "acme-backup-7f3a"),
            "attached": [f"{AWS}AmazonS3ReadOnlyAccess"],
            "created_days": 600,
            "last_used_days": 2,
        }
    )
    usage["vendor-backup"] = _usage(rng, ["s3"])
    roles.append(
        {
            "name": "ci-runner",
            "trust": service_trust("codebuild.amazonaws.com"),
            "created_days": 500,
            "last_used_days": 0,
            "inline": {
                "ci": doc(
                    allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction", "ecr:*", "s3:*"])
                )
            },
        }
    )
    usage["ci-runner"] = {"s3": {"days": 0, "actions": {"GetObject": 0, "PutObject": 0}}, "ecr": {"days": 0}}
    roles.append(
        {
            "name": "lambda-admin",
            "trust": service_trust("lambda.amazonaws.com"),
            "attached": [f"{AWS}AdministratorAccess"],
            "created_days": 700,
            "last_used_days": 90,
        }
    )
    for n in range(size - len(roles) - len(users)):
        kind = rng.choice(["lambda", "ecs", "ec2", "lambda", "ecs"])
        trust = {
            "lambda": "lambda.amazonaws.com",
            "ecs": "ecs-tasks.amazonaws.com",
            "ec2": "ec2.amazonaws.com",
        }[kind]
        name = f"{kind}-{rng.choice(['orders', 'billing', 'search', 'images', 'reports', 'auth', 'etl'])}-{n:02d}"
        broad = rng.random() < 0.3
        attached = (
            [
                f"{AWS}{rng.choice(['AmazonS3FullAccess', 'AmazonDynamoDBFullAccess', 'AmazonSQSFullAccess', 'PowerUserAccess'])}"
            ]
            if broad
            else []
        )
        inline = (
            {}
            if broad
            else {
                "app": doc(
                    allow(
                        [f"{s}:*" if rng.random() < 0.3 else f"{s}:Get*" for s in rng.sample(SERVICES[:6], 3)]
                    )
                )
            }
        )
        unused_role = rng.random() < 0.12
        roles.append(
            {
                "name": name,
                "trust": service_trust(trust),
                "attached": attached,
                "inline": inline,
                "created_days": rng.randint(30, 900),
                "last_used_days": None if unused_role else rng.randint(0, 10),
            }
        )
        if not unused_role:
            used = _usage(rng, rng.sample(["s3", "dynamodb", "sqs", "logs"], 2))
            # A workload uses only what it is granted (Access Advisor lists granted services only); the
            # draw above stays whole so that the rest of the demo is the same from one version to the next.
            granted = _granted_services(attached, inline)
            usage[name] = {s: u for s, u in used.items() if granted is None or s in granted}
    analyzers = [
        {
            "name": "unused-access",
            "type": "ACCOUNT_UNUSED_ACCESS",
            "findings": [
                {
                    "findingType": "UnusedIAMRole",
                    "resource": "break-glass",
                    "findingDetails": [{"unusedIamRoleDetails": {}}],
                },
            ],
        }
    ]
    events = _events(account, env, usage)
    return {
        "policies": policies,
        "groups": groups,
        "roles": roles,
        "users": users,
        "usage": usage,
        "analyzers": analyzers,
        "trail": True,
        "events": events,
    }


def demo_external_id(account_id: str) -> str:
    """The ExternalId the demo's product roles require, as the onboarding template makes them require the
    linked account's: whoever links a demo account gives it (`LinkedAccount.external_id`)."""
    return f"iamreview-demo-{account_id}"


def demo_accounts() -> dict[str, dict[str, Any]]:
    # Reproducible synthetic demo data, not security.
    rng = random.Random(2026)  # nosec B311
    specs = {
        PROD: account_spec(PROD, "prod", rng, 70),
        STAGING: account_spec(STAGING, "staging", rng, 45),
        SANDBOX: account_spec(SANDBOX, "sandbox", rng, 35),
    }
    organization_touches(specs)
    specs[MANAGEMENT] = management_spec()
    for account_id, spec in specs.items():
        spec["external_id"] = demo_external_id(account_id)
    return specs


# In the order the demo syncs them: the management account first (its organisation caps the others),
# prod before staging (staging's path to prod's administrator is seen once prod is analysed).
DEMO_ACCOUNTS = [(MANAGEMENT, "management"), (PROD, "prod"), (STAGING, "staging"), (SANDBOX, "sandbox")]
