"""A small city for the chaos run and the benchmarks: departments, people, and channels on the fake
platform (Mastodon, X and Facebook, each account with its own token), plus ways to schedule posts.

Runs inside a harness process that has called bench._common.setup_django().
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

DEPARTMENTS = (("Parks and Recreation", "parks"), ("Public Library", "library"), ("Transit", "transit"))
WORDS = [
    "pool",
    "splash",
    "pad",
    "trail",
    "bus",
    "route",
    "library",
    "story",
    "hour",
    "snow",
    "plow",
    "recycling",
    "pickup",
    "parade",
    "festival",
    "closure",
    "detour",
    "meeting",
    "council",
    "permit",
    "vaccine",
    "clinic",
    "cooling",
    "center",
    "shelter",
    "volunteers",
    "garden",
    "market",
    "concert",
    "fireworks",
]


def fake_account(platform: str, credentials: dict[str, Any], options: dict[str, Any]) -> str:
    """The account id the fake platform files a channel's posts under (see tests/fakeplatform/server.py)."""
    from tests.fakeplatform.server import _numeric_id

    if platform == "mastodon":
        return _numeric_id(f"mastodon:{credentials['access_token']}")
    if platform == "x":
        return str(credentials["x_user_id"])
    return str(options["page_id"])


@dataclass
class City:
    departments: list[Any] = field(default_factory=list)
    editors: dict[int, Any] = field(default_factory=dict)
    approvers: dict[int, Any] = field(default_factory=dict)
    channels: dict[int, list[Any]] = field(default_factory=dict)
    accounts: dict[int, tuple[str, str]] = field(default_factory=dict)  # channel id -> (platform, account)


def create_city(
    *, fake_url: str, platforms: tuple[str, ...] = ("mastodon", "x", "facebook"), per_platform: int = 1
) -> City:
    from django.contrib.auth import get_user_model

    from departments.models import Department, Membership, Role
    from scheduler.models import Channel

    user_model = get_user_model()
    city = City()
    communications = Department.objects.create(
        name="Communications", slug="communications", is_communications_team=True
    )
    boss = user_model.objects.create_user("comms-admin", "comms-admin@city.example", "not-used-password-123")
    Membership.objects.create(user=boss, department=communications, role=Role.ADMIN)
    ids = itertools.count(1)
    for name, slug in DEPARTMENTS:
        department = Department.objects.create(name=name, slug=slug, time_zone="America/Chicago")
        editor = user_model.objects.create_user(
            f"{slug}-editor", f"{slug}-editor@city.example", "not-used-password-123"
        )
        approver = user_model.objects.create_user(
            f"{slug}-approver", f"{slug}-approver@city.example", "not-used-password-123"
        )
        Membership.objects.create(user=editor, department=department, role=Role.EDITOR)
        Membership.objects.create(user=approver, department=department, role=Role.APPROVER)
        city.departments.append(department)
        city.editors[department.pk] = editor
        city.approvers[department.pk] = approver
        city.channels[department.pk] = []
        for platform, copy in itertools.product(platforms, range(per_platform)):
            number = next(ids)
            if platform == "mastodon":
                credentials = {"access_token": f"mastodon-token-{slug}-{copy}"}
                options = {"instance_url": fake_url, "max_characters": 500}
            elif platform == "x":
                user_id = str(9000 + number)
                credentials = {
                    "access_token": f"{user_id}-access-token",
                    "access_token_secret": "fake-secret",
                    "x_user_id": user_id,
                    "username": f"{slug}{copy}",
                }
                options = {}
            elif platform == "facebook":
                credentials = {"page_access_token": f"page-token-{slug}-{copy}"}
                options = {"page_id": str(100000 + number), "page_name": f"{name} {copy}"}
            else:
                credentials, options = {"token": "sandbox"}, {}
            channel = Channel.objects.create(
                department=department,
                platform=platform,
                display_name=f"{name} on {platform} {copy}",
                account_handle=f"@{slug}{copy}",
                credentials=credentials,
                options=options,
            )
            city.channels[department.pk].append(channel)
            city.accounts[channel.pk] = (platform, fake_account(platform, credentials, options))
    return city


def post_text(rng: random.Random, number: int, tag: str, marker: str = "") -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
    return f"{words.capitalize()}. Update {number} #{tag}{marker}"


def schedule_approved_post(
    *,
    city: City,
    department: Any,
    channels: list[Any],
    text: str,
    due_at: dt.datetime,
    thread_parts: list[str] | None = None,
) -> Any:
    """Creates, submits and approves a post through the real services (due_at must be in the future);
    `thread_parts` makes it a thread (parts 2, 3, …) on the channels that take threads."""
    from scheduler.services import post_approve, post_create, post_submit

    post = post_create(
        author=city.editors[department.pk],
        department=department,
        text=text,
        channels=channels,
        due_at=due_at,
        thread_parts=thread_parts,
    )
    post_submit(post=post, user=city.editors[department.pk])
    post_approve(post=post, user=city.approvers[department.pk])
    return post


def schedule_unapproved_post(
    *, city: City, department: Any, channels: list[Any], text: str, due_at: dt.datetime, request_changes: bool
) -> Any:
    from scheduler.services import post_create, post_request_changes, post_submit

    post = post_create(
        author=city.editors[department.pk], department=department, text=text, channels=channels, due_at=due_at
    )
    post_submit(post=post, user=city.editors[department.pk])
    if request_changes:
        post_request_changes(post=post, user=city.approvers[department.pk], comment="Please add the address.")
    return post


def bulk_approved_deliveries(*, city: City, count: int, due_at: dt.datetime, tag: str, seed: int = 1) -> int:
    """Creates approved posts and their deliveries in bulk, exactly as post_approve would, all due at
    `due_at`; returns how many deliveries were made. For benchmarks (services are ~100x slower)."""
    from django.db import transaction
    from django.utils import timezone

    from scheduler.models import Delivery, Post, PostApproval, PostStatus
    from scheduler.snapshots import approval_content_for, content_hash

    rng = random.Random(seed)  # noqa: S311
    made = 0
    number = 0
    now = timezone.now()
    while made < count:
        with transaction.atomic():
            batch_posts = []
            for department in city.departments:
                for _ in range(50):
                    if made >= count:
                        break
                    channels = city.channels[department.pk]
                    chosen = channels[: min(len(channels), count - made)]
                    number += 1
                    post = Post.objects.create(
                        department=department,
                        author=city.editors[department.pk],
                        text=post_text(rng, number, tag),
                        due_at=due_at,
                        status=PostStatus.SUBMITTED,
                        submitted_at=now,
                    )
                    post.channels.set(chosen)
                    batch_posts.append((post, chosen))
                    made += len(chosen)
            deliveries = []
            for post, chosen in batch_posts:
                content = approval_content_for(post)
                approval = PostApproval.objects.create(
                    post=post,
                    content=content,
                    content_hash=content_hash(content),
                    approved_by=city.approvers[post.department_id],
                    approved_at=now,
                )
                Post.objects.filter(pk=post.pk).update(status=PostStatus.APPROVED, current_approval=approval)
                deliveries += [
                    Delivery(post=post, channel=c, approval=approval, due_at=due_at, next_attempt_at=due_at)
                    for c in chosen
                ]
            Delivery.objects.bulk_create(deliveries)
    return made
