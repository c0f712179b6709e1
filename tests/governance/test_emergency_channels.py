"""An emergency post reaches social media, Nextdoor neighbours and e-mail subscribers in one approved action
(issue 17): the official picks a social channel, a Nextdoor agency channel and an e-mail bulletin channel; each
gets one ordinary delivery, sent once; Nextdoor's goes out as an urgent alert and the bulletin's subject says
"Urgent:". An ordinary post to the same channels is not flagged. Platforms faked with `responses`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own request body  # nosec B405

import pytest
import responses

from governance.emergency import LanguageVersion, emergency_publish
from scheduler.models import DeliveryStatus, Post, PostStatus, SandboxPost
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due, tick
from tests.scheduler.adapters.email_bulletin.test_adapter import SERVICES, fixture
from tests.scheduler.adapters.meta_helpers import fixture as platform_fixture

BOIL = "BOIL WATER NOTICE for Eastside: boil tap water for one minute before drinking. Updates: 311."
ND_CREATE = "https://nextdoor.com/external/api/partner/v1/post/create/"
GD_SEND = "https://api.govdelivery.com/api/account/CACITY/bulletins/send_now.xml"


@pytest.fixture
def reach(city):  # noqa: ANN001, ANN201
    """Parks' Nextdoor agency channel and e-mail bulletin (GovDelivery), beside its sandbox channel."""
    credentials, options = SERVICES["govdelivery"]
    city.nextdoor = ChannelFactory(
        department=city.parks,
        platform="nextdoor",
        display_name="Parks on Nextdoor",
        credentials={"access_token": "nd-access-token-SECRET"},
        options={"agency_id": "4102", "group_ids": []},
    )
    city.bulletin = ChannelFactory(
        department=city.parks,
        platform="email_bulletin",
        display_name="Parks subscribers",
        credentials=dict(credentials),
        options=dict(options),
    )
    return city


@pytest.fixture
def platforms():  # noqa: ANN201
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(ND_CREATE, json=platform_fixture("nextdoor", "post_created"))
        mock.post(GD_SEND, body=fixture("govdelivery_sent.xml"))
        yield mock


def _sent(platforms, url: str) -> list:  # noqa: ANN001
    return [call for call in platforms.calls if call.request.url == url]


def test_one_emergency_action_reaches_social_media_nextdoor_and_subscribers_once(
    reach, platforms, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert = emergency_publish(
            user=reach.olga,
            channels=[reach.parks_channel, reach.nextdoor, reach.bulletin],
            versions=[LanguageVersion("en", BOIL)],
        )
    tick(2)

    post = Post.objects.get(emergency__alert=alert)
    assert post.status == PostStatus.PUBLISHED
    assert sorted(d.channel.platform for d in post.deliveries.all()) == ["email_bulletin", "nextdoor", "sandbox"]
    assert all(d.status == DeliveryStatus.PUBLISHED for d in post.deliveries.all())
    assert list(SandboxPost.objects.values_list("text", flat=True)) == [BOIL]
    (nextdoor,) = _sent(platforms, ND_CREATE)
    assert json.loads(nextdoor.request.body) == {"body_text": BOIL, "is_urgent": True}
    (bulletin,) = _sent(platforms, GD_SEND)
    root = ET.fromstring(bulletin.request.body)  # noqa: S314  # nosec B314
    assert root.findtext("subject") == f"Urgent: {BOIL}"
    assert [code.text for code in root.iter("code")] == ["CACITY_12"]


def test_an_ordinary_post_to_the_same_channels_is_not_an_urgent_alert(reach, platforms):
    post = approved_post(
        author=reach.alice, approver=reach.bob, channels=[reach.nextdoor, reach.bulletin], text="Pools open Saturday."
    )
    make_due(post)

    tick(2)

    (nextdoor,) = _sent(platforms, ND_CREATE)
    assert json.loads(nextdoor.request.body) == {"body_text": "Pools open Saturday."}
    (bulletin,) = _sent(platforms, GD_SEND)
    assert ET.fromstring(bulletin.request.body).findtext("subject") == "Pools open Saturday."  # noqa: S314  # nosec B314
