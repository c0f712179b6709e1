"""What happened to posts, deliveries and crisis holds, as Django signals, for the apps above scheduler
(webhooks' outbox). Each is sent by the one service that changes the state, inside its transaction, after
the change: a receiver may only write rows in that same transaction (so a rolled-back change emits nothing)
and must never do I/O (send anything after commit instead). Nothing in scheduler listens to them.

Keyword arguments of each signal:
- post_submitted: post (sent for approval; also an emergency's "all clear" follow-up)
- post_approved: post, approval (the last approval step, an emergency approval, an approval renewed after a move)
- delivery_finished: delivery, status (published, failed or needs_attention), message (the failure)
- crisis_hold_changed: hold, on (True when it started, False when it ended)
"""

from __future__ import annotations

from django.dispatch import Signal

post_submitted = Signal()
post_approved = Signal()
delivery_finished = Signal()
crisis_hold_changed = Signal()
