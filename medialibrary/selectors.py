"""Reads of the media library, scoped to the departments a person belongs to."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from departments.selectors import department_ids_for_user
from medialibrary.models import MediaAsset


def media_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[MediaAsset]:
    return MediaAsset.objects.filter(department_id__in=department_ids_for_user(user=user)).select_related(
        "department", "uploaded_by"
    )


def media_get_for_user(*, user: AbstractBaseUser | AnonymousUser, asset_id: int) -> MediaAsset:
    """Returns an asset of one of the user's departments, or raises Http404."""
    asset = media_for_user(user=user).filter(pk=asset_id).first()
    if asset is None:
        raise Http404("No such file.")
    return asset
