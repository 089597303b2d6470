"""Risk rules as data: ids, severities, descriptions, remediations, and the action lists they watch.

Reviewed like code. Detection logic lives in `analyze.py`; this module holds no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: str
    title: str
    description: str
    remediation: str


@dataclass(frozen=True, slots=True)
class PrivescPath:
    """One privilege-escalation path of reference/privesc-paths.md; `service` is who must trust a role."""

    id: str
    category: str  # self-escalation | principal-access | new-passrole | existing-passrole
    actions: tuple[str, ...]
    service: str = ""


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

# Every known privilege-escalation path, by its pathfinding.cloud id (reference/privesc-paths.md).
PRIVESC_PATHS: tuple[PrivescPath, ...] = (
    PrivescPath(
        "apprunner-001",
        "new-passrole",
        (
            "iam:PassRole",
            "apprunner:CreateService",
        ),
        "tasks.apprunner.amazonaws.com",
    ),
    PrivescPath(
        "apprunner-002", "existing-passrole", ("apprunner:UpdateService",), "tasks.apprunner.amazonaws.com"
    ),
    PrivescPath(
        "bedrock-001",
        "new-passrole",
        (
            "iam:PassRole",
            "bedrock-agentcore:CreateCodeInterpreter",
            "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter",
        ),
        "bedrock-agentcore.amazonaws.com",
    ),
    PrivescPath(
        "bedrock-002",
        "existing-passrole",
        (
            "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter",
        ),
        "bedrock-agentcore.amazonaws.com",
    ),
    PrivescPath(
        "cloudformation-001",
        "new-passrole",
        (
            "iam:PassRole",
            "cloudformation:CreateStack",
        ),
        "cloudformation.amazonaws.com",
    ),
    PrivescPath(
        "cloudformation-002",
        "existing-passrole",
        ("cloudformation:UpdateStack",),
        "cloudformation.amazonaws.com",
    ),
    PrivescPath(
        "cloudformation-003",
        "new-passrole",
        (
            "iam:PassRole",
            "cloudformation:CreateStackSet",
            "cloudformation:CreateStackInstances",
        ),
        "cloudformation.amazonaws.com",
    ),
    PrivescPath(
        "cloudformation-004",
        "new-passrole",
        (
            "iam:PassRole",
            "cloudformation:UpdateStackSet",
        ),
        "cloudformation.amazonaws.com",
    ),
    PrivescPath(
        "cloudformation-005",
        "new-passrole",
        (
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet",
        ),
        "cloudformation.amazonaws.com",
    ),
    PrivescPath(
        "codebuild-001",
        "new-passrole",
        (
            "iam:PassRole",
            "codebuild:CreateProject",
            "codebuild:StartBuild",
        ),
        "codebuild.amazonaws.com",
    ),
    PrivescPath("codebuild-002", "existing-passrole", ("codebuild:StartBuild",), "codebuild.amazonaws.com"),
    PrivescPath(
        "codebuild-003", "existing-passrole", ("codebuild:StartBuildBatch",), "codebuild.amazonaws.com"
    ),
    PrivescPath(
        "codebuild-004",
        "new-passrole",
        (
            "iam:PassRole",
            "codebuild:CreateProject",
            "codebuild:StartBuildBatch",
        ),
        "codebuild.amazonaws.com",
    ),
    PrivescPath(
        "datapipeline-001",
        "new-passrole",
        (
            "iam:PassRole",
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
            "datapipeline:ActivatePipeline",
        ),
        "datapipeline.amazonaws.com",
    ),
    PrivescPath(
        "ec2instanceconnect-003",
        "existing-passrole",
        (
            "ec2-instance-connect:SendSSHPublicKey",
            "ec2:DescribeInstances",
        ),
        "ec2.amazonaws.com",
    ),
    PrivescPath(
        "ec2-001",
        "new-passrole",
        (
            "iam:PassRole",
            "ec2:RunInstances",
        ),
        "ec2.amazonaws.com",
    ),
    PrivescPath(
        "ec2-002",
        "existing-passrole",
        (
            "ec2:ModifyInstanceAttribute",
            "ec2:StopInstances",
            "ec2:StartInstances",
        ),
        "ec2.amazonaws.com",
    ),
    PrivescPath(
        "ec2-003",
        "new-passrole",
        (
            "iam:PassRole",
            "ec2:RequestSpotInstances",
        ),
        "ec2.amazonaws.com",
    ),
    PrivescPath(
        "ec2-004",
        "existing-passrole",
        (
            "ec2:CreateLaunchTemplateVersion",
            "ec2:ModifyLaunchTemplate",
        ),
        "ec2.amazonaws.com",
    ),
    PrivescPath(
        "ecs-001",
        "new-passrole",
        (
            "iam:PassRole",
            "ecs:CreateCluster",
            "ecs:RegisterTaskDefinition",
            "ecs:CreateService",
        ),
        "ecs-tasks.amazonaws.com",
    ),
    PrivescPath(
        "ecs-002",
        "new-passrole",
        (
            "iam:PassRole",
            "ecs:CreateCluster",
            "ecs:RegisterTaskDefinition",
            "ecs:RunTask",
        ),
        "ecs-tasks.amazonaws.com",
    ),
    PrivescPath(
        "ecs-003",
        "new-passrole",
        (
            "iam:PassRole",
            "ecs:RegisterTaskDefinition",
            "ecs:CreateService",
        ),
        "ecs-tasks.amazonaws.com",
    ),
    PrivescPath(
        "ecs-004",
        "new-passrole",
        (
            "iam:PassRole",
            "ecs:RegisterTaskDefinition",
            "ecs:RunTask",
        ),
        "ecs-tasks.amazonaws.com",
    ),
    PrivescPath(
        "ecs-005",
        "new-passrole",
        (
            "iam:PassRole",
            "ecs:RegisterTaskDefinition",
            "ecs:StartTask",
        ),
        "ecs-tasks.amazonaws.com",
    ),
    PrivescPath(
        "glue-001",
        "new-passrole",
        (
            "iam:PassRole",
            "glue:CreateDevEndpoint",
        ),
        "glue.amazonaws.com",
    ),
    PrivescPath("glue-002", "existing-passrole", ("glue:UpdateDevEndpoint",), "glue.amazonaws.com"),
    PrivescPath(
        "glue-003",
        "new-passrole",
        (
            "iam:PassRole",
            "glue:CreateJob",
            "glue:StartJobRun",
        ),
        "glue.amazonaws.com",
    ),
    PrivescPath(
        "glue-004",
        "new-passrole",
        (
            "iam:PassRole",
            "glue:CreateJob",
            "glue:CreateTrigger",
        ),
        "glue.amazonaws.com",
    ),
    PrivescPath(
        "glue-005",
        "new-passrole",
        (
            "iam:PassRole",
            "glue:UpdateJob",
            "glue:StartJobRun",
        ),
        "glue.amazonaws.com",
    ),
    PrivescPath(
        "glue-006",
        "new-passrole",
        (
            "iam:PassRole",
            "glue:UpdateJob",
            "glue:CreateTrigger",
        ),
        "glue.amazonaws.com",
    ),
    PrivescPath("iam-001", "self-escalation", ("iam:CreatePolicyVersion",), ""),
    PrivescPath("iam-002", "principal-access", ("iam:CreateAccessKey",), ""),
    PrivescPath(
        "iam-003",
        "principal-access",
        (
            "iam:CreateAccessKey",
            "iam:DeleteAccessKey",
        ),
        "",
    ),
    PrivescPath("iam-004", "principal-access", ("iam:CreateLoginProfile",), ""),
    PrivescPath("iam-005", "self-escalation", ("iam:PutRolePolicy",), ""),
    PrivescPath("iam-006", "principal-access", ("iam:UpdateLoginProfile",), ""),
    PrivescPath("iam-007", "self-escalation", ("iam:PutUserPolicy",), ""),
    PrivescPath("iam-008", "self-escalation", ("iam:AttachUserPolicy",), ""),
    PrivescPath("iam-009", "self-escalation", ("iam:AttachRolePolicy",), ""),
    PrivescPath("iam-010", "self-escalation", ("iam:AttachGroupPolicy",), ""),
    PrivescPath("iam-011", "self-escalation", ("iam:PutGroupPolicy",), ""),
    PrivescPath("iam-012", "principal-access", ("iam:UpdateAssumeRolePolicy",), ""),
    PrivescPath("iam-013", "self-escalation", ("iam:AddUserToGroup",), ""),
    PrivescPath(
        "iam-014",
        "principal-access",
        (
            "iam:AttachRolePolicy",
            "sts:AssumeRole",
        ),
        "",
    ),
    PrivescPath(
        "iam-015",
        "principal-access",
        (
            "iam:AttachUserPolicy",
            "iam:CreateAccessKey",
        ),
        "",
    ),
    PrivescPath(
        "iam-016",
        "principal-access",
        (
            "iam:CreatePolicyVersion",
            "sts:AssumeRole",
        ),
        "",
    ),
    PrivescPath(
        "iam-017",
        "principal-access",
        (
            "iam:PutRolePolicy",
            "sts:AssumeRole",
        ),
        "",
    ),
    PrivescPath(
        "iam-018",
        "principal-access",
        (
            "iam:PutUserPolicy",
            "iam:CreateAccessKey",
        ),
        "",
    ),
    PrivescPath(
        "iam-019",
        "principal-access",
        (
            "iam:AttachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
        ),
        "",
    ),
    PrivescPath(
        "iam-020",
        "principal-access",
        (
            "iam:CreatePolicyVersion",
            "iam:UpdateAssumeRolePolicy",
        ),
        "",
    ),
    PrivescPath(
        "iam-021",
        "principal-access",
        (
            "iam:PutRolePolicy",
            "iam:UpdateAssumeRolePolicy",
        ),
        "",
    ),
    PrivescPath(
        "lambda-001",
        "new-passrole",
        (
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ),
        "lambda.amazonaws.com",
    ),
    PrivescPath(
        "lambda-002",
        "new-passrole",
        (
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:CreateEventSourceMapping",
        ),
        "lambda.amazonaws.com",
    ),
    PrivescPath("lambda-003", "existing-passrole", ("lambda:UpdateFunctionCode",), "lambda.amazonaws.com"),
    PrivescPath(
        "lambda-004",
        "existing-passrole",
        (
            "lambda:UpdateFunctionCode",
            "lambda:InvokeFunction",
        ),
        "lambda.amazonaws.com",
    ),
    PrivescPath(
        "lambda-005",
        "existing-passrole",
        (
            "lambda:UpdateFunctionCode",
            "lambda:AddPermission",
        ),
        "lambda.amazonaws.com",
    ),
    PrivescPath(
        "lambda-006",
        "new-passrole",
        (
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:AddPermission",
        ),
        "lambda.amazonaws.com",
    ),
    PrivescPath(
        "sagemaker-001",
        "new-passrole",
        (
            "iam:PassRole",
            "sagemaker:CreateNotebookInstance",
        ),
        "sagemaker.amazonaws.com",
    ),
    PrivescPath(
        "sagemaker-002",
        "new-passrole",
        (
            "iam:PassRole",
            "sagemaker:CreateTrainingJob",
        ),
        "sagemaker.amazonaws.com",
    ),
    PrivescPath(
        "sagemaker-003",
        "new-passrole",
        (
            "iam:PassRole",
            "sagemaker:CreateProcessingJob",
        ),
        "sagemaker.amazonaws.com",
    ),
    PrivescPath(
        "sagemaker-004",
        "existing-passrole",
        ("sagemaker:CreatePresignedNotebookInstanceUrl",),
        "sagemaker.amazonaws.com",
    ),
    PrivescPath(
        "sagemaker-005",
        "existing-passrole",
        (
            "sagemaker:CreateNotebookInstanceLifecycleConfig",
            "sagemaker:StopNotebookInstance",
            "sagemaker:UpdateNotebookInstance",
            "sagemaker:StartNotebookInstance",
        ),
        "sagemaker.amazonaws.com",
    ),
    PrivescPath("ssm-001", "existing-passrole", ("ssm:StartSession",), "ec2.amazonaws.com"),
    PrivescPath("ssm-002", "existing-passrole", ("ssm:SendCommand",), "ec2.amazonaws.com"),
    PrivescPath("sts-001", "principal-access", ("sts:AssumeRole",), ""),
)

# Condition keys on a trust policy that limit who may assume a role shared with `*` or another account.
LIMITING_TRUST_KEYS = (
    "sts:externalid",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceowner",
)
