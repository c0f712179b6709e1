"""The shapes of /api/v1/analytics/: the same figures as the analytics pages (analytics.figures), with the
sample size next to every figure and null for what a platform does not report (never 0)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from analytics.forms import MAX_DAYS
from analytics.models import METRIC_FIELDS
from api.serializers import _in_range


class PeriodQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text=_("First day (inclusive), in the department's zone; default: 29 days before the end.")
    )
    end = serializers.DateField(
        required=False, help_text=_("Last day (inclusive), in the department's zone; default: today.")
    )

    def validate_start(self, value: Any) -> Any:
        _in_range(value)
        return value

    def validate_end(self, value: Any) -> Any:
        _in_range(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end:
            if end < start:
                raise serializers.ValidationError(_("The end comes before the start."))
            if (end - start).days >= MAX_DAYS:
                raise serializers.ValidationError(_("Ask for at most a year at a time."))
        return attrs


class FiguresSerializer(serializers.Serializer):
    label = serializers.CharField(read_only=True)
    platform = serializers.CharField(read_only=True, help_text=_("Per channel: its platform."))
    followers = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("Per channel: the latest follower count (null: not reported).")
    )
    posts = serializers.IntegerField(read_only=True)
    deliveries = serializers.IntegerField(read_only=True)
    deliveries_with_figures = serializers.IntegerField(source="with_figures", read_only=True)
    views = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("Null: no platform here reports views.")
    )
    deliveries_reporting_views = serializers.IntegerField(source="views_n", read_only=True)
    engagement = serializers.IntegerField(
        read_only=True, help_text=_("Likes, reposts and shares, replies and quotes together.")
    )
    engagement_per_1000_followers = serializers.FloatField(source="rate", read_only=True, allow_null=True)
    deliveries_with_follower_counts = serializers.IntegerField(
        source="rate_n", read_only=True, help_text=_("The sample of engagement_per_1000_followers.")
    )
    enough_for_conclusions = serializers.BooleanField(source="enough", read_only=True)
    short_link_clicks = serializers.IntegerField(source="link_clicks", read_only=True, allow_null=True)


class FactorGroupSerializer(serializers.Serializer):
    value = serializers.CharField(source="label", read_only=True)
    ratio_to_average = serializers.FloatField(source="ratio", read_only=True, allow_null=True)
    enough_for_conclusions = serializers.BooleanField(source="enough", read_only=True)
    verdict = serializers.CharField(read_only=True)
    figures = FiguresSerializer(read_only=True)


class FactorSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    groups = FactorGroupSerializer(many=True, read_only=True)


class TopPostSerializer(serializers.Serializer):
    post = serializers.IntegerField(source="post_id", read_only=True)
    text = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    platform = serializers.CharField(read_only=True)
    published_at = serializers.DateTimeField(read_only=True)
    engagement = serializers.IntegerField(read_only=True)
    views = serializers.IntegerField(read_only=True, allow_null=True)
    engagement_per_1000_followers = serializers.FloatField(source="rate", read_only=True, allow_null=True)
    permalink = serializers.CharField(read_only=True)


class ReportSerializer(serializers.Serializer):
    start = serializers.DateField(read_only=True)
    end = serializers.DateField(read_only=True)
    time_zone = serializers.CharField(read_only=True)
    minimum_sample = serializers.IntegerField(source="report.minimum", read_only=True)
    totals = FiguresSerializer(source="report.totals", read_only=True)
    platforms = FiguresSerializer(source="report.platforms", many=True, read_only=True)
    channels = FiguresSerializer(source="report.channels", many=True, read_only=True)
    departments = FiguresSerializer(source="report.departments", many=True, read_only=True)
    top_posts = TopPostSerializer(source="report.top_posts", many=True, read_only=True)
    factors = FactorSerializer(source="report.factors", many=True, read_only=True)
    findings = serializers.ListField(child=serializers.CharField(), source="report.findings", read_only=True)


class SnapshotSerializer(serializers.Serializer):
    age = serializers.CharField(read_only=True)
    taken_at = serializers.DateTimeField(read_only=True)
    views = serializers.IntegerField(read_only=True, allow_null=True)
    likes = serializers.IntegerField(read_only=True, allow_null=True)
    shares = serializers.IntegerField(read_only=True, allow_null=True)
    replies = serializers.IntegerField(read_only=True, allow_null=True)
    quotes = serializers.IntegerField(read_only=True, allow_null=True)
    clicks = serializers.IntegerField(read_only=True, allow_null=True)
    short_link_clicks = serializers.IntegerField(source="link_clicks", read_only=True, allow_null=True)
    not_reported = serializers.ListField(child=serializers.ChoiceField(choices=METRIC_FIELDS), read_only=True)


class ChannelFiguresSerializer(serializers.Serializer):
    delivery = serializers.IntegerField(source="delivery.pk", read_only=True)
    channel = serializers.IntegerField(source="delivery.channel_id", read_only=True)
    channel_name = serializers.CharField(source="delivery.channel.display_name", read_only=True)
    platform = serializers.CharField(source="delivery.channel.platform", read_only=True)
    language = serializers.CharField(source="delivery.language", read_only=True)
    published_at = serializers.DateTimeField(source="delivery.published_at", read_only=True)
    permalink = serializers.CharField(source="delivery.permalink", read_only=True)
    followers = serializers.IntegerField(read_only=True, allow_null=True)
    removed_noticed_at = serializers.DateTimeField(
        source="removal.noticed_at", read_only=True, allow_null=True, default=None
    )
    short_link_clicks = serializers.IntegerField(source="link_clicks_now", read_only=True, allow_null=True)
    snapshots = SnapshotSerializer(source="delivery.metric_snapshots.all", many=True, read_only=True)


class PaidBudgetSerializer(serializers.Serializer):
    platform = serializers.CharField(source="platform_label", read_only=True)
    used = serializers.IntegerField(read_only=True)
    limit = serializers.IntegerField(read_only=True)
    left = serializers.IntegerField(read_only=True)


class PostFiguresSerializer(serializers.Serializer):
    post = serializers.IntegerField(source="post.pk", read_only=True)
    channels = ChannelFiguresSerializer(many=True, read_only=True)
    paid_read_budgets = PaidBudgetSerializer(source="budgets", many=True, read_only=True)
