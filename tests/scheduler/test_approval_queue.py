"""The approval queue (issue 19): what it shows inline, deciding on one or several posts from the list (each
post and each step recorded through the one-post approval services, each post checked on its own), who may,
two-step verification and re-authentication exactly as on the post page, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from departments.models import ApprovalStep, Role
from medialibrary import services as media_services
from medialibrary.models import PostMedia
from scheduler.models import ApprovalVote, Post, PostApproval, PostStatus
from tests.factories import member
from tests.governance.city import city  # noqa: F401 - the fixture
from tests.medialibrary.helpers import image_bytes, upload
from tests.scheduler import submitted_post

pytestmark = pytest.mark.django_db

QUEUE = reverse("scheduler:approval_queue")
DECIDE = reverse("scheduler:approval_decide")


def signed_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def waiting(city, count: int, *, author=None, hours: int = 24):  # noqa: ANN001, ANN201, F811
    return [
        submitted_post(
            author=author or city.alice,
            channels=[city.parks_channel],
            text=f"Pool {n} opens at nine on Saturday.",
            due_in=dt.timedelta(hours=hours + 3 * n),
        )
        for n in range(count)
    ]


def two_step_policy(department) -> None:  # noqa: ANN001
    ApprovalStep.objects.create(department=department, name="Review", position=1)
    ApprovalStep.objects.create(
        department=department,
        name="Communications",
        position=2,
        department_approvers=False,
        communications_managers=True,
    )


def approve(client: Client, posts: list[Post], **extra: str):  # noqa: ANN201
    return client.post(DECIDE, {"post": [p.pk for p in posts], "approve_selected": "1", "confirm": "1", **extra})


# --- Deciding on several posts ------------------------------------------------------------------------


def test_several_posts_approved_at_once_are_each_approved_and_scheduled(city):  # noqa: F811
    posts = waiting(city, 3)
    response = approve(signed_in(city.bob), posts, comment="Fine by me.")
    assert response.status_code == 302
    assert response["Location"] == QUEUE
    for post in posts:
        post.refresh_from_db()
        assert post.status == PostStatus.APPROVED
        approval = PostApproval.objects.get(post=post)
        assert approval.approved_by == city.bob
        assert post.deliveries.count() == 1
        assert AuditEvent.objects.filter(action=AuditAction.POST_APPROVED, target_id=str(post.pk)).count() == 1
    assert ApprovalVote.objects.filter(voter=city.bob, comment="Fine by me.").count() == 3


def test_bulk_approval_records_a_vote_per_post_and_per_step(city):  # noqa: F811
    two_step_policy(city.parks)
    posts = waiting(city, 3)
    approve(signed_in(city.bob), posts)
    for post in posts:
        post.refresh_from_db()
        assert post.status == PostStatus.SUBMITTED  # step 2 waits
        assert list(ApprovalVote.objects.filter(post=post).values_list("step_number", "voter_id")) == [(1, city.bob.pk)]
        assert AuditEvent.objects.filter(action=AuditAction.STEP_APPROVED, target_id=str(post.pk)).count() == 1
    # Bob already approved step 1: the queue no longer offers them, and a second try is refused.
    assert "Pool 0" not in signed_in(city.bob).get(QUEUE).content.decode()
    again = approve(signed_in(city.bob), posts[:1])
    assert again.status_code == 302
    assert ApprovalVote.objects.filter(post=posts[0]).count() == 1

    # The communications manager completes step 2 for all three at once.
    queue = signed_in(city.max).get(QUEUE).content.decode()
    assert "Step 2 of 2: Communications" in queue
    approve(signed_in(city.max), posts)
    for post in posts:
        post.refresh_from_db()
        assert post.status == PostStatus.APPROVED
        assert list(
            ApprovalVote.objects.filter(post=post).order_by("step_number").values_list("step_number", "voter_id")
        ) == [
            (1, city.bob.pk),
            (2, city.max.pk),
        ]


def test_a_post_the_approver_may_not_approve_is_refused_with_a_reason_and_the_others_go_through(city):  # noqa: F811
    parks = waiting(city, 2)
    library = submitted_post(author=city.carol, channels=[city.library_channel], text="Story time moves to Friday.")
    own = submitted_post(author=city.bob, channels=[city.parks_channel], text="Bob wrote this one himself.")
    client = signed_in(city.bob)
    response = approve(client, [parks[0], library, own, parks[1]])
    for post in parks:
        post.refresh_from_db()
        assert post.status == PostStatus.APPROVED
    for post in (library, own):
        post.refresh_from_db()
        assert post.status == PostStatus.SUBMITTED
    page = client.get(response["Location"]).content.decode()
    assert "2 posts approved and scheduled." in page
    assert "Nobody approves their own post; another approver must review it." in page
    assert "does not exist or is not in a department you approve for" in page
    assert "Story time" not in page  # a post out of reach is not named


def test_a_post_inside_a_blackout_is_refused_from_the_queue_and_sent_to_its_page(city):  # noqa: F811
    from scheduler.models import BlackoutPeriod

    post = waiting(city, 1)[0]
    BlackoutPeriod.objects.create(
        department=None,
        starts_at=post.due_at - dt.timedelta(hours=1),
        ends_at=post.due_at + dt.timedelta(hours=1),
        reason="Election day",
        created_by=city.dana,
    )
    client = signed_in(city.bob)
    queue = client.get(QUEUE).content.decode()
    assert "Inside a blackout: Election day" in queue
    page = client.get(approve(client, [post])["Location"]).content.decode()
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert "Open the post to give the reason for publishing then." in page


def test_requesting_changes_from_the_queue_needs_a_comment_and_sends_each_post_back(city):  # noqa: F811
    posts = waiting(city, 2)
    client = signed_in(city.bob)
    ids = [p.pk for p in posts]
    refused = client.post(DECIDE, {"post": ids, "changes_selected": "1", "confirm": "1", "comment": " "})
    assert refused.status_code == 400
    assert "Say what should change" in refused.content.decode()
    assert Post.objects.filter(pk__in=ids, status=PostStatus.SUBMITTED).count() == 2
    client.post(DECIDE, {"post": ids, "changes_selected": "1", "confirm": "1", "comment": "Add the address."})
    assert Post.objects.filter(pk__in=ids, status=PostStatus.CHANGES_REQUESTED).count() == 2


def test_without_javascript_a_decision_shows_a_confirmation_page_first(city):  # noqa: F811
    post = waiting(city, 1)[0]
    client = signed_in(city.bob)
    page = client.post(DECIDE, {"approve_one": str(post.pk)})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Approve this post?" in html
    assert f'name="post" value="{post.pk}"' in html
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    client.post(DECIDE, {"post": [post.pk], "decision": "approve", "confirm": "1", "comment": ""})
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED


def test_one_rows_button_decides_only_that_post_even_with_others_ticked(city):  # noqa: F811
    posts = waiting(city, 2)
    signed_in(city.bob).post(DECIDE, {"post": [p.pk for p in posts], "approve_one": str(posts[1].pk), "confirm": "1"})
    assert [Post.objects.get(pk=p.pk).status for p in posts] == [PostStatus.SUBMITTED, PostStatus.APPROVED]


def test_with_htmx_the_queue_comes_back_with_the_result_in_place(city):  # noqa: F811
    posts = waiting(city, 3)
    response = signed_in(city.bob).post(
        DECIDE,
        {"post": [p.pk for p in posts[:2]], "approve_selected": "1", "confirm": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="approval-region"')
    assert "2 posts approved and scheduled." in html
    assert "Pool 2 opens" in html and "Pool 0 opens" not in html


def test_choosing_nothing_changes_nothing(city):  # noqa: F811
    waiting(city, 1)
    response = signed_in(city.bob).post(DECIDE, {"approve_selected": "1", "confirm": "1"})
    assert response.status_code == 302
    assert Post.objects.filter(status=PostStatus.APPROVED).count() == 0


# --- Who may ----------------------------------------------------------------------------------------

ROLE_CASES = [
    # (persona, may approve a Parks post written by Alice)
    ("alice", False),  # Parks editor (and its author)
    ("bob", True),  # Parks approver
    ("pat", True),  # Parks department admin
    ("lena", False),  # Library approver: another department
    ("carol", False),  # Library editor
    ("dana", True),  # approver of the communications team
    ("max", True),  # communications manager (city role)
    ("vera", False),  # viewer
    ("ivan", False),  # IT admin
]


@pytest.mark.parametrize(("persona", "allowed"), ROLE_CASES)
def test_who_may_approve_from_the_queue_by_role_and_department(city, persona, allowed):  # noqa: F811
    city.lena = member("lena", city.library, Role.APPROVER)
    post = waiting(city, 1)[0]
    user = getattr(city, persona)
    in_queue = "Pool 0 opens" in signed_in(user).get(QUEUE).content.decode()
    approve(signed_in(user), [post])
    post.refresh_from_db()
    assert (post.status == PostStatus.APPROVED) is allowed
    assert in_queue is allowed


# --- Two-step verification and re-authentication: exactly as on the post page ----------------------


def test_an_approver_without_mfa_cannot_approve_from_the_queue(city, settings):  # noqa: F811
    settings.CIVICPOST_REQUIRE_MFA = True
    posts = waiting(city, 2)
    response = approve(signed_in(city.bob), posts)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/security/two-step-required/")
    single = signed_in(city.bob).post(reverse("scheduler:post_approve", args=[posts[0].pk]), {})
    assert single["Location"].startswith("/accounts/security/two-step-required/")
    assert Post.objects.filter(status=PostStatus.APPROVED).count() == 0


def test_the_queue_asks_for_the_password_again_exactly_when_the_post_page_does(city, settings):  # noqa: F811
    """Approving never asked for the password again (only sensitive changes do: civicpost.reauth); approving
    from the queue neither, so an approver signed in six minutes ago approves from either page alike."""
    settings.CIVICPOST_REQUIRE_REAUTH = True
    posts = waiting(city, 2)
    client = signed_in(city.bob)
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        single = client.post(reverse("scheduler:post_approve", args=[posts[0].pk]), {})
        bulk = approve(client, posts[1:])
    assert single.status_code == bulk.status_code == 302
    assert "reauthenticate" not in single["Location"] and "reauthenticate" not in bulk["Location"]
    assert Post.objects.filter(status=PostStatus.APPROVED).count() == 2


# --- What the queue shows -----------------------------------------------------------------------------


def test_the_queue_shows_text_versions_media_alt_text_due_time_and_conflicts(city):  # noqa: F811
    asset = media_services.media_upload(
        user=city.alice, department=city.parks, upload=upload("pool.png", image_bytes("PNG"))
    )
    due = timezone.now() + dt.timedelta(days=2)
    post = submitted_post(author=city.alice, channels=[city.parks_channel], text="Pools open at nine.")
    Post.objects.filter(pk=post.pk).update(
        due_at=due, channel_text={str(city.parks_channel.pk): "Sandbox only: pools at nine."}
    )
    PostMedia.objects.create(post=post, asset=asset, position=0, alt_text="Children jumping into the pool")
    # Another Parks post on the same channel twenty minutes later: a conflict.
    neighbour = submitted_post(author=city.alice, channels=[city.parks_channel], text="Splash pads too.")
    Post.objects.filter(pk=neighbour.pk).update(due_at=due + dt.timedelta(minutes=20))
    html = signed_in(city.bob).get(QUEUE).content.decode()
    assert "Pools open at nine." in html
    assert "Text for Parks on Sandbox" in html and "Sandbox only: pools at nine." in html
    assert 'alt="Children jumping into the pool"' in html
    assert "Alt text:</strong> Children jumping into the pool" in html
    assert "Less than 60 minutes from another post on Parks on Sandbox" in html
    from civicpost.timelabels import format_in_zone

    assert format_in_zone(due, city.parks.zone) in html  # Bob's zone is his department's


def test_the_queue_runs_the_same_number_of_queries_for_two_posts_or_eight(city):  # noqa: F811
    # Two steps of department approvers: Quinn approves half the posts at step 1, so Bob's queue holds posts
    # at their first step (counted in SQL) and part-way (read with their votes).
    ApprovalStep.objects.create(department=city.parks, name="Review", position=1)
    ApprovalStep.objects.create(department=city.parks, name="Second look", position=2)
    asset = media_services.media_upload(
        user=city.alice, department=city.parks, upload=upload("pool.png", image_bytes("PNG"))
    )

    def add(count: int, start: int) -> None:
        for n in range(count):
            post = submitted_post(
                author=city.alice,
                channels=[city.parks_channel],
                text=f"Post {start + n}",
                link="https://example.gov/pools",
                due_in=dt.timedelta(hours=5 + start + n),
            )
            Post.objects.filter(pk=post.pk).update(channel_text={str(city.parks_channel.pk): f"Own text {n}"})
            PostMedia.objects.create(post=post, asset=asset, position=0, alt_text="A pool")
        # Half of them part-way: step 1 approved by Quinn (a vote in this round).
        fresh = (
            Post.objects.filter(text__startswith="Post ")
            .exclude(approval_votes__isnull=False)
            .order_by("-id")[: count // 2]
        )
        approve(signed_in(city.quinn), list(fresh))

    client = signed_in(city.bob)
    client.get(QUEUE)  # warm the session and the caches of one request

    def count_queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(QUEUE)
        assert response.status_code == 200
        return len(queries), response.content.decode()

    add(2, 0)
    few, html = count_queries()
    assert html.count("data-queue-item") == 2
    add(6, 10)
    many, html = count_queries()
    assert html.count("data-queue-item") == 8
    assert html.count("Step 1 of 2: Review") == 4 and html.count("Step 2 of 2: Second look") == 4
    print(f"\nThe approval queue: {few} queries for 2 posts, {many} for 8")  # noqa: T201
    assert many == few, f"{few} queries for 2 posts, {many} for 8"
