"""Reading an authorization-details file: repeated documents are parsed once, errors stay per policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policy.gaad import GaadError, load_gaad
from tests.policy.gaad_builder import Gaad, allow, doc, trust_service


def test_a_repeated_document_is_parsed_once_and_named_per_principal() -> None:
    g = Gaad()
    for name in ("fn-a", "fn-b"):
        g.role(
            name,
            trust=trust_service("lambda.amazonaws.com"),
            inline={"logs": doc(allow("logs:PutLogEvents"))},
        )
    account = load_gaad(g.data)
    a, b = (account.principals[r["Arn"]] for r in g.data["RoleDetailList"])
    assert a.trust is not None and b.trust is not None
    assert a.trust.statements is b.trust.statements  # shared, not parsed twice
    assert (a.trust.name, b.trust.name) == ("fn-a/trust-policy", "fn-b/trust-policy")
    assert a.trust.raw is g.data["RoleDetailList"][0]["AssumeRolePolicyDocument"]
    assert a.inline[0].document.statements is b.inline[0].document.statements
    assert (a.inline[0].document.name, b.inline[0].document.name) == ("fn-a/logs", "fn-b/logs")


def test_a_repeated_malformed_document_is_reported_for_each_policy() -> None:
    g = Gaad()
    broken = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]}
    g.role("one", inline={"p": broken})
    g.role("two", inline={"p": broken})
    account = load_gaad(g.data)
    errors = [account.principals[r["Arn"]].errors for r in g.data["RoleDetailList"]]
    assert len(errors[0]) == 1 and "'one/p'" in errors[0][0] and "Effect" in errors[0][0]
    assert len(errors[1]) == 1 and "'two/p'" in errors[1][0] and "Effect" in errors[1][0]


def test_documents_that_differ_are_not_confused() -> None:
    g = Gaad()
    g.role("reader", inline={"p": doc(allow("s3:GetObject"))})
    g.role("writer", inline={"p": doc(allow("s3:PutObject"))})
    account = load_gaad(g.data)
    reader, writer = (account.principals[r["Arn"]] for r in g.data["RoleDetailList"])
    assert reader.inline[0].document.statements[0].actions == ("s3:getobject",)
    assert writer.inline[0].document.statements[0].actions == ("s3:putobject",)


def test_a_file_nested_100000_deep_is_refused_without_recursing() -> None:
    g = Gaad()
    g.role("deep", inline={"p": doc(allow("s3:GetObject"))})
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    g.data["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Condition"] = deep
    with pytest.raises(
        GaadError, match=r"^RoleDetailList\[0\]\.RolePolicyList\[0\]\.PolicyDocument\..*nested deeper"
    ):
        load_gaad(g.data)


def test_dates_as_boto3_gives_them_are_read_and_impossible_ones_refused() -> None:
    g = Gaad()
    g.role("r", inline={"p": doc(allow("s3:GetObject"))})
    g.data["RoleDetailList"][0]["CreateDate"] = datetime(2021, 1, 2, tzinfo=UTC)
    assert load_gaad(g.data).principals[g.data["RoleDetailList"][0]["Arn"]].created.startswith("2021-01-02")
    g.data["RoleDetailList"][0]["CreateDate"] = datetime(1, 1, 1, tzinfo=UTC)
    with pytest.raises(
        GaadError, match=r"^RoleDetailList\[0\]\.CreateDate: 0001-01-01T00:00:00\+00:00 is not a date"
    ):
        load_gaad(g.data)


def test_a_policy_only_iam_would_refuse_stays_a_problem_of_its_principal() -> None:
    g = Gaad()
    g.role("r", inline={"p": "not json {", "q": doc(allow("s3:GetObject"))})
    record = load_gaad(g.data).principals[g.data["RoleDetailList"][0]["Arn"]]
    assert [p.name for p in record.inline] == ["q"] and "not valid JSON" in record.errors[0]


def test_keys_that_are_not_strings_are_refused() -> None:
    g = Gaad()
    g.role("r", inline={"p": doc(allow("s3:GetObject", Condition={"StringEquals": {1: "a"}}))})
    with pytest.raises(GaadError, match=r"Statement\[0\]\.Condition\.StringEquals: has a key of type int"):
        load_gaad(g.data)


def test_a_date_inside_a_policy_is_refused() -> None:
    """Dates are datetimes only in the fields boto3 writes them to: a policy holds JSON values only."""
    g = Gaad()
    g.role("r", inline={"p": doc(allow("s3:GetObject", Condition={"DateLessThan": {"CreateDate": "x"}}))})
    g.data["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Condition"][
        "DateLessThan"
    ]["CreateDate"] = datetime(2021, 1, 2, tzinfo=UTC)
    with pytest.raises(
        GaadError, match=r"^RoleDetailList\[0\]\.RolePolicyList\[0\]\.PolicyDocument: holds a"
    ):
        load_gaad(g.data)
