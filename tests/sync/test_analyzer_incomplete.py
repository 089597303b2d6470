"""An Access Analyzer answer cut short (a connection closed mid-response) is never read as "no findings" or
as a pass: ValidatePolicy says the check was not made, CheckNoNewAccess refuses with a reason to retry."""

from __future__ import annotations

from typing import Any

from accounts.aws.apply import check_no_new_access, validate

DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


class CutShort:
    """What botocore hands back when the response body ended early: the metadata and nothing else."""

    def validate_policy(self, **_: Any) -> dict[str, Any]:
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def check_no_new_access(self, **_: Any) -> dict[str, Any]:
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}


def test_a_cut_short_validation_is_not_made_rather_than_clean() -> None:
    answer = validate(CutShort(), DOC)
    assert answer["available"] is False and "try again" in answer["reason"]


def test_a_cut_short_check_no_new_access_is_never_a_pass() -> None:
    answer = check_no_new_access(CutShort(), DOC, DOC)
    assert answer["available"] is True and answer["result"] not in ("PASS", None)
    assert "try again" in answer["message"]
