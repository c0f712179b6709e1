import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduler import publishing
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("n", [1, 3])
def test_explore(personas, n):
    channels = [personas.parks_channel] + [ChannelFactory(department=personas.parks) for _ in range(n - 1)]
    post = approved_post(author=personas.alice, approver=personas.bob, channels=channels)
    make_due(post)
    enqueued = []
    with CaptureQueriesContext(connection) as tick_q:
        publishing.dispatch_tick(enqueue=enqueued.append)
    with CaptureQueriesContext(connection) as pub_q:
        for i in enqueued:
            assert publishing.delivery_publish(delivery_id=i) == "published"
    print(f"\nN={n} tick={len(tick_q)} publish={len(pub_q)}")
    for q in tick_q.captured_queries:
        print("  T", q["sql"][:220])
    for q in pub_q.captured_queries:
        print("  P", q["sql"][:220])
