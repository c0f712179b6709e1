"""Deleting a file from the department media library pages: a confirmation page that says what deleting
means, then a POST that deletes through media_asset_delete. The members of the file's department (editor,
approver, admin; a communications manager only for a department they belong to) may; everyone else gets a
404 and the file stays. A file a post uses is kept, and the page names the posts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from civicpost.exceptions import ApplicationError
from medialibrary import rules, services
from medialibrary.models import MediaAsset
from scheduler.models import Post
from scheduler.services import post_create
from tests.governance.city import City
from tests.medialibrary.helpers import jpeg_upload

MEMBERS = ("alice", "bob", "pat")  # Parks editor, approver, admin
OUTSIDERS = ("carol", "dana", "max", "vera", "ivan")  # Library editor, two communications managers, viewer, IT


def parks_image(city: City, name: str = "splash-pad.jpg") -> MediaAsset:
    return services.media_upload(
        user=city.alice, department=city.parks, upload=jpeg_upload(name), alt_text="Children at the splash pad"
    )


def signed_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def delete_url(asset: MediaAsset) -> str:
    return reverse("medialibrary:asset_delete", args=[asset.pk])


def posts_using(city: City, asset: MediaAsset, count: int) -> list[Post]:
    return [
        post_create(
            author=city.alice,
            department=city.parks,
            text=f"Splash pad day {number}",
            channels=[city.parks_channel],
            due_at=timezone.now() + dt.timedelta(days=number),
            media=[(asset, "Children at the splash pad")],
        )
        for number in range(1, count + 1)
    ]


@pytest.mark.parametrize("username", MEMBERS)
def test_a_member_confirms_then_deletes_and_the_files_leave_storage(
    city: City, username: str, django_capture_on_commit_callbacks
) -> None:
    asset = parks_image(city)
    user = getattr(city, username)
    client = signed_in(user)

    page = client.get(delete_url(asset))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delete this image?" in html and "This cannot be undone." in html
    assert "Delete this image</button>" in html
    assert f'action="{delete_url(asset)}"' in html
    assert MediaAsset.objects.filter(pk=asset.pk).exists()  # looking at the page deletes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(delete_url(asset), follow=True)

    assert response.redirect_chain == [(reverse("medialibrary:library"), 302)]
    assert "splash-pad.jpg was deleted from the media library." in response.content.decode()
    assert not MediaAsset.objects.filter(pk=asset.pk).exists()
    assert not default_storage.exists(asset.file_name)
    assert AuditEvent.objects.get(action="media.deleted").actor == user


@pytest.mark.parametrize("username", OUTSIDERS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anyone_outside_the_department_gets_404_and_the_file_stays(
    city: City, username: str, method: str, django_capture_on_commit_callbacks
) -> None:
    asset = parks_image(city)
    client = signed_in(getattr(city, username))

    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(delete_url(asset))

    assert response.status_code == 404
    assert MediaAsset.objects.filter(pk=asset.pk).exists() and default_storage.exists(asset.file_name)
    assert not AuditEvent.objects.filter(action="media.deleted").exists()


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(city: City) -> None:
    asset = parks_image(city)

    response = Client().post(delete_url(asset))

    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert MediaAsset.objects.filter(pk=asset.pk).exists()


def test_a_communications_manager_deletes_their_own_teams_files(city: City, django_capture_on_commit_callbacks) -> None:
    asset = services.media_upload(
        user=city.dana, department=city.communications, upload=jpeg_upload("press.jpg"), alt_text="Press room"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(city.dana).post(delete_url(asset))

    assert response.status_code == 302
    assert not MediaAsset.objects.filter(pk=asset.pk).exists()


def test_the_rule_per_role(city: City) -> None:
    parks = parks_image(city)
    team = services.media_upload(
        user=city.dana, department=city.communications, upload=jpeg_upload("press.jpg"), alt_text="Press room"
    )
    allowed = {
        name: (rules.can_delete_media(getattr(city, name), parks), rules.can_delete_media(getattr(city, name), team))
        for name in (*MEMBERS, *OUTSIDERS)
    }
    assert allowed == {
        "alice": (True, False),
        "bob": (True, False),
        "pat": (True, False),
        "carol": (False, False),
        "dana": (False, True),  # a communications manager, for the team they belong to
        "max": (False, False),  # a communications manager by city role only
        "vera": (False, False),
        "ivan": (False, False),
    }
    city.bob.is_active = False
    assert not rules.can_delete_media(city.bob, parks)


def test_the_library_shows_a_delete_link_for_each_file_a_member_may_delete(city: City) -> None:
    asset = parks_image(city)

    member_page = signed_in(city.bob).get(reverse("medialibrary:library")).content.decode()
    assert f'href="{delete_url(asset)}">Delete<span class="usa-sr-only"> splash-pad.jpg</span></a>' in member_page
    details = signed_in(city.bob).get(reverse("medialibrary:asset_edit", args=[asset.pk])).content.decode()
    assert f'href="{delete_url(asset)}">Delete this image…</a>' in details

    viewer_page = signed_in(city.vera).get(reverse("medialibrary:library")).content.decode()
    assert delete_url(asset) not in viewer_page and "splash-pad.jpg" not in viewer_page


def test_a_file_three_posts_use_is_kept_and_the_page_names_the_posts(
    city: City, django_capture_on_commit_callbacks
) -> None:
    asset = parks_image(city)
    posts = posts_using(city, asset, 3)
    client = signed_in(city.alice)

    page = client.get(delete_url(asset)).content.decode()
    assert "This file cannot be deleted yet" in page
    assert "This file is used by 3 posts: “Splash pad day 1” (Draft, " in page
    assert all(reverse("scheduler:post_detail", args=[post.pk]) in page for post in posts)
    assert "Delete this image</button>" not in page  # nothing to confirm while posts use it

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(delete_url(asset))

    assert response.status_code == 409
    refused = response.content.decode()
    assert 'role="alert"' in refused and "This file is used by 3 posts: “Splash pad day 1”" in refused
    assert "It can be deleted once no post uses it." in refused
    assert MediaAsset.objects.filter(pk=asset.pk).exists() and default_storage.exists(asset.file_name)
    assert not AuditEvent.objects.filter(action="media.deleted").exists()


def test_the_refusal_names_five_posts_and_counts_the_rest(city: City) -> None:
    asset = parks_image(city)
    posts = posts_using(city, asset, 7)

    with pytest.raises(ApplicationError) as refused:
        services.media_asset_delete(asset=asset, actor=city.alice)

    message = refused.value.message
    assert message.startswith("This file is used by 7 posts: “Splash pad day 1” (Draft, ")
    assert "“Splash pad day 5”" in message and "“Splash pad day 6”" not in message
    assert message.endswith("; and 2 more. It can be deleted once no post uses it.")
    assert refused.value.extra["post_ids"] == [post.pk for post in posts]
