"""AssumeRole as AWS decides it: the role must exist and its trust policy must let the caller assume it.

moto hands out credentials for any role ARN, existing or not, whatever its trust policy says. Here, as in
AWS, AssumeRole is refused with AccessDenied ("User: ... is not authorized to perform: sts:AssumeRole on
resource: ...", the same words whether the role is missing or does not trust the caller) unless
- the role exists (its path included, when the ARN names one);
- an Allow statement of its trust policy names the caller: `*`, the caller's account (`123456789012` or
  `arn:aws:iam::123456789012:root`), the caller's role (for a role session), user, or session ARN; and
  names the action, with every condition holding for the request (sts:ExternalId, aws:PrincipalArn,
  aws:PrincipalAccount, aws:PrincipalOrgID, aws:PrincipalTag/..., sts:RoleSessionName), judged by
  fakeaws's own evaluator;
- no Deny statement of it applies; and the role's account's RCPs, when it is a member of the Organization,
  do not refuse sts:AssumeRole.
The caller's own policies are checked by `fakeaws.enforce` (a role session) before this runs. Plain
credentials (the product's, the tests') are moto's user in its default account, 123456789012 unless the
request names another. `STATE.enforce = False` turns this off with the other checks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fakeaws import scp_enforce
from fakeaws.errors import FakeAwsError
from fakeaws.iameval import PolicyInvalid, decide, parse
from fakeaws.state import STATE

ACTION = "sts:AssumeRole"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role(/.*)?/([^/]+)$")
_installed = False


@dataclass(frozen=True)
class Caller:
    arn: str  # as AWS names the caller in its messages (the session ARN for a role session)
    principal_arn: str  # aws:PrincipalArn: the role's ARN for a role session
    account: str
    kind: str  # aws:PrincipalType: "AssumedRole", "User"
    tags: dict[str, str]


def caller_of(response: Any) -> Caller:
    """Who signed this request: a role session fakeaws handed out, an IAM user's key, or moto's default
    user of the request's account (plain credentials)."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    account = response.current_account
    session = sts_backends[account]["aws"].get_assumed_role_from_access_key(response.access_key)
    iam = iam_backends[account]["aws"]
    if session is not None:
        name = session.role_arn.rsplit("/", 1)[-1]
        try:
            role = iam.get_role(name)
        except Exception:
            role = None
        principal = str(role.arn) if role is not None else session.role_arn
        return Caller(session.arn, principal, account, "AssumedRole", scp_enforce.tags_of(role))
    user = iam.get_user_from_access_key_id(response.access_key)
    if user is not None:
        return Caller(user.arn, user.arn, account, "User", scp_enforce.tags_of(user))
    return Caller(
        f"arn:aws:sts::{account}:user/moto", f"arn:aws:iam::{account}:user/moto", account, "User", {}
    )


def _names_caller(value: str, caller: Caller) -> bool:
    if value == "*":
        return True
    if value in (caller.account, f"arn:aws:iam::{caller.account}:root"):
        return True
    return value in (caller.principal_arn, caller.arn)


def principal_matches(statement: dict[str, Any], caller: Caller) -> bool:
    """Does the statement's Principal (or NotPrincipal) take in the caller?"""
    key = "Principal" if "Principal" in statement else "NotPrincipal"
    value = statement.get(key)
    if value is None:
        return False
    if value == "*":
        hit = True
    elif isinstance(value, dict):
        aws = value.get("AWS", [])
        names = aws if isinstance(aws, list) else [aws]
        hit = any(_names_caller(str(n), caller) for n in names)
    else:
        hit = False
    return hit if key == "Principal" else not hit


def trust_verdict(document: Any, caller: Caller, role_arn: str, context: dict[str, list[str]]) -> bool:
    """May the caller assume the role under this trust policy (an Allow takes it in, no Deny does)?"""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return False
    if not isinstance(document, dict):
        return False
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for raw in statements:
        if not isinstance(raw, dict) or not principal_matches(raw, caller):
            continue
        plain = {k: v for k, v in raw.items() if k not in ("Principal", "NotPrincipal")}
        if "Resource" not in plain and "NotResource" not in plain:
            plain["Resource"] = "*"
        try:
            policy = parse({"Version": document.get("Version", "2008-10-17"), "Statement": [plain]})
        except PolicyInvalid:
            continue
        decision = decide([policy], ACTION, role_arn, context)
        if decision == "explicitDeny":
            return False
        allowed = allowed or decision == "allowed"
    return allowed


def refusal(response: Any) -> str | None:
    """AWS's AccessDenied message when the caller may not assume the role it names, else None."""
    from moto.iam.models import iam_backends

    if not STATE.enforce:
        return None
    role_arn = str(response._get_param("RoleArn") or "")
    caller = caller_of(response)
    denied = f"User: {caller.arn} is not authorized to perform: {ACTION} on resource: {role_arn}"
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        return denied
    account, name = match.group(1), match.group(3)
    try:
        role = iam_backends[account]["aws"].get_role(name)
    except Exception:
        return denied
    if role.arn != role_arn:
        return denied  # another path: not this role
    context = scp_enforce.principal_context(caller.account, caller.principal_arn, caller.kind, caller.tags)
    context |= {"aws:requestedregion": [response.region], "aws:securetransport": ["true"]}
    external_id = response._get_param("ExternalId")
    if external_id:
        context["sts:externalid"] = [str(external_id)]
    session_name = response._get_param("RoleSessionName")
    if session_name:
        context["sts:rolesessionname"] = [str(session_name)]
    if not trust_verdict(role.assume_role_policy_document, caller, role_arn, context):
        return denied
    if scp_enforce.membership(account) is not None:
        decision = scp_enforce.verdict(account, scp_enforce.RCP, ACTION, role_arn, context)
        if decision != "allowed":
            return f"{denied} {scp_enforce.reason(scp_enforce.RCP, decision, ACTION)}"
    return None


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.sts.responses import TokenResponse

    original_assume = TokenResponse.assume_role

    def assume_role(self: TokenResponse) -> Any:
        message = refusal(self)
        if message is not None:
            with STATE.lock:
                STATE.refused.append({"action": ACTION, "message": message})
            raise FakeAwsError("AccessDenied", message)
        return original_assume(self)

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
