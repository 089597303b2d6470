"""Acting as an assumed role against fakeaws, and reading a refusal: shared by the enforcement tests."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


def role_session(account: str, role: str, **extra: Any) -> boto3.Session:
    """A session with the credentials of `role` in `account`, as AssumeRole hands them out."""
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="iamreview-test", **extra
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


def refused(call: Any, **kwargs: Any) -> str:
    """The message of the AccessDenied the call must end in."""
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    assert error.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    return str(error.value.response["Error"]["Message"])
