"""Query filters of the post and delivery lists (django-filter). They narrow what the selectors allow."""

from __future__ import annotations

import django_filters

from scheduler.models import Delivery, DeliveryStatus, Post, PostStatus


class PostFilter(django_filters.FilterSet):
    department = django_filters.NumberFilter(field_name="department_id")
    status = django_filters.MultipleChoiceFilter(choices=PostStatus.choices)
    channel = django_filters.NumberFilter(field_name="channels__id", distinct=True)
    due_after = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Post
        fields = ["department", "status", "channel", "due_after", "due_before"]


class DeliveryFilter(django_filters.FilterSet):
    post = django_filters.NumberFilter(field_name="post_id")
    channel = django_filters.NumberFilter(field_name="channel_id")
    status = django_filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = Delivery
        fields = ["post", "channel", "status"]
