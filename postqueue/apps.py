"""Posting slots and the department's queue (issue 19, "Less work per post").

Owns PostingSlot (a weekly wall-clock time on one channel, in the department's time zone: "Tuesday 10:00 on
Facebook"), QueueEntry (a post put in the next free slot, so the queue page can show and reorder what waits)
and EvergreenPost (a post that repeats in free slots at a minimum interval, each repetition a new post that
goes through the department's normal approval and the normal exactly-once delivery path).

Times are set only through scheduler's own service (scheduler.calendar_services.post_reschedule), so the
approval rules of moving a post apply unchanged; repetitions are made with scheduler.services.post_create and
submitted with post_submit. May import: scheduler (models, services, selectors), departments, audit, civicpost
helpers; never another app's views, forms, template tags or URLs. Sits above scheduler, beside composer."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostqueueConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "postqueue"
    verbose_name = _("Posting slots and queue")
