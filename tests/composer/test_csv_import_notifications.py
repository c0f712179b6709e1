"""A CSV import that submits posts tells each approver once: one message per person for the whole file,
naming the file and how many posts it sent for approval, listing (up to 50 of) the posts waiting for that
person with their time and address, and linking the approval queue. The import runs as the Celery task."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from composer.models import CsvImport, ImportStatus
from composer.notifications import IMPORT_LISTED_POSTS
from composer.tasks import import_csv
from departments.models import Role
from scheduler.models import Post, PostStatus
from scheduler.templatetags.civic_time import format_in_zone
from tests.factories import MembershipFactory
from tests.governance.city import City
from tests.governance.test_series_and_calendar_approval import parks_policy

QUEUE = "http://testserver/approvals/"
HEADER = "department,channels,date,time,text,link,language,status\n"


def rows(count: int, *, department: str = "parks", channel: str = "Parks on Sandbox", status: str = "submit") -> str:
    """`count` rows, one a day at 9:00 from ten days on, in the department's own time."""
    first = timezone.now().date() + dt.timedelta(days=10)
    return "".join(
        f"{department},{channel},{first + dt.timedelta(days=number):%Y-%m-%d},09:00,"
        f"Pool schedule update number {number + 1} for residents,,en,{status}\n"
        for number in range(count)
    )


def run_import(user, text: str, *, file_name: str = "march-posts.csv") -> list[Post]:  # noqa: ANN001
    """Runs the import task for a checked and confirmed file, as the import button does; returns its posts."""
    upload = CsvImport.objects.create(
        uploaded_by=user, file_name=file_name, content=HEADER + text, status=ImportStatus.QUEUED
    )
    import_csv(upload.pk)
    upload.refresh_from_db()
    assert upload.status == ImportStatus.DONE and upload.result["left_out"] == []
    return list(Post.objects.filter(pk__in=upload.result["post_ids"]).order_by("due_at", "pk"))


def by_recipient() -> dict[str, list[mail.EmailMessage]]:
    messages: dict[str, list[mail.EmailMessage]] = {}
    for message in mail.outbox:
        assert len(message.to) == 1
        messages.setdefault(message.to[0], []).append(message)
    return messages


def post_address(post: Post) -> str:
    return f"http://testserver/posts/{post.pk}/"


def test_a_30_row_import_under_the_one_step_policy_sends_one_message_to_each_approver(
    city: City, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        posts = run_import(city.alice, rows(30))

    assert len(posts) == 30 and {post.status for post in posts} == {PostStatus.SUBMITTED}
    messages = by_recipient()
    # The default policy: the Parks approvers (Bob, Quinn), its admin (Pat), the communications managers.
    assert sorted(messages) == [f"{name}@city.example" for name in ("bob", "dana", "max", "pat", "quinn")]
    assert len(mail.outbox) == 5  # not 30 per person
    for address, received in messages.items():
        assert len(received) == 1, address
        message = received[0]
        assert message.subject == "[CivicPost] Waiting for your approval: 30 posts imported from march-posts.csv"
        body = message.body
        assert "Alice imported the file march-posts.csv, which sent 30 posts for approval." in body
        assert "All of them wait for your approval." in body
        assert "Step 1" not in body  # one step: nothing to say about steps
        assert f"Open your approval queue to review them:\n{QUEUE}\n" in body
        assert all(post_address(post) in body for post in posts)
        assert "more." not in body
    first = posts[0]
    body = messages["bob@city.example"][0].body
    assert (
        f"- {format_in_zone(first.due_at, city.parks)}: Pool schedule update number 1 for residents\n"
        f"  {post_address(first)}\n"
    ) in body
    assert body.index(post_address(posts[0])) < body.index(post_address(posts[29]))  # soonest first
    assert "9:00 AM" in format_in_zone(first.due_at, city.parks)  # shown in the department's time


def test_a_30_row_import_under_a_two_step_policy_tells_only_the_first_step_once_each(
    city: City, django_capture_on_commit_callbacks
) -> None:
    parks_policy(city)  # step 1: Parks approvers (Bob, Pat, Quinn); step 2: communications managers (Dana, Max)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        posts = run_import(city.alice, rows(30))

    messages = by_recipient()
    assert sorted(messages) == ["bob@city.example", "pat@city.example", "quinn@city.example"]
    assert all(len(received) == 1 for received in messages.values())
    message = messages["quinn@city.example"][0]
    assert message.subject == "[CivicPost] Waiting for your approval: 30 posts imported from march-posts.csv"
    assert "Step 1 of 2: Parks review." in message.body
    assert "which sent 30 posts for approval" in message.body
    assert all(post_address(post) in message.body for post in posts)
    assert QUEUE in message.body


def test_the_message_lists_the_first_50_posts_and_counts_the_rest(
    city: City, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        posts = run_import(city.alice, rows(IMPORT_LISTED_POSTS + 12))

    message = by_recipient()["bob@city.example"][0]
    assert message.subject.endswith("62 posts imported from march-posts.csv")
    listed = [post for post in posts if post_address(post) in message.body]
    assert listed == posts[:IMPORT_LISTED_POSTS]
    assert "And 12 more.\n" in message.body
    assert len(mail.outbox) == 5


def test_each_approver_hears_of_the_posts_waiting_for_them_among_those_of_the_file(
    city: City, django_capture_on_commit_callbacks
) -> None:
    MembershipFactory(user=city.alice, department=city.library, role=Role.EDITOR)
    text = rows(2) + rows(3, department="library", channel="Library on Sandbox")

    with django_capture_on_commit_callbacks(execute=True):
        posts = run_import(city.alice, text, file_name="both.csv")

    messages = by_recipient()
    parks_approver = messages["bob@city.example"][0].body
    assert "which sent 5 posts for approval. 2 of them wait for your approval." in parks_approver
    assert sum(post_address(post) in parks_approver for post in posts) == 2
    manager = messages["dana@city.example"][0]
    assert manager.subject.endswith("5 posts imported from both.csv")
    assert "All of them wait for your approval." in manager.body
    library_post = next(post for post in posts if post.department_id == city.library.pk)
    # Posts of two departments: each line names its department, each time in that department's zone.
    assert f"- {format_in_zone(library_post.due_at, city.library)}, Public Library: " in manager.body


def test_an_import_of_drafts_tells_nobody(city: City, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run_import(city.alice, rows(30, status="draft"))

    assert mail.outbox == []


def test_an_import_that_fails_sends_nothing(
    city: City, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that dies after its posts were made rolls back (the task is delivered again): nobody is told."""
    upload = CsvImport.objects.create(
        uploaded_by=city.alice, file_name="x.csv", content=HEADER + rows(3), status=ImportStatus.QUEUED
    )
    real_save = CsvImport.save

    def save_then_die(self: CsvImport, *args: object, **kwargs: object) -> None:
        real_save(self, *args, **kwargs)
        if self.status == ImportStatus.DONE:
            raise RuntimeError("the worker died")

    monkeypatch.setattr(CsvImport, "save", save_then_die)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        import_csv(upload.pk)

    assert mail.outbox == []
    assert not Post.objects.exists()
