"""Who sees which post: each persona against each selector."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from departments.models import Role
from scheduler import selectors, services
from scheduler.models import PostStatus
from tests.factories import ChannelFactory, member
from tests.scheduler import approved_post, draft_post, make_due, submitted_post, tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def parks_posts(personas):
    """One Parks post in each state that matters for visibility."""
    draft = draft_post(author=personas.alice, channels=[personas.parks_channel], text="Parks draft")
    submitted = submitted_post(author=personas.alice, channels=[personas.parks_channel], text="Parks submitted")
    changes = submitted_post(author=personas.alice, channels=[personas.parks_channel], text="Parks changes")
    services.post_request_changes(post=changes, user=personas.bob, comment="Fix it")
    approved = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text="Parks approved"
    )
    published = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text="Parks published"
    )
    make_due(published)
    tick()
    cancelled = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text="Parks cancelled"
    )
    services.post_cancel(post=cancelled, user=personas.alice)
    posts = {
        "draft": draft,
        "submitted": submitted,
        "changes": changes,
        "approved": approved,
        "published": published,
        "cancelled": cancelled,
    }
    for post in posts.values():
        post.refresh_from_db()
    assert published.status == PostStatus.PUBLISHED
    return posts


def _texts(queryset) -> set[str]:  # noqa: ANN001
    return set(queryset.values_list("text", flat=True))


ALL_PARKS = {
    "Parks draft",
    "Parks submitted",
    "Parks changes",
    "Parks approved",
    "Parks published",
    "Parks cancelled",
}


def test_department_members_see_all_their_departments_posts(personas, parks_posts):
    assert _texts(selectors.posts_visible_to(user=personas.alice)) == ALL_PARKS
    assert _texts(selectors.posts_visible_to(user=personas.bob)) == ALL_PARKS


def test_a_library_editor_sees_only_approved_and_published_parks_posts(personas, parks_posts):
    library_draft = draft_post(author=personas.carol, channels=[personas.library_channel], text="Library draft")
    assert _texts(selectors.posts_visible_to(user=personas.carol)) == {
        "Parks approved",
        "Parks published",
        "Library draft",
    }
    for hidden in ("draft", "submitted", "changes", "cancelled"):
        with pytest.raises(Http404):
            selectors.post_get_for_user(user=personas.carol, post_id=parks_posts[hidden].pk)
    for shared in ("approved", "published"):
        post = selectors.post_get_for_user(user=personas.carol, post_id=parks_posts[shared].pk)
        assert post == parks_posts[shared]
    assert selectors.post_get_for_user(user=personas.carol, post_id=library_draft.pk) == library_draft


def test_a_library_editor_cannot_open_any_parks_post_for_editing_or_review(personas, parks_posts):
    for post in parks_posts.values():
        with pytest.raises(Http404):
            selectors.post_get_for_editing(user=personas.carol, post_id=post.pk)
        with pytest.raises(Http404):
            selectors.post_get_for_review(user=personas.carol, post_id=post.pk)


def test_an_editor_opens_own_department_posts_for_editing_but_not_for_review(personas, parks_posts):
    submitted = parks_posts["submitted"]
    assert selectors.post_get_for_editing(user=personas.alice, post_id=submitted.pk) == submitted
    with pytest.raises(Http404):
        selectors.post_get_for_review(user=personas.alice, post_id=submitted.pk)


def test_the_parks_approver_reviews_parks_posts_only(personas, parks_posts):
    submitted = parks_posts["submitted"]
    assert selectors.post_get_for_review(user=personas.bob, post_id=submitted.pk) == submitted
    library_post = submitted_post(author=personas.carol, channels=[personas.library_channel])
    with pytest.raises(Http404):
        selectors.post_get_for_review(user=personas.bob, post_id=library_post.pk)
    with pytest.raises(Http404):
        selectors.post_get_for_user(user=personas.bob, post_id=library_post.pk)


def test_the_communications_manager_sees_and_reviews_everything(personas, parks_posts):
    library_draft = draft_post(author=personas.carol, channels=[personas.library_channel], text="Library draft")
    assert _texts(selectors.posts_visible_to(user=personas.dana)) == ALL_PARKS | {"Library draft"}
    for post in [*parks_posts.values(), library_draft]:
        assert selectors.post_get_for_user(user=personas.dana, post_id=post.pk) == post
        assert selectors.post_get_for_review(user=personas.dana, post_id=post.pk) == post
    # She is not a Parks member, so she does not edit Parks posts.
    with pytest.raises(Http404):
        selectors.post_get_for_editing(user=personas.dana, post_id=parks_posts["draft"].pk)


def test_a_communications_editor_is_not_a_city_wide_approver(personas, parks_posts):
    comms_editor = member("gina", personas.communications, Role.EDITOR)
    assert _texts(selectors.posts_visible_to(user=comms_editor)) == {"Parks approved", "Parks published"}
    assert not selectors.posts_awaiting_approval(user=comms_editor).exists()
    with pytest.raises(Http404):
        selectors.post_get_for_review(user=comms_editor, post_id=parks_posts["submitted"].pk)


def test_the_approval_queue_holds_submitted_posts_the_user_may_approve_except_their_own(personas, parks_posts):
    library_post = submitted_post(author=personas.carol, channels=[personas.library_channel], text="Library waiting")
    bobs_own = submitted_post(author=personas.bob, channels=[personas.parks_channel], text="Bob's own")

    assert _texts(selectors.posts_awaiting_approval(user=personas.bob)) == {"Parks submitted"}
    assert _texts(selectors.posts_awaiting_approval(user=personas.dana)) == {
        "Parks submitted",
        "Library waiting",
        "Bob's own",
    }
    assert not selectors.posts_awaiting_approval(user=personas.alice).exists()
    assert not selectors.posts_awaiting_approval(user=personas.carol).exists()
    assert library_post.pk and bobs_own.pk

    comms_channel = ChannelFactory(department=personas.communications)
    danas_own = submitted_post(author=personas.dana, channels=[comms_channel], text="Dana's own")
    assert danas_own.pk not in selectors.posts_awaiting_approval(user=personas.dana).values_list("pk", flat=True)


def test_the_approval_queue_is_ordered_by_due_time(personas):
    later = submitted_post(author=personas.alice, channels=[personas.parks_channel], text="later")
    sooner = submitted_post(author=personas.alice, channels=[personas.parks_channel], text="sooner")
    type(sooner).objects.filter(pk=sooner.pk).update(due_at=later.due_at.replace(year=later.due_at.year - 1))
    assert list(selectors.posts_awaiting_approval(user=personas.bob)) == [sooner, later]


def test_signed_out_and_inactive_users_see_nothing(personas, parks_posts):
    personas.alice.is_active = False
    personas.alice.save()
    for user in (AnonymousUser(), personas.alice):
        assert not selectors.posts_visible_to(user=user).exists()
        assert not selectors.posts_awaiting_approval(user=user).exists()
        with pytest.raises(Http404):
            selectors.post_get_for_user(user=user, post_id=parks_posts["published"].pk)
        with pytest.raises(Http404):
            selectors.post_get_for_editing(user=user, post_id=parks_posts["draft"].pk)


def test_a_user_sees_channels_of_their_own_departments_only(personas):
    assert list(selectors.channels_for_user(user=personas.alice)) == [personas.parks_channel]
    assert list(selectors.channels_for_user(user=personas.carol)) == [personas.library_channel]
    assert not selectors.channels_for_user(user=personas.dana).filter(department=personas.parks).exists()


def test_a_post_page_runs_a_fixed_number_of_queries(personas, parks_posts, django_assert_max_num_queries):
    post_id = parks_posts["published"].pk
    with django_assert_max_num_queries(8):
        post = selectors.post_get_for_user(user=personas.dana, post_id=post_id)
        list(post.channels.all())
        assert [(d.channel.display_name, d.status) for d in post.deliveries.all()] == [
            ("Parks on Sandbox", "published")
        ]
        assert [r.actor.username for r in post.reviews.all()] == ["alice", "bob"]
        assert post.current_approval.approved_by.username == "bob"
