"""The header every page shows (memberships, the approval queue count) and the zone pages show times in.
Here, not in civicpost/, because it reads departments and posts: the core imports no feature app."""

from functools import cache, partial

from django.http import HttpRequest

from departments.selectors import memberships_for_user, viewer_zone_for_request
from scheduler.selectors import approval_queue_count


def navigation(request: HttpRequest) -> dict:
    """Returns what the header needs: the user's memberships, whether they approve, and the queue size
    (`nav_approval_count`, a function the header calls: counted once per request, and only when the page
    draws the header, so the htmx fragments do not pay for it); and `viewer_zone`, the one zone every page
    shows times in (`{{ moment|in_zone:viewer_zone }}`): the viewer's department's. It is worked out only
    when a page shows a time (templates call it), once per request."""
    zone = {"viewer_zone": partial(viewer_zone_for_request, request)}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return zone
    memberships = memberships_for_user(user=user)
    can_approve = any(m.can_approve for m in memberships)
    context = {
        **zone,
        "nav_memberships": memberships,
        "nav_can_approve": can_approve,
        "nav_can_post": bool(memberships),
    }
    if can_approve:
        context["nav_approval_count"] = cache(partial(approval_queue_count, user=user))
    return context
