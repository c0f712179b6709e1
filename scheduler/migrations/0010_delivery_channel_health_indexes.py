from django.db import migrations, models


class Migration(migrations.Migration):
    """Two partial indexes for the channel health figures (analytics.health.channel_delivery_figures): each
    channel's finished deliveries by last change, and its publications by time. A delivery enters them when it
    finishes, never while scheduled or claimed (issue 18)."""

    dependencies = [
        ("scheduler", "0009_delivery_partial_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status__in", ["published", "failed", "needs_attention"])),
                fields=["channel", "updated_at", "status"],
                name="delivery_finished_channel_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("published_at__isnull", False)),
                fields=["channel", "published_at"],
                name="delivery_published_channel_idx",
            ),
        ),
    ]
