from django.urls import path

from governance import views

app_name = "governance"

# Mounted at /governance/.
urlpatterns = [
    path("crisis/", views.crisis, name="crisis"),
    path("crisis/start/", views.crisis_start, name="crisis_start"),
    path("crisis/<int:hold_id>/end/", views.crisis_end, name="crisis_end"),
    path("holds/<int:hold_id>/release/", views.post_hold_release_view, name="post_hold_release"),
    path("emergency/", views.emergency_create, name="emergency_create"),
    path("emergency/posts/", views.emergency_list, name="emergency_list"),
    path("emergency/posts/<int:alert_id>/", views.emergency_detail, name="emergency_detail"),
    path("emergency/posts/<int:alert_id>/review/", views.emergency_review_view, name="emergency_review"),
]
