from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("posts/<int:post_id>/figures/", views.post_figures, name="post_figures"),
    path("departments/<int:department_id>/short-links/", views.department_short_links, name="department_short_links"),
    path("departments/<int:department_id>/figures/", views.department_figures, name="department_figures"),
    path(
        "departments/<int:department_id>/figures/<slug:table>.csv",
        views.department_figures_csv,
        name="department_figures_csv",
    ),
    path("figures/", views.city_figures, name="city_figures"),
    path("figures/<slug:table>.csv", views.city_figures_csv, name="city_figures_csv"),
    path("channels/health/", views.channel_health, name="channel_health"),
]
