from django.urls import path

from medialibrary import views

app_name = "medialibrary"

urlpatterns = [
    path("", views.library, name="library"),
    path("<int:asset_id>/", views.asset_edit, name="asset_edit"),
    path("<int:asset_id>/delete/", views.asset_delete, name="asset_delete"),
]
