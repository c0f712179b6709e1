"""The media library: files, their cleaning and storage, and who may delete them (medialibrary.rules).
Imports departments, audit and civicpost (and scheduler's time labels until they move to civicpost/)."""

from typing import Any

from django.apps import AppConfig
from django.core import checks


class MedialibraryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "medialibrary"
    verbose_name = "Media library"

    def ready(self) -> None:
        checks.register(video_tools_check)


def video_tools_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warns when ffprobe/ffmpeg are missing: video then works from the container alone (medialibrary/video.py)."""
    from medialibrary.video import ffmpeg_missing_notice  # models must be loaded before the app's modules

    notice = ffmpeg_missing_notice()
    if not notice:
        return []
    return [checks.Warning(notice, hint="apt-get install ffmpeg (Debian/Ubuntu)", id="medialibrary.W001")]
