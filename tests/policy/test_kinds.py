"""The registry of finding kinds and severities: complete, and the only place a kind can come from.

A kind used anywhere in shipped code (a `kind=` literal, a FindingSpec or engine Finding, a comparison with
`.kind`, a template) or emitted by the engine on the fixtures must be one the registry defines.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from findings.change_items import HANDLERS, STEP_KINDS
from policy.analyze import analyze_account
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from policy.kinds import (
    KEY_PAGE_KINDS,
    KINDS,
    SEVERITIES,
    SEVERITY_IDS,
    Source,
    carried_kinds,
    kinds_from,
)
from policy.report import Finding
from policy.rules import RULES, SEVERITY_OF_PATH_CATEGORY
from policy.score import SEVERITY_POINTS

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ("policy", "findings", "accounts", "iamreview")  # fakeaws is excluded on purpose
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "gaad").glob("*.json"))

# Other things in the project are called "kind" too; a literal from these vocabularies is not a finding kind.
PRINCIPAL_KINDS = {"user", "role", "group"}
# Change items (every kind a handler applies: roles', users', groups' and permission sets' policies) and
# tighten_policy's `kind`.
POLICY_ITEM_KINDS = {"inline", "managed", "replace", "detach"} | set(HANDLERS)
OTHER_KINDS = PRINCIPAL_KINDS | POLICY_ITEM_KINDS | set(STEP_KINDS)  # and the writes a change records


def _python_files() -> list[Path]:
    return [
        p
        for top in SHIPPED
        for p in sorted((ROOT / top).rglob("*.py"))
        if "migrations" not in p.parts and "tests" not in p.parts
    ]


def _literal_strings(node: ast.AST) -> list[str]:
    """String constants of a literal, a tuple/list/set of them, or a conditional between two of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for elt in node.elts for s in _literal_strings(elt)]
    if isinstance(node, ast.IfExp):
        return _literal_strings(node.body) + _literal_strings(node.orelse)
    return []


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return f"{owner}.{func.attr}" if owner else func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _kinds_in_source(path: Path) -> list[tuple[int, str, set[str]]]:
    """(line, kind literal, vocabularies it may belong to) for every place this file names a finding kind."""
    found: list[tuple[int, str, set[str]]] = []
    finding_only: set[str] = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in ("FindingSpec",) and len(node.args) >= 2:
                found += [(node.lineno, s, finding_only) for s in _literal_strings(node.args[1])]
            if name in ("Finding.of", "kind", "KINDS.get") and node.args:
                found += [(node.lineno, s, finding_only) for s in _literal_strings(node.args[0])]
            for kw in node.keywords:
                if kw.arg in ("kind", "kind__in", "kind_id"):
                    others = finding_only if name in ("FindingSpec", "Finding.of") else OTHER_KINDS
                    found += [(node.lineno, s, others) for s in _literal_strings(kw.value)]
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id in ("KINDS", "RULES"):
                found += [(node.lineno, s, finding_only) for s in _literal_strings(node.slice)]
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names_kind = any(
                (isinstance(s, ast.Attribute) and s.attr == "kind")
                or (isinstance(s, ast.Name) and s.id in ("kind_id", "kind"))
                for s in sides
            )
            if names_kind:
                for side in sides:
                    found += [(node.lineno, s, OTHER_KINDS) for s in _literal_strings(side)]
    return found


_TEMPLATE_KIND = re.compile(r"""kind\s*==\s*["']([^"']+)["']|[?&]kind=([a-z][a-z-]*)""")


def test_every_kind_used_in_code_is_registered() -> None:
    unknown = []
    checked = 0
    for path in _python_files():
        for line, literal, others in _kinds_in_source(path):
            checked += 1
            if literal not in KINDS and literal not in others:
                unknown.append(f"{path.relative_to(ROOT)}:{line}: {literal!r}")
    assert checked > 20, "the walk found almost nothing: it no longer sees how kinds are written"
    assert unknown == []


def test_every_kind_used_in_templates_is_registered() -> None:
    unknown = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for match in _TEMPLATE_KIND.finditer(path.read_text()):
            literal = match.group(1) or match.group(2)
            if literal not in KINDS and literal not in OTHER_KINDS:
                unknown.append(f"{path.relative_to(ROOT)}: {literal!r}")
    assert unknown == []


def test_the_walk_catches_an_unregistered_kind(tmp_path: Path) -> None:
    """The check above would fail for a kind the registry does not define, wherever it is written."""
    module = tmp_path / "detector.py"
    module.write_text(
        "FindingSpec(arn, 'root-acess-key', 'critical', 's', 't', 'd')\n"
        "Finding.of('admn', [], [], '')\n"
        "qs.filter(kind='privilege-escalaton')\n"
        "if f.kind == 'unused-servise': pass\n"
    )
    literals = {literal for _line, literal, _others in _kinds_in_source(module)}
    assert literals == {"root-acess-key", "admn", "privilege-escalaton", "unused-servise"}
    assert not literals & set(KINDS)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_engine_emits_only_registered_kinds(fixture: Path) -> None:
    report = analyze_account(load_gaad(json.loads(fixture.read_text())), default_catalog())
    emitted = {(f.kind, f.severity) for p in report.principals for f in p.findings}
    assert emitted, "the fixture produced no findings: the check would prove nothing"
    for kind_id, severity in emitted:
        assert kind_id in KINDS and Source.ENGINE in KINDS[kind_id].sources, kind_id
        assert severity in KINDS[kind_id].allowed_severities(), (kind_id, severity)


def test_an_unregistered_kind_or_severity_is_refused() -> None:
    with pytest.raises(KeyError):
        Finding.of("no-such-kind", [], [], "")
    with pytest.raises(ValueError, match="admin findings are not low"):
        Finding.of("admin", [], [], "", severity="low")


def test_every_kind_is_complete() -> None:
    for k in KINDS.values():
        assert k.title and k.remediation and k.sources, k.id
        assert k.severity in SEVERITY_IDS and set(k.allowed_severities()) <= set(SEVERITY_IDS), k.id
        assert k.severity in k.allowed_severities(), k.id
        if Source.ENGINE in k.sources:
            assert k.description, k.id
    assert set(RULES) == kinds_from(Source.ENGINE)
    assert set(KEY_PAGE_KINDS) <= set(KINDS)


def test_kinds_that_carry_across_syncs() -> None:
    """What a sync without a new analysis keeps: the engine's and the usage findings, never credentials."""
    assert carried_kinds() == kinds_from(Source.ENGINE) | kinds_from(Source.USAGE)
    assert not carried_kinds() & {"root-access-key", "key-old", "no-mfa"}


def test_one_severity_definition() -> None:
    assert [s.rank for s in SEVERITIES] == list(range(len(SEVERITIES)))
    assert set(SEVERITY_POINTS) == set(SEVERITY_IDS)
    assert set(SEVERITY_OF_PATH_CATEGORY.values()) <= set(SEVERITY_IDS)
    colours = [s.colour for s in SEVERITIES]
    assert len(set(colours)) == len(colours)  # each severity tells itself apart on a chart
    for s in SEVERITIES:
        assert re.fullmatch(r"#[0-9a-f]{6}", s.colour) and re.fullmatch(r"#[0-9a-f]{6}", s.text_colour)


def test_no_other_copy_of_the_severity_list() -> None:
    """A list of the severities written out anywhere but the registry is a copy that can drift."""
    written_out = re.compile(r"""["']critical["']\s*[:,]\s*(?:\d+\s*,\s*)?["']?high""")
    copies = [
        str(p.relative_to(ROOT))
        for p in _python_files()
        if p.name != "kinds.py"
        and p.parts[len(ROOT.parts)] != "benchmarks"
        and written_out.search(p.read_text())
    ]
    css = (ROOT / "static" / "css" / "app.css").read_text()
    assert copies == []
    assert ".sev-critical" not in css and ".band-critical" not in css  # written from the registry
