"""The schema and Swagger UI for signed-in people (/api/docs/), from drf-spectacular-sidecar's static files.

The split view serves Swagger UI's start-up script as a file, and templates/api/swagger_ui.html keeps its
styles in static/api/swagger.css, so the page runs under the site's CSP (script-src and style-src 'self')."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from api.authentication import ApiTokenAuthentication


class SchemaView(SpectacularAPIView):
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class DocsView(LoginRequiredMixin, SpectacularSwaggerSplitView):
    """Swagger UI; someone not signed in is sent to the sign-in page (it is a page, not an endpoint)."""

    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
