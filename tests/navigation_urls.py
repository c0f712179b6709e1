"""The site's URLs plus stand-ins for the inbox and archive pages other branches add: the navigation test
checks their slots appear once such a page exists."""

from django.http import HttpResponse
from django.urls import include, path

from civicpost.urls import urlpatterns as site_urlpatterns


def _page(request):  # noqa: ANN001, ANN202
    return HttpResponse("stand-in")


urlpatterns = [
    path("inbox/", include(([path("", _page, name="inbox")], "inbox"))),
    path("archive/", include(([path("", _page, name="archive")], "archive"))),
    *site_urlpatterns,
]
