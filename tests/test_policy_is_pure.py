"""The policy engine imports nothing from Django, boto3 or the rest of the project."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = ("django", "boto3", "botocore", "celery", "accounts", "findings", "iamreview", "fakeaws")
POLICY = Path(__file__).resolve().parent.parent / "policy"


def test_policy_package_imports_no_framework() -> None:
    files = sorted(POLICY.rglob("*.py"))
    assert files, "policy/ has no modules"
    offenders = []
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
