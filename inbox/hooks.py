"""Meta's Instagram webhook (the `mentions` field): public, CSRF-exempt, and refused (403) unless Meta's
verification GET carries our verify token or a POST carries a valid X-Hub-Signature-256 of its raw body
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started). Answers 200 quickly, even for an account
no channel has (Meta retries anything else); the mention is read after commit by inbox.tasks.read_mention."""

from __future__ import annotations

import hmac
import json
from functools import partial

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from inbox.mentions import mention_notices_receive
from inbox.tasks import read_mention
from scheduler.adapters.graph import meta_signature_valid

# Meta's notifications are a few kilobytes; anything much larger is not one of them.
MAX_BODY_BYTES = 256 * 1024


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_instagram_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify(request)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    header = request.headers.get("X-Hub-Signature-256", "")
    if not meta_signature_valid(body=body, header=header, app_secret=settings.CIVICPOST_META_APP_SECRET):
        return HttpResponseForbidden()
    try:
        payload = json.loads(body)
    except ValueError:
        return HttpResponse(status=400)
    with transaction.atomic():
        for notice_id in mention_notices_receive(payload=payload):
            # robust: a read that fails in an eager run (make run) must not turn Meta's answer into a 500.
            transaction.on_commit(partial(read_mention.delay, notice_id), robust=True)
    return HttpResponse("ok", content_type="text/plain")


def _verify(request: HttpRequest) -> HttpResponse:
    """Meta's subscription check: hub.mode=subscribe and our verify token -> echo hub.challenge."""
    token = settings.CIVICPOST_META_WEBHOOK_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        not token
        or request.GET.get("hub.mode") != "subscribe"
        or not hmac.compare_digest(token.encode(), given.encode())
    ):
        return HttpResponseForbidden()
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
