from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("posts/<int:post_id>/figures/", views.post_figures, name="post_figures"),
    path("departments/<int:department_id>/short-links/", views.department_short_links, name="department_short_links"),
]
