"""Emails: to the approvers of the current step, to the author and department admins, the daily digest.
Sent after commit (locmem outbox), one message per person, each with the post's address."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from departments.models import ApprovalMode, Role
from departments.services import approval_step_add
from governance.digest import approval_digest_send, digest_due
from governance.models import ApprovalDigestLog
from scheduler import services
from scheduler.models import Delivery, DeliveryStatus
from scheduler.notifications import notify_delivery_outcome
from tests.factories import member
from tests.scheduler import approved_post, make_due, set_mode, submitted_post, tick


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def post_address(post) -> str:  # noqa: ANN001
    return f"http://testserver/posts/{post.pk}/"


def test_a_submitted_post_is_announced_to_the_approvers_of_its_current_step_after_commit(
    city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post = submitted_post(author=city.alice, channels=[city.parks_channel])
    assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert recipients() == sorted(f"{name}@city.example" for name in ("bob", "dana", "max", "pat", "quinn"))
    assert all(len(message.to) == 1 for message in mail.outbox)
    message = mail.outbox[0]
    assert "Waiting for your approval" in message.subject
    assert post_address(post) in message.body
    assert post.text in message.body


def test_each_step_is_announced_to_its_own_approvers(city, django_capture_on_commit_callbacks):
    approval_step_add(user=city.pat, department=city.parks, name="Parks review", department_approvers=True)
    approval_step_add(user=city.pat, department=city.parks, name="Communications", communications_managers=True)
    with django_capture_on_commit_callbacks(execute=True):
        post = submitted_post(author=city.alice, channels=[city.parks_channel])
    assert recipients() == ["bob@city.example", "pat@city.example", "quinn@city.example"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.post_approve(post=post, user=city.bob)
    assert recipients() == ["dana@city.example", "max@city.example"]
    assert "step 2 of 2 (Communications)" in mail.outbox[0].body
    assert post_address(post) in mail.outbox[0].body


def test_an_all_of_step_is_announced_again_only_to_those_who_have_not_approved(
    city, django_capture_on_commit_callbacks
):
    approval_step_add(
        user=city.pat, department=city.parks, name="All", mode=ApprovalMode.ALL, department_approvers=True
    )
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.post_approve(post=post, user=city.bob)
    assert mail.outbox == []  # still the same step: nobody new to tell


def test_approval_is_announced_to_the_author_and_the_department_admins(city, django_capture_on_commit_callbacks):
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    with django_capture_on_commit_callbacks(execute=True):
        services.post_approve(post=post, user=city.bob)
    assert recipients() == ["alice@city.example", "pat@city.example"]
    assert mail.outbox[0].subject == "[CivicPost] Approved: Parks and Recreation post"
    assert post_address(post) in mail.outbox[0].body


def test_a_request_for_changes_reaches_the_author_and_admins_with_the_comment(city, django_capture_on_commit_callbacks):
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    with django_capture_on_commit_callbacks(execute=True):
        services.post_request_changes(post=post, user=city.pat, comment="Add the pool's address.")
    # Pat asked: the author is told, and Pat is not told about her own action.
    assert recipients() == ["alice@city.example"]
    assert "Add the pool's address." in mail.outbox[0].body
    assert post_address(post) in mail.outbox[0].body


def test_a_failed_delivery_is_announced_to_the_author_and_the_department_admins(
    city, django_capture_on_commit_callbacks
):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    set_mode(city.parks_channel, "fail")
    make_due(post)
    with django_capture_on_commit_callbacks(execute=True):
        tick()
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.FAILED
    assert recipients() == ["alice@city.example", "pat@city.example"]
    message = mail.outbox[0]
    assert "Publishing failed on Parks on Sandbox" in message.subject
    assert "The sandbox rejected this post" in message.body
    assert post_address(post) in message.body


def test_needs_attention_is_announced_and_other_outcomes_are_not(city, django_capture_on_commit_callbacks):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    delivery = Delivery.objects.get(post=post)
    with django_capture_on_commit_callbacks(execute=True):
        notify_delivery_outcome(delivery, status=DeliveryStatus.PUBLISHED)
        notify_delivery_outcome(delivery, status=DeliveryStatus.NEEDS_ATTENTION, message="Check the account.")
    assert len(mail.outbox) == 2
    assert all("Needs attention on Parks on Sandbox" in m.subject for m in mail.outbox)
    assert "Check the account." in mail.outbox[0].body


def test_the_daily_digest_lists_what_waits_for_each_approver_once_a_day(city, django_capture_on_commit_callbacks):
    first = submitted_post(author=city.alice, channels=[city.parks_channel], text="First post")
    second = submitted_post(author=city.carol, channels=[city.library_channel], text="Library post")
    librarian = member("lena", city.library, Role.APPROVER)
    mail.outbox.clear()
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        sent = approval_digest_send(day=today)
    by_person = {m.to[0]: m for m in mail.outbox}
    assert sent == len(mail.outbox) == 6  # bob, quinn, pat, lena, dana, max
    assert post_address(first) in by_person["bob@city.example"].body
    assert post_address(second) not in by_person["bob@city.example"].body
    assert post_address(second) in by_person[librarian.email].body
    assert "2 posts waiting" in by_person["dana@city.example"].subject
    assert {post_address(first), post_address(second)} <= set(by_person["dana@city.example"].body.split())

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert approval_digest_send(day=today) == 0  # a second beat the same day sends nothing
        call_command("send_approval_digest", "--force")
    assert len(mail.outbox) == 6
    assert ApprovalDigestLog.objects.filter(day=today).count() == 6


@pytest.mark.parametrize(("hour", "due"), [(6, False), (7, True), (18, True)])
def test_the_digest_goes_out_from_the_digest_hour_on(settings, hour, due):
    settings.CIVICPOST_DIGEST_HOUR = 7
    settings.CIVICPOST_DIGEST_TIME_ZONE = "America/Chicago"
    import zoneinfo

    moment = dt.datetime(2026, 3, 10, hour, 30, tzinfo=zoneinfo.ZoneInfo("America/Chicago"))
    assert digest_due(now=moment) is due
