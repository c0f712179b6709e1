"""The registry finds a platform's adapter and connect flow by name, built in or installed through the
`civicpost.adapters` entry point, and looking one platform up imports only that platform's package."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from scheduler.adapters import registry
from scheduler.adapters.mastodon.adapter import MastodonAdapter
from scheduler.adapters.mastodon.connect import FLOW as MASTODON_FLOW
from tests.scheduler.adapters.installed_example.adapter import CityIntranetAdapter
from tests.scheduler.adapters.installed_example.connect import FLOW as INTRANET_FLOW

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def installed_intranet(monkeypatch):
    point = EntryPoint(
        name="intranet",
        value="tests.scheduler.adapters.installed_example.adapter:CityIntranetAdapter",
        group=registry.ENTRY_POINT_GROUP,
    )
    monkeypatch.setattr(registry, "entry_points", lambda group: [point] if group == point.group else [])
    for cached in (registry._entry_point_adapters, registry.adapter_classes, registry.get_adapter_class):
        cached.cache_clear()
    registry.get_connect_flow.cache_clear()
    yield
    for cached in (registry._entry_point_adapters, registry.adapter_classes, registry.get_adapter_class):
        cached.cache_clear()
    registry.get_connect_flow.cache_clear()


def test_a_built_in_platform_gives_its_adapter_and_its_flow():
    assert registry.get_adapter_class("mastodon") is MastodonAdapter
    assert registry.get_connect_flow("mastodon") is MASTODON_FLOW


def test_the_sandbox_publishes_but_cannot_be_connected_by_an_admin():
    assert registry.get_adapter_class("sandbox").platform == "sandbox"
    with pytest.raises(registry.UnknownPlatform):
        registry.get_connect_flow("sandbox")
    assert "sandbox" not in registry.connectable_platforms()
    assert registry.connectable_platforms()[:2] == ["x", "facebook"]  # the connect page's order


def test_an_installed_platform_is_found_with_the_flow_beside_it(installed_intranet):
    assert registry.get_adapter_class("intranet") is CityIntranetAdapter
    assert registry.get_connect_flow("intranet") is INTRANET_FLOW
    assert "intranet" in registry.connectable_platforms()


def test_an_unknown_platform_has_neither():
    with pytest.raises(registry.UnknownPlatform):
        registry.get_adapter_class("myspace")
    with pytest.raises(registry.UnknownPlatform):
        registry.get_connect_flow("myspace")


def test_looking_up_one_platform_imports_only_its_package():
    script = (
        "import sys, django; django.setup()\n"
        "from scheduler.adapters.registry import get_adapter_class, get_connect_flow\n"
        "get_adapter_class('mastodon'); get_connect_flow('mastodon')\n"
        "print(sorted({m.split('.')[2] for m in sys.modules if m.startswith('scheduler.adapters.') and "
        "m.count('.') >= 3}))\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    env.update({name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL", "HOME") if name in os.environ})
    found = subprocess.run(  # noqa: S603 - our own interpreter on a fixed script
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "['mastodon']"
