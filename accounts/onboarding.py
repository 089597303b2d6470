"""What a member account needs: the read-only role (and optional apply role), as CloudFormation and Terraform.

The policies come from `accounts.product_roles`; fakeaws gives its seeded accounts the same roles and refuses
every call they do not allow, so a template that lacks an action the collectors or appliers need fails the
tests the way it would fail in AWS.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from accounts.exports import hcl_value, yaml_string
from accounts.models import LinkedAccount
from accounts.product_roles import (
    ACCESS_ANALYZER_SERVICE,
    ACCESS_ROLE_NAME,
    APPLY_ACTIONS,
    APPLY_ROLE_NAME,
    IDENTITY_CENTER_APPLY_ACTIONS,
    IDENTITY_CENTER_APPLY_POLICY_NAME,
    IDENTITY_CENTER_READ_ACTIONS,
    ORGANIZATION_POLICY_NAME,
    ORGANIZATION_READ_ACTIONS,
    READ_ACTIONS,
    READ_ROLE_NAME,
    access_role_policy,
    access_role_trust,
    apply_policy,
    identity_center_apply_policy,
    organization_policy,
    read_policy,
)

__all__ = [
    "APPLY_ACTIONS",
    "APPLY_ROLE_NAME",
    "IDENTITY_CENTER_APPLY_ACTIONS",
    "IDENTITY_CENTER_READ_ACTIONS",
    "ORGANIZATION_READ_ACTIONS",
    "READ_ACTIONS",
    "READ_ROLE_NAME",
    "cloudformation_template",
    "terraform_snippet",
]


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


def _yaml_statements(document: dict[str, Any], indent: str) -> list[str]:
    """A policy's statements as YAML block lines; every string is a JSON string (valid YAML quoting)."""
    lines = []
    for statement in document["Statement"]:
        first = True
        for key, value in statement.items():
            lead = f"{indent}- " if first else f"{indent}  "
            first = False
            if isinstance(value, list):
                lines.append(f"{lead}{key}:")
                lines += [f"{indent}    - {json.dumps(v)}" for v in value]
            else:
                lines.append(f"{lead}{key}: {json.dumps(value)}")
    return lines


def _read_policies(organization: bool) -> list[tuple[str, dict[str, Any]]]:
    """The read role's inline policies; the management (or delegated-admin) account's template adds the
    organisation's read actions as a policy of its own."""
    policies = [(READ_ROLE_NAME, read_policy())]
    if organization:
        policies.append((ORGANIZATION_POLICY_NAME, organization_policy()))
    return policies


def _apply_policies(organization: bool) -> list[tuple[str, dict[str, Any]]]:
    """The apply role's inline policies; in the management (Identity Center) account it also tightens
    permission sets."""
    policies = [(APPLY_ROLE_NAME, apply_policy())]
    if organization:
        policies.append((IDENTITY_CENTER_APPLY_POLICY_NAME, identity_center_apply_policy()))
    return policies


def cloudformation_template(
    account: LinkedAccount, *, with_apply: bool = False, organization: bool | None = None
) -> str:
    """The member account template; with `organization` (default: the account reads the organisation),
    the management-account template."""
    if organization is None:
        organization = account.reads_organization

    product_trust = [
        f"            Principal: {{AWS: {yaml_string(product_principal())}}}",
        "            Action: sts:AssumeRole",
        "            Condition:",
        f"              StringEquals: {{'sts:ExternalId': '{account.external_id}'}}",
    ]

    def role(
        logical: str,
        name: str,
        policies: list[tuple[str, dict[str, Any]]],
        description: str,
        trust: list[str] | None = None,
    ) -> str:
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
            *(trust or product_trust),
            "      Policies:",
        ]
        for policy_name, document in policies:
            lines += [
                f"        - PolicyName: {policy_name}",
                "          PolicyDocument:",
                "            Version: '2012-10-17'",
                "            Statement:",
                *_yaml_statements(document, "              "),
            ]
        return "\n".join(lines)

    parts = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        f"Description: {yaml_string(f'iamreview access for account {account.account_id} ({account.name})')}",
        "Resources:",
        role(
            "ReadRole",
            READ_ROLE_NAME,
            _read_policies(organization),
            "Read-only access for iamreview least-privilege review"
            + (", and to the organisation's policies" if organization else ""),
        ),
        role(
            "PolicyGenerationRole",
            ACCESS_ROLE_NAME,
            [(ACCESS_ROLE_NAME, access_role_policy())],
            "Assumed by IAM Access Analyzer to read the trail when iamreview generates a policy",
            [
                f"            Principal: {{Service: {ACCESS_ANALYZER_SERVICE}}}",
                "            Action: sts:AssumeRole",
            ],
        ),
    ]
    if with_apply:
        parts.append(
            role(
                "ApplyRole",
                APPLY_ROLE_NAME,
                _apply_policies(organization),
                "Applies approved, tightened IAM policies; may never change the iamreview roles",
            )
        )
    parts += ["Outputs:", "  ReadRoleArn:", "    Value: !GetAtt ReadRole.Arn"]
    if with_apply:
        parts += ["  ApplyRoleArn:", "    Value: !GetAtt ApplyRole.Arn"]
    return "\n".join(parts) + "\n"


def terraform_snippet(
    account: LinkedAccount, *, with_apply: bool = False, organization: bool | None = None
) -> str:
    if organization is None:
        organization = account.reads_organization

    def role(resource: str, name: str, policies: list[tuple[str, dict[str, Any]]]) -> str:
        out = (
            f'resource "aws_iam_role" "{resource}" {{\n'
            f'  name                 = "{name}"\n'
            f"  max_session_duration = 3600\n"
            f"  assume_role_policy   = jsonencode({hcl_value(_trust(account), 1)})\n"
            f"}}\n"
        )
        for n, (policy_name, document) in enumerate(policies):
            suffix = (
                "" if n == 0 else "_identity_center" if resource == "iamreview_apply" else "_organization"
            )
            out += (
                f'\nresource "aws_iam_role_policy" "{resource}{suffix}" {{\n'
                f'  name   = "{policy_name}"\n'
                f"  role   = aws_iam_role.{resource}.id\n"
                f"  policy = jsonencode({hcl_value(document, 1)})\n"
                f"}}\n"
            )
        return out

    out = role("iamreview_read", READ_ROLE_NAME, _read_policies(organization))
    out += (
        "\n"
        f'resource "aws_iam_role" "iamreview_policy_generation" {{\n'
        f'  name               = "{ACCESS_ROLE_NAME}"\n'
        f"  assume_role_policy = jsonencode({hcl_value(access_role_trust(), 1)})\n"
        f"}}\n\n"
        f'resource "aws_iam_role_policy" "iamreview_policy_generation" {{\n'
        f'  name   = "{ACCESS_ROLE_NAME}"\n'
        f"  role   = aws_iam_role.iamreview_policy_generation.id\n"
        f"  policy = jsonencode({hcl_value(access_role_policy(), 1)})\n"
        f"}}\n"
    )
    if with_apply:
        out += "\n" + role("iamreview_apply", APPLY_ROLE_NAME, _apply_policies(organization))
    return out
