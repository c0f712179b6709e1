from django.urls import path

from scheduler import views

app_name = "scheduler"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sandbox/", views.sandbox_timeline, name="sandbox_timeline"),
]
