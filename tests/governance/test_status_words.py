"""What a post's badges say after an edit withdrew its deliveries, and while a crisis hold holds it back:
never "Cancelled" for a post that is only waiting to be approved again, never "Scheduled — goes out …"
for a post the hold keeps back, and the crisis page lists what the hold in effect is holding."""

import datetime as dt
import re

from django.test import Client
from django.urls import reverse

from governance.services import crisis_hold_start
from scheduler import services
from scheduler.models import DeliveryStatus, Post, PostStatus
from tests.scheduler import approved_post, make_due


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def badges(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r'class="civic-status[^"]*">([^<]*)<', html)]


def edited_after_approval(city) -> Post:  # noqa: ANN001
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    services.post_update(
        post=post, user=city.alice, text=post.text + " Bring water.", link="", channels=[city.parks_channel],
        due_at=post.due_at,
    )  # fmt: skip
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert set(post.deliveries.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    return post


def test_a_post_edited_after_approval_says_withdrawn_waiting_for_approval_on_its_page(city):
    post = edited_after_approval(city)

    html = client_for(city.alice).get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()

    assert "Withdrawn, waiting for approval" in badges(html)
    assert "Cancelled" not in badges(html)


def test_a_post_edited_after_approval_says_withdrawn_waiting_for_approval_on_the_dashboard(city):
    edited_after_approval(city)

    html = client_for(city.alice).get(reverse("scheduler:dashboard")).content.decode()

    assert "Parks on Sandbox: " in html
    assert "Withdrawn, waiting for approval" in badges(html)
    assert "Cancelled" not in badges(html)


def test_a_cancelled_post_still_says_cancelled(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    services.post_cancel(post=post, user=city.alice)

    html = client_for(city.alice).get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()

    assert "Cancelled" in badges(html)
    assert "Withdrawn, waiting for approval" not in badges(html)


def test_a_post_held_by_a_crisis_past_its_time_says_held_not_scheduled(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    crisis_hold_start(user=city.dana, reason="Storm")
    make_due(post, ago=dt.timedelta(minutes=30))

    client = client_for(city.alice)
    page = client.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    table = client.get(reverse("scheduler:post_deliveries", args=[post.pk])).content.decode()
    dashboard = client.get(reverse("scheduler:dashboard")).content.decode()

    for html in (page, table, dashboard):
        assert "Held" in badges(html)
        assert "Scheduled" not in badges(html)
    assert "Goes out" not in table
    assert "it goes out only when the hold ends" in table
    assert "Approved, held" in badges(page)


def test_the_crisis_page_lists_the_posts_the_hold_in_effect_is_holding(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    crisis_hold_start(user=city.dana, reason="Storm")

    html = client_for(city.dana).get(reverse("governance:crisis")).content.decode()

    assert "No post is kept on hold." not in html
    assert "It is holding 1 approved post:" in html
    assert reverse("scheduler:post_detail", args=[post.pk]) in html


def test_the_crisis_page_says_no_post_is_on_hold_when_none_is(city):
    html = client_for(city.dana).get(reverse("governance:crisis")).content.decode()

    assert "No post is kept on hold." in html
