"""Risk rules as data: ids, severities, descriptions, remediations, and the action lists they watch.

Reviewed like code. Detection logic lives in `analyze.py`; this module holds no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.privesc_paths import PRIVESC_PATHS as PRIVESC_PATHS
from policy.privesc_paths import PrivescPath as PrivescPath

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: str
    title: str
    description: str
    remediation: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule(
            "admin",
            "critical",
            "Full administrator",
            "Allows every action on every resource.",
            "Keep administrator access to a few break-glass roles that require MFA; give everyone else the "
            "permissions they use (accept this principal's tightened policy).",
        ),
        Rule(
            "service-admin",
            "high",
            "Service administrator",
            "Allows every action of a sensitive service (`service:*`) on every resource.",
            "Replace `service:*` with the actions this principal uses, scoped to its resources.",
        ),
        Rule(
            "privilege-escalation",
            "critical",
            "Privilege escalation",
            "Can gain more access than it holds, by changing its own permissions, taking over another "
            "principal, or handing a more privileged role to a service.",
            "Remove one action of each listed path, or scope it to resources that cannot be used this way "
            "(not itself, not more privileged roles); add a permissions boundary.",
        ),
        Rule(
            "data-exfiltration",
            "high",
            "Data exfiltration",
            "Can read secrets or data (objects, parameters, secrets, keys) on every resource.",
            "Scope these read actions to the buckets, parameters and secrets this principal needs.",
        ),
        Rule(
            "resource-exposure",
            "high",
            "Resource exposure",
            "Can rewrite resource policies or permissions (for example s3:PutBucketPolicy) on every resource, "
            "which can expose data to other accounts or the public.",
            "Scope permissions-management actions to named resources, or remove them.",
        ),
        Rule(
            "credentials-exposure",
            "high",
            "Credentials exposure",
            "Can mint or read credentials (access keys, tokens, passwords) on every resource.",
            "Remove these actions or scope them to the exact principals and resources needed.",
        ),
        Rule(
            "infrastructure-modification",
            "medium",
            "Infrastructure modification without resource constraints",
            "Can change or delete infrastructure (compute, networking, databases, stacks) on every resource.",
            "Scope write actions to the resources this principal manages (ARNs or tag conditions).",
        ),
        Rule(
            "write-on-all-resources",
            "low",
            "Write actions on Resource *",
            "Allows write actions that support resource-level scoping on `Resource: *`.",
            "Replace `*` with the ARNs of the resources written.",
        ),
        Rule(
            "trust-public",
            "critical",
            "Role trusts everyone",
            "The trust policy allows `Principal: *` to assume the role with no condition that limits who.",
            "Name the exact principals or accounts that may assume the role, and require sts:ExternalId or "
            "aws:PrincipalOrgID.",
        ),
        Rule(
            "trust-cross-account-no-external-id",
            "medium",
            "Cross-account trust without ExternalId",
            "Another account may assume the role without an sts:ExternalId condition (confused deputy).",
            "Add a Condition StringEquals sts:ExternalId to the trust policy, or aws:PrincipalOrgID for your "
            "own organisation.",
        ),
        Rule(
            "trust-oidc-no-sub",
            "critical",
            "OIDC federation without a subject condition",
            "The role trusts a web-identity provider without a condition on the token's `sub`, so any "
            "identity of that provider (for example any GitHub repository) can assume it.",
            "Add a StringEquals or StringLike condition on `<provider>:sub` naming your repositories or "
            "service accounts.",
        ),
        Rule(
            "unknown-action",
            "info",
            "Unknown action or service",
            "A policy names an action or service prefix that the action catalog does not know; it matches "
            "nothing and is reported rather than guessed.",
            "Fix the typo, or remove the action if the service is retired.",
        ),
        Rule(
            "malformed-policy",
            "medium",
            "Unreadable policy",
            "A policy document of this principal could not be parsed; its grants are not in the analysis.",
            "Look at the policy in the console; the message says which element is wrong.",
        ),
    ]
}

SEVERITY_OF_PATH_CATEGORY = {
    "self-escalation": "critical",
    "principal-access": "critical",
    "new-passrole": "high",
    "existing-passrole": "high",
}

# Services whose `service:*` on `*` counts as service-level administration.
SENSITIVE_SERVICES = (
    "iam",
    "sts",
    "organizations",
    "s3",
    "kms",
    "secretsmanager",
    "ssm",
    "ec2",
    "lambda",
    "rds",
    "dynamodb",
    "cloudtrail",
    "logs",
    "ecr",
    "eks",
    "ecs",
    "cloudformation",
    "route53",
    "sso",
    "glue",
    "sagemaker",
)

DATA_EXFILTRATION_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "secretsmanager:GetSecretValue",
    "kms:Decrypt",
    "dynamodb:Scan",
    "dynamodb:Query",
    "rds:CopyDBSnapshot",
    "rds:CreateDBSnapshot",
    "ec2:CreateSnapshot",
    "ebs:GetSnapshotBlock",
)

CREDENTIALS_EXPOSURE_ACTIONS = (
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAccessKey",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "iam:UploadSSHPublicKey",
    "iam:ChangePassword",
    "sts:GetFederationToken",
    "sts:GetSessionToken",
    "ecr:GetAuthorizationToken",
    "redshift:GetClusterCredentials",
    "redshift-serverless:GetCredentials",
    "rds-db:Connect",
    "ec2-instance-connect:SendSSHPublicKey",
    "ec2:GetPasswordData",
    "lightsail:GetInstanceAccessDetails",
    "cognito-identity:GetCredentialsForIdentity",
)

INFRASTRUCTURE_SERVICES = (
    "ec2",
    "autoscaling",
    "elasticloadbalancing",
    "rds",
    "lambda",
    "ecs",
    "eks",
    "cloudformation",
    "route53",
    "dynamodb",
    "s3",
    "kms",
    "elasticache",
    "apigateway",
    "cloudfront",
    "sqs",
    "sns",
)

# Access levels whose `Resource: *` grants the write rule reports.
WRITE_LEVELS = ("Write", "Permissions management", "Tagging")
