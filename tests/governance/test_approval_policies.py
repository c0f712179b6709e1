"""Approval policies: steps in order, "any one" or "all", never the author, votes tied to one version."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from civicpost.exceptions import ApplicationError
from departments.models import ApprovalMode, ApprovalStep, Role
from departments.services import approval_step_add, approval_step_delete, approval_step_move_up
from scheduler import selectors, services
from scheduler.approvals import approval_progress, current_step
from scheduler.models import ApprovalVote, DeliveryStatus, PostStatus
from tests.factories import ChannelFactory, member
from tests.scheduler import submitted_post


def two_steps(city, *, first_mode=ApprovalMode.ANY):  # noqa: ANN001, ANN201
    """Parks: its approvers first, then a communications manager."""
    first = approval_step_add(
        user=city.pat, department=city.parks, name="Parks review", mode=first_mode, department_approvers=True
    )
    second = approval_step_add(
        user=city.pat, department=city.parks, name="Communications", communications_managers=True
    )
    return first, second


def names(users) -> list[str]:  # noqa: ANN001
    return sorted(u.username for u in users)


def test_without_steps_the_default_is_one_step_for_any_department_approver_or_communications_manager(city):
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    progress = approval_progress(post)
    assert len(progress) == 1
    assert progress[0].state == "current"
    assert progress[0].step.mode == ApprovalMode.ANY
    # Parks approvers and admin, both communications managers (team approver and city role); never Alice.
    assert names(progress[0].approvers) == ["bob", "dana", "max", "pat", "quinn"]
    approval = services.post_approve(post=post, user=city.max)
    assert approval is not None and approval.approved_by == city.max


def test_two_steps_go_in_order_and_the_post_is_approved_only_after_the_last(city):
    two_steps(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])

    with pytest.raises(ApplicationError, match="Step 1 \\(Parks review\\) is for department approvers"):
        services.post_approve(post=post, user=city.dana)  # step 2's approver cannot skip step 1

    assert services.post_approve(post=post, user=city.bob, comment="Fine by Parks") is None
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert post.current_approval is None
    assert not post.deliveries.exists()
    progress = approval_progress(post)
    assert [p.state for p in progress] == ["done", "current"]
    assert names(progress[0].voters) == ["bob"]
    assert AuditEvent.objects.filter(action="post.step_approved", target_id=str(post.pk)).count() == 1

    with pytest.raises(ApplicationError, match="already approved this post at step 1"):
        services.post_approve(post=post, user=city.bob)
    with pytest.raises(ApplicationError, match="Step 2 \\(Communications\\)"):
        services.post_approve(post=post, user=city.quinn)

    approval = services.post_approve(post=post, user=city.dana)
    post.refresh_from_db()
    assert approval is not None and approval.approved_by == city.dana
    assert post.status == PostStatus.APPROVED
    assert list(post.deliveries.values_list("status", flat=True)) == [DeliveryStatus.SCHEDULED]
    assert [v.step_number for v in ApprovalVote.objects.filter(post=post)] == [1, 2]


def test_an_all_of_step_needs_every_approver_but_the_author(city):
    approval_step_add(
        user=city.pat,
        department=city.parks,
        name="Every Parks approver",
        mode=ApprovalMode.ALL,
        department_approvers=True,
    )
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    assert services.post_approve(post=post, user=city.bob) is None
    assert services.post_approve(post=post, user=city.quinn) is None
    step = current_step(approval_progress(post))
    assert names(step.waiting_for) == ["pat"]
    with pytest.raises(ApplicationError, match="already approved this step"):
        services.post_approve(post=post, user=city.bob)
    assert services.post_approve(post=post, user=city.pat) is not None
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED

    # Bob wrote this one: "all" means all the others, and Bob can never approve it.
    own = submitted_post(author=city.bob, channels=[city.parks_channel], text="Bob's own post")
    assert names(current_step(approval_progress(own)).approvers) == ["pat", "quinn"]
    with pytest.raises(ApplicationError, match="Nobody approves their own post"):
        services.post_approve(post=own, user=city.bob)
    services.post_approve(post=own, user=city.quinn)
    services.post_approve(post=own, user=city.pat)
    own.refresh_from_db()
    assert own.status == PostStatus.APPROVED


def test_self_approval_is_refused_at_every_step(city):
    # The communications team's own policy: a team approver, then a communications manager.
    approval_step_add(user=city.dana, department=city.communications, name="Team", department_approvers=True)
    approval_step_add(user=city.dana, department=city.communications, name="Manager", communications_managers=True)
    frank = member("frank", city.communications, Role.APPROVER)
    channel = ChannelFactory(department=city.communications, display_name="City hall")
    post = submitted_post(author=city.dana, channels=[channel])

    for _ in range(2):
        with pytest.raises(ApplicationError, match="Nobody approves their own post"):
            services.post_approve(post=post, user=city.dana)
        step = current_step(approval_progress(post))
        assert city.dana.pk not in step.approver_ids
        if step.number == 1:
            services.post_approve(post=post, user=frank)
    # Step 2: not Dana (author), not Frank (approved step 1): only Max.
    step = current_step(approval_progress(post))
    assert step.number == 2
    assert names(step.approvers) == ["max"]
    services.post_approve(post=post, user=city.max)
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED


def test_a_step_that_only_the_author_could_approve_says_nobody_can(city):
    approval_step_add(user=city.pat, department=city.parks, name="Bob alone", users=[city.bob])
    post = submitted_post(author=city.bob, channels=[city.parks_channel])
    step = current_step(approval_progress(post))
    assert step.nobody_can_act
    with pytest.raises(ApplicationError):
        services.post_approve(post=post, user=city.bob)


def test_an_edit_resets_the_votes(city):
    two_steps(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    services.post_approve(post=post, user=city.bob)
    assert current_step(approval_progress(post)).number == 2

    services.post_update(
        post=post,
        user=city.alice,
        text="Pools open at noon.",
        link="",
        channels=[city.parks_channel],
        due_at=post.due_at,
    )
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    progress = approval_progress(post)
    assert current_step(progress).number == 1
    assert progress[0].voters == []
    with pytest.raises(ApplicationError, match="Step 1"):
        services.post_approve(post=post, user=city.dana)
    # Bob approves the new text in a new round; the old vote stays as history.
    services.post_approve(post=post, user=city.bob)
    services.post_approve(post=post, user=city.dana)
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    assert post.current_approval.content["text"] == "Pools open at noon."
    assert ApprovalVote.objects.filter(post=post, voter=city.bob).count() == 2


def test_a_request_for_changes_and_a_new_submission_reset_the_votes(city):
    two_steps(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    services.post_approve(post=post, user=city.bob)
    services.post_request_changes(post=post, user=city.dana, comment="Add the address.")
    services.post_submit(post=post, user=city.alice)
    assert current_step(approval_progress(post)).number == 1


def test_a_vote_on_other_content_never_counts(city):
    two_steps(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    services.post_approve(post=post, user=city.bob)
    ApprovalVote.objects.filter(post=post).update(content_hash="0" * 64)
    assert current_step(approval_progress(post)).number == 1


def test_the_queue_shows_each_post_to_the_approvers_of_its_current_step(city):
    two_steps(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    assert post in selectors.posts_awaiting_approval(user=city.bob)
    assert post not in selectors.posts_awaiting_approval(user=city.dana)
    services.post_approve(post=post, user=city.bob)
    assert post not in selectors.posts_awaiting_approval(user=city.bob)
    assert post not in selectors.posts_awaiting_approval(user=city.quinn)
    assert post in selectors.posts_awaiting_approval(user=city.dana)
    assert post not in selectors.posts_awaiting_approval(user=city.alice)


def test_the_post_page_shows_the_current_step_and_who_may_act(city, client):
    two_steps(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    services.post_approve(post=post, user=city.bob)
    client.force_login(city.alice)
    page = client.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Step 1: Parks review" in page and "Step 2: Communications" in page
    assert "waiting now" in page
    assert "Approved by:" in page
    # Dana may act now: she sees the review form; Quinn (a Parks approver) does not.
    client.force_login(city.dana)
    assert (
        'action="{}"'.format(reverse("scheduler:post_approve", args=[post.pk]))
        in client.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    )
    client.force_login(city.quinn)
    assert (
        'action="{}"'.format(reverse("scheduler:post_approve", args=[post.pk]))
        not in client.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    )


def test_approving_a_step_through_the_page_says_the_next_step_waits(city, client):
    two_steps(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    client.force_login(city.bob)
    response = client.post(reverse("scheduler:post_approve", args=[post.pk]), {"comment": ""}, follow=True)
    assert "waits for the next step" in response.content.decode()


def test_only_admins_and_communications_managers_change_a_policy_and_each_change_is_audited(city):
    with pytest.raises(ApplicationError):
        approval_step_add(user=city.alice, department=city.parks, name="x", department_approvers=True)
    with pytest.raises(ApplicationError):
        approval_step_add(user=city.ivan, department=city.parks, name="x", department_approvers=True)
    with pytest.raises(ApplicationError, match="Say who approves"):
        approval_step_add(user=city.pat, department=city.parks, name="Nobody")
    first, second = two_steps(city)
    approval_step_move_up(user=city.max, step=second)
    assert list(
        ApprovalStep.objects.filter(department=city.parks).order_by("position").values_list("name", flat=True)
    ) == [
        "Communications",
        "Parks review",
    ]
    approval_step_delete(user=city.pat, step=first)
    events = AuditEvent.objects.filter(action="policy.changed", department=city.parks)
    assert events.count() == 4
    latest = events.order_by("-id").first()
    assert [s["name"] for s in latest.changes["steps"]["before"]] == ["Communications", "Parks review"]
    assert [s["name"] for s in latest.changes["steps"]["after"]] == ["Communications"]
