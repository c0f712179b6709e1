"""What a person may do to a file of the media library."""

from __future__ import annotations

from departments.rules import AnyUser, signed_in
from departments.selectors import user_can_edit_for
from medialibrary.models import MediaAsset


def can_delete_media(user: AnyUser, asset: MediaAsset) -> bool:
    """The members of the asset's department (editors, approvers, admins) delete its library files; so does
    a communications manager, for a department they are a member of. A city-wide role alone (communications
    manager, viewer, IT admin) deletes no department's files. The service still refuses while a post uses
    the file (medialibrary.services.media_asset_delete)."""
    return signed_in(user) and user_can_edit_for(user=user, department_id=asset.department_id)
