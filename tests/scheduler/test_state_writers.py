"""Post and Delivery state is written only by the scheduler's services package and the publishing state
machine (issue 12): scheduler/services/ (posts, review, holds) and scheduler/publishing.py.

Two checks. The models refuse it at run time (scheduler.state_guard: the code asking for a change of status
must be one of the owners; tests and factories may set rows up in a status). And a static check over the
project's code (tests, benchmarks and migrations excepted): outside the owners, no assignment
`x.status = PostStatus.…/DeliveryStatus.…`, no `status=` keyword in a create/update call that names a post
or delivery status, and no `.update(status=…)` on a queryset of posts or deliveries, whatever the value."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from departments.models import Role
from scheduler.models import Delivery, Post, PostStatus
from scheduler.state_guard import StateWriteRefused
from tests.factories import ChannelFactory, PostFactory, member
from tests.scheduler import approved_post

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "node_modules", "tests", "bench", "migrations", ".git", "static", "templates", "docs"}
OWNERS = ("scheduler/services/", "scheduler/publishing.py")
STATUS_ENUMS = ("PostStatus", "DeliveryStatus")
WRITE_CALLS = {"create", "update", "get_or_create", "update_or_create", "bulk_create", "Post", "Delivery"}
# Names that mark a queryset as one of posts or deliveries in `<queryset>.update(status=...)`: the models, or a
# name starting with post/deliver (posts, deliveries, post.deliveries) — not WebhookDelivery or webhook_deliveries.
POST_OR_DELIVERY_MODELS = ("Post", "Delivery")
POST_OR_DELIVERY_PREFIXES = ("post", "deliver")


def _python_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if set(relative.parts[:-1]) & SKIPPED_DIRS:
            continue
        files.append(path)
    return files


def _names_status_enum(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id in STATUS_ENUMS for n in ast.walk(node))


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _names_posts_or_deliveries(node: ast.AST) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name in POST_OR_DELIVERY_MODELS or name.startswith(POST_OR_DELIVERY_PREFIXES)


def _receiver_chain(node: ast.AST) -> list[ast.AST]:
    """The names a queryset expression is built on (`Post.objects.filter(...)` → filter, objects, Post), not
    the arguments of its calls."""
    chain = []
    while True:
        chain.append(node)
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return chain


def state_writes(source: str) -> list[tuple[int, str]]:
    """Returns (line, code) for each write of Post or Delivery state in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "status" and _names_status_enum(node.value):
                    found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and _call_name(node) in WRITE_CALLS:
            for keyword in node.keywords:
                if keyword.arg != "status":
                    continue
                on_posts = (
                    _call_name(node) == "update"
                    and isinstance(node.func, ast.Attribute)
                    and any(_names_posts_or_deliveries(n) for n in _receiver_chain(node.func.value))
                )
                if _names_status_enum(keyword.value) or on_posts:
                    found.append((node.lineno, ast.unparse(node)[:120]))
    return found


def test_post_and_delivery_state_is_written_only_by_the_scheduler_services():
    offenders = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(OWNERS):
            continue
        offenders.extend(f"{relative}:{line}: {code}" for line, code in state_writes(path.read_text()))
    assert offenders == []


def test_the_check_finds_each_kind_of_write():
    source = """
post.status = PostStatus.SUBMITTED
Post.objects.create(department=d, status=PostStatus.APPROVED)
post.deliveries.filter(pk=1).update(status=new_status)
Delivery.objects.filter(pk=1).update(status=DeliveryStatus.CANCELLED)
"""
    assert [line for line, _code in state_writes(source)] == [2, 3, 4, 5]


def test_reads_and_other_models_statuses_are_not_writes():
    source = """
Post.objects.filter(status=PostStatus.APPROVED)
channel.status = ChannelStatus.CONNECTED
Channel.objects.filter(pk=1).update(status=ChannelStatus.DISABLED)
upload.status = ImportStatus.DONE
WebhookDelivery.objects.filter(pk=1).update(status=WebhookDeliveryStatus.SENDING)
subscription.webhook_deliveries.filter(pk=1).update(status=WebhookDeliveryStatus.SENT)
"""
    assert state_writes(source) == []


def test_the_owners_do_write_state():
    # The check would pass trivially if it found nothing anywhere: the owners' own writes are found.
    owners = [ROOT / "scheduler" / "publishing.py", *sorted((ROOT / "scheduler" / "services").glob("*.py"))]
    assert sum(len(state_writes(path.read_text())) for path in owners) > 5


# --- The model-level guard ------------------------------------------------------------------------


def _approved_post() -> Post:
    channel = ChannelFactory()
    editor = member("state-editor", channel.department)
    approver = member("state-approver", channel.department, Role.APPROVER)
    return approved_post(author=editor, approver=approver, channels=[channel])


def _run_as(relative_path: str, code: str, **names: object) -> None:
    """Runs `code` as if it were written in `relative_path` of the project (the guard looks at the file of
    the code that asks for the write)."""
    exec(compile(code, str(ROOT / relative_path), "exec"), {"PostStatus": PostStatus, **names})  # noqa: S102


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["governance/services.py", "scheduler/views.py", "scheduler/blackouts.py"])
def test_a_status_change_outside_the_services_is_refused(where):
    post = PostFactory()
    with pytest.raises(StateWriteRefused, match="Post.status is written only by"):
        _run_as(where, "post.status = PostStatus.SUBMITTED\npost.save()", post=post)
    with pytest.raises(StateWriteRefused):
        _run_as(where, "Post.objects.filter(pk=post.pk).update(status=PostStatus.APPROVED)", post=post, Post=Post)
    with pytest.raises(StateWriteRefused):
        _run_as(
            where,
            "Post.objects.create(department=post.department, author=post.author, due_at=post.due_at, "
            "text='x', status=PostStatus.APPROVED)",
            post=post,
            Post=Post,
        )
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT


@pytest.mark.django_db
def test_a_delivery_status_change_outside_publishing_is_refused():
    post = _approved_post()
    with pytest.raises(StateWriteRefused, match="Delivery.status is written only by"):
        _run_as("connections/services.py", "post.deliveries.update(status='cancelled')", post=post)
    assert not Delivery.objects.filter(post=post, status="cancelled").exists()


@pytest.mark.django_db
def test_saves_that_leave_the_status_alone_are_allowed_anywhere():
    post = PostFactory()
    _run_as(
        "governance/services.py",
        "post.text = 'Edited'\npost.save()\nPost.objects.filter(pk=post.pk).update(text='Again')",
        post=post,
        Post=Post,
    )
    post.refresh_from_db()
    assert (post.text, post.status) == ("Again", PostStatus.DRAFT)


@pytest.mark.django_db
def test_the_owners_may_write_it():
    post = _approved_post()
    _run_as("scheduler/services/posts.py", "post.status = PostStatus.SUBMITTED\npost.save()", post=post)
    _run_as("scheduler/publishing.py", "post.deliveries.update(status='cancelled')", post=post)
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert set(post.deliveries.values_list("status", flat=True)) == {"cancelled"}
