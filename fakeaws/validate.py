"""ValidatePolicy and CheckAccessNotGranted answers, from fakeaws's own evaluator and the IAM database.

Issue codes are Access Analyzer's (JSON_SYNTAX_ERROR, INVALID_ACTION, INVALID_SERVICE_IN_ACTION,
MISSING_VERSION, REDUNDANT_ACTION, PASS_ROLE_WITH_STAR_IN_RESOURCE, ...); locations point at the element.
"""

from __future__ import annotations

import json
from typing import Any

from fakeaws.iamdb import IamDatabase, iam_database
from fakeaws.iameval import Policy, PolicyInvalid, action_tokens, covers, may_overlap, parse, tokens

LEARN_MORE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"
# Allowed on every resource, these let the holder hand any role to a service: AWS flags them.
STAR_RESOURCE_WARNINGS = {
    "iam:passrole": "PASS_ROLE_WITH_STAR_IN_RESOURCE",
    "iam:createservicelinkedrole": "CREATE_SLR_WITH_STAR_IN_RESOURCE",
}


def _span(text: str, needle: str | None) -> dict[str, Any]:
    found = text.find(json.dumps(needle)) if needle else -1
    offset = max(found, 0)
    length = len(json.dumps(needle)) if found >= 0 else 0
    before = text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1)
    end = offset + length

    def position(at: int, ln: int, col: int) -> dict[str, int]:
        return {"line": ln, "column": col, "offset": at}

    return {"start": position(offset, line, column), "end": position(end, line, column + length)}


def _finding(
    kind: str, code: str, detail: str, text: str, path: list[str | int], needle: str | None = None
) -> dict[str, Any]:
    elements = [{"index": p} if isinstance(p, int) else {"value": p} for p in path]
    return {
        "findingDetails": detail,
        "findingType": kind,
        "issueCode": code,
        "learnMoreLink": LEARN_MORE,
        "locations": [{"path": elements, "span": _span(text, needle)}] if path else [],
    }


def validate(document: str, *, identity: bool = True, db: IamDatabase | None = None) -> list[dict[str, Any]]:
    """Findings for one policy document, as ValidatePolicy lists them."""
    db = db or iam_database()
    try:
        policy = parse(document, identity=identity)
    except PolicyInvalid as exc:
        return [_finding("ERROR", exc.code, exc.detail, document, list(exc.path))]
    findings: list[dict[str, Any]] = []
    if policy.version is None:
        findings.append(
            _finding(
                "WARNING", "MISSING_VERSION", "Add a Version element: 2012-10-17.", document, ["Version"]
            )
        )
    sids = [st.sid for st in policy.statements if st.sid]
    for sid in {s for s in sids if sids.count(s) > 1}:
        findings.append(
            _finding(
                "ERROR",
                "UNIQUE_SIDS_REQUIRED",
                f"Sid {sid} is used more than once.",
                document,
                ["Statement"],
                sid,
            )
        )
    raw = policy.raw if isinstance(policy.raw, dict) else {}
    raw_statements = raw.get("Statement")
    raw_list = raw_statements if isinstance(raw_statements, list) else [raw_statements]
    for st, raw_st in zip(policy.statements, raw_list, strict=True):
        key = "NotAction" if st.not_action else "Action"
        written = raw_st[key] if isinstance(raw_st[key], list) else [raw_st[key]]
        for n, pattern in enumerate(written):
            path: list[str | int] = ["Statement", st.index, key, n]
            problem = _action_problem(pattern, db)
            if problem:
                findings.append(_finding("ERROR", problem[0], problem[1], document, path, pattern))
                continue
            others = [o for m, o in enumerate(written) if m != n and o.lower() != pattern.lower()]
            if any(covers(action_tokens(o), action_tokens(pattern)) for o in others):
                findings.append(
                    _finding(
                        "SUGGESTION",
                        "REDUNDANT_ACTION",
                        f"The action {pattern} is already covered by another action in this statement.",
                        document,
                        path,
                        pattern,
                    )
                )
        if (
            st.effect == "Allow"
            and not st.not_resource
            and any(covers(tokens(r, False), ("*",)) for r in st.resources)
        ):
            granted = set()
            for pattern in st.actions:
                granted |= db.matching(pattern)
            if st.not_action:
                granted = set(db.actions) - granted
            for action, code in STAR_RESOURCE_WARNINGS.items():
                if action in granted:
                    findings.append(
                        _finding(
                            "SECURITY_WARNING",
                            code,
                            f"Allowing {db.actions[action].name} on every resource (*) lets the holder use any "
                            "role; name the roles in Resource.",
                            document,
                            ["Statement", st.index, "Resource"],
                        )
                    )
    return findings


def _action_problem(pattern: str, db: IamDatabase) -> tuple[str, str] | None:
    if pattern == "*":
        return None
    service, sep, name = pattern.partition(":")
    if not sep or not service or not name:
        return "INVALID_ACTION", f"The action {pattern} does not exist: write service:Action."
    if "*" not in service and "?" not in service and service.lower() not in db.services:
        return "INVALID_SERVICE_IN_ACTION", f"The service {service} specified in the action does not exist."
    if not db.matching(pattern):
        return "INVALID_ACTION", f"The action {pattern} does not exist."
    return None


def access_granted(policy: Policy, actions: list[str], resources: list[str]) -> list[dict[str, Any]]:
    """Reasons the policy may allow one of `actions` (on one of `resources`; any resource when none)."""
    wanted = [tokens(r, False) for r in resources] or [("*",)]
    reasons: list[dict[str, Any]] = []
    for action in actions:
        text = action_tokens(action)
        for st in policy.statements:
            if st.effect != "Allow":
                continue
            if st.not_action:  # applies unless every action asked about is excluded
                applies = not any(covers(action_tokens(p), text) for p in st.actions)
            else:
                applies = any(may_overlap(action_tokens(p), text) for p in st.actions)
            if not applies:
                continue
            mine = [tokens(r, st.variables) for r in st.resources]
            if st.not_resource:
                reaches = any(not any(covers(m, w) for m in mine) for w in wanted)
            else:
                reaches = any(may_overlap(m, w) for m in mine for w in wanted)
            if reaches and not _surely_denied(policy, text, wanted):
                reasons.append(
                    {
                        "description": f"{action} may be allowed by statement {st.index}.",
                        "statementIndex": st.index,
                    }
                )
                break
    return reasons


def _surely_denied(policy: Policy, action: tuple[str, ...], wanted: list[tuple[str, ...]]) -> bool:
    """An unconditional Deny covers the action on every wanted resource."""
    for st in policy.statements:
        if st.effect != "Deny" or st.conditions or st.not_action or st.not_resource:
            continue
        if not any(covers(action_tokens(p), action) for p in st.actions):
            continue
        mine = [tokens(r, st.variables) for r in st.resources]
        if all(any(covers(m, w) for m in mine) for w in wanted):
            return True
    return False
