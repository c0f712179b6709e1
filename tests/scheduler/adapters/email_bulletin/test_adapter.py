"""The e-mail bulletin against `responses` fakes of GovDelivery, Mailchimp and Listmonk built from the documented
shapes (scheduler/adapters/email_bulletin/services.py names them): the e-mail itself, the exact requests, each
error's class, the connect form, and — through the real dispatcher — a bulletin sent exactly once when the answer
of the send is dropped (reconcile finds it by its marker; a draft left behind is finished, never duplicated)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import xml.etree.ElementTree as ET  # noqa: S405  # nosec B405 - parses our own request in a test
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from django.urls import reverse

from scheduler import publishing
from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    ConnectError,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.email_bulletin.adapter import EmailBulletinAdapter, html_part, subject_of, text_part
from scheduler.adapters.email_bulletin.connect import FLOW
from scheduler.adapters.email_bulletin.forms import EmailBulletinForm
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import Channel, Delivery, DeliveryStatus
from tests.connections import raw_column
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, make_retry_due
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.meta_helpers import calls_to, query, set_attempt_started

pytestmark = pytest.mark.django_db

fake = meta_helpers.fake

FIXTURES = Path(__file__).parent.parent / "fixtures" / "email_bulletin"
MC_KEY = "0123456789abcdef0123456789abcdef-us6"
MC = "https://us6.api.mailchimp.com/3.0"
LM = "https://listmonk.city.example"
GD = "https://api.govdelivery.com/api/account/CACITY"
PUBLIC_IP = "93.184.215.14"


def fixture(name: str) -> Any:
    text = (FIXTURES / name).read_text()
    return json.loads(text) if name.endswith(".json") else text


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """The SSRF guard's resolver: the Listmonk host is public, the intranet private, nothing else resolves."""
    from scheduler.adapters import ssrf

    table = {"listmonk.city.example": PUBLIC_IP, "intranet.city.example": "10.20.30.40"}

    def fake_getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(ssrf, "_getaddrinfo", fake_getaddrinfo)


SERVICES: dict[str, tuple[dict, dict]] = {
    "mailchimp": (
        {"secret": MC_KEY},
        {
            "service": "mailchimp",
            "audience": "57afe96172",
            "from_name": "City Parks",
            "reply_to": "parks@cityofexample.gov",
            "server": "mailchimp",
        },
    ),
    "listmonk": (
        {"secret": "lm-token-SECRET", "username": "civicpost"},
        {"service": "listmonk", "audience": "3", "server_url": LM, "server": LM},
    ),
    "govdelivery": (
        {"secret": "gd-password-SECRET", "username": "api@cityofexample.gov"},
        {
            "service": "govdelivery",
            "audience": "CACITY_12",
            "environment": "production",
            "account_code": "CACITY",
            "server": "production:CACITY",
        },
    ),
}


def account(service: str) -> ChannelAccount:
    credentials, options = SERVICES[service]
    return ChannelAccount(channel_id=1, display_name="Parks news", credentials=dict(credentials), options=dict(options))


def adapter(service: str) -> EmailBulletinAdapter:
    return EmailBulletinAdapter(account(service))


def image(alt: str = 'Kids at the "splash" pad & fountain') -> MediaItem:
    return MediaItem(url="https://www.cityofexample.gov/media/splash.jpg?w=1&h=2", mime_type="image/jpeg", alt_text=alt)


CONTENT = PostContent(
    text="Splash pads open Saturday\n\nBring <sunscreen> & water.\nLifeguards on duty 10–6.",
    link="https://www.cityofexample.gov/splash?a=1&b=2",
    media=(image(),),
)


# --- The e-mail ------------------------------------------------------------------------------------------


def test_the_html_part_escapes_the_text_keeps_line_breaks_and_carries_link_images_and_marker():
    assert html_part(CONTENT, "civicpost:k1") == (
        '<div lang="en" style="font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5">\n'
        "<!-- civicpost:k1 -->\n"
        "<p>Splash pads open Saturday</p>\n"
        "<p>Bring &lt;sunscreen&gt; &amp; water.<br>\nLifeguards on duty 10–6.</p>\n"
        '<p><a href="https://www.cityofexample.gov/splash?a=1&amp;b=2">'
        "https://www.cityofexample.gov/splash?a=1&amp;b=2</a></p>\n"
        '<p><img src="https://www.cityofexample.gov/media/splash.jpg?w=1&amp;h=2" '
        'alt="Kids at the &quot;splash&quot; pad &amp; fountain" style="max-width:100%;height:auto"></p>\n'
        "</div>"
    )


def test_the_plain_text_part_has_the_text_link_and_images():
    assert text_part(CONTENT) == (
        "Splash pads open Saturday\n\nBring <sunscreen> & water.\nLifeguards on duty 10–6.\n\n"
        "https://www.cityofexample.gov/splash?a=1&b=2\n\n"
        '[Image: Kids at the "splash" pad & fountain] https://www.cityofexample.gov/media/splash.jpg?w=1&h=2'
    )


def test_the_subject_is_the_first_line_cut_at_150_characters():
    assert subject_of(CONTENT) == "Splash pads open Saturday"
    long = subject_of(PostContent(text="x" * 200))
    assert len(long) == 150 and long.endswith("…")


def test_validate_wants_text_alt_text_https_images_and_no_video():
    problems = adapter("mailchimp").validate(
        PostContent(
            text=" ",
            media=(
                image(alt=""),
                MediaItem(url="http://intranet/x.jpg", mime_type="image/jpeg", alt_text="x"),
                MediaItem(url="https://city.example/v.mp4", mime_type="video/mp4", alt_text="x"),
            ),
        )
    )
    messages = " ".join(problem.message for problem in problems)
    assert "needs text" in messages and "alt text" in messages
    assert "https://" in messages and "link to a video" in messages


def test_the_registry_builds_the_adapter(personas):
    credentials, options = SERVICES["listmonk"]
    channel = ChannelFactory(
        department=personas.parks, platform="email_bulletin", credentials=credentials, options=options
    )
    assert isinstance(adapter_for_channel(channel), EmailBulletinAdapter)
    assert channel.platform_label == "E-mail bulletin"


# --- Mailchimp ---------------------------------------------------------------------------------------------


def mailchimp_send_ok(fake, *, campaigns: list | None = None) -> None:
    fake.get(f"{MC}/campaigns", json={"campaigns": campaigns or [], "total_items": len(campaigns or [])})
    fake.post(f"{MC}/campaigns", json=fixture("mailchimp_campaign_created.json"))
    fake.put(f"{MC}/campaigns/42694e9e57/content", json={"html": "..."})
    fake.post(f"{MC}/campaigns/42694e9e57/actions/send", status=204)


def test_mailchimp_creates_the_campaign_sets_both_parts_and_sends_it(fake):
    mailchimp_send_ok(fake)

    result = adapter("mailchimp").publish(CONTENT, idempotency_key="k1")

    lookup, create, send = (
        calls_to(fake, "GET", "/3.0/campaigns")[0],
        calls_to(fake, "POST", "/3.0/campaigns")[0],
        calls_to(fake, "POST", "/3.0/campaigns/42694e9e57/actions/send")[0],
    )
    assert query(lookup)["list_id"] == "57afe96172"
    assert create.request.headers["Authorization"] == basic("civicpost", MC_KEY)
    assert json.loads(create.request.body) == {
        "type": "regular",
        "recipients": {"list_id": "57afe96172"},
        "settings": {
            "subject_line": "Splash pads open Saturday",
            "title": "Splash pads open Saturday [civicpost:k1]",
            "from_name": "City Parks",
            "reply_to": "parks@cityofexample.gov",
        },
    }
    content = json.loads(calls_to(fake, "PUT", "/3.0/campaigns/42694e9e57/content")[0].request.body)
    assert content == {"html": html_part(CONTENT, "civicpost:k1"), "plain_text": text_part(CONTENT)}
    assert send.request.body in (None, b"", "")
    assert (result.remote_id, result.permalink) == ("42694e9e57", "https://mailchi.mp/cityofexample/splash-pads")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, "mailchimp_error_401.json", AuthExpired),
        (403, "mailchimp_error_401.json", AuthExpired),
        (400, "mailchimp_error_400.json", PublishError),
        (429, "mailchimp_error_429.json", RateLimited),
        (500, "mailchimp_error_400.json", OutcomeUnknown),
    ],
)
def test_mailchimp_answers_to_the_send_are_classified(fake, status, body, expected):
    mailchimp_send_ok(fake)
    fake.replace(responses.POST, f"{MC}/campaigns/42694e9e57/actions/send", json=fixture(body), status=status)
    with pytest.raises(expected) as raised:
        adapter("mailchimp").publish(CONTENT, idempotency_key="k1")
    if expected is PublishError:
        assert raised.value.permanent is True
        assert "not ready to send" in raised.value.message


def test_mailchimp_finishes_a_draft_of_the_same_delivery_instead_of_creating_another(fake):
    draft = fixture("mailchimp_campaign_created.json")
    draft["settings"]["title"] = "Splash pads open Saturday [civicpost:k1]"
    mailchimp_send_ok(fake, campaigns=[draft])

    adapter("mailchimp").publish(CONTENT, idempotency_key="k1")

    assert calls_to(fake, "POST", "/3.0/campaigns") == []
    assert len(calls_to(fake, "POST", "/3.0/campaigns/42694e9e57/actions/send")) == 1


def test_mailchimp_a_sent_campaign_of_the_same_delivery_is_never_sent_again(fake):
    sent = fixture("mailchimp_campaign_created.json")
    sent.update(status="sent", settings={**sent["settings"], "title": "x [civicpost:k1]"})
    mailchimp_send_ok(fake, campaigns=[sent])

    result = adapter("mailchimp").publish(CONTENT, idempotency_key="k1")

    assert result.remote_id == "42694e9e57"
    assert len(fake.calls) == 1  # the lookup only


def test_a_mailchimp_key_names_its_data_centre():
    form = EmailBulletinForm(
        data={
            "display_name": "Parks news",
            "service": "mailchimp",
            "secret": "no-data-centre",
            "audience": "57afe96172",
            "from_name": "Parks",
            "reply_to": "parks@cityofexample.gov",
        }
    )
    assert not form.is_valid()
    assert "data centre" in str(form.errors["secret"])


# --- Listmonk ----------------------------------------------------------------------------------------------


def listmonk_send_ok(fake, *, results: list | None = None) -> None:
    fake.get(f"{LM}/api/campaigns", json={"data": {"results": results or [], "total": 0, "page": 1, "per_page": 50}})
    fake.post(f"{LM}/api/campaigns", json=fixture("listmonk_campaign_created.json"))
    running = fixture("listmonk_campaign_created.json")
    running["data"]["status"] = "running"
    fake.put(f"{LM}/api/campaigns/17/status", json=running)


def test_listmonk_creates_the_campaign_then_sets_it_running(fake):
    listmonk_send_ok(fake)

    result = adapter("listmonk").publish(CONTENT, idempotency_key="k1")

    assert query(calls_to(fake, "GET", "/api/campaigns")[0]) == {"query": "civicpost:k1", "per_page": "50"}
    create = calls_to(fake, "POST", "/api/campaigns")[0].request
    assert create.headers["Authorization"] == basic("civicpost", "lm-token-SECRET")
    assert json.loads(create.body) == {
        "name": "Splash pads open Saturday [civicpost:k1]",
        "subject": "Splash pads open Saturday",
        "lists": [3],
        "type": "regular",
        "content_type": "html",
        "body": html_part(CONTENT, "civicpost:k1"),
        "altbody": text_part(CONTENT),
        "messenger": "email",
    }
    status = calls_to(fake, "PUT", "/api/campaigns/17/status")[0].request
    assert json.loads(status.body) == {"status": "running"}
    assert result.remote_id == "17"


def test_listmonk_errors_are_classified(fake):
    listmonk_send_ok(fake)
    fake.replace(responses.POST, f"{LM}/api/campaigns", json=fixture("listmonk_error_400.json"), status=400)
    with pytest.raises(PublishError) as raised:
        adapter("listmonk").publish(CONTENT, idempotency_key="k1")
    assert raised.value.permanent and "Invalid list IDs" in raised.value.message
    fake.replace(responses.POST, f"{LM}/api/campaigns", body=requests.exceptions.ConnectTimeout())
    with pytest.raises(PublishError) as raised:
        adapter("listmonk").publish(CONTENT, idempotency_key="k1")
    assert raised.value.permanent is False


def test_a_listmonk_server_on_the_city_network_is_refused_without_a_request(fake, settings):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    channel = account("listmonk")
    channel.options["server_url"] = "https://intranet.city.example"
    with pytest.raises(AuthExpired):
        EmailBulletinAdapter(channel).publish(CONTENT, idempotency_key="k1")
    assert len(fake.calls) == 0


# --- GovDelivery -------------------------------------------------------------------------------------------


def test_govdelivery_sends_the_bulletin_xml_to_the_topic(fake):
    route = fake.post(f"{GD}/bulletins/send_now.xml", body=fixture("govdelivery_sent.xml"))

    result = adapter("govdelivery").publish(CONTENT, idempotency_key="k1")

    request = route.calls[0].request
    assert request.headers["Authorization"] == basic("api@cityofexample.gov", "gd-password-SECRET")
    assert request.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(request.body)  # noqa: S314  # nosec B314
    assert root.tag == "bulletin"
    assert root.findtext("subject") == "Splash pads open Saturday"
    assert root.findtext("body") == html_part(CONTENT, "civicpost:k1")
    assert [code.text for code in root.iter("code")] == ["CACITY_12"]
    assert root.find("topics").get("type") == "array"
    assert root.find("sms_body").get("nil") == "true"
    assert calls_to(fake, "GET", "/api/account/CACITY/bulletins/sent.xml") == []  # no lookup before a send
    assert result.remote_id == "7895129"


@pytest.mark.parametrize(
    ("status", "body", "expected", "words"),
    [
        (401, "govdelivery_error_403.xml", AuthExpired, ""),
        (403, "govdelivery_error_403.xml", AuthExpired, "Resource not available. (GD-12015)"),
        (422, "govdelivery_error_422.xml", PublishError, "Topics are invalid"),
        (502, "govdelivery_error_422.xml", OutcomeUnknown, ""),
    ],
)
def test_govdelivery_errors_are_classified(fake, status, body, expected, words):
    fake.post(f"{GD}/bulletins/send_now.xml", body=fixture(body), status=status)
    with pytest.raises(expected) as raised:
        adapter("govdelivery").publish(CONTENT, idempotency_key="k1")
    assert words in raised.value.message


def test_govdelivery_answers_with_a_dtd_are_not_parsed(fake):
    fake.post(f"{GD}/bulletins/send_now.xml", body='<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><bulletin/>')
    with pytest.raises(PublishError):
        adapter("govdelivery").publish(CONTENT, idempotency_key="k1")


# --- Connection check and the connect form -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "url", "body", "words"),
    [
        (
            "mailchimp",
            f"{MC}/lists/57afe96172",
            fixture("mailchimp_list.json"),
            "Mailchimp audience “Parks news” (5120",
        ),
        ("listmonk", f"{LM}/api/lists/3", fixture("listmonk_list.json"), "Listmonk list “Parks news” (812"),
        ("govdelivery", f"{GD}/topics/CACITY_12.xml", fixture("govdelivery_topic.xml"), "“Parks and Recreation News”"),
    ],
)
def test_check_connection_reads_the_list_or_topic(fake, service, url, body, words):
    if isinstance(body, dict):
        fake.get(url, json=body)
    else:
        fake.get(url, body=body)
    check = adapter(service).check_connection()
    assert check.ok and words in check.message
    fake.replace(responses.GET, url, json={"title": "API Key Invalid"}, status=401)
    assert not adapter(service).check_connection().ok


def admin_client(client, personas):
    from departments.models import Role
    from tests.factories import member

    client.force_login(member("ada", personas.parks, Role.ADMIN))
    return reverse("connections:platform", kwargs={"department_id": personas.parks.pk, "platform": "email_bulletin"})


def test_connecting_listmonk_checks_the_login_and_keeps_the_token_encrypted(fake, client, personas):
    fake.get(f"{LM}/api/lists/3", json=fixture("listmonk_list.json"))
    url = admin_client(client, personas)
    assert b"GovDelivery" in client.get(url).content

    response = client.post(
        url,
        {
            "display_name": "Parks news by e-mail",
            "service": "listmonk",
            "server_url": "https://listmonk.city.example/admin",
            "username": "civicpost",
            "secret": "lm-token-SECRET",
            "audience": "3",
        },
    )

    channel = Channel.objects.get(platform="email_bulletin")
    assert response.status_code == 302
    assert channel.credentials == {"secret": "lm-token-SECRET", "username": "civicpost"}
    assert channel.options["server_url"] == LM
    assert channel.account_handle == "Listmonk list “Parks news” (812 subscribers)"
    assert "lm-token-SECRET" not in raw_column("scheduler_channel", "credentials", channel.pk)
    assert b"lm-token-SECRET" not in client.get(response["Location"]).content
    assert calls_to(fake, "GET", "/api/lists/3")[0].request.headers["Authorization"] == basic(
        "civicpost", "lm-token-SECRET"
    )


def test_a_listmonk_address_on_the_city_network_is_refused(fake, client, personas, settings):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    with pytest.raises(ConnectError):
        FLOW.connect(
            {
                "service": "listmonk",
                "server_url": "https://intranet.city.example",
                "username": "u",
                "secret": "s",
                "audience": "3",
            }
        )
    assert len(fake.calls) == 0


def test_a_refused_login_connects_nothing_and_the_secret_is_not_echoed(fake, client, personas):
    fake.get(f"{MC}/lists/57afe96172", json=fixture("mailchimp_error_401.json"), status=401)
    url = admin_client(client, personas)
    response = client.post(
        url,
        {
            "display_name": "Parks news",
            "service": "mailchimp",
            "secret": MC_KEY,
            "audience": "57afe96172",
            "from_name": "City Parks",
            "reply_to": "parks@cityofexample.gov",
        },
    )
    assert response.status_code == 200
    assert b"did not accept the login" in response.content
    assert MC_KEY.encode() not in response.content
    assert not Channel.objects.filter(platform="email_bulletin").exists()


# --- Exactly once through the dispatcher, with the answer of the send dropped ------------------------------


@pytest.fixture
def channel_for(personas):
    def make(service: str) -> Channel:
        credentials, options = SERVICES[service]
        return ChannelFactory(
            department=personas.parks,
            platform="email_bulletin",
            display_name="Parks news",
            credentials=dict(credentials),
            options=dict(options),
        )

    return make


def unknown_delivery(personas, channel: Channel) -> Delivery:
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel])
    make_due(post)
    publishing.dispatch_tick(enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id))
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.UNKNOWN
    return delivery


def test_mailchimp_a_dropped_send_answer_is_found_and_never_sent_twice(fake, personas, channel_for):
    mailchimp_send_ok(fake)
    fake.replace(responses.POST, f"{MC}/campaigns/42694e9e57/actions/send", body=requests.exceptions.ReadTimeout())
    delivery = unknown_delivery(personas, channel_for("mailchimp"))
    set_attempt_started(delivery, ago=dt.timedelta(seconds=30))
    sent = fixture("mailchimp_campaign_created.json")
    sent.update(status="sending", settings={**sent["settings"], "title": f"x [civicpost:{delivery.idempotency_key}]"})
    fake.replace(responses.GET, f"{MC}/campaigns", json={"campaigns": [sent], "total_items": 1})

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    delivery.refresh_from_db()
    assert (delivery.remote_id, delivery.permalink) == ("42694e9e57", "https://mailchi.mp/cityofexample/splash-pads")
    assert len(calls_to(fake, "POST", "/3.0/campaigns")) == 1
    assert len(calls_to(fake, "POST", "/3.0/campaigns/42694e9e57/actions/send")) == 1


def test_mailchimp_a_dropped_create_answer_leaves_a_draft_that_is_finished_not_duplicated(fake, personas, channel_for):
    mailchimp_send_ok(fake)
    fake.replace(responses.POST, f"{MC}/campaigns", body=requests.exceptions.ReadTimeout())
    delivery = unknown_delivery(personas, channel_for("mailchimp"))
    draft = fixture("mailchimp_campaign_created.json")
    draft["settings"]["title"] = f"Splash [civicpost:{delivery.idempotency_key}]"
    fake.replace(responses.GET, f"{MC}/campaigns", json={"campaigns": [draft], "total_items": 1})

    # Moments after the send a draft proves nothing yet; after the settle time it is finished.
    set_attempt_started(delivery, ago=dt.timedelta(seconds=20))
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    set_attempt_started(delivery, ago=dt.timedelta(minutes=5))
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    make_retry_due(delivery)
    publishing.dispatch_tick(enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id))

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.remote_id == "42694e9e57"
    assert len(calls_to(fake, "POST", "/3.0/campaigns")) == 1  # the dropped one only
    assert len(calls_to(fake, "POST", "/3.0/campaigns/42694e9e57/actions/send")) == 1


def test_listmonk_a_dropped_start_answer_is_found_and_never_sent_twice(fake, personas, channel_for):
    listmonk_send_ok(fake)
    fake.replace(responses.PUT, f"{LM}/api/campaigns/17/status", body=requests.exceptions.ReadTimeout())
    delivery = unknown_delivery(personas, channel_for("listmonk"))
    set_attempt_started(delivery, ago=dt.timedelta(seconds=30))
    running = {**fixture("listmonk_campaign_created.json")["data"], "status": "running"}
    running["name"] = f"Splash pads open Saturday [civicpost:{delivery.idempotency_key}]"
    fake.replace(responses.GET, f"{LM}/api/campaigns", json={"data": {"results": [running], "total": 1}})

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    assert Delivery.objects.get(pk=delivery.pk).remote_id == "17"
    assert len(calls_to(fake, "POST", "/api/campaigns")) == 1
    assert len(calls_to(fake, "PUT", "/api/campaigns/17/status")) == 1


def test_govdelivery_a_dropped_send_answer_is_found_by_the_marker_and_never_sent_twice(fake, personas, channel_for):
    fake.post(f"{GD}/bulletins/send_now.xml", body=requests.exceptions.ReadTimeout())
    delivery = unknown_delivery(personas, channel_for("govdelivery"))
    set_attempt_started(delivery, ago=dt.timedelta(seconds=30))
    subject = DEFAULT_TEXT
    fake.get(
        f"{GD}/bulletins/sent.xml",
        body=(
            "<bulletins>"
            f"<bulletin><subject>{subject}</subject><bulletin-uri>/x/7895130.xml</bulletin-uri>"
            "<to-param>7895130</to-param></bulletin>"
            f"<bulletin><subject>{subject}</subject><bulletin-uri>/x/7895129.xml</bulletin-uri>"
            "<to-param>7895129</to-param></bulletin>"
            "<bulletin><subject>Leaf pickup</subject><to-param>7895000</to-param></bulletin>"
            "</bulletins>"
        ),
    )
    # The newer bulletin with the same subject was another send (a different marker); ours is the older one.
    fake.get(f"{GD}/bulletins/7895130.xml", body="<bulletin><body>&lt;!-- civicpost:other --&gt;</body></bulletin>")
    fake.get(
        f"{GD}/bulletins/7895129.xml",
        body=f"<bulletin><body>&lt;!-- civicpost:{delivery.idempotency_key} --&gt; ...</body></bulletin>",
    )

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    assert Delivery.objects.get(pk=delivery.pk).remote_id == "7895129"
    assert len(calls_to(fake, "POST", "/api/account/CACITY/bulletins/send_now.xml")) == 1
    assert calls_to(fake, "GET", "/api/account/CACITY/bulletins/7895000.xml") == []


def test_a_bulletin_proved_absent_after_the_settle_time_is_sent_once_more(fake, personas, channel_for):
    fake.post(f"{GD}/bulletins/send_now.xml", body=requests.exceptions.ReadTimeout())
    delivery = unknown_delivery(personas, channel_for("govdelivery"))
    fake.get(f"{GD}/bulletins/sent.xml", body="<bulletins></bulletins>")
    set_attempt_started(delivery, ago=dt.timedelta(seconds=20))
    with pytest.raises(CheckAgainLater):
        adapter("govdelivery").reconcile(
            PostContent(text=DEFAULT_TEXT),
            idempotency_key=str(delivery.idempotency_key),
            sent_at=delivery.attempt_log.get().started_at,
        )
    set_attempt_started(delivery, ago=dt.timedelta(minutes=5))
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    fake.replace(responses.POST, f"{GD}/bulletins/send_now.xml", body=fixture("govdelivery_sent.xml"))
    make_retry_due(delivery)
    publishing.dispatch_tick(enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, "7895129")


def test_an_unreadable_or_busy_lookup_means_looking_again_later(fake):
    sent_at = dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=5)
    fake.get(f"{MC}/campaigns", body="<html>maintenance</html>")
    with pytest.raises(CheckAgainLater):
        adapter("mailchimp").reconcile(CONTENT, idempotency_key="k1", sent_at=sent_at)
    fake.replace(responses.GET, f"{MC}/campaigns", json=fixture("mailchimp_error_429.json"), status=429)
    with pytest.raises(CheckAgainLater):
        adapter("mailchimp").reconcile(CONTENT, idempotency_key="k1", sent_at=sent_at)
    fake.replace(responses.GET, f"{MC}/campaigns", body="<html>maintenance</html>")
    with pytest.raises(PublishError) as raised:
        adapter("mailchimp").publish(CONTENT, idempotency_key="k1")
    assert raised.value.permanent is False
    assert calls_to(fake, "POST", "/3.0/campaigns") == []
