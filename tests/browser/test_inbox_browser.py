"""The inbox in a real browser (issue 15) with a Facebook Page read from the fake platform over HTTP: an editor
triages a resident's comment (finds it in the department's inbox, assigns it to herself), answers it (published
through the exactly-once path to the fake), and hides another citing a policy clause; every page passes axe (WCAG
2.1 A and AA) at 1280 px and at 390 px, and the moderation is shown on the item and kept in the audit trail."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from inbox.models import InboxItem, ModerationAction, ModerationOutcome
from inbox.services import channel_poll
from scheduler.models import Delivery, DeliveryStatus
from tests.browser.test_calendar_browser import sign_in_as
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.inbox import clause, published_post
from tests.scheduler import tick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE_ID = "104412345678901"


@pytest.fixture
def fake(settings, monkeypatch):  # noqa: ANN001, ANN201
    with FakePlatform(seed=15) as server:
        settings.CIVICPOST_PLATFORM_URLS = {"facebook": server.url}
        settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
        settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
        settings.CIVICPOST_META_APP_SECRET = ""
        yield server


@pytest.mark.parametrize("width", [1280, 390])
def test_an_editor_triages_answers_and_hides_comments_from_facebook(
    live_server, browser_page, axe, personas, fake: FakePlatform, width: int
) -> None:  # noqa: ANN001
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    channel = ChannelFactory(
        department=personas.parks,
        platform="facebook",
        display_name="Parks on Facebook",
        credentials={"page_access_token": "page-token-parks"},
        options={"page_id": PAGE_ID},
    )
    post = published_post(author=personas.alice, approver=personas.bob, channel=channel, text="Pools open Saturday.")
    post_id = Delivery.objects.get(post=post).remote_id
    (question,) = fake.add_comments("facebook", post_id, 1, text="What time does the pool open?")
    (rude,) = fake.add_comments("facebook", post_id, 1, text="I know where the lifeguard lives.")
    channel_poll(channel=channel, now=timezone.now())
    rule = clause(number="4.2", title="Threats and harassment")
    sign_in_as(page, live_server.url, personas.alice)

    # Triage: the department's inbox lists both; open the question and take it.
    page.goto(f"{live_server.url}/inbox/departments/{personas.parks.pk}/")
    assert page.get_by_role("link", name="What time does the pool open?").is_visible()
    axe.check(page, f"inbox-list-{width}")
    page.get_by_role("link", name="What time does the pool open?").click()
    page.wait_for_url(re.compile(r"/inbox/items/\d+/$"))
    axe.check(page, f"inbox-item-{width}")
    page.get_by_label("Assign to").select_option(label=personas.alice.get_full_name() or personas.alice.username)
    page.get_by_role("button", name="Save assignment").click()
    page.wait_for_load_state("load")
    assert page.get_by_text("Assignment saved.").is_visible()

    # Reply: from the keyboard, out through publishing to the fake platform.
    page.get_by_label("Your reply").fill("It opens at 10 a.m.")
    page.get_by_label("Your reply").focus()
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_load_state("load")
    assert page.get_by_text("Your reply is on its way").is_visible()
    axe.check(page, f"inbox-replied-{width}")
    Delivery.objects.filter(status=DeliveryStatus.SCHEDULED).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    tick(2)
    (answer,) = [e for e in fake.ledger.entries() if e["text"] == "It opens at 10 a.m."]
    assert answer["extra"]["reply_to"] == question

    # Moderation: hide the threat citing clause 4.2, with the reminder on the page.
    rude_item = InboxItem.objects.get(channel=channel, remote_id=rude)
    page.goto(f"{live_server.url}/inbox/items/{rude_item.pk}/")
    assert page.get_by_text("viewpoint", exact=False).first.is_visible()
    page.get_by_label("Action").select_option("hide")
    page.get_by_label("Policy clause").select_option(str(rule.pk))
    page.get_by_label("Note for the record").fill("Threatens a staff member.")
    page.get_by_role("button", name="Moderate, citing the clause").click()
    page.wait_for_load_state("load")
    assert page.get_by_text("Done, and kept on the record with the policy clause.").is_visible()
    assert page.get_by_text("Hidden on the platform.").is_visible()
    axe.check(page, f"inbox-moderated-{width}")

    assert fake.comments.by_id[rude]["hidden"] is True
    action = ModerationAction.objects.get(item=rude_item)
    assert action.outcome == ModerationOutcome.DONE and action.clause_number == "4.2"
    assert action.snapshot["text"] == "I know where the lifeguard lives."
    assert AuditEvent.objects.filter(action=AuditAction.INBOX_MODERATED, target_id=str(rude_item.pk)).exists()
    assert axe.problems == [], "\n".join(axe.problems)
