from django.http import HttpRequest

from departments.selectors import memberships_for_user


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = memberships_for_user(user=user)
    return {
        "nav_memberships": memberships,
        "nav_can_approve": any(m.can_approve for m in memberships),
    }
