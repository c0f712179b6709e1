"""Post and Delivery state is written only by the scheduler's services package and the publishing state
machine (issue 12): scheduler/services/ (posts, review, holds) and scheduler/publishing.py.

A static check over the project's code (tests, benchmarks and migrations excepted; tests may use factories
to create rows in a status): outside those files, no assignment `x.status = PostStatus.…/DeliveryStatus.…`,
no `status=` keyword in a create/update call that names a post or delivery status, and no `.update(status=…)`
on a queryset of posts or deliveries, whatever the value."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "node_modules", "tests", "bench", "migrations", ".git", "static", "templates", "docs"}
OWNERS = ("scheduler/services/", "scheduler/publishing.py")
STATUS_ENUMS = ("PostStatus", "DeliveryStatus")
WRITE_CALLS = {"create", "update", "get_or_create", "update_or_create", "bulk_create", "Post", "Delivery"}
# Words that mark a queryset as one of posts or deliveries in `<queryset>.update(status=...)`.
POST_OR_DELIVERY = ("Post", "Delivery", "post", "deliver")


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
                    and any(word in ast.unparse(node.func.value) for word in POST_OR_DELIVERY)
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
"""
    assert state_writes(source) == []


def test_the_owners_do_write_state():
    # The check would pass trivially if it found nothing anywhere: the owners' own writes are found.
    owners = [ROOT / "scheduler" / "publishing.py", *sorted((ROOT / "scheduler" / "services").glob("*.py"))]
    assert sum(len(state_writes(path.read_text())) for path in owners) > 5
