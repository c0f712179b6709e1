from django.urls import path

from composer import views

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
