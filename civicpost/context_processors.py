from django.http import HttpRequest

from departments.selectors import memberships_for_user


def navigation(request: HttpRequest) -> dict:
    """Returns what the header needs: the user's memberships, whether they approve, and the queue size."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = memberships_for_user(user=user)
    can_approve = any(m.can_approve for m in memberships)
    context = {"nav_memberships": memberships, "nav_can_approve": can_approve, "nav_can_post": bool(memberships)}
    if can_approve:
        from scheduler.selectors import posts_awaiting_approval

        context["nav_approval_count"] = posts_awaiting_approval(user=user).order_by().count()
    return context
