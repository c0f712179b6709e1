"""E-mail bulletin: the approved post sent as an e-mail to a subscriber list, through the service the city already
uses — Granicus GovDelivery, Mailchimp or Listmonk (services.py documents each one's endpoints, shapes, errors and
access).

Why ONE platform with three service backends rather than three platforms: what a department sees is the same
thing whatever the service (an e-mail to subscribers), and so are the rules that matter here — how the post
becomes an e-mail (subject, HTML and plain-text parts, images with alt text), validation, the connect form and
the exactly-once design. Only four calls differ per service; a city runs one of them, and another service is one
more class in services.py, not another channel type in the composer.

Channel configuration
    credentials (encrypted): {"secret": API key / password / API token, "username": GovDelivery login or
                              Listmonk API user}
    options: {"service": "govdelivery" | "mailchimp" | "listmonk", "audience": topic code / audience id / list id,
              "environment" (GovDelivery), "account_code" (GovDelivery), "server_url" (Listmonk),
              "from_name", "reply_to" (Mailchimp)}

The e-mail
    subject     the post's first line (at most SUBJECT_LIMIT characters: Mailchimp's limit, the strictest); an
                emergency post's subject starts with "Urgent: " (PostContent.urgent), so subscribers see it first.
    HTML part   the post's text HTML-escaped, blank lines as paragraphs and line breaks as <br>, the link as a link,
                each image with its alt text, and a hidden comment carrying the marker.
    text part   the text, the link, and each image as "[Image: alt] url".

Exactly once
    No service offers an idempotency key for sending. Each bulletin carries the marker civicpost:<idempotency key>
    (a campaign's internal title or name; for GovDelivery a comment in the body). An unclear answer to a call that
    creates or sends (timeout, dropped connection, 5xx) is OutcomeUnknown; reconcile looks the marker up: found and
    sent -> published; found as a draft (Mailchimp, Listmonk: the create worked, the send did not) -> after the
    settle time, publish again, which finishes that draft instead of creating another; not found -> after the settle
    time, publish again. Publishing itself also looks for a draft of the same delivery first.
"""

from __future__ import annotations

import datetime as dt
import html
import re

from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    CheckAgainLater,
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
from scheduler.adapters.email_bulletin.services import Bulletin, BulletinService, Found, service_for
from scheduler.adapters.media import is_image

SUBJECT_LIMIT = 150
# E-mails carry a lot; the limit keeps a bulletin readable and far below any service's body limit.
TEXT_LIMIT = 20_000
MAX_IMAGES = 10
RECONCILE_LOOKBACK = dt.timedelta(minutes=5)
RECONCILE_SETTLE = dt.timedelta(minutes=2)


def marker(idempotency_key: str) -> str:
    return f"civicpost:{idempotency_key}"


URGENT_SUBJECT_PREFIX = "Urgent: "


def subject_of(content: PostContent) -> str:
    first = next((line.strip() for line in content.text.splitlines() if line.strip()), "")
    if content.urgent and not first.lower().startswith(URGENT_SUBJECT_PREFIX.strip().lower()):
        first = URGENT_SUBJECT_PREFIX + first
    return first if len(first) <= SUBJECT_LIMIT else first[: SUBJECT_LIMIT - 1].rstrip() + "…"


def html_part(content: PostContent, mark: str) -> str:
    """The HTML part: escaped text (blank lines -> paragraphs, line breaks -> <br>), the link, images with alt."""
    text = content.text.replace("\r\n", "\n").strip()
    paragraphs = [part for part in re.split(r"\n\s*\n", text) if part.strip()]
    parts = [f"<!-- {html.escape(mark)} -->"]
    parts += ["<p>" + "<br>\n".join(html.escape(line) for line in part.split("\n")) + "</p>" for part in paragraphs]
    if content.link.startswith(("https://", "http://")):
        href = html.escape(content.link, quote=True)
        parts.append(f'<p><a href="{href}">{html.escape(content.link)}</a></p>')
    for item in content.media:
        parts.append(
            f'<p><img src="{html.escape(item.url, quote=True)}" alt="{html.escape(item.alt_text, quote=True)}" '
            'style="max-width:100%;height:auto"></p>'
        )
    body = "\n".join(parts)
    lang = html.escape(content.language or "en", quote=True)
    style = "font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5"
    return f'<div lang="{lang}" style="{style}">\n{body}\n</div>'


def text_part(content: PostContent) -> str:
    lines = [content.text.replace("\r\n", "\n").strip()]
    if content.link:
        lines.append(content.link)
    lines += [f"[Image: {item.alt_text}] {item.url}" for item in content.media]
    return "\n\n".join(lines)


class EmailBulletinAdapter(PlatformAdapter):
    platform = "email_bulletin"
    label = "E-mail bulletin"
    max_media = MAX_IMAGES
    supports_delete = False
    supports_metrics = False
    # An emergency post's subject says "Urgent:".
    uses_urgent_flag = True

    def service(self) -> BulletinService:
        return service_for(dict(self.account.credentials), dict(self.account.options))

    def bulletin(self, content: PostContent, idempotency_key: str) -> Bulletin:
        mark = marker(idempotency_key)
        subject = subject_of(content)
        return Bulletin(
            subject=subject,
            html=html_part(content, mark),
            text=text_part(content),
            marker=mark,
            title=f"{subject[:80]} [{mark}]",
        )

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(content.text), limit=TEXT_LIMIT)

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        if not content.text.strip():
            problems.append(Problem("An e-mail bulletin needs text: its first line is the subject."))
        if any(not is_image(item) for item in content.media):
            problems.append(Problem("E-mail bulletins take images only; link to a video instead.", "media"))
        if any(not item.url.startswith("https://") for item in content.media):
            problems.append(Problem("Images in an e-mail need a public https:// address.", "media"))
        return problems

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        service = self.service()
        bulletin = self.bulletin(content, idempotency_key)
        draft: Found | None = None
        if service.resumes_drafts:
            # A draft of this delivery left by a dropped answer is finished, never duplicated.
            try:
                existing = service.find(bulletin, since=timezone.now() - dt.timedelta(days=7))
            except (ValueError, KeyError, TypeError) as error:
                raise PublishError(
                    f"{service.label} answered with something CivicPost could not read; nothing was sent.",
                    permanent=False,
                ) from error
            if existing is not None and existing.sent:
                return self._result(existing)
            draft = existing
        try:
            return self._result(service.send(bulletin, draft=draft))
        except (ValueError, KeyError, TypeError) as error:
            raise OutcomeUnknown(
                f"{service.label} answered with something CivicPost could not read; checking before sending again."
            ) from error

    @staticmethod
    def _result(found: Found) -> PublishResult:
        return PublishResult(remote_id=found.remote_id, permalink=found.permalink, raw=found.raw)

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Finds the bulletin by its marker: sent -> it; a draft or nothing -> None after the settle time."""
        service = self.service()
        bulletin = self.bulletin(content, idempotency_key)
        try:
            found = service.find(bulletin, since=(first_sent_at or sent_at) - RECONCILE_LOOKBACK)
        except RateLimited as error:
            raise CheckAgainLater(
                f"Could not check {service.label} yet: {error.message}", retry_after=error.retry_after
            ) from error
        except (ValueError, KeyError, TypeError) as error:
            raise CheckAgainLater(f"{service.label} answered with something CivicPost could not read.") from error
        except PublishError as error:
            if error.permanent:
                raise OutcomeUnknown(f"Could not check {service.label} for the bulletin: {error.message}") from error
            raise CheckAgainLater(f"Could not check {service.label} yet: {error.message}") from error
        if found is not None and found.sent:
            return self._result(found)
        remaining = (RECONCILE_SETTLE - (timezone.now() - sent_at)).total_seconds()
        if remaining > 0:
            raise CheckAgainLater(
                f"{service.label} does not show the bulletin as sent yet, but it was sent moments ago.",
                retry_after=max(15.0, remaining),
            )
        # Nothing was sent: publishing again finishes the draft (if any) or sends the bulletin once.
        return None

    def check_connection(self) -> ConnectionCheck:
        try:
            return ConnectionCheck(ok=True, message=f"Connected to {self.service().describe()}.")
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        except (ValueError, KeyError, TypeError):
            return ConnectionCheck(
                ok=False, message="The e-mail service answered with something CivicPost could not read."
            )
