import os
import socket
from collections.abc import Iterator

import pytest

IN_CI = bool(os.environ.get("CI"))
ALLOWED_HOSTS = {"127.0.0.1", "localhost", "::1", "testserver"}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails any test that tries to reach a host other than this machine."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ALLOWED_HOSTS and not str(host).startswith("127."):
            raise RuntimeError(f"Test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache (tests/settings.py: one per test process)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _english_unless_asked() -> Iterator[None]:
    """Each test starts in English: a request or task that activated Spanish in this thread (a user's language
    choice) must not leak into the next test's messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


def pytest_configure(config: pytest.Config) -> None:
    """Compiles the translation catalogues when a .po is newer than its .mo (as `make test` does), so a
    plain `pytest` sees the Spanish of the committed catalogue, not a stale or missing build."""
    from civicpost.catalogues import compile_all

    compile_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL and Redis tests skip with a reason on a laptop, and never in CI."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if IN_CI:
                raise pytest.UsageError("CI must run with DATABASE_URL pointing at PostgreSQL.")
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "redis" in item.keywords and not has_redis:
            if IN_CI:
                raise pytest.UsageError("CI must run with REDIS_URL pointing at Redis.")
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL"))
    _name_xdist_groups(config, items)


def _name_xdist_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """What pytest-xdist does for `--dist loadgroup` on each worker, for pytest 9: it appends "@group" to each
    grouped test's node id, so the tests of one group (a chaos run and its checks) go to one worker, but it
    writes `item._nodeid`, which pytest 9 no longer reads (the id is `item._id`). Without it every test of a
    chaos run was sent to a different worker, and each worker ran the whole chaos run for its share."""
    if not getattr(config.option, "loadgroup", False):  # set by xdist on its workers only
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # pytest before 9: xdist's own hook names the groups
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        group = "_".join(sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}))
        if group and not item.nodeid.endswith(f"@{group}"):
            item._id = coerce_node_id(f"{item.nodeid}@{group}")


class Personas:
    """Alice (Parks editor), Bob (Parks approver), Carol (Library editor), Dana (communications manager)."""

    def __init__(self) -> None:
        from departments.models import Role
        from tests.factories import ChannelFactory, DepartmentFactory, member

        self.parks = DepartmentFactory(name="Parks and Recreation", slug="parks", time_zone="America/Chicago")
        self.library = DepartmentFactory(name="Public Library", slug="library", time_zone="America/New_York")
        self.communications = DepartmentFactory(name="Communications", slug="communications")
        self.communications.is_communications_team = True
        self.communications.save()
        self.alice = member("alice", self.parks, Role.EDITOR)
        self.bob = member("bob", self.parks, Role.APPROVER)
        self.carol = member("carol", self.library, Role.EDITOR)
        self.dana = member("dana", self.communications, Role.APPROVER)
        self.parks_channel = ChannelFactory(department=self.parks, display_name="Parks on Sandbox")
        self.library_channel = ChannelFactory(department=self.library, display_name="Library on Sandbox")


@pytest.fixture
def personas(db: None) -> Personas:
    return Personas()
