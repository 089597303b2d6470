"""fakeaws's CheckNoNewAccess is a second opinion: its own answers, and where the engine departs from them."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeaws.iameval import parse
from fakeaws.newaccess import new_access
from policy.catalog import default_catalog
from policy.model import parse_policy
from policy.tighten import grants_nothing_new
from tests.fakeaws.adversarial import PAIRS

FAKEAWS = Path(__file__).resolve().parent.parent.parent / "fakeaws"
Check = Callable[[dict[str, Any], dict[str, Any]], bool]  # (existing, new) -> grants something new


def fakeaws_says_new(existing: dict[str, Any], new: dict[str, Any]) -> bool:
    reasons, _ = new_access([parse(existing)], [parse(new)])
    return bool(reasons)


def engine_says_new(existing: dict[str, Any], new: dict[str, Any]) -> bool:
    problems = grants_nothing_new(
        [parse_policy(existing, "existing")], [parse_policy(new, "new")], default_catalog()
    )
    return bool(problems)


def missed(check: Check) -> list[str]:
    """Pairs where fakeaws sees new access and `check` does not: what a second opinion exists to catch."""
    return [
        name for name, (old, new, _) in PAIRS.items() if fakeaws_says_new(old, new) and not check(old, new)
    ]


def test_fakeaws_modules_never_import_the_engine() -> None:
    files = sorted(FAKEAWS.rglob("*.py"))
    assert len(files) > 10
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("policy", "findings")]
    assert offenders == []


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_fakeaws_answers_each_adversarial_pair(name: str) -> None:
    existing, new, grants_new = PAIRS[name]
    assert fakeaws_says_new(existing, new) == grants_new


# The engine on main misses these (issue 15 item 2): the second opinion shows it. When the engine is
# fixed, the strict xfail turns into a failure that says to drop the mark.
# Cases where the engine let new access through, until issue 15 item 2 was fixed: none left.
ENGINE_MISSES_TODAY: set[str] = set()


@pytest.mark.parametrize(
    "name",
    sorted(PAIRS),
)
def test_engine_never_passes_what_fakeaws_fails(name: str) -> None:
    existing, new, _ = PAIRS[name]
    if fakeaws_says_new(existing, new):
        assert engine_says_new(existing, new), f"the engine lets through new access: {name}"


def _without(key: str, document: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(document)
    for st in out["Statement"]:
        st.pop(key, None)
    return out


def _all_resources(document: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(document)
    for st in out["Statement"]:
        st.pop("NotResource", None)
        st["Resource"] = "*"
    return out


def _no_denies(document: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(document)
    out["Statement"] = [st for st in out["Statement"] if st["Effect"] != "Deny"]
    return out


# Engines wrong on purpose, each in one way a real one could be.
MUTANTS: dict[str, tuple[Check, set[str]]] = {
    "forgets Denies": (
        lambda old, new: engine_says_new(_no_denies(old), _no_denies(new)),
        {"Deny dropped"},
    ),
    "ignores resources": (
        lambda old, new: engine_says_new(_all_resources(old), _all_resources(new)),
        {"broader resource", "NotResource allow"},
    ),
    "ignores conditions": (
        lambda old, new: engine_says_new(_without("Condition", old), _without("Condition", new)),
        {"condition removed"},
    ),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_deliberately_wrong_engine_is_caught(mutant: str) -> None:
    check, expected = MUTANTS[mutant]
    assert expected <= set(missed(check)) - ENGINE_MISSES_TODAY
