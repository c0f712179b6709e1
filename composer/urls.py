from django.urls import path

from composer import compose_views, views

app_name = "composer"

urlpatterns = [
    path("templates/", views.template_list, name="template_list"),
    path("templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path("templates/<int:template_id>/use/", views.template_use, name="template_use"),
    path("templates/<int:template_id>/delete/", views.template_delete, name="template_delete"),
    path("series/", views.series_new, name="series_new"),
    path("series/<int:series_id>/", views.series_detail, name="series_detail"),
    path("series/<int:series_id>/submit/", views.series_submit_view, name="series_submit"),
    path("series/<int:series_id>/approve/", views.series_approve_view, name="series_approve"),
    path("import/", views.import_upload, name="import_upload"),
    path("import/example.csv", views.import_example, name="import_example"),
    path("import/<int:import_id>/", views.import_preview, name="import_preview"),
]

# The composer's post pages (issue 4). Their names stay in the "scheduler" namespace ("scheduler:post_edit",
# ...) and their paths under /posts/: civicpost/urls.py includes them with scheduler.urls.
post_urlpatterns = [
    path("posts/new/", compose_views.post_create_view, name="post_create"),
    path("posts/<int:post_id>/edit/", compose_views.post_edit, name="post_edit"),
    path("posts/new/check/", compose_views.post_check, name="post_check_new"),
    path("posts/new/autosave/", compose_views.post_autosave, name="post_autosave_new"),
    path("posts/<int:post_id>/check/", compose_views.post_check, name="post_check"),
    path("posts/<int:post_id>/autosave/", compose_views.post_autosave, name="post_autosave"),
    path("posts/<int:post_id>/versions/", compose_views.post_versions, name="post_versions"),
    path("posts/<int:post_id>/versions/compare/", compose_views.post_version_compare, name="post_version_compare"),
]
