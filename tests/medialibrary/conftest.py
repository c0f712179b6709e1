import pytest

from tests.governance.city import city  # noqa: F401 - the fixture


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    """Uploads go to a folder of their own for each test, never into the project."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
