"""The only writers of Post and Delivery state (with scheduler.publishing, the delivery state machine that
claims, sends and records outcomes): posts (create, update, save-and-submit, cancel, versions), review
(submit, approve step by step, request changes, renew after a move), bulk_review (the same decisions on
several posts of the approval queue, post by post), replies (an inbox answer), holds (blackouts, crisis holds,
per-post holds, the post side of an emergency publish). tests/scheduler/test_state_writers.py keeps it so.

Re-exports the public names, so `from scheduler.services import post_submit` keeps working."""

from scheduler.models import (
    CANCELLABLE_STATUSES,
    EDITABLE_STATUSES,
    FINISHED_DELIVERY_STATUSES,
    WITHDRAWABLE_DELIVERY_STATUSES,
)
from scheduler.services.bulk_review import Decision, posts_approve_each, posts_request_changes_each
from scheduler.services.holds import (
    HoldEndReport,
    crisis_hold_end,
    crisis_hold_start,
    post_hold_for_blackout,
    post_hold_release,
    post_move_after_hold,
    posts_hold_for_blackouts,
)
from scheduler.services.posts import (
    deliveries_to_create,
    post_cancel,
    post_create,
    post_finish_after,
    post_problems,
    post_refresh_status,
    post_save,
    post_update,
    post_version_for_approval,
    post_version_record,
)
from scheduler.services.replies import reply_create
from scheduler.services.retractions import PlatformDeletion, post_delete_from_platforms
from scheduler.services.review import (
    approval_renew_after_move,
    approval_vote_record,
    post_approval_create,
    post_approve,
    post_request_changes,
    post_submit,
)
from scheduler.snapshots import approval_content_for, channel_content, content_hash

__all__ = [
    "CANCELLABLE_STATUSES",
    "EDITABLE_STATUSES",
    "FINISHED_DELIVERY_STATUSES",
    "WITHDRAWABLE_DELIVERY_STATUSES",
    "Decision",
    "HoldEndReport",
    "PlatformDeletion",
    "approval_content_for",
    "approval_renew_after_move",
    "approval_vote_record",
    "channel_content",
    "content_hash",
    "crisis_hold_end",
    "crisis_hold_start",
    "deliveries_to_create",
    "post_approval_create",
    "post_approve",
    "post_cancel",
    "post_create",
    "post_delete_from_platforms",
    "post_hold_for_blackout",
    "post_hold_release",
    "post_move_after_hold",
    "post_problems",
    "post_finish_after",
    "post_refresh_status",
    "post_request_changes",
    "post_save",
    "post_submit",
    "post_update",
    "post_version_for_approval",
    "post_version_record",
    "reply_create",
    "posts_approve_each",
    "posts_hold_for_blackouts",
    "posts_request_changes_each",
]
