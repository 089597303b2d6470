"""Risk rules as data: the action lists and services they watch (their kinds, severities and remediation
are in `kinds.py`).

Reviewed like code. Detection logic lives in `analyze.py`; this module holds no behaviour.
"""

from __future__ import annotations

from policy.kinds import KINDS, SEVERITY_IDS, Kind, Source
from policy.privesc_paths import PRIVESC_PATHS as PRIVESC_PATHS
from policy.privesc_paths import PrivescPath as PrivescPath

SEVERITIES = SEVERITY_IDS
# The engine's rules: the registry's kinds that the engine reports (titles, severities, remediation there).
RULES: dict[str, Kind] = {k.id: k for k in KINDS.values() if Source.ENGINE in k.sources}

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
