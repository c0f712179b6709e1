from django.urls import path

from archive import views
from archive.feeds import TransparencyFeed

app_name = "archive"

urlpatterns = [
    path("", views.archive_index, name="index"),
    path("entries/<int:sequence>/", views.entry_detail, name="entry_detail"),
    path("media/<str:sha256>/", views.media_file, name="media_file"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/<uuid:export_key>/", views.export_detail, name="export_detail"),
    path("exports/<uuid:export_key>/download/", views.export_download, name="export_download"),
    path("retention/", views.retention, name="retention"),
    path("legal-holds/", views.legal_holds, name="legal_holds"),
    path("legal-holds/<int:legal_hold_id>/release/", views.legal_hold_release, name="legal_hold_release"),
    path("dispositions/", views.dispositions, name="dispositions"),
    path("dispositions/<int:disposition_id>/", views.disposition_detail, name="disposition_detail"),
    path("dispositions/<int:disposition_id>/approve/", views.disposition_approve, name="disposition_approve"),
    path("dispositions/<int:disposition_id>/cancel/", views.disposition_cancel, name="disposition_cancel"),
    path("posts/<int:post_id>/retract/", views.post_retract_view, name="post_retract"),
    path("public/", views.transparency, name="transparency"),
    path("public/rss/", TransparencyFeed(), name="transparency_rss"),
]
