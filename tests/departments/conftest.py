from tests.governance.city import city  # noqa: F401 - the fixture
