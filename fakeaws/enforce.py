"""Permission checks for assumed-role sessions, as AWS makes them: a call the role may not make is refused.

When a request is signed with credentials that fakeaws's STS handed out for AssumeRole, every IAM, STS,
Access Analyzer, CloudTrail and Organizations call is checked against the role's inline and attached
policies (and its permissions boundary, and the session policy) with fakeaws's own evaluator, and refused
with AccessDenied (AccessDeniedException for the JSON services) worded as AWS words it. In a member
account of the Organization, the SCPs along the account's path must allow the call too
(`fakeaws.scp_enforce`). Calls made with the plain credentials of the test or the seeding code are not
checked. `STATE.enforce` turns the checks off (`FAKEAWS_ENFORCE=0` for the server).
"""

from __future__ import annotations

import html
import json
from typing import Any

from fakeaws import scp_enforce
from fakeaws.iameval import Policy, PolicyInvalid, decide, parse
from fakeaws.state import STATE

# moto's service name -> the IAM prefix of its actions.
ENFORCED_SERVICES = {
    "iam": "iam",
    "sts": "sts",
    "accessanalyzer": "access-analyzer",
    "cloudtrail": "cloudtrail",
    "organizations": "organizations",
    "sso-admin": "sso",
}
# API operations authorised by an action of another name (Service Authorization Reference).
OPERATION_ACTIONS = {
    "access-analyzer:ListFindingsV2": "access-analyzer:ListFindings",
    "access-analyzer:GetFindingV2": "access-analyzer:GetFinding",
}
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})  # AWS answers it even under an explicit Deny
JSON_SERVICES = frozenset({"access-analyzer", "cloudtrail", "organizations", "sso"})

_installed = False


def action_for(prefix: str, operation: str) -> str:
    """The IAM action that authorises an API operation."""
    name = f"{prefix}:{operation}"
    return OPERATION_ACTIONS.get(name, name)


def _document(raw: Any) -> Policy | None:
    try:
        return parse(raw)
    except PolicyInvalid:
        return None


def _managed_document(backend: Any, arn: str) -> Any:
    policy = backend.managed_policies.get(arn) or next(
        (p for p in backend.aws_managed_policies if p.arn == arn), None
    )
    if policy is None:
        return None
    return next((v.document for v in policy.versions if v.is_default), None)


def _resource(response: Any, backend: Any, account: str) -> str:
    """The ARN the call acts on, for IAM calls that name one; "*" otherwise."""
    if response.service_name != "iam":
        return "*"

    def param(name: str) -> str | None:
        value = response._get_param(name)
        return str(value) if value else None

    for key, kind, finder in (
        ("RoleName", "role", "get_role"),
        ("UserName", "user", "get_user"),
        ("GroupName", "group", "get_group"),
    ):
        name = param(key)
        if name:
            path = "/"
            try:
                path = getattr(backend, finder)(name).path or "/"
            except Exception:
                path = "/"
            return f"arn:aws:iam::{account}:{kind}{path}{name}"
    return param("PolicyArn") or param("Arn") or "*"


def refusal(response: Any, action: str | None = None, resource: str | None = None) -> tuple[str, str] | None:
    """(action, message) when the caller is an assumed-role session that may not make this call (or, with
    `action` and `resource`, a further action the call needs: iam:PassRole on the role it hands over)."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    prefix = ENFORCED_SERVICES.get(response.service_name or "")
    if prefix is None or not STATE.enforce:
        return None
    account = response.current_account
    sts = sts_backends[account]["aws"]
    session = sts.get_assumed_role_from_access_key(response.access_key)
    if session is None:
        return None
    action = action or action_for(prefix, response._get_action())
    if action in ALWAYS_ALLOWED:
        return None
    backend = iam_backends[account]["aws"]
    role_name = session.role_arn.rsplit("/", 1)[-1]
    caller = f"arn:aws:sts::{account}:assumed-role/{role_name}/{session.session_name}"
    resource = resource or _resource(response, backend, account)
    try:
        role = backend.get_role(role_name)
    except Exception:
        role = None
    documents: list[Policy] = []
    boundary: Policy | None = None
    if role is not None:
        raw = [*role.policies.values()]
        raw += [_managed_document(backend, arn) for arn in role.managed_policies]
        documents = [d for d in (_document(r) for r in raw if r is not None) if d is not None]
        if role.permissions_boundary:
            boundary = _document(_managed_document(backend, role.permissions_boundary))
    principal = str(role.arn) if role is not None else session.role_arn
    context = scp_enforce.principal_context(account, principal, "AssumedRole", scp_enforce.tags_of(role))
    context |= {"aws:requestedregion": [response.region], "aws:securetransport": ["true"]}
    if action == "iam:PassRole" and response.service_name == "accessanalyzer":
        context["iam:passedtoservice"] = ["access-analyzer.amazonaws.com"]
    if response.service_name == "iam" and response._get_param("PolicyArn"):
        context["iam:policyarn"] = [str(response._get_param("PolicyArn"))]
    verdict = decide(documents, action, resource, context)
    if verdict != "explicitDeny":
        # The organisation's SCPs (and RCPs) first: a call they refuse is refused whatever the role allows.
        capped = scp_enforce.refusal(account, principal, action, resource, context)
        if capped is not None:
            on = f" on resource: {resource}" if resource != "*" else ""
            return action, f"User: {caller} is not authorized to perform: {action}{on} {capped}"
    if (
        verdict == "allowed"
        and boundary is not None
        and decide([boundary], action, resource, context) != "allowed"
    ):
        verdict = "boundary"
    if verdict == "allowed" and session.policy:
        session_policy = _document(session.policy)
        if session_policy is None or decide([session_policy], action, resource, context) != "allowed":
            verdict = "session"
    if verdict == "allowed":
        return None
    why = {
        "explicitDeny": "with an explicit deny in an identity-based policy",
        "implicitDeny": f"because no identity-based policy allows the {action} action",
        "boundary": f"because no permissions boundary allows the {action} action",
        "session": f"because no session policy allows the {action} action",
    }[verdict]
    on = f" on resource: {resource}" if resource != "*" else ""
    return action, f"User: {caller} is not authorized to perform: {action}{on} {why}"


def refuse_also(response: Any, action: str, resource: str) -> None:
    """Raise AccessDenied unless the caller may also do `action` on `resource` (the call needs both)."""
    from fakeaws.errors import FakeAwsError

    refused = refusal(response, action, resource)
    if refused is not None:
        with STATE.lock:
            STATE.refused.append({"action": refused[0], "message": refused[1]})
        raise FakeAwsError("AccessDeniedException", refused[1])


def _error(response: Any, message: str) -> tuple[int, dict[str, str], str]:
    prefix = ENFORCED_SERVICES[response.service_name]
    if prefix in JSON_SERVICES:
        code = "AccessDeniedException"
        body = json.dumps({"__type": code, "message": message, "Message": message})
        return 403, {"x-amzn-ErrorType": code, "Content-Type": "application/json", "status": "403"}, body
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>{html.escape(message, quote=False)}</Message></Error><RequestId>fakeaws</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml", "status": "403"}, body


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.core.responses import BaseResponse

    original_call = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        refused = refusal(self)
        if refused is not None:
            with STATE.lock:
                STATE.refused.append({"action": refused[0], "message": refused[1]})
            return _error(self, refused[1])
        return original_call(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]
