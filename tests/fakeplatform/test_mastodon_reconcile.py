"""Mastodon reconcile looks for the status on the account before any resend, through the real adapter and the
publishing service against the fake platform server, with a server that honours Idempotency-Key and with one
that ignores it (issue 11 item 18).

The chaos run's duplicates: against a Mastodon-compatible server that ignores the header, every dropped answer
was "replayed" with the same key, which that server took as a new status."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scheduler import publishing
from scheduler.adapters.base import ChannelAccount, CheckAgainLater, OutcomeUnknown, PostContent
from scheduler.adapters.mastodon import adapter as mastodon_module
from scheduler.adapters.mastodon.adapter import MastodonAdapter, instance_cache_key
from scheduler.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.server import _iso_z, _numeric_id
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due

pytestmark = pytest.mark.django_db

TOKEN = "mastodon-token-parks"
SERVERS = pytest.mark.parametrize("honours_key", [True, False], ids=["honours-idempotency-key", "ignores-it"])
# Far enough back that the settle time has passed.
AGE = dt.timedelta(minutes=5)


@pytest.fixture
def fake():
    with FakePlatform(seed=18) as server:
        yield server


@pytest.fixture
def mastodon_settings(fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    from django.core.cache import cache

    cache.delete(instance_cache_key(fake.url))
    yield settings
    cache.delete(instance_cache_key(fake.url))


@pytest.fixture
def channel(personas, fake: FakePlatform, mastodon_settings) -> Channel:  # noqa: ANN001
    return ChannelFactory(
        department=personas.parks,
        platform="mastodon",
        display_name="Parks on Mastodon",
        account_handle="@parks@social.city.example",
        credentials={"access_token": TOKEN},
        options={"instance_url": fake.url, "max_characters": 500},
    )


def make_adapter(fake: FakePlatform, **credentials) -> MastodonAdapter:  # noqa: ANN003
    return MastodonAdapter(
        ChannelAccount(
            channel_id=0,
            display_name="Parks",
            credentials={"access_token": TOKEN, **credentials},
            options={"instance_url": fake.url, "max_characters": 500},
        )
    )


def age(fake: FakePlatform, delivery: Delivery | None = None, by: dt.timedelta = AGE) -> None:
    """As if the sends (the fake's statuses and our attempts) happened `by` earlier."""
    for entry in fake.ledger.find(platform="mastodon"):
        entry.received_at -= by.total_seconds()
        entry.received_iso = _iso_z(dt.datetime.fromtimestamp(entry.received_at, dt.UTC))
    if delivery is not None:
        for attempt in DeliveryAttempt.objects.filter(delivery=delivery):
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(started_at=attempt.started_at - by)


def claimed(personas, channel: Channel) -> Delivery:  # noqa: ANN001
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel])
    make_due(post)
    publishing.deliveries_claim_due()
    return Delivery.objects.get(post=post)


@SERVERS
def test_a_dropped_answer_is_found_on_the_account_and_never_posted_twice(fake, personas, channel, honours_key) -> None:  # noqa: ANN001
    fake.configure(platform="mastodon", honour_idempotency_key=honours_key)
    delivery = claimed(personas, channel)
    fake.configure(platform="mastodon", script=["drop"])  # the status is created, the answer is lost

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    age(fake, delivery)
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    [entry] = fake.ledger.find(platform="mastodon")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, entry.remote_id)
    assert entry.text == DEFAULT_TEXT
    assert fake.stats["mastodon:idempotent_replay"] == 0


@SERVERS
def test_a_request_that_never_arrived_is_sent_again_once_proved_absent(fake, personas, channel, honours_key) -> None:  # noqa: ANN001
    fake.configure(platform="mastodon", honour_idempotency_key=honours_key)
    delivery = claimed(personas, channel)
    fake.configure(platform="mastodon", script=["server_error"])  # a 5xx after sending: unknown, nothing stored
    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    age(fake, delivery)

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="mastodon")
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, entry.remote_id)


def test_absence_is_not_believed_until_the_settle_time_has_passed(fake, mastodon_settings) -> None:  # noqa: ANN001
    adapter = make_adapter(fake)

    with pytest.raises(CheckAgainLater) as raised:
        adapter.reconcile(PostContent(text="Never sent"), idempotency_key="k", sent_at=timezone.now())
    assert 15 <= raised.value.retry_after <= 120
    assert adapter.reconcile(PostContent(text="Never sent"), idempotency_key="k", sent_at=timezone.now() - AGE) is None


@pytest.mark.parametrize("page_size", [40, 10])
def test_reconcile_pages_back_past_newer_posts_to_the_first_attempt_that_may_have_arrived(
    fake, mastodon_settings, monkeypatch, page_size
) -> None:  # noqa: ANN001
    """The first (dropped) attempt was long before the latest one; 45 newer statuses sit in between."""
    monkeypatch.setattr(mastodon_module, "RECONCILE_PAGE_SIZE", page_size)
    fake.configure(platform="mastodon", honour_idempotency_key=False)
    adapter = make_adapter(fake, account_id=_numeric_id(f"mastodon:{TOKEN}"))
    original = PostContent(text="Water main repair on Elm Street: expect low pressure until 6 p.m.")
    fake.configure(platform="mastodon", script=["drop"])
    first_sent_at = timezone.now()
    with pytest.raises(OutcomeUnknown):
        adapter.publish(original, idempotency_key="original")
    age(fake, by=dt.timedelta(minutes=40))
    for number in range(45):
        adapter.publish(PostContent(text=f"Update {number}: pools open late."), idempotency_key=f"n{number}")
    age(fake, by=AGE)
    first_sent_at -= dt.timedelta(minutes=40) + AGE
    reads_before = fake.stats["mastodon:account_statuses_read"]

    found = adapter.reconcile(
        original, idempotency_key="original", sent_at=timezone.now() - AGE, first_sent_at=first_sent_at
    )

    [entry] = [e for e in fake.ledger.find(platform="mastodon") if e.text == original.text]
    assert found is not None, "the status is on the account: None here means a second post"
    assert found.remote_id == entry.remote_id
    # 46 statuses newest first, then one empty page that shows the window was read to its start.
    assert fake.stats["mastodon:account_statuses_read"] - reads_before == (3 if page_size == 40 else 6)


def test_a_status_with_the_same_words_but_other_text_is_not_taken_for_ours(fake, mastodon_settings) -> None:  # noqa: ANN001
    """Matched on the exact text (the status source), not on the rendered HTML: a mention of another server's
    account renders as @user, and "@parks" is not "@parks@other.example"."""
    adapter = make_adapter(fake)
    adapter.publish(PostContent(text="Thanks @parks for the cleanup"), idempotency_key="a")
    age(fake)

    absent = adapter.reconcile(
        PostContent(text="Thanks @parks@other.example for the cleanup"),
        idempotency_key="b",
        sent_at=timezone.now() - AGE,
    )

    assert absent is None


def test_a_window_busier_than_the_page_cap_goes_to_a_person(fake, mastodon_settings, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(mastodon_module, "RECONCILE_PAGE_SIZE", 5)
    monkeypatch.setattr(mastodon_module, "RECONCILE_MAX_PAGES", 2)
    adapter = make_adapter(fake)
    for number in range(12):
        adapter.publish(PostContent(text=f"Update {number}"), idempotency_key=f"n{number}")
    age(fake)

    with pytest.raises(OutcomeUnknown, match="check the account before posting again") as raised:
        adapter.reconcile(PostContent(text="Lost"), idempotency_key="k", sent_at=timezone.now() - AGE)
    assert not isinstance(raised.value, CheckAgainLater)


def test_a_passing_failure_while_looking_means_look_again_later(fake, mastodon_settings) -> None:  # noqa: ANN001
    fake.configure(platform="mastodon", faults_on_reads=True, script=["server_error"])

    with pytest.raises(CheckAgainLater):
        make_adapter(fake).reconcile(PostContent(text="Lost"), idempotency_key="k", sent_at=timezone.now() - AGE)
