from django.urls import path

from connections import views

app_name = "connections"

# Mounted at /channels/connect/ (before the scheduler's /channels/ pages).
urlpatterns = [
    path("", views.connect_start, name="start"),
    path("<int:department_id>/<slug:platform>/", views.connect_platform, name="platform"),
    path("callback/<slug:platform>/", views.oauth_callback, name="callback"),
    path("pick/<str:pick_id>/", views.meta_pick, name="pick"),
    path("channel/<int:channel_id>/", views.channel_detail, name="channel"),
    path("channel/<int:channel_id>/test/", views.channel_test, name="test"),
    path("channel/<int:channel_id>/language/", views.channel_language_save, name="language"),
    path("channel/<int:channel_id>/disconnect/", views.channel_disconnect, name="disconnect"),
    path("channel/<int:channel_id>/reconnect/", views.channel_reconnect, name="reconnect"),
]
