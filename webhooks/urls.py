from django.urls import path

from webhooks import views

app_name = "webhooks"

# Mounted at /webhooks/.
urlpatterns = [
    path("departments/<int:department_id>/", views.subscription_list, name="subscriptions"),
    path("<int:subscription_id>/", views.subscription_detail, name="subscription"),
    path("<int:subscription_id>/test/", views.subscription_test, name="test"),
    path("<int:subscription_id>/new-secret/", views.subscription_rotate_secret, name="rotate_secret"),
    path("<int:subscription_id>/delete/", views.subscription_delete, name="delete"),
]
