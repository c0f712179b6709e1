"""What the composer shows while someone types: the length per channel (and per language version), the
problems each platform would refuse, a preview per platform and the accessibility hints.

The numbers come from the same code that checks a post at submit time: the draft is turned into the
same snapshot shape as an approval (scheduler.services.approval_content_for), then each channel's adapter
counts and validates scheduler.services.channel_content(...), exactly as post_problems does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from analytics.shortlinks import short_link_length, short_link_preview
from civicpost.languages import language_name
from composer.compose_forms import PostForm
from composer.hints import Hint, accessibility_hints
from composer.link_cards import LinkCard, link_card
from composer.selectors import hashtag_suggestions
from medialibrary.models import MediaAsset
from medialibrary.services import ALT_TEXT_REQUIRED, media_gate_problems, media_snapshot
from scheduler.adapters.base import PostContent, ReplyTarget
from scheduler.adapters.email_bulletin.adapter import subject_of
from scheduler.adapters.registry import UnknownPlatform, adapter_for_channel
from scheduler.adapters.youtube.adapter import video_description, video_title
from scheduler.content import clean_channel_text, delivery_targets, languages_snapshot
from scheduler.snapshots import channel_content, thread_snapshot

# Platforms whose posts show a card for the first link instead of the bare address.
LINK_CARD_PLATFORMS = {"facebook", "mastodon", "bluesky", "threads", "x", "linkedin", "nextdoor"}
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


@dataclass(frozen=True)
class _Chosen:
    """A file chosen in the form and its alt text, as media_snapshot reads a PostMedia row."""

    asset: MediaAsset
    alt_text: str


@dataclass
class ChannelCount:
    channel: Any
    language: str
    label: str
    used: int
    limit: int
    problems: list[str] = field(default_factory=list)

    @property
    def over_by(self) -> int:
        return max(0, self.used - self.limit)


@dataclass(frozen=True)
class PreviewPart:
    """A later part of a thread (or the first comment) as it will be sent, with its length there."""

    number: int
    text: str
    used: int
    limit: int

    @property
    def over_by(self) -> int:
        return max(0, self.used - self.limit)


@dataclass
class Preview:
    channel: Any
    language: str
    label: str
    platform: str
    platform_label: str
    content: PostContent
    shows_link_card: bool
    used: int = 0
    limit: int = 0
    # The line the platform shows above the text: an e-mail's subject, a YouTube video's title.
    headline_label: str = ""
    headline: str = ""
    # The text as the platform shows it (YouTube: the video's description); empty: content.text_with_link().
    body: str = ""
    # Google Business Profile sends the link as a "Learn more" button.
    action_link: str = ""
    parts: list[PreviewPart] = field(default_factory=list)
    first_comment: PreviewPart | None = None
    link_card: LinkCard | None = None
    card_url: str = ""

    @property
    def over_by(self) -> int:
        return max(0, self.used - self.limit)

    @property
    def shown_text(self) -> str:
        return self.body or self.content.text_with_link()

    @property
    def link_host(self) -> str:
        url = self.card_url or self.content.link
        return urlsplit(url).hostname or url

    @property
    def media(self) -> list[dict[str, Any]]:
        """Each attached file as this page shows it: its address on this site and the alt text sent."""
        return [
            {
                "src": default_storage.url(item.path) if item.path else item.url,
                "alt": item.alt_text,
                "is_video": item.mime_type.startswith("video/"),
                "is_document": item.mime_type == "application/pdf",
            }
            for item in self.content.media
        ]


@dataclass
class Feedback:
    counts: list[ChannelCount]
    previews: list[Preview]
    hints: list[Hint]
    grade: float | None
    grade_target: int
    gate_problems: list[str]
    # The length every link is counted at when the department sends links through short links (else None).
    short_link_length: int | None = None
    # Hashtags of the department's own earlier posts that the text does not use yet.
    hashtags: list[str] = field(default_factory=list)


def _value(form: PostForm, name: str, default: Any = "") -> Any:
    cleaned = getattr(form, "cleaned_data", {}) or {}
    if name in cleaned and cleaned[name] is not None:
        return cleaned[name]
    return default


def _part_counts(adapter: Any, content: dict[str, Any], channel: Any, label: str) -> list[ChannelCount]:
    """The length of each later part of the thread on one channel, checked as the reply it will be."""
    count = 1 + len(content["thread"])
    rows = []
    for number in range(2, count + 1):
        part = replace(channel_content(content, channel, part=number), reply_to=ReplyTarget(remote_id="preview"))
        length = adapter.text_length(part)
        problems = [p.message for p in adapter.validate(part) if not p.message.startswith(f"{adapter.label} allows")]
        part_label = _("%(channel)s, part %(part)d of %(count)d") % {"channel": label, "part": number, "count": count}
        rows.append(
            ChannelCount(channel, content.get("language", "en"), part_label, length.used, length.limit, problems)
        )
    return rows


def draft_content(form: PostForm) -> tuple[dict[str, Any], list[Any]]:
    """Returns (snapshot-shaped content, chosen channels) for what is in the form right now, saved or not.
    Call after form.is_valid() (a lenient form: unfinished values are simply left out)."""
    channels = list(_value(form, "channels", []) or [])
    channel_ids = sorted(channel.pk for channel in channels)
    content: dict[str, Any] = {
        "text": _value(form, "text", ""),
        "link": _value(form, "link", ""),
        "channel_ids": channel_ids,
    }
    if form.main_language != "en":
        content["language"] = form.main_language
    channel_text = clean_channel_text(form.channel_text_value(), channel_ids)
    if channel_text:
        content["channel_text"] = channel_text
    media = form.media_value()
    if media:
        content["media"] = media_snapshot(_Chosen(asset=asset, alt_text=alt) for asset, alt in media)
    languages = form.languages_value()
    if languages:
        content["languages"] = languages_snapshot(
            languages, channel_ids=channel_ids, media_asset_ids=[asset.pk for asset, _alt in media]
        )
    thread = thread_snapshot(form.thread_parts_value() if hasattr(form, "cleaned_data") else [])
    if thread:
        content["thread"] = thread
    first_comment = str(_value(form, "first_comment", "") or "").strip()
    if first_comment:
        content["first_comment"] = first_comment
    return content, channels


def _card_url(content: dict[str, Any]) -> str:
    """The address a platform makes its card from: the post's link, else the first address in its text."""
    if content.get("link"):
        return str(content["link"])
    found = _URL_IN_TEXT.search(content.get("text", ""))
    return found.group(0) if found else ""


def _shown_text(platform: str, content: PostContent) -> str:
    """The text as residents see it there, where the link is not simply added after the text (each rule is the
    one its adapter sends: FacebookPageAdapter._message, LinkedIn's _commentary_text, Nextdoor's smartlink_url,
    Google Business Profile's "Learn more" button, YouTube's video_description)."""
    if platform == "youtube":
        return video_description(content)
    if platform in ("facebook", "linkedin"):
        # Without images the link goes as a card, not in the text.
        return content.text_with_link() if content.media else content.text
    if platform in ("nextdoor", "google_business"):
        return content.text
    return content.text_with_link()


def _headline(platform: str, content: PostContent) -> tuple[str, str]:
    if platform == "email_bulletin":
        return _("Subject"), subject_of(content)
    if platform == "youtube":
        return _("Video title"), video_title(content.text)
    return "", ""


def _preview_parts(adapter: Any, content: dict[str, Any], channel: Any) -> list[PreviewPart]:
    if not (content.get("thread") and adapter.supports_threads):
        return []
    parts = []
    for number in range(2, len(content["thread"]) + 2):
        part = replace(channel_content(content, channel, part=number), reply_to=ReplyTarget(remote_id="preview"))
        length = adapter.text_length(part)
        parts.append(PreviewPart(number, part.text, length.used, length.limit))
    return parts


def _first_comment(adapter: Any, content: dict[str, Any], channel: Any) -> PreviewPart | None:
    if not (content.get("first_comment") and adapter.supports_first_comment):
        return None
    comment = channel_content(content, channel, kind="first_comment")
    return PreviewPart(1, comment.text, len(comment.text), adapter.first_comment_max_chars)


def composer_feedback(form: PostForm) -> Feedback:
    """Returns the counts, previews and hints for a (lenient) PostForm after is_valid()."""
    content, channels = draft_content(form)
    department = form.department
    publishing = department.language_publishing if department else "same_channel"
    main = content.get("language", "en")
    counts: list[ChannelCount] = []
    previews: list[Preview] = []
    card_url = _card_url(content) if channels else ""
    card: LinkCard | None = None
    card_fetched = False
    for channel, language in delivery_targets(content=content, channels=channels, publishing=publishing):
        label = channel.display_name if language == main else f"{channel.display_name} ({language_name(language)})"
        post_content = channel_content(content, channel, language)
        # Counted as sent: with the department's short links, each link is /l/<code> on the city's domain.
        post_content = short_link_preview(
            post_content, department_id=getattr(department, "pk", None), platform=channel.platform
        )
        try:
            adapter = adapter_for_channel(channel)
        except UnknownPlatform:
            continue
        length = adapter.text_length(post_content)
        # The count says "n too many" itself; the adapter's sentence about the length would repeat it.
        length_sentence = (
            f"{adapter.label} allows {length.limit} characters; "
            f"this post has {length.used} ({length.over_by} too many)."
        )
        problems = [
            p.message for p in adapter.validate(post_content) if p.message not in (ALT_TEXT_REQUIRED, length_sentence)
        ]
        counts.append(ChannelCount(channel, language, label, length.used, length.limit, problems))
        if language == main and content.get("thread") and adapter.supports_threads:
            counts.extend(_part_counts(adapter, content, channel, label))
        # A post with images shows the images, not a card, on every platform that makes cards.
        shows_card = bool(card_url) and channel.platform in LINK_CARD_PLATFORMS and not post_content.media
        if shows_card and not card_fetched:
            card, card_fetched = link_card(card_url), True
        headline_label, headline = _headline(channel.platform, post_content)
        main_only = language == main
        previews.append(
            Preview(
                channel=channel,
                language=language,
                label=label,
                platform=channel.platform,
                platform_label=channel.platform_label,
                content=post_content,
                shows_link_card=shows_card,
                used=length.used,
                limit=length.limit,
                headline_label=headline_label,
                headline=headline,
                body=_shown_text(channel.platform, post_content),
                action_link=post_content.link if channel.platform == "google_business" else "",
                parts=_preview_parts(adapter, content, channel) if main_only else [],
                first_comment=_first_comment(adapter, content, channel) if main_only else None,
                link_card=card if shows_card else None,
                card_url=card_url if shows_card else "",
            )
        )
    target = department.plain_language_grade if department else 8
    grade, hints = accessibility_hints(
        content["text"], image_count=len(content.get("media", [])), language=main, target=target
    )
    return Feedback(
        counts=counts,
        previews=previews,
        hints=hints,
        grade=grade,
        grade_target=target,
        gate_problems=media_gate_problems(content.get("media", [])),
        short_link_length=short_link_length(department_id=getattr(department, "pk", None)),
        hashtags=hashtag_suggestions(
            user=form.user,
            department_id=getattr(department, "pk", None),
            exclude=re.findall(r"#(\w+)", " ".join([content["text"], *content.get("thread", [])])),
        ),
    )
