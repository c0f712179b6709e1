from django.urls import path

from accounts import views

app_name = "accounts"

# Mounted at /accounts/security/, next to allauth's own pages under /accounts/.
urlpatterns = [
    path("", views.security, name="security"),
    path("two-step-required/", views.mfa_required, name="mfa_required"),
    path("language/", views.language, name="language"),
]
