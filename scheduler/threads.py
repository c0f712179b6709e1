"""Threads of posts and first comments (issue 17): what a snapshot's extra parts need before it may be approved.

A thread is a numbered chain of parts, composed and approved together (the snapshot's `thread` holds parts 2, 3,
…; `text` is part 1), published on each channel whose platform takes threads (`supports_threads`: X, Bluesky,
Mastodon, Threads), one Delivery per part, each part claimed only once the one before is published and sent as a
reply to it (scheduler.publishing). A first comment (`first_comment`) is published right after the post on
channels whose platform takes one (`supports_first_comment`: Facebook, Instagram, LinkedIn).

Reads only: the writes are scheduler.services' (deliveries_create_for_approval) and scheduler.publishing's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from django.utils.translation import gettext as _

from scheduler.adapters.base import ReplyTarget
from scheduler.adapters.registry import adapter_for_channel, get_adapter_class, platform_label
from scheduler.snapshots import channel_content

# A chain longer than this is a document, not a thread; the composer offers "add part" up to it.
MAX_THREAD_PARTS = 25
# Stands in for the previous part's remote id while validating: only whether a reply is possible matters.
_VALIDATION_TARGET = ReplyTarget(remote_id="validation")


def thread_platform_labels() -> list[str]:
    """Returns the names of the platforms that take threads (for messages and the composer's hint)."""
    from scheduler.adapters.registry import adapter_classes  # loads every adapter: only when a message needs it

    return sorted(cls.label for cls in adapter_classes().values() if cls.supports_threads)


def first_comment_platform_labels() -> list[str]:
    from scheduler.adapters.registry import adapter_classes  # loads every adapter: only when a message needs it

    return sorted(cls.label for cls in adapter_classes().values() if cls.supports_first_comment)


def thread_problems(*, content: dict[str, Any], channels: Sequence[Any]) -> list[str]:
    """Returns why the snapshot's thread parts and first comment cannot be approved as they stand (empty: they
    can). Each part is checked by each thread channel's adapter, as the reply it will be."""
    problems: list[str] = []
    thread = content.get("thread", [])
    if thread:
        problems.extend(_thread_problems(content=content, thread=thread, channels=channels))
    comment = content.get("first_comment", "")
    if comment:
        problems.extend(_first_comment_problems(content=content, comment=comment, channels=channels))
    return problems


def _thread_problems(*, content: dict[str, Any], thread: list[str], channels: Sequence[Any]) -> list[str]:
    problems: list[str] = []
    count = 1 + len(thread)
    if count > MAX_THREAD_PARTS:
        problems.append(
            _("A thread can have at most %(max)d parts; this one has %(count)d.")
            % {"max": MAX_THREAD_PARTS, "count": count}
        )
    if content.get("languages"):
        problems.append(
            _(
                "A thread is published in the post's main language only: remove the other language versions, "
                "or the parts after the first."
            )
        )
    takers = [channel for channel in channels if get_adapter_class(channel.platform).supports_threads]
    if channels and not takers:
        problems.append(
            _("None of the chosen channels takes a thread (%(platforms)s). Remove the parts after the first.")
            % {"platforms": ", ".join(thread_platform_labels())}
        )
    own_texts = content.get("channel_text", {})
    for channel in channels:
        if channel in takers:
            continue
        if not own_texts.get(str(channel.pk), "").strip():
            problems.append(
                _(
                    "%(channel)s cannot publish a thread, so it would get part 1 only: write its own version of "
                    "the post for it, or leave it out."
                )
                % {"channel": channel.display_name}
            )
    for channel in takers:
        adapter = adapter_for_channel(channel)
        for number in range(2, count + 1):
            part = replace(channel_content(content, channel, part=number), reply_to=_VALIDATION_TARGET)
            for problem in adapter.validate(part):
                message = _("%(channel)s, part %(part)d of %(count)d: %(problem)s") % {
                    "channel": channel.display_name,
                    "part": number,
                    "count": count,
                    "problem": problem.message,
                }
                if message not in problems:
                    problems.append(message)
    return problems


def _first_comment_problems(*, content: dict[str, Any], comment: str, channels: Sequence[Any]) -> list[str]:
    problems: list[str] = []
    takers = [channel for channel in channels if get_adapter_class(channel.platform).supports_first_comment]
    if channels and not takers:
        problems.append(
            _("None of the chosen channels takes a first comment (%(platforms)s). Remove the first comment.")
            % {"platforms": ", ".join(first_comment_platform_labels())}
        )
    for channel in takers:
        limit = get_adapter_class(channel.platform).first_comment_max_chars
        if limit and len(comment) > limit:
            problems.append(
                _("%(channel)s: a first comment on %(platform)s has at most %(limit)d characters; this one has %(n)d.")
                % {
                    "channel": channel.display_name,
                    "platform": platform_label(channel.platform),
                    "limit": limit,
                    "n": len(comment),
                }
            )
    return problems
