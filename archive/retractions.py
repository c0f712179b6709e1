"""Retract or correct a post everywhere: one action deletes it on every channel whose platform allows it
(scheduler.services.post_delete_from_platforms), records where it could not, optionally writes a correction
that goes through the normal approval and exactly-once publishing, and archives all of it."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from archive import rules
from archive.chain import NewEntry, entry_append
from archive.models import EntryKind, Retraction
from archive.sources import person_label, publication_entry, publication_key
from civicpost.exceptions import ApplicationError
from scheduler.models import Delivery, DeliveryStatus, Post
from scheduler.services import post_delete_from_platforms, post_save

CORRECTION_DELAY = dt.timedelta(minutes=5)


def post_retract(*, user: User, post: Post, reason: str, correction_text: str = "") -> Retraction:
    """Deletes a published post from every channel that allows it and archives each outcome (deleted, or
    why not). With `correction_text`, also creates a correction post on the same channels and submits it
    for approval (published by the normal path once approved). Returns the Retraction.

    Raises ApplicationError when the user may not retract the post or gives no reason."""
    if not rules.can_retract_post(user, post):
        raise ApplicationError(_("Only the department's approvers retract a published post."))
    if not reason.strip():
        raise ApplicationError(_("Say why the post is retracted: the reason is part of the public record."))
    correction = None
    if correction_text.strip():
        # Created (and refused, e.g. by a blackout) before anything is deleted: a refused correction deletes nothing.
        correction = post_save(
            user=user,
            submit=True,
            department=post.department,
            text=correction_text,
            link="",
            channels=list(post.channels.all()),
            due_at=timezone.now() + CORRECTION_DELAY,
        )
        correction.refresh_from_db()
    # What is about to be deleted is archived first (capture may not have run since it was published).
    for delivery in Delivery.objects.filter(post=post, status=DeliveryStatus.PUBLISHED).select_related(
        "post__department", "post__author", "channel", "approval__approved_by"
    ):
        entry_append(publication_entry(delivery))
    outcomes = post_delete_from_platforms(post=post, user=user, reason=reason)
    now = timezone.now()
    with transaction.atomic():
        retraction = Retraction.objects.create(
            post=post,
            requested_by=user,
            reason=reason,
            correction_post=correction,
            outcomes=[
                {
                    "delivery_id": o.delivery_id,
                    "channel": o.channel_name,
                    "platform": o.platform,
                    "deleted": o.deleted,
                    "message": o.message,
                }
                for o in outcomes
            ],
            created_at=now,
        )
        for outcome in outcomes:
            entry_append(
                NewEntry(
                    kind=EntryKind.RETRACTED if outcome.deleted else EntryKind.RETRACTION_FAILED,
                    source_key=f"retraction:{retraction.pk}:delivery:{outcome.delivery_id}",
                    occurred_at=now,
                    facts={
                        "reason": reason,
                        "requested_by": person_label(user),
                        "remote_id": outcome.remote_id,
                        "not_deleted_because": outcome.message,
                        "publication": publication_key(outcome.delivery_id),
                    },
                    department_id=post.department_id,
                    department_name=post.department.name,
                    channel_id=outcome.channel_id,
                    channel_name=outcome.channel_name,
                    platform=outcome.platform,
                    post_id=post.pk,
                    delivery_id=outcome.delivery_id,
                )
            )
        if correction is not None:
            entry_append(
                NewEntry(
                    kind=EntryKind.CORRECTION,
                    source_key=f"correction:{retraction.pk}",
                    occurred_at=now,
                    facts={
                        "reason": reason,
                        "requested_by": person_label(user),
                        "correction_post_id": correction.pk,
                    },
                    content={"text": correction.text},
                    search_text=correction.text,
                    department_id=post.department_id,
                    department_name=post.department.name,
                    post_id=post.pk,
                )
            )
    return retraction
