"""Emails about a whole recurring series or a CSV import at once: the per-post messages their posts would
send are gathered (scheduler.notifications.notices_gathered) and each person gets one message per kind,
listing the posts and linking the series page or the approval queue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy, ngettext

from composer.models import CsvImport, RecurringSeries
from departments.models import Department
from scheduler.notifications import (
    APPROVED,
    _message,
    _PostNotice,
    _send_messages_after_commit,
    notices_gathered,
    post_url,
)


@contextmanager
def notifications_for_series(*, series: RecurringSeries) -> Iterator[None]:
    """Around an action on every post of `series`: instead of one message per post, each person gets one
    message per kind (waiting for their approval, or approved) that lists the posts and links the series
    page, sent after commit like the others. When the block raises, nothing is sent."""
    with notices_gathered() as notices:
        yield
    _send_series_notices(series=series, notices=notices)


@contextmanager
def notifications_for_import(*, upload: CsvImport) -> Iterator[None]:
    """Around a CSV import's run: instead of one message per submitted post, each approver gets one message
    that names the file, says how many posts it sent for approval, lists up to IMPORT_LISTED_POSTS of the
    ones waiting for them and links the approval queue; sent after commit. When the block raises, nothing
    is sent. The block ends after `upload.result` is written: only the posts it lists as imported are told
    (a row rolled back after its post was submitted is not)."""
    with notices_gathered() as notices:
        yield
    _send_import_notices(upload=upload, notices=notices)


def series_url(series: RecurringSeries) -> str:
    return f"{settings.SITE_URL}{reverse('composer:series_detail', args=[series.pk])}"


def _send_series_notices(*, series: RecurringSeries, notices: list[_PostNotice]) -> None:
    if not notices:
        return
    sequence = dict(series.occurrences.values_list("post_id", "sequence"))
    by_person: dict[tuple[str, int], list[_PostNotice]] = defaultdict(list)
    people: dict[int, Any] = {}
    for notice in notices:
        for user in notice.recipients:
            people[user.pk] = user
            by_person[(notice.kind, user.pk)].append(notice)
    department = series.department
    messages = []
    for (kind, user_id), held in sorted(by_person.items(), key=lambda item: item[0]):
        held.sort(key=lambda notice: (sequence.get(notice.post.pk, 0), notice.post.due_at))
        count = len(held)
        steps = {(n.step.number, n.step.name) for n in held if n.step is not None}

        def subject(kind: str = kind, count: int = count) -> str:
            if kind == APPROVED:
                text = ngettext(
                    "Approved: %(count)s post of a %(department)s series",
                    "Approved: %(count)s posts of a %(department)s series",
                    count,
                )
            else:
                text = ngettext(
                    "Waiting for your approval: %(count)s post of a %(department)s series",
                    "Waiting for your approval: %(count)s posts of a %(department)s series",
                    count,
                )
            return text % {"count": count, "department": department.name}

        context = {
            "kind": kind,
            "series": series,
            "series_url": series_url(series),
            "department": department,
            "count": count,
            "rows": [(sequence.get(n.post.pk), n.post, post_url(n.post), n.step) for n in held],
            "step": held[0].step if len(steps) == 1 else None,
            "step_count": held[0].step_count,
            "author": held[0].post.author,
            "approver": held[0].approver,
        }
        template = "governance/email/series_approved.txt" if kind == APPROVED else "governance/email/series_waiting.txt"
        messages.append(_message(subject=subject, template=template, context=context, user=people[user_id]))
    _send_messages_after_commit(messages, subject=f"series {series.pk}")


IMPORT_LISTED_POSTS = 50  # enough to recognise the file; the approval queue has every one


def approval_queue_url() -> str:
    return f"{settings.SITE_URL}{reverse('scheduler:approval_queue')}"


def _one_line(text: str, length: int = 60) -> str:
    return Truncator(" ".join(text.split())).chars(length)


def _send_import_notices(*, upload: CsvImport, notices: list[_PostNotice]) -> None:
    """An import only submits posts, so each notice says a post waits at its first step for its approvers."""
    result = upload.result or {}
    imported = set(result.get("post_ids", []))
    notices = [notice for notice in notices if notice.post.pk in imported]
    if not notices:
        return
    submitted = result.get("submitted", len({notice.post.pk for notice in notices}))
    file_name = upload.file_name or gettext_lazy("a CSV file")
    departments = Department.objects.in_bulk({notice.post.department_id for notice in notices})
    by_person: dict[int, list[_PostNotice]] = defaultdict(list)
    people: dict[int, Any] = {}
    for notice in notices:
        for user in notice.recipients:
            people[user.pk] = user
            by_person[user.pk].append(notice)
    messages = []
    for user_id, held in sorted(by_person.items()):
        held.sort(key=lambda notice: (notice.post.due_at, notice.post.pk))
        count = len(held)
        steps = {(n.post.department_id, n.step.number, n.step_count) for n in held if n.step is not None}

        def subject(count: int = count) -> str:
            return ngettext(
                "Waiting for your approval: %(count)s post imported from %(file)s",
                "Waiting for your approval: %(count)s posts imported from %(file)s",
                count,
            ) % {"count": count, "file": file_name}

        context = {
            "file_name": file_name,
            "author": upload.uploaded_by,
            "submitted": submitted,
            "count": count,
            "rows": [
                (
                    n.post,
                    departments[n.post.department_id],
                    _one_line(n.post.text),
                    post_url(n.post),
                    n.step,
                    n.step_count,
                )
                for n in held[:IMPORT_LISTED_POSTS]
            ],
            "more": max(0, count - IMPORT_LISTED_POSTS),
            "several_departments": len({n.post.department_id for n in held}) > 1,
            "step": held[0].step if len(steps) == 1 else None,
            "step_count": held[0].step_count,
            "queue_url": approval_queue_url(),
        }
        messages.append(
            _message(
                subject=subject, template="governance/email/import_waiting.txt", context=context, user=people[user_id]
            )
        )
    _send_messages_after_commit(messages, subject=f"CSV import {upload.pk}")
