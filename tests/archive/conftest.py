import pytest

from tests.governance.city import city  # noqa: F401 - the fixture


@pytest.fixture(autouse=True)
def _files_in_a_temporary_folder(settings, tmp_path) -> None:
    """Uploads and the archive's own store go to folders of their own for each test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CIVICPOST_ARCHIVE_ROOT = str(tmp_path / "archive")
