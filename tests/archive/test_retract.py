"""Retract or correct a post everywhere: deleted on every channel whose platform allows it, the others named
(Instagram), an optional correction through the normal approval path, all of it in the archive; the public
transparency page and its feed show removals as removed, with their reason."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.chain import chain_verify
from archive.models import ArchiveEntry, EntryKind, Retraction
from archive.services import archive_capture
from audit.models import AuditAction, AuditEvent
from scheduler.models import Channel, Post, PostStatus, SandboxPost
from tests.archive.helpers import publish
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(city):
    """A Parks post on the Sandbox channel and on a second channel that turns out to be Instagram's."""
    second = ChannelFactory(department=city.parks, display_name="Parks on Instagram")
    deliveries = publish(city, text="Pool closed all week", channels=[city.parks_channel, second])
    Channel.objects.filter(pk=second.pk).update(platform="instagram")
    by_channel = {d.channel_id: d for d in deliveries}
    return city, [by_channel[city.parks_channel.pk], by_channel[second.pk]]


def test_retract_deletes_where_it_can_names_where_it_cannot_and_archives_both(published, client):
    city, [sandbox, instagram] = published
    client.force_login(city.bob)
    response = client.post(
        reverse("archive:post_retract", args=[sandbox.post_id]), {"reason": "Wrong week: the pool is open."}
    )
    assert response.status_code == 302
    retraction = Retraction.objects.get()
    assert not SandboxPost.objects.filter(pk=sandbox.remote_id).exists(), retraction.outcomes
    outcomes = {o["channel"]: o for o in retraction.outcomes}
    assert (outcomes["Parks on Sandbox"]["deleted"], outcomes["Parks on Instagram"]["deleted"]) == (True, False)
    assert "Instagram does not let apps delete posts" in outcomes["Parks on Instagram"]["message"]

    deleted = ArchiveEntry.objects.get(kind=EntryKind.RETRACTED)
    refused = ArchiveEntry.objects.get(kind=EntryKind.RETRACTION_FAILED)
    assert (deleted.delivery_id, refused.delivery_id) == (sandbox.pk, instagram.pk)
    assert deleted.facts["reason"] == "Wrong week: the pool is open."
    assert "Bob" in deleted.facts["requested_by"]
    # The publications were archived before anything was deleted, so the record holds what was removed.
    publications = ArchiveEntry.objects.filter(kind=EntryKind.PUBLICATION)
    assert publications.count() == 2
    assert all(p.sequence < deleted.sequence for p in publications)
    assert AuditEvent.objects.filter(action=AuditAction.POST_RETRACTED, actor=city.bob).count() == 1
    assert chain_verify().ok


def test_a_correction_goes_through_the_normal_approval(city):
    from archive.retractions import post_retract

    [delivery] = publish(city, text="Pool closed all week")
    retraction = post_retract(
        user=city.bob,
        post=Post.objects.get(pk=delivery.post_id),
        reason="Wrong week",
        correction_text="Correction: the pool is open all week.",
    )
    correction = retraction.correction_post
    assert correction is not None
    assert correction.status == PostStatus.SUBMITTED
    assert correction.current_approval_id is None
    assert list(correction.channels.all()) == [city.parks_channel]
    assert ArchiveEntry.objects.get(kind=EntryKind.CORRECTION).facts["correction_post_id"] == correction.pk
    assert ArchiveEntry.objects.filter(kind=EntryKind.RETRACTED).count() == 1


def test_an_editor_cannot_retract_and_a_reason_is_required(published, client):
    city, [sandbox, _instagram] = published
    client.force_login(city.alice)
    assert client.post(reverse("archive:post_retract", args=[sandbox.post_id]), {"reason": "x"}).status_code == 403
    client.force_login(city.bob)
    assert client.post(reverse("archive:post_retract", args=[sandbox.post_id]), {"reason": ""}).status_code == 400
    assert SandboxPost.objects.filter(pk=sandbox.remote_id).exists()


def test_the_transparency_page_is_off_unless_the_city_turns_it_on(published, client, settings):
    settings.CIVICPOST_TRANSPARENCY_PAGE = False
    assert client.get(reverse("archive:transparency")).status_code == 404
    assert client.get(reverse("archive:transparency_rss")).status_code == 404


def test_the_transparency_page_and_feed_show_removals_as_removed_with_their_reason(published, client, settings):
    from archive.retractions import post_retract

    settings.CIVICPOST_TRANSPARENCY_PAGE = True
    city, [sandbox, _instagram] = published
    publish(city, text="Trail open again")
    post_retract(user=city.bob, post=Post.objects.get(pk=sandbox.post_id), reason="Wrong week")
    archive_capture()

    page = client.get(reverse("archive:transparency")).content.decode()
    assert "Trail open again" in page
    assert "Removed" in page and "Wrong week" in page
    # Still on Instagram (which cannot delete through its API): shown; gone from the Sandbox: removed.
    assert page.count("Pool closed all week") == 1
    feed = client.get(reverse("archive:transparency_rss"))
    assert feed["Content-Type"].startswith("application/rss+xml")
    body = feed.content.decode()
    assert "Removed from Parks on Sandbox: Wrong week" in body
    assert "Trail open again" in body
