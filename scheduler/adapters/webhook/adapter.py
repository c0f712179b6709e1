"""Outbound webhook: a signed JSON POST to a city system (the CMS, an alerting tool, signage, Zapier),
or a chat channel (Slack, Discord, Microsoft Teams).

Signing follows Standard Webhooks (https://www.standardwebhooks.com/, spec:
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md) with the
reference `standardwebhooks` package: headers `webhook-id` (the delivery's idempotency key, identical
on every retry), `webhook-timestamp` (unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`).

Channel configuration:
  credentials {"secret": "whsec_...", "url"?: "...", "headers"?: {...}}   (encrypted at rest)
  options     {"url": "https://...", "format"?: "standard" | "slack" | "discord" | "teams"}
Chat webhook URLs (Slack, Discord, Teams) carry their own secret in the path: store those in
credentials["url"], which wins over options["url"].

The URL passes the SSRF guard (scheduler.adapters.ssrf) on every send; redirects are never followed.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import secrets
import socket
import time
import uuid
from typing import Any

import requests
from standardwebhooks import Webhook

from scheduler.adapters.base import (
    AuthExpired,
    ConnectionCheck,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    RateLimited,
    TextLength,
)
from scheduler.adapters.http import request_never_sent
from scheduler.adapters.ssrf import UnsafeURL, check_public_url, guarded_session

DEFAULT_RETRY_AFTER = 30.0
# Statuses that mean "not now, try later" (RFC 9110 408, RFC 8470 425, RFC 6585 429).
RETRY_LATER_STATUSES = (408, 425, 429)
FORMATS = ("standard", "slack", "discord", "teams")
# Text limits of the chat formats [k]: Discord `content` 2,000 characters; Slack suggests < 4,000 for
# `text`; Teams cards ~28 KB. The standard payload has no limit of its own.
TEXT_LIMITS = {"standard": 10_000, "slack": 4_000, "discord": 2_000, "teams": 10_000}
MAX_MEDIA = 10
RESERVED_HEADERS = {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature", "host", "content-length"}


def generate_secret() -> str:
    """Returns a new signing secret, "whsec_" + base64 of 24 random bytes, for the connect form."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _retry_after_seconds(value: str | None) -> float:
    """Parses Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - time.time())


def _short_body(response: requests.Response) -> str:
    return response.text[:300].strip()


class WebhookAdapter(PlatformAdapter):
    platform = "webhook"
    label = "Webhook"
    supports_metrics = False
    max_media = MAX_MEDIA
    # The `post` object lists every channel the post goes to (platforms.md §9).
    names_post_channels = True
    requires_alt_text = True

    # --- Configuration --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return str(self.account.credentials.get("url") or self.account.options.get("url") or "").strip()

    @property
    def format(self) -> str:
        chosen = self.account.options.get("format") or "standard"
        return chosen if chosen in FORMATS else "standard"

    @property
    def receiver_dedupes(self) -> bool:
        """Standard Webhooks receivers drop a repeated webhook-id; chat services post it again."""
        return self.format == "standard"

    def _signer(self) -> Webhook:
        secret = self.account.credentials.get("secret") or ""
        try:
            return Webhook(secret)
        except Exception as error:  # noqa: BLE001 - empty or malformed secret, whatever the library raises
            raise AuthExpired(
                "This webhook has no valid signing secret; a department admin must set it up again.",
                code="webhook_no_secret",
            ) from error

    def _target(self) -> str:
        if not self.url:
            raise AuthExpired(
                "This webhook has no address; a department admin must set it up again.", code="webhook_no_url"
            )
        try:
            check_public_url(self.url)
        except UnsafeURL as error:
            raise self._unsafe(error) from error
        # Sent to the URL exactly as configured: the normalised form drops a trailing slash, which a
        # receiver may answer with a redirect we would not follow.
        return self.url

    @staticmethod
    def _unsafe(error: UnsafeURL) -> PublishError | AuthExpired:
        if isinstance(error.__cause__, socket.gaierror):
            return PublishError(f"{error.message} Nothing was sent; it will be tried again.", permanent=False)
        # A configuration problem, not a problem with the post: hold deliveries until the URL is fixed.
        return AuthExpired(
            f"CivicPost will not send to this webhook address: {error.message} A department admin must change it.",
            code="webhook_unsafe_url",
        )

    # --- Payloads -------------------------------------------------------------------------------

    def _post_payload(self, content: PostContent, idempotency_key: str, published_at: dt.datetime) -> dict[str, Any]:
        """The `post` object of platforms.md §9; who and where come with the content (from the delivery)."""
        first_line = content.text.strip().splitlines()[0] if content.text.strip() else ""
        return {
            "id": content.post_id,
            "title": first_line if len(first_line) <= 120 else first_line[:119] + "…",
            "text": content.text,
            "link": content.link,
            "language": content.language,
            "department": (
                {"slug": content.department_slug, "name": content.department_name}
                if content.department_slug or content.department_name
                else None
            ),
            "tags": [],
            "media": [
                {"url": m.url, "alt": m.alt_text, "mime": m.mime_type, "width": m.width, "height": m.height}
                for m in content.media
            ],
            "channels": [{"platform": platform, "name": name} for platform, name in content.post_channels],
            "published_at": _iso(published_at),
        }

    def _body(self, event: dict[str, Any], content: PostContent | None) -> dict[str, Any]:
        """The JSON sent: the Standard Webhooks event, or the message shape a chat service expects [k]."""
        if self.format == "standard" or content is None:
            return event
        text = content.text_with_link()
        if self.format == "slack":
            return {"text": text}
        if self.format == "discord":
            return {"content": text, "allowed_mentions": {"parse": []}}
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": text, "wrap": True}],
        }
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }

    # --- Sending --------------------------------------------------------------------------------

    def _send(self, *, msg_id: str, event: dict[str, Any], content: PostContent | None) -> requests.Response:
        """Signs and POSTs one event. Returns the 2xx response; raises an AdapterError otherwise."""
        signer = self._signer()
        url = self._target()
        body = json.dumps(self._body(event, content), ensure_ascii=False, separators=(",", ":"))
        timestamp = int(time.time())
        headers = {
            str(name): str(value)
            for name, value in (self.account.credentials.get("headers") or {}).items()
            if str(name).lower() not in RESERVED_HEADERS
        }
        headers.update(
            {
                "Content-Type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signer.sign(msg_id, dt.datetime.fromtimestamp(timestamp, tz=dt.UTC), body),
            }
        )
        # The guarded session (CivicPost's timeout and User-Agent) connects only to the address it checked,
        # so a DNS answer that changes after check_public_url gains nothing.
        session = guarded_session()
        try:
            response = session.post(url, data=body.encode("utf-8"), headers=headers, allow_redirects=False)
        except UnsafeURL as error:
            raise self._unsafe(error) from error
        except requests.RequestException as error:
            name = type(error).__name__
            if request_never_sent(error):
                raise PublishError(
                    f"Could not connect to the webhook ({name}); nothing was sent.", permanent=False
                ) from error
            # Read timeout or a connection dropped after sending: the receiver may have it.
            raise OutcomeUnknown(f"The webhook did not answer in time ({name}).") from error
        finally:
            session.close()
        self._check(response)
        return response

    def _check(self, response: requests.Response) -> None:
        """Maps the receiver's answer onto the shared vocabulary (platforms.md §9, retry policy)."""
        status = response.status_code
        raw = {"status": status, "body": _short_body(response)}
        if 200 <= status < 300:
            return
        if status == 410:
            # 410 Gone: the receiver retired this endpoint. Stop sending until an admin updates it.
            raise AuthExpired(
                "The receiving system says this webhook address is gone (HTTP 410); "
                "a department admin must update or remove the webhook.",
                code="webhook_gone",
                raw=raw,
            )
        if status in RETRY_LATER_STATUSES:
            raise RateLimited(
                f"The webhook asked us to try later (HTTP {status}).",
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
                code=f"webhook_http_{status}",
                raw=raw,
            )
        if status >= 500:
            if self.receiver_dedupes:
                # The receiver may have processed the event before failing, but Standard Webhooks
                # receivers dedupe on webhook-id (our fixed idempotency key), so resending is safe.
                raise PublishError(
                    f"The webhook answered with a server error (HTTP {status}); it will be sent again.",
                    permanent=False,
                    code=f"webhook_http_{status}",
                    raw=raw,
                )
            # Chat services do not dedupe: a resend could post twice.
            raise OutcomeUnknown(f"The chat service answered with a server error (HTTP {status}).", raw=raw)
        if 300 <= status < 400:
            raise PublishError(
                f"The webhook address redirects elsewhere (HTTP {status}); CivicPost does not follow redirects. "
                "Update the webhook address.",
                permanent=True,
                code="webhook_redirect",
                raw=raw,
            )
        raise PublishError(
            f"The webhook refused the post (HTTP {status}): {raw['body'] or response.reason}",
            permanent=True,
            code=f"webhook_http_{status}",
            raw=raw,
        )

    # --- Contract -------------------------------------------------------------------------------

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(content.text_with_link()), limit=TEXT_LIMITS[self.format])

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        if not self.url:
            problems.append(Problem("This webhook has no address; a department admin must set it up again.", "channel"))
        elif not self.url.lower().startswith(("https://", "http://")):
            problems.append(Problem("The webhook address must start with https://.", "channel"))
        return problems

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """POSTs a signed `post.published` event. Returns the receiver's {"id", "url"} if it gives them,
        else the webhook-id as the remote id."""
        msg_id = str(idempotency_key)
        now = dt.datetime.now(tz=dt.UTC)
        event = {
            "type": "post.published",
            "id": msg_id,
            "occurred_at": _iso(now),
            "post": self._post_payload(content, msg_id, now),
        }
        response = self._send(msg_id=msg_id, event=event, content=content)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        remote_id, permalink = msg_id, ""
        if isinstance(answer, dict):
            remote_id = str(answer.get("id") or msg_id)
            url = answer.get("url")
            permalink = url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""
        return PublishResult(
            remote_id=remote_id,
            permalink=permalink,
            raw={
                "status": response.status_code,
                "webhook_id": msg_id,
                "response": answer if answer is not None else _short_body(response),
            },
        )

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Standard Webhooks receivers dedupe on webhook-id, so an unknown outcome is settled by sending
        again with the same id: returns None. Chat services cannot be asked: raises OutcomeUnknown."""
        if self.receiver_dedupes:
            return None
        raise OutcomeUnknown(f"{self.label} cannot check whether a chat message arrived.")

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        """Sends a signed `post.deleted` event naming `post_id` (chat formats cannot delete: raises
        PublishError)."""
        if not self.receiver_dedupes:
            raise PublishError("Messages sent to a chat webhook cannot be deleted from CivicPost.", permanent=True)
        # The same id on every retry of this delete, so the receiver can drop repeats.
        msg_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicpost:webhook:{self.account.channel_id}:deleted:{remote_id}"))
        now = dt.datetime.now(tz=dt.UTC)
        event = {
            "type": "post.deleted",
            "id": msg_id,
            "occurred_at": _iso(now),
            "post": {"id": post_id, "remote_id": remote_id},
        }
        self._send(msg_id=msg_id, event=event, content=None)

    def check_connection(self) -> ConnectionCheck:
        """Sends a signed `ping` event (chat formats: a short test message)."""
        msg_id = f"ping_{uuid.uuid4().hex}"
        event = {"type": "ping", "id": msg_id, "occurred_at": _iso(dt.datetime.now(tz=dt.UTC)), "post": None}
        test_content = None
        if not self.receiver_dedupes:
            test_content = PostContent(text="CivicPost connection test: this channel is connected.")
        try:
            response = self._send(msg_id=msg_id, event=event, content=test_content)
        except (AuthExpired, PublishError, RateLimited, OutcomeUnknown) as error:
            return ConnectionCheck(ok=False, message=error.message)
        return ConnectionCheck(ok=True, message=f"The webhook answered HTTP {response.status_code}.")
