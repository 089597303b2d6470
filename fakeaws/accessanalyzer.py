"""An out-of-tree IAM Access Analyzer backend for moto, registered in moto's backend index.

Analyzers (external access and unused access), findings v2 seeded with `add_finding`, and the policy checks
ValidatePolicy, CheckNoNewAccess and CheckAccessNotGranted from fakeaws's own evaluator (`fakeaws.iameval`),
never from the product's engine, so that the two can disagree.
"""

from __future__ import annotations

import re
import sys
import types
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_models import BaseModel
from moto.core.responses import ActionResult, BaseResponse

from fakeaws.errors import FakeAwsError
from fakeaws.iameval import Policy, PolicyInvalid, parse
from fakeaws.newaccess import new_access
from fakeaws.state import STATE
from fakeaws.validate import access_granted, validate

_installed = False


class Analyzer(BaseModel):
    def __init__(self, account_id: str, region: str, name: str, kind: str) -> None:
        self.arn = f"arn:aws:access-analyzer:{region}:{account_id}:analyzer/{name}"
        self.name = name
        self.type = kind
        self.created_at = datetime.now(tz=UTC)

    def summary(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "type": self.type,
            "createdAt": self.created_at,
            "status": "ACTIVE",
        }


class AccessAnalyzerBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.analyzers: dict[str, Analyzer] = {}

    @property
    def _url_module(self) -> Any:
        # moto looks for `<package>.urls`; our URLs live in this module.
        return sys.modules[__name__]

    def create_analyzer(self, name: str, kind: str) -> Analyzer:
        if name in self.analyzers:
            raise FakeAwsError("ConflictException", f"Analyzer {name} already exists.")
        analyzer = Analyzer(self.account_id, self.region_name, name, kind)
        self.analyzers[name] = analyzer
        return analyzer

    def by_arn(self, arn: str) -> Analyzer:
        for analyzer in self.analyzers.values():
            if analyzer.arn == arn:
                return analyzer
        raise FakeAwsError("ResourceNotFoundException", f"Analyzer {arn} not found.")


accessanalyzer_backends = BackendDict(AccessAnalyzerBackend, "accessanalyzer")


def add_finding(analyzer_arn: str, finding: dict[str, Any]) -> dict[str, Any]:
    """Seed a finding (the FindingV2 shape: findingType, resource, resourceType, findingDetails, ...)."""
    now = datetime.now(tz=UTC)
    full = {
        "id": str(uuid.uuid4()),
        "status": "ACTIVE",
        "analyzedAt": now,
        "createdAt": now,
        "updatedAt": now,
        "resourceType": "AWS::IAM::Role",
        "resourceOwnerAccount": analyzer_arn.split(":")[4],
        **finding,
    }
    with STATE.lock:
        STATE.analyzer_findings.setdefault(analyzer_arn, []).append(full)
    return full


class AccessAnalyzerResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="accessanalyzer")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> AccessAnalyzerBackend:
        return accessanalyzer_backends[self.current_account][self.region]

    def create_analyzer(self) -> ActionResult:
        analyzer = self.backend.create_analyzer(self._get_param("analyzerName"), self._get_param("type"))
        return ActionResult({"arn": analyzer.arn})

    def list_analyzers(self) -> ActionResult:
        kind = self._get_param("type")
        found = [a.summary() for a in self.backend.analyzers.values() if not kind or a.type == kind]
        return ActionResult({"analyzers": found})

    def list_findings_v2(self) -> ActionResult:
        arn = self._get_param("analyzerArn")
        self.backend.by_arn(arn)
        findings = STATE.analyzer_findings.get(arn, [])
        wanted = (self._get_param("filter") or {}).get("status", {}).get("eq")
        if wanted:
            findings = [f for f in findings if f["status"] in wanted]
        max_results = int(self._get_param("maxResults") or 100)
        start = int(self._get_param("nextToken") or 0)
        page = findings[start : start + max_results]
        keys = (
            "analyzedAt",
            "createdAt",
            "id",
            "resource",
            "resourceType",
            "resourceOwnerAccount",
            "status",
            "updatedAt",
            "findingType",
            "error",
        )
        result: dict[str, Any] = {"findings": [{k: f[k] for k in keys if k in f} for f in page]}
        if start + max_results < len(findings):
            result["nextToken"] = str(start + max_results)
        return ActionResult(result)

    def get_finding_v2(self) -> ActionResult:
        arn = self._get_param("analyzerArn")
        finding_id = self._get_param("id")
        for finding in STATE.analyzer_findings.get(arn, []):
            if finding["id"] == finding_id:
                return ActionResult(dict(finding))
        raise FakeAwsError("ResourceNotFoundException", f"Finding {finding_id} not found.")

    def validate_policy(self) -> ActionResult:
        identity = (self._get_param("policyType") or "IDENTITY_POLICY") == "IDENTITY_POLICY"
        return ActionResult({"findings": validate(self._get_param("policyDocument"), identity=identity)})

    def _policy(self, param: str) -> Policy:
        identity = (self._get_param("policyType") or "IDENTITY_POLICY") == "IDENTITY_POLICY"
        try:
            return parse(self._get_param(param), identity=identity)
        except PolicyInvalid as exc:
            raise FakeAwsError("ValidationException", f"{param}: {exc.detail}") from exc

    def check_no_new_access(self) -> ActionResult:
        new = self._policy("newPolicyDocument")
        existing = self._policy("existingPolicyDocument")
        reasons, _ = new_access([existing], [new])
        if reasons:
            return ActionResult(
                {
                    "result": "FAIL",
                    "message": "The modified permissions grant new access compared to your existing policy.",
                    "reasons": [
                        {"description": r.description, "statementIndex": r.statement_index} for r in reasons
                    ],
                }
            )
        return ActionResult(
            {
                "result": "PASS",
                "message": "The modified permissions do not grant new access compared to your existing policy.",
                "reasons": [],
            }
        )

    def check_access_not_granted(self) -> ActionResult:
        policy = self._policy("policyDocument")
        actions: list[str] = []
        resources: list[str] = []
        for entry in self._get_param("access") or []:
            actions += entry.get("actions") or []
            resources += entry.get("resources") or []
        if not actions and not resources:
            raise FakeAwsError("ValidationException", "access must name actions or resources.")
        reasons = access_granted(policy, actions or ["*"], resources)
        if reasons:
            return ActionResult(
                {
                    "result": "FAIL",
                    "message": "The policy document grants access to perform one or more of the listed actions.",
                    "reasons": reasons,
                }
            )
        return ActionResult(
            {
                "result": "PASS",
                "message": "The policy document does not grant access to perform the listed actions.",
                "reasons": [],
            }
        )

    # -- policy generation (fakeaws.policygen) --------------------------------------------------------

    def start_policy_generation(self) -> ActionResult:
        import fakeaws.policygen as policygen
        from fakeaws.enforce import refuse_also

        details = self._get_param("cloudTrailDetails") or {}
        if details.get("accessRole"):
            refuse_also(self, "iam:PassRole", details["accessRole"])
        params = {
            "policyGenerationDetails": self._get_param("policyGenerationDetails"),
            "cloudTrailDetails": details,
            "clientToken": self._get_param("clientToken"),
        }
        return ActionResult({"jobId": policygen.start(self.current_account, params)})

    def get_generated_policy(self) -> ActionResult:
        import fakeaws.policygen as policygen

        return ActionResult(
            policygen.generated(
                self.current_account,
                self._get_param("jobId"),
                bool(self._get_param("includeResourcePlaceholders")),
                bool(self._get_param("includeServiceLevelTemplate")),
            )
        )

    def list_policy_generations(self) -> ActionResult:
        import fakeaws.policygen as policygen

        size = int(self._get_param("maxResults") or 100)
        if size < 1:
            raise FakeAwsError("ValidationException", "maxResults must be at least 1.")
        return ActionResult(
            policygen.listed(
                self.current_account, self._get_param("principalArn"), size, self._get_param("nextToken")
            )
        )

    def cancel_policy_generation(self) -> ActionResult:
        import fakeaws.policygen as policygen

        policygen.cancel(self.current_account, self._get_param("jobId"))
        return ActionResult({})


url_bases = [r"https?://access-analyzer\.(.+)\.amazonaws\.com"]
url_paths = {"{0}/.*$": AccessAnalyzerResponse.dispatch}


def install() -> None:
    """Make `moto.accessanalyzer` importable and route access-analyzer URLs to it."""
    global _installed
    if _installed:
        return
    _installed = True
    import moto.backend_index as backend_index

    module = types.ModuleType("moto.accessanalyzer")
    module.accessanalyzer_backends = accessanalyzer_backends  # type: ignore[attr-defined]
    module.url_bases = url_bases  # type: ignore[attr-defined]
    module.url_paths = url_paths  # type: ignore[attr-defined]
    sys.modules["moto.accessanalyzer"] = module
    pattern = ("accessanalyzer", re.compile(url_bases[0]))
    if pattern[0] not in {name for name, _ in backend_index.backend_url_patterns}:
        backend_index.backend_url_patterns.insert(0, pattern)
