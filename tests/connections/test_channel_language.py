"""A channel's language (issue 4): the department's admin sets it on the channel page, to one of the
department's languages or to none; it is audited, and a department that publishes each language on its
own channels sends each channel only the version in its language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from civicpost.exceptions import ApplicationError
from connections import services
from departments.models import LanguagePublishing
from scheduler import services as scheduler_services
from scheduler.models import Channel
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

SPANISH_VERSION = {
    "es": {"text": "Las piscinas abren el sábado.", "channel_text": {}, "media_alt": {}, "reviewed": True}
}


@pytest.fixture
def bilingual(people):  # noqa: ANN001, ANN201
    people.parks.languages = ["en", "es"]
    people.parks.save()
    return people


def language_of(channel: Channel) -> str | None:
    return Channel.objects.get(pk=channel.pk).options.get("language")


def language_url(channel: Channel) -> str:
    return reverse("connections:language", args=[channel.pk])


def test_the_admin_sets_a_channels_language_and_clears_it_again_both_audited(bilingual):
    channel = bilingual.parks_channel
    services.channel_set_language(user=bilingual.ada, channel=channel, language="es")
    assert language_of(channel) == "es"
    services.channel_set_language(user=bilingual.ada, channel=channel, language="es")  # unchanged: no event
    services.channel_set_language(user=bilingual.ada, channel=channel, language="")
    assert language_of(channel) is None
    events = AuditEvent.objects.filter(action=AuditAction.CHANNEL_LANGUAGE_CHANGED).order_by("id")
    assert [(e.actor, e.department_id, e.target_id, e.changes) for e in events] == [
        (bilingual.ada, bilingual.parks.pk, str(channel.pk), {"language": {"before": None, "after": "es"}}),
        (bilingual.ada, bilingual.parks.pk, str(channel.pk), {"language": {"before": "es", "after": None}}),
    ]


def test_setting_the_language_keeps_the_channels_other_options(bilingual):
    channel = ChannelFactory(department=bilingual.parks, options={"instance_url": "https://social.example"})
    services.channel_set_language(user=bilingual.ada, channel=channel, language="es")
    assert Channel.objects.get(pk=channel.pk).options == {"instance_url": "https://social.example", "language": "es"}


def test_a_language_the_department_does_not_write_in_is_refused(bilingual):
    with pytest.raises(ApplicationError) as refused:
        services.channel_set_language(user=bilingual.ada, channel=bilingual.parks_channel, language="fr")
    assert refused.value.message == (
        "Parks and Recreation does not write in “French”. Choose one of its languages: English, Spanish."
    )
    assert language_of(bilingual.parks_channel) is None
    assert not AuditEvent.objects.filter(action=AuditAction.CHANNEL_LANGUAGE_CHANGED).exists()


@pytest.mark.parametrize("username", ["alice", "bob", "lena", "dana"])
def test_only_the_departments_admin_may_set_it(bilingual, username):
    with pytest.raises(ApplicationError, match="Only a department admin"):
        services.channel_set_language(user=getattr(bilingual, username), channel=bilingual.parks_channel, language="es")
    assert language_of(bilingual.parks_channel) is None


def test_language_channels_publish_the_version_of_the_language_set_on_the_page(bilingual, client):
    bilingual.parks.language_publishing = LanguagePublishing.LANGUAGE_CHANNELS
    bilingual.parks.save()
    spanish_channel = ChannelFactory(department=bilingual.parks, display_name="Parques en Sandbox")
    client.force_login(bilingual.ada)
    assert client.post(language_url(spanish_channel), {"language": "es"}).status_code == 302
    post = scheduler_services.post_create(
        author=bilingual.alice,
        department=bilingual.parks,
        text="Pools open Saturday.",
        channels=[bilingual.parks_channel, spanish_channel],
        due_at=timezone.now() + dt.timedelta(days=2),
        languages=SPANISH_VERSION,
    )
    scheduler_services.post_submit(post=post, user=bilingual.alice)
    scheduler_services.post_approve(post=post, user=bilingual.bob)
    assert {(d.channel_id, d.language) for d in post.deliveries.all()} == {
        (bilingual.parks_channel.pk, "en"),
        (spanish_channel.pk, "es"),
    }


# --- The page -------------------------------------------------------------------------------------


def test_the_channel_page_shows_the_language_and_the_admin_saves_it(bilingual, client):
    client.force_login(bilingual.ada)
    page = client.get(reverse("connections:channel", args=[bilingual.parks_channel.pk])).content.decode()
    assert "Not set (the main language of each post)" in page
    assert '<option value="es">Spanish</option>' in page
    assert reverse("departments:settings", args=[bilingual.parks.pk]) in page
    response = client.post(language_url(bilingual.parks_channel), {"language": "es"}, follow=True)
    assert response.redirect_chain == [(reverse("connections:channel", args=[bilingual.parks_channel.pk]), 302)]
    page = response.content.decode()
    assert "The language of Parks on Sandbox was saved." in page
    assert '<option value="es" selected>Spanish</option>' in page
    assert language_of(bilingual.parks_channel) == "es"


def test_a_language_not_offered_is_refused_on_the_page_with_a_message(bilingual, client):
    client.force_login(bilingual.ada)
    response = client.post(language_url(bilingual.parks_channel), {"language": "fr"})
    assert response.status_code == 400
    assert "Choose one of the department&#x27;s languages." in response.content.decode()
    assert language_of(bilingual.parks_channel) is None


def test_a_refusal_of_the_service_is_shown_on_the_page(bilingual, client, monkeypatch):
    """The department dropped Spanish between the page being shown and sent: the service says so."""
    client.force_login(bilingual.ada)
    from connections import forms

    offered = forms.ChannelLanguageForm.__init__

    def offering_spanish_still(self, *args, department, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        offered(self, *args, department=department, **kwargs)
        self.fields["language"].choices = [*self.fields["language"].choices, ("es", "Spanish")]

    bilingual.parks.languages = ["en"]
    bilingual.parks.save()
    monkeypatch.setattr(forms.ChannelLanguageForm, "__init__", offering_spanish_still)
    response = client.post(language_url(bilingual.parks_channel), {"language": "es"})
    assert response.status_code == 400
    assert "Parks and Recreation does not write in “Spanish”. Choose one of its languages: English." in (
        response.content.decode()
    )


@pytest.mark.parametrize(("username", "status"), [("alice", 403), ("bob", 403), ("lena", 404), ("carol", 404)])
def test_members_who_are_not_its_admin_and_other_departments_are_kept_out(bilingual, client, username, status):
    client.force_login(getattr(bilingual, username))
    assert client.post(language_url(bilingual.parks_channel), {"language": "es"}).status_code == status
    assert language_of(bilingual.parks_channel) is None


def test_editors_see_the_language_but_no_form(bilingual, client):
    services.channel_set_language(user=bilingual.ada, channel=bilingual.parks_channel, language="es")
    client.force_login(bilingual.alice)
    page = client.get(reverse("connections:channel", args=[bilingual.parks_channel.pk])).content.decode()
    assert "<dd>Spanish</dd>" in page
    assert language_url(bilingual.parks_channel) not in page
