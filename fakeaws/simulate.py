"""IAM's policy simulator in moto: SimulateCustomPolicy and SimulatePrincipalPolicy.

Each requested action is decided on each requested resource (`*` when none is named) with fakeaws's own
evaluator (`fakeaws.iameval`), never the product's engine: identity policies, then the permissions boundary.
Context keys come from ContextEntries; resource policies, SCPs and RCPs are not simulated.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

from fakeaws.errors import FakeAwsError
from fakeaws.iameval import Policy, PolicyInvalid, decide, parse

_installed = False


def _parse_all(raw: list[str], what: str) -> list[Policy]:
    out = []
    for n, document in enumerate(raw, start=1):
        try:
            out.append(parse(document))
        except PolicyInvalid as exc:
            raise FakeAwsError("InvalidInput", f"{what} {n} is not a valid policy: {exc.detail}") from exc
    return out


def _context(response: IamResponse) -> dict[str, list[str]]:
    return {
        str(entry["ContextKeyName"]).lower(): [str(v) for v in entry.get("ContextKeyValues") or []]
        for entry in response._get_param("ContextEntries") or []
        if entry.get("ContextKeyName")
    }


def evaluate(
    documents: list[Policy],
    boundary: list[Policy],
    actions: list[str],
    resources: list[str],
    context: dict[str, list[str]],
) -> list[dict[str, Any]]:
    results = []
    for action in actions:
        for resource in resources:
            decision = decide(documents, action, resource, context)
            row: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": decision,
                "MatchedStatements": [],
                "MissingContextValues": [],
            }
            if boundary:
                inside = decide(boundary, action, resource, context) == "allowed"
                row["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": inside}
                if decision == "allowed" and not inside:
                    row["EvalDecision"] = "implicitDeny"
            results.append(row)
    return results


def _page(response: IamResponse, results: list[dict[str, Any]]) -> ActionResult:
    size = int(response._get_param("MaxItems") or 1000)
    start = int(response._get_param("Marker") or 0)
    out: dict[str, Any] = {
        "EvaluationResults": results[start : start + size],
        "IsTruncated": start + size < len(results),
    }
    if out["IsTruncated"]:
        out["Marker"] = str(start + size)
    return ActionResult(out)


def _request(response: IamResponse) -> tuple[list[str], list[str], dict[str, list[str]]]:
    actions = response._get_param("ActionNames") or []
    if not actions:
        raise FakeAwsError("InvalidInput", "ActionNames must name at least one action.")
    resources = response._get_param("ResourceArns") or ["*"]
    return actions, resources, _context(response)


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    def simulate_custom_policy(self: IamResponse) -> ActionResult:
        documents = _parse_all(self._get_param("PolicyInputList") or [], "Policy")
        boundary = _parse_all(
            self._get_param("PermissionsBoundaryPolicyInputList") or [], "Permissions boundary"
        )
        actions, resources, context = _request(self)
        return _page(self, evaluate(documents, boundary, actions, resources, context))

    def simulate_principal_policy(self: IamResponse) -> ActionResult:
        from fakeaws.advisor import _documents, _entity

        arn = self._get_param("PolicySourceArn")
        kind, entity = _entity(self.backend, arn)
        if entity is None:
            raise FakeAwsError("InvalidInput", f"{arn} is not a user, group or role.")
        documents = _documents(self.backend, kind, entity)
        documents += _parse_all(self._get_param("PolicyInputList") or [], "Policy")
        boundary = _parse_all(
            self._get_param("PermissionsBoundaryPolicyInputList") or [], "Permissions boundary"
        )
        boundary_arn = getattr(entity, "permissions_boundary", None)
        if boundary_arn and not boundary:
            from fakeaws.enforce import _managed_document

            raw = _managed_document(self.backend, boundary_arn)
            boundary = _parse_all([raw], "Permissions boundary") if raw is not None else []
        actions, resources, context = _request(self)
        context.setdefault("aws:principalarn", [arn])
        return _page(self, evaluate(documents, boundary, actions, resources, context))

    IamResponse.simulate_custom_policy = simulate_custom_policy  # type: ignore[attr-defined]
    IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
