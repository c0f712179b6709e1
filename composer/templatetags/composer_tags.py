"""Small template helpers for the composer's pages."""

from __future__ import annotations

from typing import Any

from django import template

from civicpost.languages import language_name

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any] | None, key: object) -> Any:
    """`{{ post.channel_text|get_item:channel.pk }}`: JSON keys are strings, ids are not."""
    if not mapping:
        return ""
    return mapping.get(str(key), "")


@register.filter
def language_label(code: str) -> str:
    return language_name(code)
