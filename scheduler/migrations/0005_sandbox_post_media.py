from django.db import migrations, models


class Migration(migrations.Migration):
    """The sandbox keeps each post's attachments (address and alt text) and language, so its timeline
    shows the post as it was sent."""

    dependencies = [
        ("scheduler", "0004_blackout_override"),
    ]

    operations = [
        migrations.AddField(
            model_name="sandboxpost",
            name="language",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="sandboxpost",
            name="media",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
