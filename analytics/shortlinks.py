"""CivicPost's own short links: `/l/<code>` on CIVICPOST_SITE_URL, one per delivery and link, with UTM
parameters (utm_source = platform, utm_medium = social, utm_campaign = department slug and post id), so every
platform's clicks are counted the same way, per delivery.

Publishing applies `delivery_content_with_short_links` to what each delivery sends (wired through the
CIVICPOST_DELIVERY_CONTENT_FILTERS setting): the same delivery always gets the same codes, so a retry or a
reconcile sends and matches the same text. The composer counts with `short_link_preview` so each platform's
counter shows the short link's length."""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from analytics.models import ShortLink, ShortLinkSetting
from audit.models import AuditAction
from audit.services import audit_record
from scheduler.adapters.base import PostContent
from scheduler.models import DeliveryStatus

if TYPE_CHECKING:
    from scheduler.models import Delivery

CODE_LENGTH = 8
# Channels whose "links" are CivicPost's own (the city feed) or a machine's (the webhook): never shortened.
UNSHORTENED_PLATFORMS = frozenset({"feed", "webhook"})
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def short_links_enabled(*, department_id: int) -> bool:
    return ShortLinkSetting.objects.filter(department_id=department_id, enabled=True).exists()


@transaction.atomic
def short_links_set(*, department_id: int, enabled: bool, actor: Any = None) -> None:
    """Turns the department's short links on or off (applies to deliveries first sent from now on), with an
    audit event when it changes."""
    before = short_links_enabled(department_id=department_id)
    ShortLinkSetting.objects.update_or_create(department_id=department_id, defaults={"enabled": enabled})
    if before != enabled:
        audit_record(
            action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
            actor=actor,
            department_id=department_id,
            changes={"short_links": {"before": before, "after": enabled}},
        )


def short_url(code: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/l/{code}"


def with_utm(url: str, *, platform: str, campaign: str) -> str:
    """The URL with utm_source/medium/campaign set (existing UTM values of the link are replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    query += [("utm_source", platform), ("utm_medium", "social"), ("utm_campaign", campaign)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def short_link_for(*, delivery: Delivery, url: str) -> ShortLink:
    """Returns the delivery's short link for `url`, creating it the first time (a fresh random code)."""
    existing = ShortLink.objects.filter(delivery=delivery, original_url=url).first()
    if existing:
        return existing
    post = delivery.post
    target = with_utm(url, platform=delivery.channel.platform, campaign=f"{post.department.slug}-{post.pk}")
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ShortLink.objects.create(
                    code=secrets.token_urlsafe(6)[:CODE_LENGTH],
                    target_url=target,
                    original_url=url,
                    delivery=delivery,
                    platform=delivery.channel.platform,
                )
        except IntegrityError:
            existing = ShortLink.objects.filter(delivery=delivery, original_url=url).first()
            if existing:  # a concurrent attempt of the same delivery made it
                return existing
    raise RuntimeError("Could not pick an unused short-link code.")


def _replace_urls(text: str, replacement: dict[str, str]) -> str:
    return _URL.sub(lambda match: replacement.get(match.group(0), match.group(0)), text)


def delivery_content_with_short_links(delivery: Delivery, content: PostContent) -> PostContent:
    """What the delivery sends with every link (the link field and links in the text) replaced by its short
    link. Decided once, at the delivery's first attempt: a delivery that already has short links always uses
    them (a retry or a reconcile must send and look for the same text, even if the switch changed since), and
    one first sent without them stays without. Unchanged where the department did not turn short links on."""
    urls = dict.fromkeys(_URL.findall(content.text))
    if content.link:
        urls[content.link] = None
    if not urls or delivery.channel.platform in UNSHORTENED_PLATFORMS:
        return content  # no query for a post without links (the publish path's query budget)
    if delivery.status == DeliveryStatus.SENDING and delivery.attempts <= 1:
        existing: dict[str, str] = {}  # the first attempt: no links can exist yet
        if not short_links_enabled(department_id=delivery.post.department_id):
            return content
    else:
        existing = dict(ShortLink.objects.filter(delivery=delivery).values_list("original_url", "code"))
        if not existing:
            return content
    replacement = {
        url: short_url(existing[url] if url in existing else short_link_for(delivery=delivery, url=url).code)
        for url in urls
    }
    return replace(
        content,
        text=_replace_urls(content.text, replacement),
        link=replacement.get(content.link, content.link),
    )


def short_link_length(*, department_id: int | None) -> int | None:
    """How many characters each link takes when the department sends links through short links, else None."""
    if department_id is None or not short_links_enabled(department_id=department_id):
        return None
    return len(short_url("x" * CODE_LENGTH))


def short_link_preview(content: PostContent, *, department_id: int | None, platform: str) -> PostContent:
    """The content as the composer should count it: links replaced by a short link of the real length."""
    if department_id is None or platform in UNSHORTENED_PLATFORMS:
        return content
    if not short_links_enabled(department_id=department_id):
        return content
    placeholder = short_url("x" * CODE_LENGTH)
    urls = set(_URL.findall(content.text)) | ({content.link} if content.link else set())
    replacement = dict.fromkeys(urls, placeholder)
    return replace(content, text=_replace_urls(content.text, replacement), link=placeholder if content.link else "")
