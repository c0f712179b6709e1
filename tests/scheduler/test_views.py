"""The core loop through HTTP: compose, edit, submit, review, cancel, publish, and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civicpost.timelabels import format_in_zone
from scheduler.models import Delivery, DeliveryStatus, Post, PostStatus, SandboxPost
from tests.factories import PostFactory
from tests.scheduler import make_due, set_mode, tick

# The dispatcher reads the database clock, so these tests run on the real clock and move rows instead.
IN_A_MONTH = (timezone.now() + dt.timedelta(days=30)).date()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def compose_data(personas, **overrides) -> dict:
    data = {
        "department": personas.parks.pk,
        "text": "Splash pads open Saturday at 10 a.m.",
        "link": "https://www.example.gov/parks",
        "channels": [personas.parks_channel.pk],
        "publish_date": IN_A_MONTH.isoformat(),
        "publish_time": "10:00",
    }
    data.update(overrides)
    return data


def edit_data(post: Post, **overrides) -> dict:
    local = post.due_at.astimezone(post.department.zone)
    data = {
        "text": post.text,
        "link": post.link,
        "channels": [channel.pk for channel in post.channels.all()],
        "publish_date": local.strftime("%Y-%m-%d"),
        "publish_time": local.strftime("%H:%M"),
    }
    data.update(overrides)
    return data


def make_post(personas, *, status: str = PostStatus.DRAFT, author=None, department=None, channel=None) -> Post:
    department = department or personas.parks
    channel = channel or (personas.parks_channel if department == personas.parks else personas.library_channel)
    post = PostFactory(
        department=department,
        author=author or personas.alice,
        channels=[channel],
        due_at=timezone.now() + dt.timedelta(days=3),
        link="https://www.example.gov/parks",
    )
    if status != PostStatus.DRAFT:
        from scheduler.services import post_approve, post_submit

        post_submit(post=post, user=post.author)
        if status == PostStatus.APPROVED:
            approver = personas.bob if department == personas.parks else personas.dana
            post_approve(post=post, user=approver)
    post.refresh_from_db()
    return post


def publish_now(post: Post) -> None:
    """Makes the post's deliveries due and runs one dispatcher tick with eager tasks."""
    make_due(post)
    tick()


# --- Compose, edit, submit --------------------------------------------------------------------------


def test_compose_page_preselects_the_only_department_and_names_its_time_zone(personas):
    response = client_for(personas.alice).get(reverse("scheduler:post_create"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'<option value="{personas.parks.pk}"[^>]*selected', html)
    assert "America/Chicago" in html
    assert "Parks on Sandbox" in html
    assert "Library on Sandbox" not in html
    assert "Save draft" in html and "Save and submit for approval" in html


def test_editor_saves_a_draft_edits_it_and_submits_it(personas):
    alice = client_for(personas.alice)
    response = alice.post(reverse("scheduler:post_create"), compose_data(personas, save="draft"))
    post = Post.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduler:post_detail", args=[post.pk])
    assert post.status == PostStatus.DRAFT
    assert post.author == personas.alice
    # 10:00 on the wall clocks of Chicago, whatever the offset is that day.
    expected = dt.datetime.combine(IN_A_MONTH, dt.time(10, 0), tzinfo=personas.parks.zone)
    assert post.due_at == expected
    assert post.due_at.astimezone(dt.UTC).hour in (15, 16)

    detail = alice.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Splash pads open Saturday" in detail
    assert format_in_zone(expected, personas.parks) in detail
    assert "10:00 AM C" in detail and "(UTC\N{MINUS SIGN}0" in detail
    assert "Draft" in detail

    edit_page = alice.get(reverse("scheduler:post_edit", args=[post.pk])).content.decode()
    assert f'value="{IN_A_MONTH.isoformat()}"' in edit_page and 'value="10:00"' in edit_page

    response = alice.post(
        reverse("scheduler:post_edit", args=[post.pk]), edit_data(post, text="Splash pads open Sunday.", save="draft")
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.text == "Splash pads open Sunday."
    assert post.status == PostStatus.DRAFT

    response = alice.post(reverse("scheduler:post_submit", args=[post.pk]))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    page = alice.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Your post was sent for approval." in page
    assert "Submitted for approval" in page


def test_save_and_submit_in_one_step(personas):
    alice = client_for(personas.alice)
    response = alice.post(reverse("scheduler:post_create"), compose_data(personas, submit="submit"))
    assert response.status_code == 302
    assert Post.objects.get().status == PostStatus.SUBMITTED


def test_a_refused_submission_keeps_the_input_and_leaves_no_draft(personas):
    too_long = "x" * 600  # the Sandbox takes 500 characters
    response = client_for(personas.alice).post(
        reverse("scheduler:post_create"), compose_data(personas, text=too_long, submit="submit")
    )
    assert response.status_code == 200
    assert not Post.objects.exists()
    html = response.content.decode()
    assert "Please check what you entered" in html
    assert too_long in html


def test_submitting_an_invalid_draft_shows_why(personas):
    post = make_post(personas)
    post.channels.clear()
    alice = client_for(personas.alice)
    response = alice.post(reverse("scheduler:post_submit", args=[post.pk]), follow=True)
    assert "Choose at least one channel." in response.content.decode()
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT


# --- Review ---------------------------------------------------------------------------------------


def test_approver_sees_the_queue_and_approves(personas):
    post = make_post(personas, status=PostStatus.SUBMITTED)
    bob = client_for(personas.bob)
    queue = bob.get(reverse("scheduler:approval_queue")).content.decode()
    assert reverse("scheduler:post_detail", args=[post.pk]) in queue
    dashboard = bob.get(reverse("scheduler:dashboard")).content.decode()
    assert re.search(r'civic-count">1<span class="usa-sr-only"> waiting', dashboard)

    detail = bob.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Approve" in detail and "Request changes" in detail

    response = bob.post(reverse("scheduler:post_approve", args=[post.pk]), {"comment": "Looks good."})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    assert post.deliveries.get().status == DeliveryStatus.SCHEDULED
    page = bob.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Looks good." in page
    assert "Scheduled" in page
    assert post.pk not in [p.pk for p in bob.get(reverse("scheduler:approval_queue")).context["posts"]]


def test_communications_manager_approves_for_every_department(personas):
    post = make_post(personas, status=PostStatus.SUBMITTED)
    dana = client_for(personas.dana)
    assert post in dana.get(reverse("scheduler:approval_queue")).context["posts"]
    dana.post(reverse("scheduler:post_approve", args=[post.pk]))
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED


def test_request_changes_needs_a_comment_and_the_author_sees_it(personas):
    post = make_post(personas, status=PostStatus.SUBMITTED)
    bob = client_for(personas.bob)
    response = bob.post(reverse("scheduler:post_request_changes", args=[post.pk]), {"comment": "  "})
    assert response.status_code == 400
    assert "Say what should change" in response.content.decode()
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED

    bob.post(reverse("scheduler:post_request_changes", args=[post.pk]), {"comment": "Add the park hours."})
    post.refresh_from_db()
    assert post.status == PostStatus.CHANGES_REQUESTED
    page = client_for(personas.alice).get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Add the park hours." in page
    assert "Changes requested" in page
    assert "Submit for approval" in page


def test_author_cannot_approve_their_own_post(personas):
    post = make_post(personas, status=PostStatus.SUBMITTED)
    alice = client_for(personas.alice)
    page = alice.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Request changes" not in page
    assert reverse("scheduler:post_approve", args=[post.pk]) not in page
    assert alice.post(reverse("scheduler:post_approve", args=[post.pk])).status_code == 404
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED


def test_an_approver_cannot_approve_their_own_post_either(personas):
    post = make_post(personas, status=PostStatus.SUBMITTED, author=personas.bob)
    bob = client_for(personas.bob)
    assert post not in bob.get(reverse("scheduler:approval_queue")).context["posts"]
    page = bob.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert reverse("scheduler:post_approve", args=[post.pk]) not in page
    assert "another approver must review it" in page
    response = bob.post(reverse("scheduler:post_approve", args=[post.pk]))
    assert response.status_code == 403  # a deny (issue 6: each deny a 404 or 403), with the reason on the page
    assert "Nobody approves their own post" in response.content.decode()
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED


# --- Cancel and edit after approval ---------------------------------------------------------------


def test_cancel_an_approved_post(personas):
    post = make_post(personas, status=PostStatus.APPROVED)
    alice = client_for(personas.alice)
    page = alice.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Yes, cancel this post" in page
    response = alice.post(reverse("scheduler:post_cancel", args=[post.pk]), {"comment": "Event moved."})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.CANCELLED
    assert post.deliveries.get().status == DeliveryStatus.CANCELLED
    page = alice.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Event moved." in page
    assert "Yes, cancel this post" not in page
    assert "Edit post" not in page


def test_editing_an_approved_post_sends_it_back_for_approval(personas):
    post = make_post(personas, status=PostStatus.APPROVED)
    alice = client_for(personas.alice)
    edit_page = alice.get(reverse("scheduler:post_edit", args=[post.pk])).content.decode()
    assert "This post is already approved" in edit_page
    assert "Save and send back for approval" in edit_page

    response = alice.post(reverse("scheduler:post_edit", args=[post.pk]), edit_data(post, text="New hours: 9 a.m."))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert post.current_approval is None
    assert post.deliveries.get().status == DeliveryStatus.CANCELLED
    assert post in client_for(personas.bob).get(reverse("scheduler:approval_queue")).context["posts"]
    page = alice.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "must be approved again" in page


def test_a_published_post_cannot_be_edited(personas):
    post = make_post(personas, status=PostStatus.APPROVED)
    publish_now(post)
    response = client_for(personas.alice).get(reverse("scheduler:post_edit", args=[post.pk]), follow=True)
    assert "can no longer be edited" in response.content.decode()


# --- Publishing shows up --------------------------------------------------------------------------


def test_published_post_shows_the_link_and_appears_on_the_sandbox_timeline(personas):
    post = make_post(personas, status=PostStatus.APPROVED)
    alice = client_for(personas.alice)
    partial = alice.get(reverse("scheduler:post_deliveries", args=[post.pk])).content.decode()
    assert 'hx-trigger="every 5s"' in partial
    assert "Scheduled" in partial

    publish_now(post)

    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    sandbox_post = SandboxPost.objects.get()
    partial = alice.get(reverse("scheduler:post_deliveries", args=[post.pk])).content.decode()
    assert "hx-trigger" not in partial
    assert "Published" in partial
    assert f"#sandbox-post-{sandbox_post.pk}" in partial
    timeline = alice.get(reverse("scheduler:sandbox_timeline")).content.decode()
    assert f'id="sandbox-post-{sandbox_post.pk}"' in timeline
    assert post.text in timeline
    assert "Parks on Sandbox" in timeline


def test_a_failed_delivery_explains_why_in_words(personas):
    set_mode(personas.parks_channel, "fail")
    post = make_post(personas, status=PostStatus.APPROVED)
    publish_now(post)
    page = client_for(personas.alice).get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Failed" in page
    assert "The sandbox rejected this post" in page


def test_a_rate_limited_delivery_says_it_is_waiting_to_retry(personas):
    set_mode(personas.parks_channel, "rate_limit")
    post = make_post(personas, status=PostStatus.APPROVED)
    publish_now(post)
    page = client_for(personas.alice).get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Waiting to retry" in page
    assert "Next try" in page


def test_an_unconfirmed_delivery_asks_for_attention_in_words(personas):
    post = make_post(personas, status=PostStatus.APPROVED)
    # The outcome itself is the publisher's business (tests/scheduler/test_publishing.py); here only the words.
    Delivery.objects.filter(post=post).update(status=DeliveryStatus.NEEDS_ATTENTION, failure_message="")
    page = client_for(personas.alice).get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Needs attention" in page
    assert "Sent, but not confirmed — check the account before posting again." in page
    assert 'hx-trigger="every 5s"' not in page


# --- Department scoping ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [PostStatus.DRAFT, PostStatus.SUBMITTED])
def test_another_departments_editor_gets_404_for_unapproved_posts(personas, status):
    post = make_post(personas, status=status)
    carol = client_for(personas.carol)
    for name in ("post_detail", "post_edit", "post_deliveries"):
        assert carol.get(reverse(f"scheduler:{name}", args=[post.pk])).status_code == 404, name
    for name in ("post_edit", "post_submit", "post_cancel", "post_approve", "post_request_changes"):
        assert carol.post(reverse(f"scheduler:{name}", args=[post.pk]), {"comment": "x"}).status_code == 404, name
    post.refresh_from_db()
    assert post.status == status
    assert post.text == PostFactory.text


def test_another_department_sees_an_approved_post_read_only(personas):
    post = make_post(personas, status=PostStatus.APPROVED)
    carol = client_for(personas.carol)
    response = carol.get(reverse("scheduler:post_detail", args=[post.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert post.text in page
    assert "You can read this post. Only members of Parks and Recreation can change it." in page
    for forbidden in ("Edit post", "Yes, cancel this post", "Request changes", "Submit for approval"):
        assert forbidden not in page
    for name in ("post_edit",):
        assert carol.get(reverse(f"scheduler:{name}", args=[post.pk])).status_code == 404
    for name in ("post_edit", "post_submit", "post_cancel", "post_approve", "post_request_changes"):
        assert carol.post(reverse(f"scheduler:{name}", args=[post.pk]), {"comment": "x"}).status_code == 404, name
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED


def test_dashboard_groups_own_posts_and_shows_other_departments_read_only(personas):
    draft = make_post(personas)
    draft.text = "Parks draft nobody else sees"
    draft.save()
    approved = make_post(personas, status=PostStatus.APPROVED)
    library_draft = make_post(personas, author=personas.carol, department=personas.library)
    library_draft.text = "Library draft"
    library_draft.save()

    alice_page = client_for(personas.alice).get(reverse("scheduler:dashboard"))
    groups = {key: posts for key, _title, posts in alice_page.context["groups"]}
    assert groups["drafts"] == [draft]
    assert groups["scheduled"] == [approved]
    assert "Library draft" not in alice_page.content.decode()

    carol_page = client_for(personas.carol).get(reverse("scheduler:dashboard"))
    assert carol_page.context["other_posts"] == [approved]
    carol_html = carol_page.content.decode()
    assert "Parks draft nobody else sees" not in carol_html
    assert "Library draft" in carol_html
    assert "Other departments (read only)" in carol_html


def test_channels_page_lists_only_own_departments_channels(personas):
    page = client_for(personas.alice).get(reverse("scheduler:channel_list")).content.decode()
    assert "Parks on Sandbox" in page
    assert "Library on Sandbox" not in page
    assert "Connected" in page


def test_pages_need_a_sign_in(personas, client):
    post = make_post(personas, status=PostStatus.APPROVED)
    for url in (
        reverse("scheduler:dashboard"),
        reverse("scheduler:post_create"),
        reverse("scheduler:post_detail", args=[post.pk]),
        reverse("scheduler:approval_queue"),
        reverse("scheduler:sandbox_timeline"),
        reverse("scheduler:channel_list"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


def test_sign_in_page_uses_the_site_layout(db, client):
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in to CivicPost" in page
    assert '<main id="main-content"' in page
    assert 'for="id_login"' in page and 'for="id_password"' in page
    assert "sign up" not in page.lower()


def test_action_views_refuse_get(personas):
    post = make_post(personas, status=PostStatus.SUBMITTED)
    bob = client_for(personas.bob)
    for name in ("post_submit", "post_approve", "post_request_changes", "post_cancel"):
        assert bob.get(reverse(f"scheduler:{name}", args=[post.pk])).status_code == 405, name


def test_pages_run_a_fixed_number_of_queries(personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(url: str) -> int:
        client = client_for(personas.bob)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    make_post(personas, status=PostStatus.APPROVED)
    make_post(personas, author=personas.carol, department=personas.library, status=PostStatus.APPROVED)
    submitted = make_post(personas, status=PostStatus.SUBMITTED)
    urls = [
        reverse("scheduler:dashboard"),
        reverse("scheduler:approval_queue"),
        reverse("scheduler:post_detail", args=[submitted.pk]),
    ]
    before = [queries_for(url) for url in urls]
    for _ in range(4):
        make_post(personas, status=PostStatus.APPROVED)
        make_post(personas, status=PostStatus.SUBMITTED)
        make_post(personas, author=personas.carol, department=personas.library, status=PostStatus.APPROVED)
    assert [queries_for(url) for url in urls] == before
