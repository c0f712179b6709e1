"""The audit trail does not show a post's content to a reader who may not see the post (issue 11, item 4).

The IT admin reads every event, but "users, sign-in, security; not content": for an event about a Parks
draft they see that its text changed, not what it was or became, on the page, in the CSV file and through
the free-text search. Who may see a post is the post page's own rule (scheduler.selectors.posts_visible_to):
Pat, who administers Parks, reads the same events in full; once the post is approved, everyone may see it.

Personas as in tests/audit/test_views.py (AuditCity): Alice's Parks draft went "Pool opens Monday" →
"Pool opens Tuesday"."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from scheduler.models import Post, PostStatus
from tests.audit.test_views import EXPORT, TRAIL, AuditCity, read_csv, signed_in

HIDDEN = "changed (hidden: you cannot open this post)"
SECRET_WORDS = ("Pool opens", "Monday", "Tuesday")


@pytest.fixture
def city(db: None) -> AuditCity:
    return AuditCity()


def post_events_page(client, post):  # noqa: ANN001, ANN201
    return client.get(TRAIL, {"target_type": "scheduler.post", "target_id": str(post.pk)})


def test_the_it_admin_sees_that_a_draft_changed_not_what(city) -> None:
    response = post_events_page(signed_in(city.ivan), city.parks_post)

    assert response.status_code == 200
    html = response.content.decode()
    for words in SECRET_WORDS:
        assert words not in html
    edit = next(row for row in response.context["rows"] if row.event.action == AuditAction.POST_EDITED)
    assert edit.target == f"Post #{city.parks_post.pk}"
    assert [(change.field, change.after) for change in edit.changes if change.field == "Text"] == [("Text", HIDDEN)]
    assert HIDDEN in html


def test_the_department_admin_reads_the_same_events_in_full(city) -> None:
    response = post_events_page(signed_in(city.pat), city.parks_post)

    edit = next(row for row in response.context["rows"] if row.event.action == AuditAction.POST_EDITED)
    text = next(change for change in edit.changes if change.field == "Text")
    assert (text.before, text.after) == ("Pool opens Monday", "Pool opens Tuesday")
    assert edit.target == f"Post “Pool opens Tuesday” #{city.parks_post.pk}"
    assert HIDDEN not in response.content.decode()


def test_the_csv_export_hides_the_content_of_posts_the_reader_may_not_see(city) -> None:
    audit_record(
        action=AuditAction.POST_CHANGES_REQUESTED,
        actor=city.bob,
        department_id=city.parks.pk,
        target=city.parks_post,
        message="Say Tuesday at 9, not Monday",
        changes={"status": {"before": "pending", "after": "draft"}},
    )

    rows = read_csv(signed_in(city.ivan).get(EXPORT))
    body = "\n".join(",".join(row) for row in rows)

    for words in (*SECRET_WORDS, "Tuesday at 9"):
        assert words not in body
    header = rows[0]
    by_action = {row[header.index("action")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    edit = by_action[AuditAction.POST_EDITED]
    assert json.loads(edit["changes"])["text"] == {"before": "[hidden]", "after": "[hidden]"}
    assert f"Text: {HIDDEN}" in edit["changes_in_words"].splitlines()
    assert edit["object"] == f"Post #{city.parks_post.pk}"
    rejected = by_action[AuditAction.POST_CHANGES_REQUESTED]
    assert rejected["message"] == HIDDEN
    # Where the post stands in its workflow is not its content: that still reads.
    assert "Status: pending → draft" in rejected["changes_in_words"].splitlines()
    assert "Story time moves to the annex" not in body  # the Library draft: hidden the same way


def test_the_department_admin_exports_their_posts_in_full(city) -> None:
    rows = read_csv(signed_in(city.pat).get(EXPORT))
    header = rows[0]
    edit = next(dict(zip(header, row, strict=True)) for row in rows[1:] if row[3] == AuditAction.POST_EDITED)

    assert json.loads(edit["changes"])["text"] == {"before": "Pool opens Monday", "after": "Pool opens Tuesday"}


def test_searching_for_a_draft_s_words_finds_nothing_for_a_reader_who_may_not_see_it(city) -> None:
    ivan, pat = signed_in(city.ivan), signed_in(city.pat)

    assert ivan.get(TRAIL, {"q": "opens Tuesday"}).context["rows"] == []
    assert pat.get(TRAIL, {"q": "opens Tuesday"}).context["rows"]


def test_once_the_post_is_approved_everyone_who_may_see_it_reads_its_history(city) -> None:
    Post.objects.filter(pk=city.parks_post.pk).update(status=PostStatus.APPROVED)

    response = post_events_page(signed_in(city.ivan), city.parks_post)

    assert "Pool opens Tuesday" in response.content.decode()
    assert HIDDEN not in response.content.decode()


def test_a_deleted_draft_stays_hidden_from_the_it_admin_and_readable_by_its_department(city) -> None:
    post_id = city.parks_post.pk
    Post.objects.filter(pk=post_id).delete()
    assert AuditEvent.objects.filter(target_type="scheduler.post", target_id=str(post_id)).exists()

    ivan_html = post_events_page(signed_in(city.ivan), city.parks_post).content.decode()
    pat_html = post_events_page(signed_in(city.pat), city.parks_post).content.decode()

    assert "Pool opens Tuesday" not in ivan_html and HIDDEN in ivan_html
    assert "Pool opens Tuesday" in pat_html


def test_other_events_name_a_hidden_post_by_its_id_only(city) -> None:
    audit_record(action=AuditAction.CRISIS_ON, actor=city.ivan, changes={"held_posts": [city.parks_post.pk]})

    html = signed_in(city.ivan).get(TRAIL, {"action": AuditAction.CRISIS_ON}).content.decode()

    assert f"#{city.parks_post.pk}" in html
    assert "Pool opens" not in html
