"""Short links: links in posts become /l/<code> per delivery with UTM parameters when the department turns them
on; the redirect counts people (not bots), stores nothing about them, answers with one SELECT and one UPDATE,
and keeps working after the post is gone from CivicPost."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import ShortLink
from analytics.shortlinks import short_link_preview, short_links_enabled, short_links_set
from analytics.views import is_bot
from scheduler.adapters.base import ChannelAccount, PostContent
from scheduler.adapters.registry import get_adapter_class
from scheduler.models import Delivery, Post, SandboxPost
from tests.scheduler import approved_post, make_due, tick

pytestmark = pytest.mark.django_db

BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)
LINK = "https://parks.city.example/splash-pads?ref=home"


def publish_with_link(personas, text: str = "Splash pads open Saturday.") -> Delivery:
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text=text, link=LINK
    )
    make_due(post)
    tick()
    return Delivery.objects.select_related("post").get(post=post)


def test_links_go_out_as_short_links_with_utm_per_delivery_when_the_department_turned_them_on(personas, settings):
    settings.SITE_URL = "https://civicpost.city.example"
    short_links_set(department_id=personas.parks.pk, enabled=True)
    delivery = publish_with_link(personas, text="Splash pads open. Map: https://parks.city.example/map")

    sent = SandboxPost.objects.get(pk=delivery.remote_id)
    links = {link.original_url: link for link in ShortLink.objects.filter(delivery=delivery)}
    assert set(links) == {LINK, "https://parks.city.example/map"}
    assert sent.link == f"https://civicpost.city.example/l/{links[LINK].code}"
    assert (
        sent.text
        == f"Splash pads open. Map: https://civicpost.city.example/l/{links['https://parks.city.example/map'].code}"
    )
    target = urlsplit(links[LINK].target_url)
    assert parse_qs(target.query) == {
        "ref": ["home"],
        "utm_source": ["sandbox"],
        "utm_medium": ["social"],
        "utm_campaign": [f"parks-{delivery.post_id}"],
    }
    assert links[LINK].platform == "sandbox"


def test_links_are_left_alone_where_the_department_did_not_turn_short_links_on(personas):
    delivery = publish_with_link(personas)
    assert SandboxPost.objects.get(pk=delivery.remote_id).link == LINK
    assert not ShortLink.objects.exists()


def make_link(personas, client) -> ShortLink:  # noqa: ARG001
    short_links_set(department_id=personas.parks.pk, enabled=True)
    delivery = publish_with_link(personas)
    return ShortLink.objects.get(delivery=delivery)


def test_the_redirect_counts_a_person_with_one_select_and_one_update(personas, client):
    link = make_link(personas, client)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/l/{link.code}", headers={"user-agent": BROWSER})
    assert response.status_code == 302
    assert response["Location"] == link.target_url
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "UPDATE"]
    link.refresh_from_db()
    assert link.clicks == 1


@pytest.mark.parametrize(
    "user_agent",
    [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mastodon/4.3.1 (http.rb/5.2.0; +https://social.city.example/)",
        "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
        "curl/8.5.0",
        "",
    ],
)
def test_bots_and_link_previews_are_sent_on_but_not_counted(personas, client, user_agent):
    link = make_link(personas, client)
    response = client.get(f"/l/{link.code}", headers={"user-agent": user_agent})
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.clicks == 0


def test_browsers_are_not_taken_for_bots():
    assert not is_bot(BROWSER)
    assert not is_bot(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    )


def test_an_unknown_code_is_not_found(client, db):
    assert client.get("/l/nosuchcd").status_code == 404


def test_nothing_about_the_visitor_is_stored(personas, client):
    link = make_link(personas, client)
    client.get(f"/l/{link.code}", headers={"user-agent": BROWSER}, REMOTE_ADDR="203.0.113.9")
    fields = {field.name for field in ShortLink._meta.get_fields()}
    assert fields == {"id", "code", "target_url", "original_url", "delivery", "platform", "clicks", "created_at"}
    stored = " ".join(str(value) for value in ShortLink.objects.values().get(pk=link.pk).values())
    assert "203.0.113.9" not in stored
    assert "iPhone" not in stored


def delete_with_everything_it_protects(obj) -> None:  # noqa: ANN001
    """Deletes a row and, first, whatever PROTECTs it (as a database clean-up by hand would)."""
    for _round in range(10):
        try:
            obj.delete()
        except ProtectedError as error:
            for protected in error.protected_objects:
                delete_with_everything_it_protects(protected)
        else:
            return
    raise AssertionError("could not delete")


def test_a_short_link_keeps_working_after_its_post_is_deleted_from_civicpost(personas, client):
    link = make_link(personas, client)
    post = Post.objects.get(deliveries__short_links=link)
    Post.objects.filter(pk=post.pk).update(current_approval=None)
    delete_with_everything_it_protects(post)
    assert not Post.objects.filter(pk=post.pk).exists()

    response = client.get(f"/l/{link.code}", headers={"user-agent": BROWSER})
    assert response.status_code == 302
    assert response["Location"] == link.target_url
    link.refresh_from_db()
    assert (link.delivery_id, link.clicks) == (None, 1)


def test_the_composer_counts_the_short_links_length(personas, settings):
    settings.SITE_URL = "https://civicpost.city.example"
    content = PostContent(text=f"Splash pads open. {LINK}/and/a/very/long/path/that/goes/on")
    adapter = get_adapter_class("sandbox")(ChannelAccount(channel_id=1, display_name="Parks"))
    before = short_link_preview(content, department_id=personas.parks.pk, platform="sandbox")
    assert before == content  # off: counted as written
    short_links_set(department_id=personas.parks.pk, enabled=True)
    counted = short_link_preview(content, department_id=personas.parks.pk, platform="sandbox")
    assert counted.text == "Splash pads open. https://civicpost.city.example/l/xxxxxxxx"
    assert adapter.text_length(counted).used == len(counted.text) < adapter.text_length(content).used


def test_a_department_admin_turns_short_links_on_and_an_editor_cannot(personas, client):
    from departments.models import Role
    from tests.factories import member

    priya = member("priya", personas.parks, Role.ADMIN)
    url = reverse("analytics:department_short_links", args=[personas.parks.pk])
    client.force_login(personas.alice)
    assert client.post(url, {"enabled": "on"}).status_code == 403
    assert not short_links_enabled(department_id=personas.parks.pk)
    client.force_login(priya)
    assert client.get(url).status_code == 200
    assert client.post(url, {"enabled": "on"}).status_code == 302
    assert short_links_enabled(department_id=personas.parks.pk)
    client.post(url, {})
    assert not short_links_enabled(department_id=personas.parks.pk)
    from audit.models import AuditEvent

    events = AuditEvent.objects.filter(department_id=personas.parks.pk, action="department.settings_changed")
    assert [(e.actor, e.changes) for e in events.order_by("pk")] == [
        (priya, {"short_links": {"before": False, "after": True}}),
        (priya, {"short_links": {"before": True, "after": False}}),
    ]


def test_a_retry_or_reconcile_sends_the_same_short_links_even_after_the_switch_changed(personas):
    from analytics.shortlinks import delivery_content_with_short_links

    short_links_set(department_id=personas.parks.pk, enabled=True)
    delivery = publish_with_link(personas)
    sent = SandboxPost.objects.get(pk=delivery.remote_id)
    short_links_set(department_id=personas.parks.pk, enabled=False)
    delivery.refresh_from_db()
    again = delivery_content_with_short_links(delivery, PostContent(text="Splash pads open Saturday.", link=LINK))
    assert again.link == sent.link
    assert ShortLink.objects.filter(delivery=delivery).count() == 1


def test_a_delivery_first_sent_without_short_links_stays_without(personas):
    from analytics.shortlinks import delivery_content_with_short_links

    delivery = publish_with_link(personas)
    short_links_set(department_id=personas.parks.pk, enabled=True)
    delivery.refresh_from_db()
    content = PostContent(text="Splash pads open Saturday.", link=LINK)
    assert delivery_content_with_short_links(delivery, content) == content


def test_each_platforms_counter_counts_and_names_the_short_links_length(personas, client, settings):
    from tests.composer.test_compose import check, compose_data, counts

    settings.SITE_URL = "https://civicpost.city.example"
    client.force_login(personas.alice)
    text = "Pools open https://www.example.gov/parks/summer-programs/splash-pads-and-pools-open-saturday"
    data = compose_data(personas, text=text, channels=[personas.parks_channel.pk])
    html = check(client, data)
    assert counts(html)["Parks on Sandbox"].startswith(f"{len(text)} / ")
    assert "counted as short links" not in html

    short_links_set(department_id=personas.parks.pk, enabled=True)
    html = check(client, data)
    short = len("https://civicpost.city.example/l/") + 8
    assert counts(html)["Parks on Sandbox"].startswith(f"{len('Pools open ') + short} / ")
    assert f"Links are counted as short links of {short} characters." in html
