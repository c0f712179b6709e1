"""The adapter boundary, checked on the source: no module under scheduler/adapters/ imports the database
layer (django.db), a models module (any `*.models` of CivicPost or Django), or any CivicPost module outside
scheduler/adapters/. Imports inside functions and under TYPE_CHECKING count too. What an adapter needs comes
in through its arguments; what it changes goes out on its result (scheduler/adapters/base.py).

Third-party client libraries are free to have a `models` module of their own (atproto_client.models holds
Bluesky's record types, not Django models). The import-linter contract says the same for the linter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ADAPTERS = ROOT / "scheduler" / "adapters"
FIRST_PARTY = {path.parent.name for path in ROOT.glob("*/__init__.py")} | {"tests", "bench"}


def imported_modules(source: str, *, module: str) -> list[str]:
    """Every module a source file imports (`from a import b` counts as a and a.b), relative ones resolved."""
    package = module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return found


def forbidden(name: str) -> str:
    """Returns why importing `name` breaks the boundary, or ""."""
    top = name.split(".")[0]
    if name == "django.db" or name.startswith("django.db."):
        return "the database layer"
    if name.split(".")[-1] == "models" and (top in FIRST_PARTY or top == "django"):
        return "a models module"
    if top in FIRST_PARTY and not (name == "scheduler.adapters" or name.startswith("scheduler.adapters.")):
        if name == "scheduler":
            return ""  # the parent package of scheduler.adapters, imported on the way
        return "an app module outside scheduler/adapters/"
    return ""


def adapter_modules() -> list[tuple[str, Path]]:
    modules = []
    for path in sorted(ADAPTERS.rglob("*.py")):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules.append((dotted.removesuffix(".__init__"), path))
    return modules


def test_the_adapter_package_has_a_module_per_platform_part():
    names = {name for name, _path in adapter_modules()}
    assert {"scheduler.adapters.mastodon.adapter", "scheduler.adapters.mastodon.connect"} <= names


@pytest.mark.parametrize(("module", "path"), adapter_modules(), ids=lambda value: str(value).split("/")[-1])
def test_no_adapter_module_imports_the_database_a_model_or_an_app(module, path):
    problems = [
        f"{name}: {why}"
        for name in imported_modules(path.read_text(encoding="utf-8"), module=module)
        if (why := forbidden(name))
    ]
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        "from django.db import transaction",
        "def f():\n    from scheduler.models import Channel",
        "import medialibrary.services",
        "from feeds import services",
        "from django.contrib.auth.models import User",
        "from ... import models",
    ],
)
def test_the_check_catches_each_kind_of_forbidden_import(source):
    names = imported_modules(source, module="scheduler.adapters.x.adapter")
    assert any(forbidden(name) for name in names)


def test_the_check_lets_adapters_use_their_own_package_django_helpers_and_client_libraries():
    source = (
        "from scheduler.adapters.base import PostContent\nfrom . import adapter\nfrom django.conf import settings\n"
        "from django import forms\nfrom atproto_client import models\nimport requests"
    )
    names = imported_modules(source, module="scheduler.adapters.bluesky.connect")
    assert [name for name in names if forbidden(name)] == []
