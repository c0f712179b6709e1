"""Moved to civicpost.reauth (issue 12): every app's pages use the decorator, and a lower app may not import
accounts. Kept so that `from accounts.reauth import require_recent_auth` in code not yet updated still works."""

from civicpost.reauth import recently_authenticated, require_recent_auth

__all__ = ["recently_authenticated", "require_recent_auth"]
