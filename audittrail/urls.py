from django.urls import path

from audittrail import views

app_name = "audit"

# Mounted at /audit/.
urlpatterns = [
    path("", views.audit_trail, name="trail"),
    path("export.csv", views.audit_export, name="export"),
]
