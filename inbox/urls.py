from django.urls import path

from inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox_city, name="city"),
    path("departments/<int:department_id>/", views.inbox_department, name="department"),
    path("departments/<int:department_id>/settings/", views.inbox_settings_view, name="settings"),
    path("departments/<int:department_id>/saved-replies/", views.saved_reply_add, name="saved_reply_add"),
    path("saved-replies/<int:saved_reply_id>/delete/", views.saved_reply_delete_view, name="saved_reply_delete"),
    path("channels/<int:channel_id>/reading/", views.channel_inbox_toggle, name="channel_toggle"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("items/<int:item_id>/reply/", views.item_reply_view, name="item_reply"),
    path("items/<int:item_id>/note/", views.item_note_view, name="item_note"),
    path("items/<int:item_id>/assign/", views.item_assign_view, name="item_assign"),
    path("items/<int:item_id>/status/", views.item_status_view, name="item_status"),
    path("items/<int:item_id>/moderate/", views.item_moderate_view, name="item_moderate"),
    path("moderation/<int:action_id>/undo/", views.moderation_undo_view, name="moderation_undo"),
    path("policy/", views.policy_view, name="policy"),
    path("policy/<int:clause_id>/retire/", views.policy_clause_retire_view, name="policy_clause_retire"),
    path("posts/<int:post_id>/conversation/", views.post_conversation, name="post_conversation"),
]
