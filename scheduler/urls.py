from django.urls import path

from scheduler import approval_views, calendar_views, views

app_name = "scheduler"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("posts/<int:post_id>/", views.post_detail, name="post_detail"),
    path("posts/<int:post_id>/deliveries/", views.post_deliveries, name="post_deliveries"),
    path("posts/<int:post_id>/submit/", views.post_submit_view, name="post_submit"),
    path("posts/<int:post_id>/approve/", views.post_approve_view, name="post_approve"),
    path("posts/<int:post_id>/request-changes/", views.post_request_changes_view, name="post_request_changes"),
    path("posts/<int:post_id>/cancel/", views.post_cancel_view, name="post_cancel"),
    path("approvals/", approval_views.approval_queue, name="approval_queue"),
    path("approvals/decide/", approval_views.approval_decide, name="approval_decide"),
    path("channels/", views.channel_list, name="channel_list"),
    path("sandbox/", views.sandbox_timeline, name="sandbox_timeline"),
]

# Shared calendar (issue 5).
urlpatterns += [
    path("calendar/", calendar_views.calendar_month_view, name="calendar_month"),
    path("calendar/week/", calendar_views.calendar_week_view, name="calendar_week"),
    path("calendar/agenda/", calendar_views.calendar_agenda_view, name="calendar_agenda"),
    path("calendar/posts/<int:post_id>/move/", calendar_views.calendar_reschedule, name="calendar_reschedule"),
    path("calendar/feed/", calendar_views.calendar_feed_settings, name="calendar_feed_settings"),
    path("calendar/feed/<str:secret>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("calendar/blackouts/", calendar_views.blackout_list, name="blackout_list"),
    path("calendar/blackouts/<int:blackout_id>/delete/", calendar_views.blackout_delete_view, name="blackout_delete"),
]

# The composer's post pages (compose, edit, live check, autosave, versions) keep their "scheduler:" names:
# civicpost/urls.py adds composer.urls.post_urlpatterns to this namespace.
