from django.db import models
from django.utils.translation import gettext_lazy as _

from scheduler.models import Delivery


class RemovedFeedEntry(models.Model):
    """A published feed entry that was taken down: it leaves the feeds and its public page answers 410.

    The delivery itself stays `published` (it was published; the record says so)."""

    delivery = models.OneToOneField(Delivery, on_delete=models.PROTECT, related_name="feed_removal")
    removed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("removed feed entry")
        verbose_name_plural = _("removed feed entries")

    def __str__(self) -> str:
        return f"Removed feed entry for delivery {self.delivery_id}"
