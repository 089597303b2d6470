"""Terraform and CloudFormation exports, read back by real parsers: every string comes back exactly, nothing
in a policy or a name is evaluated by Terraform or becomes YAML structure, and the templates deploy."""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest
import yaml
from cfnlint.api import ManualArgs, lint
from django.test import override_settings
from lark import Token, Tree

from accounts.exports import policies_cloudformation, policies_terraform
from accounts.models import LinkedAccount
from accounts.onboarding import cloudformation_template, terraform_snippet

HOSTILE_STRINGS = [
    "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*",
    '${file("/etc/passwd")}',
    "%{ for x in [1] }x%{ endfor }",
    "$${already-escaped} and %%{this}",
    'quote " backslash \\ newline \n tab \t',
    "caf\u00e9 \u2028 \U0001f600 \x7f \x01",
]


def hostile_document(resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Hostile",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": resource,
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/${team}": ["a", resource]},
                    "NumericLessThan": {"s3:max-keys": 10},
                    "Bool": {"aws:SecureTransport": True},
                },
            }
        ],
    }


def items(resource: str) -> list[dict[str, Any]]:
    doc = hostile_document(resource)
    return [
        {"kind": "inline", "name": "app-data", "arn": "", "proposed": [doc, doc]},
        {"kind": "inline", "name": "unused", "arn": "", "proposed": []},
        {
            "kind": "managed",
            "name": "ci-deploy",
            "arn": "arn:aws:iam::111122223333:policy/ci-deploy",
            "replacement_name": "",
            "proposed": [doc],
        },
        {
            "kind": "replace",
            "name": "AmazonS3FullAccess",
            "arn": "arn:aws:iam::aws:policy/AmazonS3FullAccess",
            "replacement_name": "ci-AmazonS3FullAccess-tightened",
            "proposed": [doc, doc],
        },
    ]


# -- reading Terraform back --------------------------------------------------------------------------------

_UNESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrt"\\])|\$\$\{|%%\{')
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        if m.group(0) == "%%{":
            return "%{"
        code = m.group(1)
        return chr(int(code[1:], 16)) if code[0] in "uU" else _SIMPLE[code]

    return _UNESCAPE.sub(one, text)


def hcl_to_python(node: Any) -> Any:
    """A literal HCL expression (object, tuple, string, number, bool) as Python; a template
    (interpolation or directive) anywhere is a failure: Terraform would evaluate it."""
    kind = str(node.data)
    trees = [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
    if kind in ("expr_term", "object_elem_key"):
        assert len(trees) == 1, node
        return hcl_to_python(trees[0])
    if kind == "object":
        out = {}
        for elem in trees:
            key, value = (c for c in elem.children if isinstance(c, Tree))
            out[hcl_to_python(key)] = hcl_to_python(value)
        return out
    if kind == "tuple":
        return [hcl_to_python(c) for c in trees]
    if kind == "string":
        text = ""
        for part in trees:
            assert [type(c) for c in part.children] == [Token], f"template in a string: {part}"
            text += str(part.children[0])
        return _unescape(text)
    if kind == "int_lit":
        return int(str(node.children[0]))
    if kind == "literal_value":
        return {"true": True, "false": False, "null": None}[str(node.children[0])]
    raise AssertionError(f"unexpected HCL node {kind}")


def terraform_blocks(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, name, attributes) of each resource; jsonencode(...) arguments read as Python."""
    tree = hcl2.parses_to_tree(text)
    blocks = []
    for block in tree.find_data("block"):
        labels = [hcl_to_python(c) for c in block.children if isinstance(c, Tree) and c.data == "string"]
        attributes: dict[str, Any] = {}
        body = next(c for c in block.children if isinstance(c, Tree) and c.data == "body")
        for attribute in (c for c in body.children if isinstance(c, Tree) and c.data == "attribute"):
            name = str(
                next(
                    c for c in attribute.children if isinstance(c, Tree) and c.data == "identifier"
                ).children[0]
            )
            value = next(c for c in attribute.children if isinstance(c, Tree) and c.data == "expr_term")
            inner = next(c for c in value.children if isinstance(c, Tree))
            if inner.data == "function_call":
                argument = next(inner.find_data("arguments"))
                attributes[name] = (
                    "jsonencode",
                    hcl_to_python(next(c for c in argument.children if isinstance(c, Tree))),
                )
            elif inner.data == "string":
                attributes[name] = hcl_to_python(inner)
            else:  # a reference such as aws_iam_policy.x.arn
                attributes[name] = (
                    "reference",
                    "".join(str(t) for t in inner.scan_values(lambda t: isinstance(t, Token))),
                )
        blocks.append((labels[0], labels[1], attributes))
    return blocks


@pytest.mark.parametrize("resource", HOSTILE_STRINGS)
def test_terraform_export_reads_back_to_the_exact_policies(resource: str) -> None:
    name = "ci+deploy=1,x.y@z-w"  # every character IAM allows in a name
    blocks = terraform_blocks(policies_terraform(items(resource), "role", name))
    doc = hostile_document(resource)
    inline = [a for t, _, a in blocks if t == "aws_iam_role_policy"]
    assert [(a["name"], a["role"], a["policy"]) for a in inline] == [
        ("app-data", name, ("jsonencode", doc)),
        ("app-data-2", name, ("jsonencode", doc)),
    ]
    policies = {label: a for t, label, a in blocks if t == "aws_iam_policy"}
    assert [a["name_prefix"] for a in policies.values()] == [
        "ci-deploy-",
        "ci-AmazonS3FullAccess-tightened-",
        "ci-AmazonS3FullAccess-tightened-2-",
    ]
    assert all(a["policy"] == ("jsonencode", doc) for a in policies.values())
    # Each new policy is attached to the principal.
    attachments = [a for t, _, a in blocks if t == "aws_iam_role_policy_attachment"]
    assert sorted(a["policy_arn"][1] for a in attachments) == sorted(
        f"aws_iam_policy.{p}.arn" for p in policies
    )
    assert {a["role"] for a in attachments} == {name}
    labels = [label for _, label, _ in blocks]
    assert len(set(zip([t for t, _, _ in blocks], labels, strict=True))) == len(blocks)


def test_terraform_export_tells_what_to_delete_or_detach_in_comments_that_stay_comments() -> None:
    text = policies_terraform(
        [{"kind": "inline", "name": 'x\nresource "aws_iam_user" "evil" {}', "arn": "", "proposed": []}],
        "user",
        "bob",
    )
    assert terraform_blocks(text) == []
    assert "Delete the inline policy" in text


@override_settings(IAMREVIEW_AWS_PRINCIPAL="arn:aws:iam::999988887777:role/${var.x}")
def test_onboarding_terraform_reads_back_exactly() -> None:
    account = LinkedAccount(account_id="123456789012", name="EU: prod #1")
    blocks = terraform_blocks(terraform_snippet(account, with_apply=True))
    trust = next(a for t, _, a in blocks if t == "aws_iam_role")["assume_role_policy"][1]
    assert trust["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::999988887777:role/${var.x}"
    assert trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] == account.external_id


# -- CloudFormation ----------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_constructor("!GetAtt", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def cfn_errors(text: str) -> list[str]:
    return [
        f"{m.rule.id} {m.message}"
        for m in lint(text, config=ManualArgs(regions=["us-east-1"]))
        if m.rule.id.startswith("E")
    ]


@pytest.mark.parametrize("kind", ["role", "user", "group"])
def test_cloudformation_export_creates_and_attaches_new_policies_that_deploy(kind: str) -> None:
    resource = HOSTILE_STRINGS[0]
    name = "ci+deploy=1,x.y@z-w"  # every character IAM allows in a name
    text = policies_cloudformation(items(resource), kind, name)
    assert cfn_errors(text) == []
    template = yaml.safe_load(text)
    doc = hostile_document(resource)
    title = kind.title()
    resources = template["Resources"].values()
    inline = [r["Properties"] for r in resources if r["Type"] == f"AWS::IAM::{title}Policy"]
    assert inline == [
        {"PolicyName": "app-data", f"{title}Name": name, "PolicyDocument": doc},
        {"PolicyName": "app-data-2", f"{title}Name": name, "PolicyDocument": doc},
    ]
    managed = [r["Properties"] for r in resources if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert len(managed) == 3
    for properties in managed:
        # A new policy (CloudFormation names it uniquely), attached to the principal.
        assert "ManagedPolicyName" not in properties
        assert properties[f"{title}s"] == [name]
        assert properties["PolicyDocument"] == doc
    assert "Then detach arn:aws:iam::aws:policy/AmazonS3FullAccess from" in text


@pytest.mark.parametrize("resource", HOSTILE_STRINGS)
def test_cloudformation_export_reads_back_every_string_exactly(resource: str) -> None:
    template = yaml.safe_load(policies_cloudformation(items(resource), "role", 'a\nResources: {}\n"'))
    assert set(template) == {"AWSTemplateFormatVersion", "Description", "Resources"}
    for r in template["Resources"].values():
        assert r["Properties"]["PolicyDocument"] == hostile_document(resource)


def test_cloudformation_export_with_nothing_to_create_is_still_a_template() -> None:
    text = policies_cloudformation([{"kind": "inline", "name": "x", "arn": "", "proposed": []}], "role", "r")
    assert cfn_errors(text) == []
    assert "Delete the inline policy x" in text


@pytest.mark.parametrize(
    "name",
    ["EU: prod #1", "prod\nResources: {}\nEvil: yes", 'it\'s "quoted" \\ here', "caf\u00e9 \U0001f600 \x85"],
)
@override_settings(IAMREVIEW_AWS_PRINCIPAL="arn:aws:iam::999988887777:role/it's")
def test_onboarding_template_quotes_the_account_name(name: str) -> None:
    account = LinkedAccount(account_id="123456789012", name=name)
    text = cloudformation_template(account, with_apply=True)
    template = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    assert set(template) == {"AWSTemplateFormatVersion", "Description", "Resources", "Outputs"}
    assert template["Description"] == f"iamreview access for account 123456789012 ({name})"
    trust = template["Resources"]["ReadRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::999988887777:role/it's"
    assert cfn_errors(text) == []


@pytest.mark.parametrize("with_apply", [False, True])
def test_management_account_template_passes_cfn_lint(with_apply: bool) -> None:
    account = LinkedAccount(account_id="999999999999", name="management", reads_organization=True)
    text = cloudformation_template(account, with_apply=with_apply)
    assert cfn_errors(text) == []
    template = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    names = [p["PolicyName"] for p in template["Resources"]["ReadRole"]["Properties"]["Policies"]]
    assert names == ["iamreview-read", "iamreview-organization-read"]
