"""/api/: v1 endpoints, the schema and the docs. Reserved for later (README "API"): /api/v1/webhooks/…,
/api/v1/feeds/…; they answer 404 problems until they exist."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from api import analytics_views, docs_views, token_views, views
from api.problems import not_found

app_name = "api"

router = SimpleRouter(trailing_slash=True)
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("posts", views.PostViewSet, basename="post")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("media", views.MediaViewSet, basename="media")
router.register("archive/exports", views.ArchiveExportViewSet, basename="archive-export")

v1 = [
    *router.urls,
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
    path(
        "analytics/departments/<int:pk>/",
        analytics_views.DepartmentFiguresView.as_view(),
        name="analytics-department-detail",
    ),
    path("analytics/city/", analytics_views.CityFiguresView.as_view(), name="analytics-city"),
    path("analytics/posts/<int:pk>/", analytics_views.PostFiguresView.as_view(), name="analytics-post-detail"),
    path("schema/", docs_views.SchemaView.as_view(), name="schema"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("docs/", docs_views.DocsView.as_view(), name="docs"),
    # Everything else under /api/ (the reserved spaces included) is a 404 problem, not the HTML page.
    re_path(r"^.*$", not_found, name="not_found"),
]

# The account page's token pages live here too (api owns ApiToken); civicpost/urls.py mounts them under
# /accounts/security/api-tokens/.
token_urlpatterns = [
    path("", token_views.token_list, name="token_list"),
    path("new/", token_views.token_create, name="token_create"),
    path("<int:token_id>/revoke/", token_views.token_revoke, name="token_revoke"),
]
