"""The `data` of each event: what a city system needs to act on it, no more (no credentials, no e-mail
addresses). Ids match the REST API's (/api/v1/posts/<id>/, /api/v1/deliveries/<id>/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse

from scheduler.models import CrisisHold, Delivery, Post, PostApproval


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def post_data(post: Post) -> dict[str, Any]:
    department = post.department
    return {
        "id": post.pk,
        "status": post.status,
        "text": post.text,
        "link": post.link,
        "language": post.language,
        "due_at": _iso(post.due_at),
        "department": {"id": department.pk, "slug": department.slug, "name": department.name},
        "api_url": reverse("api:post-detail", kwargs={"pk": post.pk}),
    }


def approval_data(post: Post, approval: PostApproval) -> dict[str, Any]:
    return {"post": post_data(post), "approved_at": _iso(approval.approved_at), "content_hash": approval.content_hash}


def delivery_data(delivery: Delivery, *, status: str, message: str) -> dict[str, Any]:
    channel = delivery.channel
    return {
        "post": post_data(delivery.post),
        "delivery": {
            "id": delivery.pk,
            "status": status,
            "language": delivery.language,
            "channel": {"id": channel.pk, "platform": channel.platform, "name": channel.display_name},
            "permalink": delivery.permalink or None,
            "published_at": _iso(delivery.published_at),
            "failure_message": message or None,
            "api_url": reverse("api:delivery-detail", kwargs={"pk": delivery.pk}),
        },
    }


def crisis_data(hold: CrisisHold, *, department_ids: list[int]) -> dict[str, Any]:
    return {
        "crisis_hold": {
            "id": hold.pk,
            "reason": hold.reason,
            "city_wide": hold.city_wide,
            "department_ids": department_ids,
            "started_at": _iso(hold.started_at),
            "ended_at": _iso(hold.ended_at),
        }
    }
