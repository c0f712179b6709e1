from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.health, name="health"),
    path("status/", views.status, name="status"),
]
