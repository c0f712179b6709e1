"""Request types shared by every app's views; imports no feature app."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind `login_required` receives: `request.user` is a signed-in `User`.

    Only an annotation (django-stubs' documented pattern): the middleware sets `user`; nothing checks it here.
    """

    user: User
    htmx: HtmxDetails  # django-htmx's middleware (settings.MIDDLEWARE)
