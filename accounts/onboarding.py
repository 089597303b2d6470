"""What a member account needs: the read-only role (and optional apply role), as CloudFormation and Terraform.

The action lists are the exact calls the collectors and appliers make; a test checks every API call a
sync makes is in READ_ACTIONS, so the templates cannot drift from the code.
"""

from __future__ import annotations

from django.conf import settings

from accounts.exports import hcl_value, yaml_string
from accounts.models import LinkedAccount

READ_ACTIONS = (
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountSummary",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:ListAccessKeys",
    "iam:GenerateServiceLastAccessedDetails",
    "iam:GetServiceLastAccessedDetails",
    "access-analyzer:ListAnalyzers",
    "access-analyzer:ListFindingsV2",
    "access-analyzer:GetFindingV2",
    "access-analyzer:ValidatePolicy",
    "access-analyzer:CheckNoNewAccess",
    "cloudtrail:LookupEvents",
)
APPLY_ACTIONS = (
    "iam:GetRolePolicy",
    "iam:GetUserPolicy",
    "iam:GetGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:DeleteRolePolicy",
    "iam:DeleteUserPolicy",
    "iam:DeleteGroupPolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyVersions",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:ListAttachedRolePolicies",
    "iam:ListAttachedUserPolicies",
    "iam:ListAttachedGroupPolicies",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:DetachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:DetachGroupPolicy",
)
READ_ROLE_NAME = "iamreview-read"
APPLY_ROLE_NAME = "iamreview-apply"


def product_principal() -> str:
    return settings.IAMREVIEW_AWS_PRINCIPAL


def _trust(account: LinkedAccount) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": product_principal()},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": account.external_id}},
            }
        ],
    }


def _policy(actions: tuple[str, ...]) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
    }


def cloudformation_template(account: LinkedAccount, *, with_apply: bool = False) -> str:
    def role(logical: str, name: str, actions: tuple[str, ...], description: str) -> str:
        lines = [
            f"  {logical}:",
            "    Type: AWS::IAM::Role",
            "    Properties:",
            f"      RoleName: {name}",
            f"      Description: {description}",
            "      MaxSessionDuration: 3600",
            "      AssumeRolePolicyDocument:",
            "        Version: '2012-10-17'",
            "        Statement:",
            "          - Effect: Allow",
            f"            Principal: {{AWS: {yaml_string(product_principal())}}}",
            "            Action: sts:AssumeRole",
            "            Condition:",
            f"              StringEquals: {{'sts:ExternalId': '{account.external_id}'}}",
            "      Policies:",
            f"        - PolicyName: {name}",
            "          PolicyDocument:",
            "            Version: '2012-10-17'",
            "            Statement:",
            "              - Effect: Allow",
            "                Resource: '*'",
            "                Action:",
            *[f"                  - {a}" for a in actions],
        ]
        return "\n".join(lines)

    parts = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        f"Description: {yaml_string(f'iamreview access for account {account.account_id} ({account.name})')}",
        "Resources:",
        role(
            "ReadRole", READ_ROLE_NAME, READ_ACTIONS, "Read-only access for iamreview least-privilege review"
        ),
    ]
    if with_apply:
        parts.append(
            role("ApplyRole", APPLY_ROLE_NAME, APPLY_ACTIONS, "Applies approved, tightened IAM policies")
        )
    parts += ["Outputs:", "  ReadRoleArn:", "    Value: !GetAtt ReadRole.Arn"]
    if with_apply:
        parts += ["  ApplyRoleArn:", "    Value: !GetAtt ApplyRole.Arn"]
    return "\n".join(parts) + "\n"


def terraform_snippet(account: LinkedAccount, *, with_apply: bool = False) -> str:
    def role(resource: str, name: str, actions: tuple[str, ...]) -> str:
        return (
            f'resource "aws_iam_role" "{resource}" {{\n'
            f'  name                 = "{name}"\n'
            f"  max_session_duration = 3600\n"
            f"  assume_role_policy   = jsonencode({hcl_value(_trust(account), 1)})\n"
            f"}}\n\n"
            f'resource "aws_iam_role_policy" "{resource}" {{\n'
            f'  name   = "{name}"\n'
            f"  role   = aws_iam_role.{resource}.id\n"
            f"  policy = jsonencode({hcl_value(_policy(actions), 1)})\n"
            f"}}\n"
        )

    out = role("iamreview_read", READ_ROLE_NAME, READ_ACTIONS)
    if with_apply:
        out += "\n" + role("iamreview_apply", APPLY_ROLE_NAME, APPLY_ACTIONS)
    return out
