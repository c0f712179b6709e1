from django.urls import path

from intake import views

app_name = "intake"

# Mounted at /feeds-to-drafts/ (feeds/ is the public RSS the city publishes).
urlpatterns = [
    path("departments/<int:department_id>/", views.feed_list, name="feeds"),
    path("<int:feed_id>/", views.feed_detail, name="feed"),
    path("<int:feed_id>/fetch/", views.feed_fetch_now, name="fetch"),
    path("<int:feed_id>/delete/", views.feed_delete, name="delete"),
]
