"""Pairs of (existing, new) identity policies that trip up a "grants nothing new" check, with the answer."""

from __future__ import annotations

from typing import Any

V = "2012-10-17"


def doc(*statements: dict[str, Any], version: str | None = V) -> dict[str, Any]:
    out: dict[str, Any] = {"Statement": list(statements)}
    if version:
        out["Version"] = version
    return out


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def deny(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


TLS = {"Bool": {"aws:SecureTransport": "true"}}
BUCKET = "arn:aws:s3:::tenant-data"

# name -> (existing, new, whether new grants something existing does not)
PAIRS: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "identical": (doc(allow("s3:*")), doc(allow("s3:*")), False),
    "fewer actions": (doc(allow("s3:*")), doc(allow(["s3:GetObject", "s3:PutObject"])), False),
    "one action more": (doc(allow("s3:GetObject")), doc(allow(["s3:GetObject", "s3:PutObject"])), True),
    "unknown service": (doc(allow("s3:*")), doc(allow(["s3:GetObject", "zzznewservice:*"])), True),
    "unknown action under a covering wildcard": (
        doc(allow("s3:*")),
        doc(allow("s3:GetObjectBrandNewApi")),
        False,
    ),
    "unknown action not covered": (doc(allow("s3:GetObject")), doc(allow("s3:GetObjectBrandNewApi")), True),
    "kept actions folded into a wildcard": (
        doc(allow(["s3:GetObject", "s3:GetObjectAcl"])),
        doc(allow("s3:GetObject*")),
        True,
    ),
    "narrower resource": (
        doc(allow("s3:GetObject", f"{BUCKET}/*")),
        doc(allow("s3:GetObject", f"{BUCKET}/reports/*")),
        False,
    ),
    "broader resource": (
        doc(allow("s3:GetObject", f"{BUCKET}/reports/*")),
        doc(allow("s3:GetObject", f"{BUCKET}/*")),
        True,
    ),
    "Deny dropped": (
        doc(allow("s3:*"), deny("s3:DeleteObject", f"{BUCKET}/protected/*")),
        doc(allow("s3:DeleteObject")),
        True,
    ),
    "Deny kept, broader": (
        doc(allow("s3:*"), deny("s3:DeleteObject", f"{BUCKET}/protected/*")),
        doc(allow("s3:DeleteObject"), deny("s3:Delete*", f"{BUCKET}/*")),
        False,
    ),
    "variable read as text, then as a variable": (
        doc(allow("s3:GetObject", f"{BUCKET}/${{aws:username}}/*"), version="2008-10-17"),
        doc(allow("s3:GetObject", f"{BUCKET}/${{aws:username}}/*")),
        True,
    ),
    "condition added": (doc(allow("s3:GetObject")), doc(allow("s3:GetObject", Condition=TLS)), False),
    "condition removed": (doc(allow("s3:GetObject", Condition=TLS)), doc(allow("s3:GetObject")), True),
    "condition key in another case": (
        doc(allow("s3:GetObject", Condition={"StringEquals": {"aws:PrincipalTag/team": "a"}})),
        doc(allow("s3:GetObject", Condition={"StringEquals": {"AWS:PrincipalTag/team": "a"}})),
        False,
    ),
    "NotAction narrower than star": (
        doc(allow("*")),
        doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        False,
    ),
    "NotAction excluding less": (
        doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}),
        doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        True,
    ),
    "NotResource allow": (
        doc(allow("s3:GetObject", f"{BUCKET}/*")),
        doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{BUCKET}/secret/*"}),
        True,
    ),
}
