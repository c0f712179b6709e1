from django.urls import path

from postqueue import views

app_name = "postqueue"

# Mounted at /queue/.
urlpatterns = [
    path("", views.queue, name="queue"),
    path("entries/<int:entry_id>/move/", views.queue_move_view, name="move"),
    path("posts/<int:post_id>/add/", views.queue_add_view, name="add"),
    path("posts/<int:post_id>/evergreen/", views.evergreen_view, name="evergreen"),
    path("departments/<int:department_id>/slots/", views.slot_list, name="slots"),
    path("slots/<int:slot_id>/delete/", views.slot_delete, name="slot_delete"),
]
