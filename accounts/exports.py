"""Terraform and CloudFormation text for IAM policies, with every value quoted so no value can change the file.

Terraform reads `${` and `%{` in any string as an expression to evaluate: they are written `$${` and `%%{`,
which Terraform reads back as the literal text. YAML gets every string double-quoted with escapes, so an
account named `EU: prod #1`, or a name with a newline in it, stays one value. The onboarding templates and
the exports of suggestions and change requests are both written with these.
"""

from __future__ import annotations

import json
import re
from typing import Any

_KINDS = ("role", "user", "group")


# -- Terraform (HCL) -------------------------------------------------------------------------------------

_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hcl_string(value: str) -> str:
    """A quoted HCL string that Terraform reads back as exactly `value`, never as a template."""
    out = []
    for ch in value:
        if ch in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    text = "".join(out).replace("${", "$${").replace("%{", "%%{")
    return f'"{text}"'


def hcl_value(value: Any, indent: int = 0) -> str:
    """A JSON value as an HCL expression (for `jsonencode(...)`), keys quoted like values."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [f"{pad}  {hcl_string(str(k))} = {hcl_value(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"{pad}  {hcl_value(v, indent + 1)},\n" for v in value) + f"{pad}]"
    if isinstance(value, str):
        return hcl_string(value)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def hcl_label(text: str, taken: set[str]) -> str:
    """A Terraform resource name made from `text`: letters, digits and underscores, unique in `taken`."""
    label = re.sub(r"[^A-Za-z0-9_]", "_", text)[:60] or "policy"
    if not (label[0].isalpha() or label[0] == "_"):
        label = f"p_{label}"
    unique, n = label, 2
    while unique in taken:
        unique, n = f"{label}_{n}", n + 1
    taken.add(unique)
    return unique


def hcl_comment(text: str) -> str:
    """One comment line; the text is quoted so a newline in a name cannot start a line of code."""
    return f"# {json.dumps(text)[1:-1]}"


# -- CloudFormation (YAML) -------------------------------------------------------------------------------


def yaml_string(value: str) -> str:
    """A double-quoted YAML scalar: everything outside printable ASCII escaped, so it is one value."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, str):
        return yaml_string(value)
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"  # only empty ones are written inline
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _yaml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key) else yaml_string(key)


def yaml_lines(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML of a JSON value (a mapping or a list at the top)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, dict | list) and child:
                lines.append(f"{pad}{_yaml_key(str(key))}:")
                lines += yaml_lines(child, indent + 1)
            else:
                lines.append(f"{pad}{_yaml_key(str(key))}: {_yaml_scalar(child)}")
    else:
        for child in value:
            if isinstance(child, dict | list) and child:
                inner = yaml_lines(child, indent + 1)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {_yaml_scalar(child)}")
    return lines


def yaml_comment(text: str) -> str:
    return f"# {json.dumps(text)[1:-1]}"


def cloudformation_id(text: str, taken: set[str]) -> str:
    """A logical id made from `text`: letters and digits only, unique in `taken`."""
    base = "".join(c for c in text.title() if c.isascii() and c.isalnum())[:200] or "Policy"
    unique, n = base, 2
    while unique in taken:
        unique, n = f"{base}{n}", n + 1
    taken.add(unique)
    return unique


# -- Exports of a suggestion or change request -------------------------------------------------------------
# Items are those of findings/change_items.py: `inline` (written in place, extra parts as NAME-2,
# NAME-3...), `managed` (a new version of the principal's own policy), `replace` (a policy of its own
# instead of an AWS managed or shared one) and `detach`. An export cannot write a version of a policy it does not manage, so for
# both managed kinds it creates a new policy, uniquely named, attached to the principal; the old one is
# then detached by hand (the file says which).


def _parts(item: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, document) of each part, named as the apply names them."""
    docs = item.get("proposed") or []
    base = item["name"] if item["kind"] == "inline" else item.get("replacement_name") or item["name"]
    return [(base if n == 1 else f"{base}-{n}", d) for n, d in enumerate(docs, start=1)]


def _kind(kind: str) -> str:
    if kind not in _KINDS:
        raise ValueError(f"not a principal kind: {kind!r}")
    return kind


def policies_json(items: list[dict[str, Any]]) -> str:
    return json.dumps(
        [{"name": i["name"], "kind": i["kind"], "documents": i.get("proposed") or []} for i in items],
        indent=2,
    )


def _permission_set_inline(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The inline policy an IAM Identity Center change leaves on its permission set: the tightened inline
    policy with the used part of each replaced managed policy (Sids as the apply keeps them unique)."""
    statements: list[Any] = []
    seen: set[str] = set()
    for item in items:
        if item["kind"] not in ("ps-inline", "ps-replace"):
            continue
        for document in item.get("proposed") or []:
            found = document.get("Statement", [])
            for statement in found if isinstance(found, list) else [found]:
                statement = dict(statement)
                if statement.get("Sid"):
                    base, n, sid = statement["Sid"], 2, statement["Sid"]
                    while sid in seen:
                        sid, n = f"{base}{n}", n + 1
                    statement["Sid"] = sid
                    seen.add(sid)
                statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _permission_set_terraform(items: list[dict[str, Any]]) -> str:
    first = next(i for i in items if str(i["kind"]).startswith("ps-"))
    out = [
        hcl_comment(f"Tightened permission set {first['permission_set']} (iamreview, IAM Identity Center)")
    ]
    if any(i["kind"] in ("ps-inline", "ps-replace") for i in items):
        out.append(
            'resource "aws_ssoadmin_permission_set_inline_policy" "tightened" {\n'
            f"  instance_arn       = {hcl_string(first['instance_arn'])}\n"
            f"  permission_set_arn = {hcl_string(first['permission_set_arn'])}\n"
            f"  inline_policy      = jsonencode({hcl_value(_permission_set_inline(items), 1)})\n"
            "}\n"
        )
    for item in items:
        if item["kind"] in ("ps-replace", "ps-detach"):
            out.append(
                hcl_comment(f"Then remove the aws_ssoadmin_managed_policy_attachment of {item['arn']}.")
            )
    out.append(hcl_comment("Identity Center provisions the set to its accounts when Terraform applies it."))
    return "\n".join(out) + "\n"


def policies_terraform(items: list[dict[str, Any]], kind: str, name: str) -> str:
    kind = _kind(kind)
    if any(str(i["kind"]).startswith("ps-") for i in items):
        return _permission_set_terraform(items)
    taken: set[str] = set()
    out = [hcl_comment(f"Tightened policies for {kind} {name} (iamreview)")]
    for item in items:
        parts = _parts(item)
        if item["kind"] == "inline":
            if not parts:
                out.append(hcl_comment(f"Delete the inline policy {item['name']}: nothing in it is used."))
            for part_name, doc in parts:
                label = hcl_label(part_name, taken)
                out.append(
                    f'resource "aws_iam_{kind}_policy" "{label}" {{\n'
                    f"  name   = {hcl_string(part_name)}\n"
                    f"  {kind:<6} = {hcl_string(name)}\n"
                    f"  policy = jsonencode({hcl_value(doc, 1)})\n"
                    "}\n"
                )
            continue
        description = hcl_string(f"Tightened from {item['name']} by iamreview"[:1000])
        for part_name, doc in parts:
            label = hcl_label(part_name, taken)
            prefix = hcl_string(part_name[:100] + "-")
            out.append(
                f'resource "aws_iam_policy" "{label}" {{\n'
                # A prefix: Terraform adds a unique suffix, so the policy never collides with the one it
                # replaces or with an earlier export.
                f"  name_prefix = {prefix}\n"
                f"  description = {description}\n"
                f"  policy      = jsonencode({hcl_value(doc, 1)})\n"
                "}\n\n"
                f'resource "aws_iam_{kind}_policy_attachment" "{label}" {{\n'
                f"  {kind:<10} = {hcl_string(name)}\n"
                f"  policy_arn = aws_iam_policy.{label}.arn\n"
                "}\n"
            )
        out.append(
            hcl_comment(
                f"Then detach {item.get('arn') or item['name']} from {kind} {name}"
                + (": the policies above replace it." if parts else ": nothing in it is used.")
            )
        )
    return "\n".join(out) + "\n"


def policies_cloudformation(items: list[dict[str, Any]], kind: str, name: str) -> str:
    kind = _kind(kind)
    if any(str(i["kind"]).startswith("ps-") for i in items):
        # CloudFormation changes a permission set only as the whole AWS::SSO::PermissionSet resource of
        # the stack that owns it: the inline policy to put there.
        first = next(i for i in items if str(i["kind"]).startswith("ps-"))
        notes = [
            f"Permission set {first['permission_set']} ({first['permission_set_arn']}): set InlinePolicy of "
            "its AWS::SSO::PermissionSet to the document below"
            + "".join(f"; remove {i['arn']} from ManagedPolicies" for i in items if i["kind"] != "ps-inline")
            + "."
        ]
        template = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"Tightened permission set {first['permission_set']} (iamreview)"[:1024],
            "Metadata": {"InlinePolicy": _permission_set_inline(items)},
            "Resources": {"NothingToCreate": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        }
        return "\n".join([*map(yaml_comment, notes), *yaml_lines(template)]) + "\n"
    title = kind.title()
    taken: set[str] = set()
    resources: dict[str, Any] = {}
    notes: list[str] = []
    for item in items:
        parts = _parts(item)
        if item["kind"] == "inline":
            if not parts:
                notes.append(f"Delete the inline policy {item['name']}: nothing in it is used.")
            for part_name, doc in parts:
                # AWS::IAM::RolePolicy (UserPolicy, GroupPolicy) writes the inline policy of that name in
                # place, as the apply does.
                resources[cloudformation_id(f"{part_name} inline", taken)] = {
                    "Type": f"AWS::IAM::{title}Policy",
                    "Properties": {
                        "PolicyName": part_name,
                        f"{title}Name": name,
                        "PolicyDocument": doc,
                    },
                }
            continue
        for _part_name, doc in parts:
            # No ManagedPolicyName: CloudFormation makes a unique one, so the stack never collides with
            # the policy it replaces. Attached to the principal by the same resource.
            resources[cloudformation_id(f"{item['name']} tightened", taken)] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": f"Tightened from {item['name']} by iamreview"[:1000],
                    f"{title}s": [name],
                    "PolicyDocument": doc,
                },
            }
        notes.append(
            f"Then detach {item.get('arn') or item['name']} from {kind} {name}"
            + (": the policies in this stack replace it." if parts else ": nothing in it is used.")
        )
    if not resources:  # a template needs a resource; this one creates nothing
        resources["NothingToCreate"] = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Tightened policies for {kind} {name} (iamreview)"[:1024],
        "Resources": resources,
    }
    return "\n".join([*map(yaml_comment, notes), *yaml_lines(template)]) + "\n"
