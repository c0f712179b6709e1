"""Only a department's admin connects, tests, reconnects or disconnects its channels. Outside the department
the answer is 404 (the channel's existence is not revealed); inside it, for editors and approvers, 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from civicpost.exceptions import ApplicationError
from connections import services
from scheduler.adapters.feed.connect import FLOW as feed_flow
from scheduler.models import Channel, ChannelStatus

pytestmark = pytest.mark.django_db


def _feed_form_url(department) -> str:  # noqa: ANN001
    return reverse("connections:platform", kwargs={"department_id": department.pk, "platform": "feed"})


def test_signed_out_visitors_are_sent_to_sign_in(people, client):
    response = client.get(reverse("connections:start"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("username", ["alice", "bob", "carol", "dana"])
def test_people_who_admin_no_department_cannot_open_the_connect_page(people, client, username):
    client.force_login(getattr(people, username))
    assert client.get(reverse("connections:start")).status_code == 403


@pytest.mark.parametrize("username", ["alice", "bob"])
def test_parks_editor_and_approver_cannot_connect_a_parks_channel(people, client, username):
    client.force_login(getattr(people, username))
    url = _feed_form_url(people.parks)
    assert client.get(url).status_code == 403
    assert client.post(url, {"display_name": "Sneaky feed"}).status_code == 403
    assert not Channel.objects.filter(platform="feed").exists()


@pytest.mark.parametrize("username", ["carol", "lena", "dana"])
def test_people_outside_parks_get_404_for_parks(people, client, username):
    client.force_login(getattr(people, username))
    url = _feed_form_url(people.parks)
    assert client.get(url).status_code == 404
    assert client.post(url, {"display_name": "Sneaky feed"}).status_code == 404
    channel = people.parks_channel
    for name in ("channel", "reconnect"):
        assert client.get(reverse(f"connections:{name}", kwargs={"channel_id": channel.pk})).status_code == 404
    for name in ("test", "disconnect"):
        assert client.post(reverse(f"connections:{name}", kwargs={"channel_id": channel.pk})).status_code == 404
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.credentials


def test_the_department_admin_connects_a_channel_for_the_department(people, client):
    client.force_login(people.ada)
    assert client.get(reverse("connections:start")).status_code == 200
    response = client.post(reverse("connections:start"), {"department": people.parks.pk, "platform": "feed"})
    assert response["Location"] == _feed_form_url(people.parks)
    response = client.post(_feed_form_url(people.parks), {"display_name": "Parks news"})
    channel = Channel.objects.get(platform="feed")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    assert channel.department == people.parks
    assert channel.connected_by == people.ada
    assert channel.status == ChannelStatus.CONNECTED


def test_the_choice_of_department_only_offers_the_admins_own(people, client):
    client.force_login(people.ada)
    response = client.post(reverse("connections:start"), {"department": people.library.pk, "platform": "feed"})
    assert response.status_code == 200
    assert "department" in response.context["form"].errors


def test_approver_sees_the_channel_page_but_not_its_actions(people, client):
    client.force_login(people.bob)
    channel = people.parks_channel
    page = client.get(reverse("connections:channel", kwargs={"channel_id": channel.pk}))
    assert page.status_code == 200
    assert b"Test connection" not in page.content
    assert client.get(reverse("connections:reconnect", kwargs={"channel_id": channel.pk})).status_code == 403
    assert client.post(reverse("connections:test", kwargs={"channel_id": channel.pk})).status_code == 403
    assert client.post(reverse("connections:disconnect", kwargs={"channel_id": channel.pk})).status_code == 403
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED


def test_the_services_refuse_non_admins_too(people):
    with pytest.raises(ApplicationError):
        services.channel_connect(
            user=people.bob, department=people.parks, account=feed_flow.connect({"display_name": "x"})
        )
    with pytest.raises(ApplicationError):
        services.channel_disconnect(user=people.lena, channel=people.parks_channel)
    with pytest.raises(ApplicationError):
        services.channel_test_connection(user=people.alice, channel=people.parks_channel)


def test_channels_belong_to_the_department_not_to_who_connected_them(people, client):
    client.force_login(people.ada)
    client.post(_feed_form_url(people.parks), {"display_name": "Parks news"})
    channel = Channel.objects.get(platform="feed")
    # Ada leaves the department; the channel stays connected and another admin manages it.
    people.ada.memberships.all().delete()
    from departments.models import Role
    from tests.factories import member

    other_admin = member("omar", people.parks, Role.ADMIN)
    client.force_login(other_admin)
    response = client.post(reverse("connections:disconnect", kwargs={"channel_id": channel.pk}))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DISABLED
