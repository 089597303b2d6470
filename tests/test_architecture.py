"""The shape of the code: no import cycle among modules (function-level imports count), apps depend one
way, no shipped module over 500 lines, and every task a service queues by name exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("core", "accounts", "findings", "notify", "iamreview", "api", "policy", "fakeaws")
MAX_LINES = 500


def shipped_files() -> list[Path]:
    return sorted(
        p
        for pkg in SHIPPED
        for p in (ROOT / pkg).rglob("*.py")
        if "migrations" not in p.relative_to(ROOT).parts
    )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> project modules it imports, anywhere in its body (lazy imports included)."""
    modules = {module_name(p): p for p in shipped_files()}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import sub` imports the submodule when there is one.
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.split(".")[0] in SHIPPED:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_among_modules() -> None:
    # A package's __init__ importing its own submodules is not a dependency between parts of the code.
    graph = {
        m: {t for t in ts if not (m == t.split(".")[0] and "." not in m)} for m, ts in import_graph().items()
    }
    assert cycles(graph) == []


def test_apps_depend_one_way() -> None:
    apps: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        apps.setdefault(module.split(".")[0], set()).update(t.split(".")[0] for t in targets)
    for app in apps:
        apps[app].discard(app)
    assert cycles(apps) == []
    assert apps["policy"] == set(), "the engine imports nothing from the project"
    assert "findings" not in apps["accounts"] and "iamreview" not in apps["accounts"] | apps["findings"]
    # The API is a top layer like iamreview/: it calls the services and selectors below, none calls it.
    below = {"core", "accounts", "findings", "notify", "policy", "fakeaws"}
    assert not any("api" in apps[app] for app in below), {app: apps[app] for app in below}
    assert "iamreview" not in apps["api"]
    # Notifications sit above findings: findings sends signals (findings/signals.py), notify receives them.
    assert "notify" not in apps["findings"] | apps["accounts"] | apps["core"]
    assert "iamreview" not in apps["notify"]


def test_the_cycle_finder_finds_a_lazy_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_shipped_module_over_500_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by job"


def queued_task_names() -> set[str]:
    """Every task name passed to `core.jobs.enqueue`, directly or through a module constant."""
    names: set[str] = set()
    for path in shipped_files():
        tree = ast.parse(path.read_text())
        constants = {
            t.id: node.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for t in node.targets
            if isinstance(t, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "enqueue"
            ):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant):
                    names.add(first.value)
                elif isinstance(first, ast.Name):
                    names.add(constants[first.id])
    return names


def test_every_task_queued_by_name_is_registered() -> None:
    from iamreview.celery import app

    app.loader.import_default_modules()
    names = queued_task_names()
    assert {"findings.tasks.sync_run_execute", "findings.tasks.change_request_apply"} <= names
    assert names <= set(app.tasks), sorted(names - set(app.tasks))
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert schedule <= set(app.tasks), sorted(schedule - set(app.tasks))


def test_views_make_no_aws_call() -> None:
    """A page never waits on AWS: views queue work (sync, check, apply) and read what a worker stored."""
    graph = import_graph()
    views = [m for m in graph if m.rsplit(".", 1)[-1].endswith(("views", "principal_page"))]
    assert views, "the view modules were found"
    for module in views:
        aws = {i for i in graph[module] if i.startswith("accounts.aws")}
        assert not aws, f"{module} imports {sorted(aws)}"
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
        assert "boto" not in source, f"{module} uses boto3 or botocore"


CITED = re.compile(
    r"(?<![\w/.-])((?:core|accounts|findings|iamreview|policy|fakeaws|tests|benchmarks|scripts|docs|templates"
    r"|static)/[\w./-]+\.(?:py|md|json|ya?ml|html|sh|toml|js|css|txt))\b"
)


def test_every_file_the_code_and_docs_cite_exists() -> None:
    """Docstrings, comments and docs that name a file of the project name one that is there."""
    sources = [*shipped_files(), *ROOT.glob("docs/*.md"), ROOT / "README.md", *ROOT.glob("benchmarks/*.py")]
    missing = [
        f"{path.relative_to(ROOT)}: {cited}"
        for path in sources
        for cited in CITED.findall(path.read_text())
        if not (ROOT / cited).exists() and not (ROOT / "templates" / cited).exists()
    ]
    assert not missing, missing
