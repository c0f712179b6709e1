"""The archive keeps what the inbox captured (issue 14 × issue 15): each resident's comment as it was read, and
each moderation action with the policy clause it cited and the comment as it was before; a pending action waits
for its final outcome."""

from __future__ import annotations

import pytest

from archive.chain import chain_verify
from archive.models import ArchiveEntry, EntryKind
from archive.services import archive_capture
from inbox.models import InboxItem, ModerationAction
from inbox.services import item_moderate
from tests.governance.city import City
from tests.inbox import clause, published_post, read

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(db: None) -> tuple[City, InboxItem]:
    city = City()
    published_post(author=city.alice, approver=city.bob, channel=city.parks_channel)
    return city, read(city.parks_channel)[0]


def test_comments_and_moderation_are_archived_once_with_the_clause_and_the_comment_as_it_was(item) -> None:  # noqa: ANN001
    city, comment = item
    original_text = comment.text
    action = item_moderate(item=comment, user=city.alice, action="hide", clause_id=clause().pk, note="Threatens")

    archive_capture()
    archive_capture()  # a second run finds nothing new

    comments = ArchiveEntry.objects.filter(kind=EntryKind.COMMENT)
    assert comments.count() == InboxItem.objects.count()
    archived = comments.get(source_key=f"comment:inbox:{comment.pk}")
    assert archived.content.body["text"] == original_text
    assert archived.department_id == comment.department_id and archived.channel_id == comment.channel_id
    assert original_text.lower()[:20] in archived.content.search_text

    moderation = ArchiveEntry.objects.get(kind=EntryKind.MODERATION)
    assert moderation.source_key == f"moderation:inbox:{action.pk}"
    assert moderation.facts["policy_clause"] == "4.2" and moderation.facts["outcome"] == "done"
    assert moderation.content.body["comment_as_it_was"]["text"] == original_text
    assert moderation.department_id == comment.department_id
    assert chain_verify().ok


def test_a_pending_moderation_action_is_archived_once_it_has_its_outcome(item) -> None:  # noqa: ANN001
    city, comment = item
    action = item_moderate(item=comment, user=city.alice, action="hide", clause_id=clause().pk, note="Spam")
    ModerationAction.objects.filter(pk=action.pk).update(outcome="pending")

    archive_capture()
    assert not ArchiveEntry.objects.filter(kind=EntryKind.MODERATION).exists()

    ModerationAction.objects.filter(pk=action.pk).update(outcome="done")
    archive_capture()
    assert ArchiveEntry.objects.get(kind=EntryKind.MODERATION).facts["outcome"] == "done"
