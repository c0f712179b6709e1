from django.db import models
from django.utils.translation import gettext_lazy as _

from scheduler.models import Delivery


class OverdueAlert(models.Model):
    """An overdue delivery the admins were emailed about: one email per delivery, ever."""

    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="overdue_alert")
    sent_at = models.DateTimeField()
    recipient_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("overdue alert")

    def __str__(self) -> str:
        return f"Overdue alert for delivery {self.delivery_id} at {self.sent_at:%Y-%m-%d %H:%M}"
