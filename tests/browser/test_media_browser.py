"""Deleting a library file in a real browser, with the keyboard: the library with its delete links, the
confirmation page, the library after the deletion, and the page that names the posts keeping a file all
pass an axe scan (WCAG 2.1 A and AA)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from medialibrary import services
from medialibrary.models import MediaAsset
from scheduler.services import post_create
from tests.browser.test_calendar_browser import sign_in_as
from tests.conftest import Personas
from tests.medialibrary.helpers import jpeg_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_an_editor_deletes_an_unused_image_and_sees_why_a_used_one_stays(live_server, browser_page, axe) -> None:
    personas = Personas()
    unused = services.media_upload(
        user=personas.alice, department=personas.parks, upload=jpeg_upload("old-flyer.jpg"), alt_text="Old flyer"
    )
    used = services.media_upload(
        user=personas.alice,
        department=personas.parks,
        upload=jpeg_upload("pool.jpg", size=(80, 60)),
        alt_text="The outdoor pool",
    )
    post_create(
        author=personas.alice,
        department=personas.parks,
        text="The pool opens Saturday.",
        channels=[personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=3),
        media=[(used, "The outdoor pool")],
    )
    page = browser_page
    sign_in_as(page, live_server.url, personas.alice)

    page.goto(f"{live_server.url}/media-library/")
    axe.check(page, "media-library-with-delete-links")
    delete_link = page.get_by_role("link", name="Delete old-flyer.jpg")
    delete_link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/media-library/{unused.pk}/delete/$"))
    assert page.get_by_role("heading", name="Delete this image?", level=1).is_visible()
    axe.check(page, "media-delete-confirm")

    page.get_by_role("button", name="Delete this image").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/media-library/$"))
    assert page.get_by_text("old-flyer.jpg was deleted from the media library.").is_visible()
    assert page.get_by_role("link", name="Delete old-flyer.jpg").count() == 0
    axe.check(page, "media-library-after-delete")
    assert not MediaAsset.objects.filter(pk=unused.pk).exists()

    page.get_by_role("link", name="Delete pool.jpg").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/media-library/{used.pk}/delete/$"))
    alert = page.get_by_role("alert")
    assert "This file is used by 1 post: “The pool opens Saturday.”" in alert.inner_text()
    assert page.get_by_role("button", name="Delete this image").count() == 0
    assert page.get_by_role("link", name="The pool opens Saturday.").is_visible()
    axe.check(page, "media-delete-refused")

    assert axe.problems == [], "\n".join(axe.problems)
