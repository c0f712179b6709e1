"""The architecture rules that import-linter cannot state (issue 12, "Enforced, not hoped for").

Reads the source with `ast`; imports nothing from the apps, so it needs no database.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", "node_modules", "tests", "bench", "migrations", ".git", "static", "templates", "docs"}
PROJECT = "civicpost"
# The composition root wires every app together by design; its imports are no app's dependencies.
COMPOSITION_ROOT = {
    "settings",
    "urls",
    "celery",
    "wsgi",
    "asgi",
    "periodic",
    "health",
    "context_processors",
    "navigation",
}


def _apps() -> list[str]:
    return sorted(
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and path.name not in SKIP_DIRS and (path / "__init__.py").is_file()
    )


def _modules() -> list[Path]:
    found = []
    for app in _apps():
        for path in sorted((ROOT / app).rglob("*.py")):
            if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts):
                found.append(path)
    return found


@dataclass(frozen=True)
class FunctionImport:
    path: str
    line: int
    targets: tuple[str, ...]
    reason: str


def _comments(source: str) -> dict[int, str]:
    """Line number -> the comment on it (without '#'), ignoring tool pragmas, which are not reasons."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if text and not text.lower().startswith(("noqa", "type:", "pragma", "nosec", "fmt:")):
                comments[token.start[0]] = text
    return comments


def _function_imports(path: Path) -> list[FunctionImport]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    comments = _comments(source)
    name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                targets = (
                    tuple(alias.name for alias in child.names)
                    if isinstance(child, ast.Import)
                    else ("." * child.level + (child.module or ""),)
                )
                # The reason sits on the import's line, or on a comment line right above it.
                above = child.lineno - 1
                reason = comments.get(child.lineno, "")
                if not reason and above >= 1 and lines[above - 1].strip().startswith("#"):
                    reason = comments.get(above, "")
                found.append(FunctionImport(name, child.lineno, targets, reason))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return found


def _all_function_imports() -> list[FunctionImport]:
    return [found for path in _modules() for found in _function_imports(path)]


def _top(module: str) -> str:
    return module.lstrip(".").split(".")[0]


def _app_edges() -> tuple[dict[str, set[str]], int]:
    """Imports (module and function level) between top-level apps, and how many of them sit in functions."""
    apps = set(_apps())
    edges: dict[str, set[str]] = {app: set() for app in apps}
    function_level = 0
    for path in _modules():
        rel = path.relative_to(ROOT)
        app = rel.parts[0]
        if app == PROJECT and len(rel.parts) == 2 and path.stem in COMPOSITION_ROOT:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                in_function.update(id(inner) for inner in ast.walk(node) if inner is not node)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                target = _top(name)
                if target in apps and target != app:
                    edges[app].add(target)
                    function_level += id(node) in in_function
    return edges, function_level


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one app (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strong(app: str) -> None:
        index[app] = low[app] = len(index)
        stack.append(app)
        on_stack.add(app)
        for other in sorted(edges[app]):
            if other not in index:
                strong(other)
                low[app] = min(low[app], low[other])
            elif other in on_stack:
                low[app] = min(low[app], index[other])
        if low[app] == index[app]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == app:
                    break
            components.append(sorted(component))

    for app in sorted(edges):
        if app not in index:
            strong(app)
    return [component for component in components if len(component) > 1]


def test_the_scan_finds_the_apps_and_their_modules() -> None:
    assert {"departments", "scheduler", PROJECT} <= set(_apps())
    assert any(path.name == "publishing.py" for path in _modules())


def test_function_imports_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    found = _all_function_imports()
    unexplained = [item for item in found if not item.reason]
    _, cross_app = _app_edges()
    with capsys.disabled():
        print(
            f"\nfunction-level imports: {len(found)} ({cross_app} of them across apps), "
            f"{len(unexplained)} without a reason, in {len({item.path for item in found})} files"
        )
    assert found


def test_every_import_inside_a_function_says_why() -> None:
    unexplained = [item for item in _all_function_imports() if not item.reason]
    assert not unexplained, "Imports inside functions need a one-line reason (a comment on the line or above):\n" + (
        "\n".join(f"{item.path}:{item.line} {', '.join(item.targets)}" for item in unexplained)
    )


def test_a_reason_is_a_comment_on_the_line_or_above_and_noqa_is_not_one(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    source = (
        "def explained():\n"
        "    # Imported here: governance imports this module at load time.\n"
        "    from governance import models\n"
        "    from audit import models as audit_models  # the audit app is optional in demos\n"
        "\n"
        "def unexplained():\n"
        "    from feeds import services  # noqa: PLC0415\n"
        "    import json\n"
    )
    module.write_text(source, encoding="utf-8")
    found = _function_imports(module)
    assert [(item.line, bool(item.reason)) for item in found] == [(3, True), (4, True), (7, False), (8, False)]


def test_no_import_cycle_crosses_an_app_boundary(capsys: pytest.CaptureFixture[str]) -> None:
    edges, _ = _app_edges()
    cycles = _cycles(edges)
    with capsys.disabled():
        print(f"\ncross-app cycles: {len(cycles)} {cycles}")
    assert cycles == []


def test_adapters_import_no_django_db() -> None:
    """import-linter sees only `django` as a whole, so the adapters' `django.db` rule is checked here."""
    offenders = []
    for path in sorted((ROOT / "scheduler" / "adapters").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name == "django.db" or name.startswith("django.db.")
            ]
    assert offenders == []
