"""Privilege-escalation paths as data (reference/privesc-paths.md): the actions each needs, and who must
trust the role it hands over. Reviewed like code; the escalation graph reads them.

Ids are pathfinding.cloud's (github.com/DataDog/pathfinding.cloud, data/paths/...). Beyond the reference
list's 65: batch-001..003, bedrock-003..007, braket-001, codedeploy-001, cognitoidentity-001, ecs-006..009,
emr-001, emrserverless-001, gamelift-001, glue-007, iam-022..026, imagebuilder-001, kinesisanalytics-001,
omics-001 and ssm-003. Techniques of that list that are not a row here, and why, are in docs/risk-score.md ("Path
catalogue").
"""

from __future__ import annotations

from dataclasses import dataclass

SELF = "self-escalation"
ACCESS = "principal-access"
NEW = "new-passrole"
EXISTING = "existing-passrole"


@dataclass(frozen=True, slots=True)
class PrivescPath:
    """One privilege-escalation path of reference/privesc-paths.md; `service` is who must trust a role."""

    id: str
    category: str  # self-escalation | principal-access | new-passrole | existing-passrole
    actions: tuple[str, ...]
    service: str = ""


# (id, category, the service that must trust the role handed over, the actions the path needs)
_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("apprunner-001", NEW, "tasks.apprunner.amazonaws.com", "iam:PassRole apprunner:CreateService"),
    ("apprunner-002", EXISTING, "tasks.apprunner.amazonaws.com", "apprunner:UpdateService"),
    ("batch-001", NEW, "ecs-tasks.amazonaws.com", "iam:PassRole batch:RegisterJobDefinition batch:SubmitJob"),
    ("batch-002", EXISTING, "ecs-tasks.amazonaws.com", "batch:SubmitJob"),
    (
        "batch-003",
        NEW,
        "ecs-tasks.amazonaws.com",
        "iam:PassRole batch:CreateComputeEnvironment batch:CreateJobQueue batch:RegisterJobDefinition batch:SubmitJob",
    ),
    (
        "bedrock-001",
        NEW,
        "bedrock-agentcore.amazonaws.com",
        "iam:PassRole bedrock-agentcore:CreateCodeInterpreter bedrock-agentcore:StartCodeInterpreterSession bedrock-agentcore:InvokeCodeInterpreter",
    ),
    (
        "bedrock-002",
        EXISTING,
        "bedrock-agentcore.amazonaws.com",
        "bedrock-agentcore:StartCodeInterpreterSession bedrock-agentcore:InvokeCodeInterpreter",
    ),
    (
        "bedrock-003",
        NEW,
        "bedrock-agentcore.amazonaws.com",
        "iam:PassRole bedrock-agentcore:CreateAgentRuntime bedrock-agentcore:CreateAgentRuntimeEndpoint bedrock-agentcore:CreateWorkloadIdentity bedrock-agentcore:InvokeAgentRuntimeCommand",
    ),
    (
        "bedrock-004",
        EXISTING,
        "bedrock-agentcore.amazonaws.com",
        "bedrock-agentcore:InvokeAgentRuntimeCommand",
    ),
    (
        "bedrock-005",
        NEW,
        "bedrock-agentcore.amazonaws.com",
        "iam:PassRole bedrock-agentcore:CreateHarness bedrock-agentcore:CreateAgentRuntime bedrock-agentcore:CreateAgentRuntimeEndpoint bedrock-agentcore:CreateWorkloadIdentity bedrock-agentcore:GetAgentRuntime bedrock-agentcore:GetHarness bedrock-agentcore:InvokeAgentRuntimeCommand",
    ),
    (
        "bedrock-006",
        NEW,
        "bedrock-agentcore.amazonaws.com",
        "iam:PassRole bedrock-agentcore:CreateBrowser bedrock-agentcore:StartBrowserSession bedrock-agentcore:ConnectBrowserAutomationStream",
    ),
    (
        "bedrock-007",
        EXISTING,
        "bedrock-agentcore.amazonaws.com",
        "bedrock-agentcore:StartBrowserSession bedrock-agentcore:ConnectBrowserAutomationStream",
    ),
    ("braket-001", NEW, "braket.amazonaws.com", "iam:PassRole braket:CreateJob"),
    ("cloudformation-001", NEW, "cloudformation.amazonaws.com", "iam:PassRole cloudformation:CreateStack"),
    ("cloudformation-002", EXISTING, "cloudformation.amazonaws.com", "cloudformation:UpdateStack"),
    (
        "cloudformation-003",
        NEW,
        "cloudformation.amazonaws.com",
        "iam:PassRole cloudformation:CreateStackSet cloudformation:CreateStackInstances",
    ),
    ("cloudformation-004", NEW, "cloudformation.amazonaws.com", "iam:PassRole cloudformation:UpdateStackSet"),
    (
        "cloudformation-005",
        NEW,
        "cloudformation.amazonaws.com",
        "cloudformation:CreateChangeSet cloudformation:ExecuteChangeSet",
    ),
    (
        "codebuild-001",
        NEW,
        "codebuild.amazonaws.com",
        "iam:PassRole codebuild:CreateProject codebuild:StartBuild",
    ),
    ("codebuild-002", EXISTING, "codebuild.amazonaws.com", "codebuild:StartBuild"),
    ("codebuild-003", EXISTING, "codebuild.amazonaws.com", "codebuild:StartBuildBatch"),
    (
        "codebuild-004",
        NEW,
        "codebuild.amazonaws.com",
        "iam:PassRole codebuild:CreateProject codebuild:StartBuildBatch",
    ),
    (
        "codedeploy-001",
        EXISTING,
        "ec2.amazonaws.com",
        "codedeploy:CreateDeployment codedeploy:RegisterApplicationRevision codedeploy:GetDeploymentConfig",
    ),
    (
        "cognitoidentity-001",
        NEW,
        "cognito-identity.amazonaws.com",
        "iam:PassRole cognito-identity:SetIdentityPoolRoles",
    ),
    (
        "datapipeline-001",
        NEW,
        "datapipeline.amazonaws.com",
        "iam:PassRole datapipeline:CreatePipeline datapipeline:PutPipelineDefinition datapipeline:ActivatePipeline",
    ),
    ("ec2-001", NEW, "ec2.amazonaws.com", "iam:PassRole ec2:RunInstances"),
    (
        "ec2-002",
        EXISTING,
        "ec2.amazonaws.com",
        "ec2:ModifyInstanceAttribute ec2:StopInstances ec2:StartInstances",
    ),
    ("ec2-003", NEW, "ec2.amazonaws.com", "iam:PassRole ec2:RequestSpotInstances"),
    ("ec2-004", EXISTING, "ec2.amazonaws.com", "ec2:CreateLaunchTemplateVersion ec2:ModifyLaunchTemplate"),
    (
        "ec2instanceconnect-003",
        EXISTING,
        "ec2.amazonaws.com",
        "ec2-instance-connect:SendSSHPublicKey ec2:DescribeInstances",
    ),
    (
        "ecs-001",
        NEW,
        "ecs-tasks.amazonaws.com",
        "iam:PassRole ecs:CreateCluster ecs:RegisterTaskDefinition ecs:CreateService",
    ),
    (
        "ecs-002",
        NEW,
        "ecs-tasks.amazonaws.com",
        "iam:PassRole ecs:CreateCluster ecs:RegisterTaskDefinition ecs:RunTask",
    ),
    ("ecs-003", NEW, "ecs-tasks.amazonaws.com", "iam:PassRole ecs:RegisterTaskDefinition ecs:CreateService"),
    ("ecs-004", NEW, "ecs-tasks.amazonaws.com", "iam:PassRole ecs:RegisterTaskDefinition ecs:RunTask"),
    ("ecs-005", NEW, "ecs-tasks.amazonaws.com", "iam:PassRole ecs:RegisterTaskDefinition ecs:StartTask"),
    ("ecs-006", EXISTING, "ecs-tasks.amazonaws.com", "ecs:ExecuteCommand ecs:DescribeTasks"),
    ("ecs-007", NEW, "ecs-tasks.amazonaws.com", "iam:PassRole ecs:StartTask ecs:RegisterContainerInstance"),
    ("ecs-008", NEW, "ecs-tasks.amazonaws.com", "iam:PassRole ecs:RunTask"),
    ("ecs-009", NEW, "ecs-tasks.amazonaws.com", "iam:PassRole ecs:StartTask"),
    ("emr-001", NEW, "ec2.amazonaws.com", "iam:PassRole elasticmapreduce:RunJobFlow"),
    (
        "emrserverless-001",
        NEW,
        "emr-serverless.amazonaws.com",
        "iam:PassRole emr-serverless:CreateApplication emr-serverless:StartJobRun",
    ),
    (
        "gamelift-001",
        NEW,
        "gamelift.amazonaws.com",
        "iam:PassRole gamelift:CreateBuild gamelift:CreateFleet gamelift:RequestUploadCredentials",
    ),
    ("glue-001", NEW, "glue.amazonaws.com", "iam:PassRole glue:CreateDevEndpoint"),
    ("glue-002", EXISTING, "glue.amazonaws.com", "glue:UpdateDevEndpoint"),
    ("glue-003", NEW, "glue.amazonaws.com", "iam:PassRole glue:CreateJob glue:StartJobRun"),
    ("glue-004", NEW, "glue.amazonaws.com", "iam:PassRole glue:CreateJob glue:CreateTrigger"),
    ("glue-005", NEW, "glue.amazonaws.com", "iam:PassRole glue:UpdateJob glue:StartJobRun"),
    ("glue-006", NEW, "glue.amazonaws.com", "iam:PassRole glue:UpdateJob glue:CreateTrigger"),
    ("glue-007", NEW, "glue.amazonaws.com", "iam:PassRole glue:CreateSession glue:RunStatement"),
    ("iam-001", SELF, "", "iam:CreatePolicyVersion"),
    ("iam-002", ACCESS, "", "iam:CreateAccessKey"),
    ("iam-003", ACCESS, "", "iam:CreateAccessKey iam:DeleteAccessKey"),
    ("iam-004", ACCESS, "", "iam:CreateLoginProfile"),
    ("iam-005", SELF, "", "iam:PutRolePolicy"),
    ("iam-006", ACCESS, "", "iam:UpdateLoginProfile"),
    ("iam-007", SELF, "", "iam:PutUserPolicy"),
    ("iam-008", SELF, "", "iam:AttachUserPolicy"),
    ("iam-009", SELF, "", "iam:AttachRolePolicy"),
    ("iam-010", SELF, "", "iam:AttachGroupPolicy"),
    ("iam-011", SELF, "", "iam:PutGroupPolicy"),
    ("iam-012", ACCESS, "", "iam:UpdateAssumeRolePolicy"),
    ("iam-013", SELF, "", "iam:AddUserToGroup"),
    ("iam-014", ACCESS, "", "iam:AttachRolePolicy sts:AssumeRole"),
    ("iam-015", ACCESS, "", "iam:AttachUserPolicy iam:CreateAccessKey"),
    ("iam-016", ACCESS, "", "iam:CreatePolicyVersion sts:AssumeRole"),
    ("iam-017", ACCESS, "", "iam:PutRolePolicy sts:AssumeRole"),
    ("iam-018", ACCESS, "", "iam:PutUserPolicy iam:CreateAccessKey"),
    ("iam-019", ACCESS, "", "iam:AttachRolePolicy iam:UpdateAssumeRolePolicy"),
    ("iam-020", ACCESS, "", "iam:CreatePolicyVersion iam:UpdateAssumeRolePolicy"),
    ("iam-021", ACCESS, "", "iam:PutRolePolicy iam:UpdateAssumeRolePolicy"),
    # iam-022 to iam-026 remove a guardrail (a boundary, a policy holding a Deny): policy/guardrails.py.
    ("iam-022", SELF, "", "iam:DeleteUserPermissionsBoundary"),
    ("iam-023", ACCESS, "", "iam:DeleteRolePermissionsBoundary sts:AssumeRole"),
    ("iam-024", SELF, "", "iam:PutUserPermissionsBoundary"),
    ("iam-025", SELF, "", "iam:DetachUserPolicy"),
    ("iam-026", SELF, "", "iam:DeleteUserPolicy"),
    (
        "imagebuilder-001",
        NEW,
        "ec2.amazonaws.com",
        "iam:PassRole imagebuilder:CreateComponent imagebuilder:CreateImageRecipe imagebuilder:CreateInfrastructureConfiguration imagebuilder:CreateImage",
    ),
    (
        "kinesisanalytics-001",
        NEW,
        "kinesisanalytics.amazonaws.com",
        "iam:PassRole kinesisanalytics:CreateApplication kinesisanalytics:StartApplication",
    ),
    ("lambda-001", NEW, "lambda.amazonaws.com", "iam:PassRole lambda:CreateFunction lambda:InvokeFunction"),
    (
        "lambda-002",
        NEW,
        "lambda.amazonaws.com",
        "iam:PassRole lambda:CreateFunction lambda:CreateEventSourceMapping",
    ),
    ("lambda-003", EXISTING, "lambda.amazonaws.com", "lambda:UpdateFunctionCode"),
    ("lambda-004", EXISTING, "lambda.amazonaws.com", "lambda:UpdateFunctionCode lambda:InvokeFunction"),
    ("lambda-005", EXISTING, "lambda.amazonaws.com", "lambda:UpdateFunctionCode lambda:AddPermission"),
    ("lambda-006", NEW, "lambda.amazonaws.com", "iam:PassRole lambda:CreateFunction lambda:AddPermission"),
    (
        "omics-001",
        NEW,
        "omics.amazonaws.com",
        "iam:PassRole omics:CreateWorkflow omics:StartRun s3:GetObject",
    ),
    ("sagemaker-001", NEW, "sagemaker.amazonaws.com", "iam:PassRole sagemaker:CreateNotebookInstance"),
    ("sagemaker-002", NEW, "sagemaker.amazonaws.com", "iam:PassRole sagemaker:CreateTrainingJob"),
    ("sagemaker-003", NEW, "sagemaker.amazonaws.com", "iam:PassRole sagemaker:CreateProcessingJob"),
    ("sagemaker-004", EXISTING, "sagemaker.amazonaws.com", "sagemaker:CreatePresignedNotebookInstanceUrl"),
    (
        "sagemaker-005",
        EXISTING,
        "sagemaker.amazonaws.com",
        "sagemaker:CreateNotebookInstanceLifecycleConfig sagemaker:StopNotebookInstance sagemaker:UpdateNotebookInstance sagemaker:StartNotebookInstance",
    ),
    ("ssm-001", EXISTING, "ec2.amazonaws.com", "ssm:StartSession"),
    ("ssm-002", EXISTING, "ec2.amazonaws.com", "ssm:SendCommand"),
    ("ssm-003", NEW, "ssm.amazonaws.com", "iam:PassRole ssm:CreateDocument ssm:StartAutomationExecution"),
    ("sts-001", ACCESS, "", "sts:AssumeRole"),
)

# Notes on rows whose source says more than a row can:
# - batch-001/002/003: a Batch job role on Fargate is an ECS task role, so it trusts ecs-tasks.
# - cognitoidentity-001: the role trusts the cognito-identity.amazonaws.com *federated* principal (web
#   identity), which the trust index counts as that service (policy/graph.py trusted_services).
# - emr-001, imagebuilder-001: the role handed over is an EC2 instance profile's, so it trusts ec2.
# - gamelift-001: pathfinding.cloud names ec2.amazonaws.com; AWS's GameLift guide has fleet instance roles
#   trust gamelift.amazonaws.com, which is what a working fleet role does.
# - bedrock-005 needs bedrock-agentcore:CreateHarness/GetHarness, newer than some catalogs: with such a
#   catalog the path cannot be held and bedrock-003 (a subset of its actions) reports the same principal.

# Every known privilege-escalation path, by its pathfinding.cloud id.
PRIVESC_PATHS: tuple[PrivescPath, ...] = tuple(
    PrivescPath(path_id, category, tuple(actions.split()), service)
    for path_id, category, service, actions in _TABLE
)
