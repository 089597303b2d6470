"""Reading an authorization-details file: repeated documents are parsed once, errors stay per policy."""

from __future__ import annotations

from policy.gaad import load_gaad
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
