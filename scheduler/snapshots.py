"""Snapshots of a post's content, pure: what an approver approves (approval_content_for), its hash, and what
one channel receives from an approved snapshot (channel_content). Reads the post and its rows; writes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from medialibrary.services import media_snapshot
from scheduler.adapters.base import MediaItem, PostContent, ReplyTarget
from scheduler.content import clean_channel_text, languages_snapshot
from scheduler.models import Channel, Post


def approval_content_for(post: Post) -> dict[str, Any]:
    """Returns the canonical content of a post as it would be approved (also used for the hash).

    The composer's keys appear only when they carry something: `language` (when not "en"),
    `channel_text` {channel id: text}, `media` (see medialibrary.services.media_snapshot) and
    `languages` {code: {"text", "channel_text", "media_alt"}}, `reply_to` (a reply: what it answers). A plain
    post's snapshot, and its hash,
    are what they were before the composer."""
    channel_ids = sorted(channel.pk for channel in post.channels.all())
    content: dict[str, Any] = {
        "text": post.text,
        "link": post.link,
        "due_at": post.due_at.astimezone(dt.UTC).isoformat(),
        "channel_ids": channel_ids,
    }
    if post.language and post.language != "en":
        content["language"] = post.language
    channel_text = clean_channel_text(post.channel_text, channel_ids)
    if channel_text:
        content["channel_text"] = channel_text
    if not post.pk:
        media_items = []
    elif "media_items" in getattr(post, "_prefetched_objects_cache", {}):
        # Prefetched in this order by whoever reads many posts (scheduler.approvals.posts_user_can_approve_now).
        media_items = list(post.media_items.all())
    else:
        media_items = list(post.media_items.select_related("asset").order_by("position", "id"))
    if media_items:
        content["media"] = media_snapshot(media_items)
    if post.reply_to:
        content["reply_to"] = dict(post.reply_to)
    if post.languages:
        content["languages"] = languages_snapshot(
            post.languages, channel_ids=channel_ids, media_asset_ids=[item.asset_id for item in media_items]
        )
    thread = thread_snapshot(post.thread_parts)
    if thread:
        content["thread"] = thread
    if post.first_comment.strip():
        content["first_comment"] = post.first_comment
    return content


def thread_snapshot(parts: list[str] | None) -> list[str]:
    """Returns the texts of parts 2, 3, … that say something, in order (empty parts are dropped)."""
    return [str(part) for part in (parts or []) if str(part).strip()]


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def channel_content(
    approval_content: dict[str, Any],
    channel: Channel,
    language: str | None = None,
    *,
    part: int = 1,
    kind: str = "post",
) -> PostContent:
    """Returns what one channel receives, built only from an approved (or to-be-approved) snapshot.

    `language` picks a language version (a Delivery's `language`); None, "" or the main language give the
    main text. `part` > 1 gives that part of a thread (text only: the link and media go with part 1);
    `kind` "first_comment" gives the first comment. Raises LookupError if the snapshot has no such version
    or part (nothing is ever sent in its place)."""
    main = approval_content.get("language", "en")
    if kind == "first_comment" or part > 1:
        if language and language != main:
            raise LookupError("Threads and first comments are published in the post's main language only.")
        if kind == "first_comment":
            text = approval_content.get("first_comment", "")
        else:
            thread = approval_content.get("thread", [])
            if part - 2 >= len(thread):
                raise LookupError(f"The approved post has no part {part}.")
            text = thread[part - 2]
        if not text:
            raise LookupError("The approved post has no first comment.")
        return PostContent(text=text, language=main)
    alt_texts: list[str] = []
    if language and language != main:
        version = approval_content.get("languages", {}).get(language)
        if version is None:
            raise LookupError(f"The approved post has no {language!r} version.")
        text = version.get("channel_text", {}).get(str(channel.pk)) or version["text"]
        alt_texts = list(version.get("media_alt") or [])
    else:
        language = main
        text = approval_content.get("channel_text", {}).get(str(channel.pk)) or approval_content["text"]
    media = []
    for index, item in enumerate(approval_content.get("media", [])):
        alt_text = alt_texts[index] if index < len(alt_texts) and alt_texts[index] else item.get("alt_text", "")
        media.append(
            MediaItem(
                url=item["url"],
                mime_type=item.get("mime_type", ""),
                alt_text=alt_text,
                path=item.get("path", ""),
                width=item.get("width"),
                height=item.get("height"),
                size_bytes=item.get("size_bytes"),
                duration_seconds=item.get("duration_seconds"),
                video_codec=item.get("video_codec") or "",
                audio_codec=item.get("audio_codec") or "",
                frame_rate=item.get("frame_rate"),
                captions_url=item.get("captions_url") or "",
                captions_path=item.get("captions_path") or "",
                captions_burned_in=bool(item.get("captions_burned_in")),
            )
        )
    return PostContent(
        text=text,
        link=approval_content.get("link", ""),
        language=language,
        media=tuple(media),
        reply_to=reply_target(approval_content.get("reply_to")),
    )


def reply_target(value: dict[str, Any] | None) -> ReplyTarget | None:
    """Returns the ReplyTarget stored in a snapshot's (or Post.reply_to's) {"remote_id", "root_remote_id",
    "details"}, or None for a post that answers nothing."""
    if not value or not value.get("remote_id"):
        return None
    return ReplyTarget(
        remote_id=str(value["remote_id"]),
        root_remote_id=str(value.get("root_remote_id") or ""),
        details=dict(value.get("details") or {}),
    )
