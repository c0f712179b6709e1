"""Reads of the media library, scoped to the departments a person belongs to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from departments.selectors import department_ids_for_user
from medialibrary import rules
from medialibrary.models import MediaAsset, PostMedia


def media_for_user(*, user: User | AnonymousUser) -> QuerySet[MediaAsset]:
    return MediaAsset.objects.filter(department_id__in=department_ids_for_user(user=user)).select_related(
        "department", "uploaded_by", "captions_burned_in_by"
    )


def media_get_for_user(*, user: User | AnonymousUser, asset_id: int) -> MediaAsset:
    """Returns an asset of one of the user's departments, or raises Http404."""
    asset = media_for_user(user=user).filter(pk=asset_id).first()
    if asset is None:
        raise Http404("No such file.")
    return asset


def media_get_for_delete(*, user: User | AnonymousUser, asset_id: int) -> MediaAsset:
    """Returns an asset the user may delete (medialibrary.rules.can_delete_media). Raises Http404 for an
    asset of another department, PermissionDenied for one they see but may not delete."""
    asset = media_get_for_user(user=user, asset_id=asset_id)
    if not rules.can_delete_media(user, asset):
        raise PermissionDenied("You cannot delete this file.")
    return asset


def media_asset_posts(*, asset: MediaAsset) -> list[Any]:
    """Returns the posts that attach the asset (which keep it from being deleted), soonest first."""
    uses = PostMedia.objects.filter(asset_id=asset.pk).select_related("post").order_by("post__due_at", "post_id")
    return [use.post for use in uses]
