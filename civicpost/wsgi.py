"""The WSGI entry point of gunicorn (`gunicorn civicpost.wsgi --preload`) and of runserver (`make run`).

Before it serves, the process loads what the first request of each page would otherwise load (issue 18:
the first visit to the connect page took 4.5 s): every view module through the URL conf, every platform
adapter and connect flow (some client libraries take seconds to import), the composer's reading-grade
dictionary, the project's templates and the translation catalogues. Then the garbage collector is tuned
for requests (civicpost/gc_tuning.py). With gunicorn's --preload this happens once in the master, and the
workers share it copy-on-write.
bench/first_request.py times the first hit of each page on a freshly started server."""

import logging
import os
import time
from pathlib import Path
from typing import cast

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicpost.settings")
application = get_wsgi_application()

# After get_wsgi_application(), which sets Django up: these read the settings and the app registry.
from django.conf import settings  # noqa: E402
from django.template import TemplateDoesNotExist, TemplateSyntaxError  # noqa: E402
from django.template.loader import get_template  # noqa: E402
from django.urls import get_resolver  # noqa: E402
from django.utils import translation  # noqa: E402

from civicpost.gc_tuning import tune_gc_for_web  # noqa: E402
from composer.hints import reading_grade  # noqa: E402
from scheduler.adapters.registry import adapter_classes, connectable_platforms  # noqa: E402

logger = logging.getLogger("civicpost.wsgi")


def warm_up() -> None:
    """Imports and compiles, before the first request, what pages need. Touches no database."""
    started = time.perf_counter()
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports every view module
    resolver._populate()  # noqa: SLF001 - what the first reverse() would do
    adapter_classes()
    connectable_platforms()
    folders = cast("list[Path]", settings.TEMPLATES[0]["DIRS"])
    for folder in folders:
        for template in sorted(Path(folder).rglob("*.html")):
            try:
                get_template(str(template.relative_to(folder)))
            except (TemplateDoesNotExist, TemplateSyntaxError):  # noqa: PERF203 - a broken page fails on its own
                logger.warning("template %s could not be loaded at start-up", template)
    # The composer's reading grade loads textstat's pronouncing dictionary (1.5 s of CPU) on first use.
    reading_grade("The city pool opens on Saturday at ten in the morning for every family in town.")
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Calendar")
    logger.info("warmed up in %.1f s", time.perf_counter() - started)


if os.environ.get("CIVICPOST_WARM_UP", "true").lower() not in ("0", "false", "no"):
    warm_up()
    tune_gc_for_web()  # after the warm-up, whose objects it freezes
