"""What governance adds to what a delivery sends (a CIVICPOST_DELIVERY_CONTENT_FILTERS entry, wired by the
composition root so that scheduler never imports governance): an emergency post goes out flagged urgent on the
platforms that have an urgent kind of post (Nextdoor's urgent alert, the e-mail bulletin's subject), so one
approved emergency action reaches social media, Nextdoor neighbours and e-mail subscribers together."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from governance.models import EmergencyPost
from scheduler.adapters.base import PostContent
from scheduler.adapters.registry import UnknownPlatform, get_adapter_class


def delivery_content_urgent_for_emergencies(delivery: Any, content: PostContent) -> PostContent:
    """Returns `content` flagged urgent when the delivery's post is an emergency post and its platform reads the
    flag (one query, only for those platforms); otherwise `content` unchanged."""
    try:
        reads_flag = get_adapter_class(delivery.channel.platform).uses_urgent_flag
    except UnknownPlatform:
        return content
    if not reads_flag or content.urgent:
        return content
    if not EmergencyPost.objects.filter(post_id=delivery.post_id).exists():
        return content
    return replace(content, urgent=True)
