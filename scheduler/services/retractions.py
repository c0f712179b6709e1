"""Deleting a published post from its channels ("retract it everywhere"). It asks each channel's adapter
to delete the post and reports, per delivery, whether the platform deleted it; Delivery rows are not changed
(the delivery was published; the archive records that it was later deleted, and the audit trail who asked).
The public record of it is written by the archive app, which calls this."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import AdapterError
from scheduler.adapters.registry import UnknownPlatform, adapter_for_channel
from scheduler.models import Delivery, DeliveryStatus, Post


@dataclass(frozen=True)
class PlatformDeletion:
    """What happened to one published delivery: `deleted` True, or why not in `message`."""

    delivery_id: int
    channel_id: int
    channel_name: str
    platform: str
    remote_id: str
    deleted: bool
    message: str = ""


def _outcome(delivery: Delivery, *, deleted: bool, message: str = "") -> PlatformDeletion:
    return PlatformDeletion(
        delivery_id=delivery.pk,
        channel_id=delivery.channel_id,
        channel_name=delivery.channel.display_name,
        platform=delivery.channel.platform,
        remote_id=delivery.remote_id,
        deleted=deleted,
        message=message,
    )


def post_delete_from_platforms(*, post: Post, user: User, reason: str) -> list[PlatformDeletion]:
    """Asks every channel the post was published to to delete it (once per published delivery). A platform
    whose API cannot delete posts (Instagram, e-mail bulletins) or that refuses is reported with its reason,
    never retried blindly. Records one audit event. Returns one PlatformDeletion per published delivery."""
    outcomes = []
    deliveries = (
        Delivery.objects.filter(post=post, status=DeliveryStatus.PUBLISHED).select_related("channel").order_by("id")
    )
    for delivery in deliveries:
        channel = delivery.channel
        if not delivery.remote_id:
            outcomes.append(_outcome(delivery, deleted=False, message=_("The platform gave no post id.")))
            continue
        try:
            adapter = adapter_for_channel(channel)
        except UnknownPlatform as error:
            outcomes.append(_outcome(delivery, deleted=False, message=str(error)))
            continue
        if not adapter.supports_delete:
            message = _("%(platform)s does not let apps delete posts: delete it by hand on the platform.") % {
                "platform": adapter.label
            }
            outcomes.append(_outcome(delivery, deleted=False, message=message))
            continue
        try:
            adapter.delete(delivery.remote_id, post_id=post.pk)
        except AdapterError as error:
            outcomes.append(_outcome(delivery, deleted=False, message=str(error)))
        else:
            outcomes.append(_outcome(delivery, deleted=True))
        finally:
            channel_save_adapter_changes(channel=channel, adapter=adapter)
    audit_record(
        action=AuditAction.POST_RETRACTED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes={
            "reason": reason,
            "deleted": [o.channel_name for o in outcomes if o.deleted],
            "not_deleted": {o.channel_name: o.message for o in outcomes if not o.deleted},
        },
    )
    return outcomes
