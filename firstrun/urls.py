from django.urls import path

from firstrun import views

app_name = "firstrun"

# Mounted at /getting-started/.
urlpatterns = [
    path("", views.checklist_page, name="checklist"),
]
