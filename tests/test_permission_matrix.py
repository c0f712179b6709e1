"""The permission matrix: every URL of CivicPost × every role × an object of the role's own department and of
another department. The expected allows are data (EXPECTED below); everything else must be denied — a 404
or 403, or for an anonymous visitor a redirect to the sign-in page. 0 unexpected allows, 0 unexpected denies.

"Allowed" means the request passed the permission checks: the page (200), an action that went through or
redirected (302), or a form the person may send but filled wrongly (400). Each POST runs inside a savepoint
that is rolled back, so one request never changes the world of the next.

Every route is covered: a new URL without a row in EXPECTED fails `test_every_url_has_a_row`. Excluded:
allauth's own account pages, the Django admin (behind allauth's login; see tests/accounts), static files,
the health endpoint (public by design, tests/monitoring; its status page is in the matrix) and the REST API
under /api/, whose own matrix (tests/api/test_api_permissions.py) walks the same URL conf and answers 401,
not a redirect to the sign-in page.

Run with CIVICPOST_REQUIRE_MFA False and CIVICPOST_REQUIRE_REAUTH False (tests/settings.py), so that a
permitted request is not turned into a redirect to MFA set-up or the password prompt.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from civicpost.crypto import encrypt_text
from departments.models import ApprovalStep, Role
from governance.emergency import LanguageVersion, emergency_publish
from inbox.models import InboxItem, ModerationAction, PolicyClause, SavedReply
from intake.models import FeedSubscription
from postqueue.models import PostingSlot, QueueEntry
from scheduler.models import BlackoutPeriod, CrisisHold, PostHold
from tests.factories import ChannelFactory, member
from tests.governance.city import City
from tests.scheduler import approved_post, draft_post, submitted_post
from webhooks.models import WebhookSubscription

ROLES = (
    "anonymous",
    "editor",
    "approver",
    "department_admin",
    "communications_manager",
    "viewer",
    "it_admin",
    "records_officer",
)
SCOPES = ("own", "other")
CITY_WIDE_ROLES = ("communications_manager", "viewer", "it_admin", "records_officer")
MEMBER_ROLES = ("editor", "approver", "department_admin")
SIGNED_IN = tuple(r for r in ROLES if r != "anonymous")

EXCLUDED_PREFIXES = ("admin/", "accounts/", "health/", "static/", "api/")
INCLUDED_PREFIXES = ("accounts/security/", "health/status/")

# --- The expected allows --------------------------------------------------------------------------
# Each row: (url name, method) -> the set of (role, scope) that are allowed. Helpers build the sets.

Cells = frozenset[tuple[str, str]]


def cells(roles: Iterable[str], scopes: Iterable[str] = SCOPES) -> Cells:
    return frozenset((role, scope) for role in roles for scope in scopes)


def own(*roles: str) -> Cells:
    return cells(roles, ("own",))


def both(*roles: str) -> Cells:
    return cells(roles)


NOBODY: Cells = frozenset()
EVERYONE = cells(ROLES)
ANY_SIGNED_IN = cells(SIGNED_IN)
# Department members of the object's department (their own scope only).
MEMBERS = own(*MEMBER_ROLES)
APPROVERS = own("approver", "department_admin")
ADMINS = own("department_admin")
COMMS = both("communications_manager")
IT = both("it_admin")
VIEWER = both("viewer")
RECORDS = both("records_officer")

EXPECTED: dict[tuple[str, str], Cells] = {
    # --- Account & security: every signed-in person's own page.
    ("accounts:security", "GET"): ANY_SIGNED_IN,
    ("accounts:mfa_required", "GET"): ANY_SIGNED_IN,
    ("accounts:language", "POST"): ANY_SIGNED_IN,
    # Personal API tokens (api app): each person's own; revoking an unknown token is 404 for everyone
    # (revoking another person's token: tests/api/test_tokens.py).
    ("api_tokens:token_list", "GET"): ANY_SIGNED_IN,
    ("api_tokens:token_create", "POST"): ANY_SIGNED_IN,  # an empty form is refused (400)
    ("api_tokens:token_revoke", "POST"): NOBODY,
    # --- Publishing status (is the publisher running, what is late; no post text): the IT admin and the
    # communications managers (and staff accounts, tests/monitoring).
    ("monitoring:status", "GET"): COMMS | IT,
    # --- Public pages: feeds are for residents.
    ("feeds:index", "GET"): EVERYONE,
    ("feeds:city_page", "GET"): EVERYONE,
    ("feeds:city_rss", "GET"): EVERYONE,
    ("feeds:city_atom", "GET"): EVERYONE,
    ("feeds:post", "GET"): NOBODY,  # an unknown public key: 404 for everyone (public when it exists)
    ("feeds:department_page", "GET"): EVERYONE,
    ("feeds:department_rss", "GET"): EVERYONE,
    ("feeds:department_atom", "GET"): EVERYONE,
    # Uploaded media at its public address (platforms fetch images): public for files the library made.
    ("media_file", "GET"): EVERYONE,
    # Meta's Instagram webhook (inbox @mentions): public by design but guarded by Meta's verify token (GET) and the
    # X-Hub-Signature-256 of the body (POST): without them it is refused (403) to everyone (tests/inbox).
    ("meta_instagram_webhook", "GET"): NOBODY,
    ("meta_instagram_webhook", "POST"): NOBODY,
    # --- Channels: members see their department's channels; its admins connect and change them.
    ("connections:start", "GET"): both("department_admin"),  # the admin's own departments are offered
    ("connections:platform", "GET"): ADMINS,
    ("connections:platform", "POST"): ADMINS,
    # The platform's redirect back: without a sign-in started from this browser it connects nothing
    # and says so (400) to whoever arrives; with one, the admin rights are checked again (tests/connections).
    ("connections:callback", "GET"): ANY_SIGNED_IN,
    ("connections:pick", "GET"): NOBODY,  # an expired or foreign pick answers 404
    ("connections:pick", "POST"): NOBODY,
    ("connections:channel", "GET"): MEMBERS,
    ("connections:test", "POST"): ADMINS,
    ("connections:language", "POST"): ADMINS,  # an empty form clears the language (302)
    ("connections:disconnect", "POST"): ADMINS,
    ("connections:reconnect", "GET"): ADMINS,  # a feed channel (one with a connection flow)
    ("connections:reconnect", "POST"): ADMINS,
    # --- Media library and composer (issue 4): the department's members.
    ("medialibrary:library", "GET"): ANY_SIGNED_IN,
    ("medialibrary:library", "POST"): ANY_SIGNED_IN,
    ("medialibrary:asset_edit", "GET"): MEMBERS,
    ("medialibrary:asset_edit", "POST"): MEMBERS,
    # Deleting a library file (medialibrary.rules.can_delete_media): its department's members only; a
    # city-wide role alone sees no department's library (404).
    ("medialibrary:asset_delete", "GET"): MEMBERS,
    ("medialibrary:asset_delete", "POST"): MEMBERS,
    ("composer:template_list", "GET"): ANY_SIGNED_IN,
    ("composer:template_list", "POST"): ANY_SIGNED_IN,
    ("composer:template_edit", "GET"): MEMBERS,
    ("composer:template_edit", "POST"): MEMBERS,
    ("composer:template_use", "GET"): MEMBERS,
    ("composer:template_delete", "POST"): MEMBERS,
    ("composer:series_new", "GET"): ANY_SIGNED_IN,
    ("composer:series_new", "POST"): ANY_SIGNED_IN,
    ("composer:series_detail", "GET"): MEMBERS | COMMS,
    ("composer:series_submit", "POST"): MEMBERS,
    ("composer:series_approve", "POST"): APPROVERS | COMMS,
    ("composer:import_upload", "GET"): ANY_SIGNED_IN,
    ("composer:import_upload", "POST"): ANY_SIGNED_IN,
    ("composer:import_example", "GET"): ANY_SIGNED_IN,  # made from the person's own channels
    ("composer:import_preview", "GET"): own("editor"),  # only the person who uploaded it
    ("composer:import_preview", "POST"): own("editor"),
    # --- People and policies (departments app).
    ("departments:list", "GET"): both("department_admin") | COMMS | IT,  # the list itself has no object
    ("departments:members", "GET"): ADMINS | IT,
    ("departments:member_add", "POST"): ADMINS | IT,
    # Members from a CSV file (issue 19): the same people; an empty upload or confirmation answers 400.
    ("departments:member_import", "GET"): ADMINS | IT,
    ("departments:member_import", "POST"): ADMINS | IT,
    ("departments:member_import_confirm", "POST"): ADMINS | IT,
    ("departments:member_role", "POST"): ADMINS | IT,
    ("departments:member_remove", "POST"): ADMINS | IT,
    ("departments:settings", "GET"): ADMINS | COMMS,
    ("departments:settings", "POST"): ADMINS | COMMS,  # an empty form is refused with messages (400)
    ("departments:policy", "GET"): ADMINS | COMMS,
    ("departments:policy_step_add", "POST"): ADMINS | COMMS,
    ("departments:policy_step_delete", "POST"): ADMINS | COMMS,
    ("departments:policy_step_up", "POST"): ADMINS | COMMS,
    ("departments:city_roles", "GET"): IT,
    ("departments:city_role_save", "POST"): IT,
    ("departments:city_role_delete", "POST"): IT,
    # --- Governance: crisis holds (communications manager, IT admin), emergency posts.
    ("governance:crisis", "GET"): COMMS | IT,
    ("governance:crisis_start", "POST"): COMMS | IT,
    ("governance:crisis_end", "GET"): COMMS | IT,
    ("governance:crisis_end", "POST"): COMMS | IT,
    ("governance:post_hold_release", "POST"): COMMS | IT,
    # Nobody of the seven roles is an authorised official (tests/governance/test_emergency.py has Olga).
    ("governance:emergency_create", "GET"): NOBODY,
    ("governance:emergency_create", "POST"): NOBODY,
    ("governance:emergency_list", "GET"): COMMS | IT,
    ("governance:emergency_detail", "GET"): COMMS | IT,
    ("governance:emergency_review", "POST"): COMMS,
    # --- Audit trail (issue 6): a department admin reads their departments' events (the URL takes no
    # department, so "other" is the same page), the IT admin everything; communications managers do not.
    ("audit:trail", "GET"): both("department_admin") | IT,
    ("audit:export", "GET"): both("department_admin") | IT,
    # --- Posts.
    ("scheduler:dashboard", "GET"): ANY_SIGNED_IN,
    ("scheduler:approval_queue", "GET"): ANY_SIGNED_IN,
    # Decisions from the queue: the page answers anyone signed in (it names no post); each chosen post is
    # then refused or decided post by post (tests/scheduler/test_approval_queue.py has that matrix).
    ("scheduler:approval_decide", "POST"): ANY_SIGNED_IN,
    ("scheduler:channel_list", "GET"): ANY_SIGNED_IN,
    ("scheduler:sandbox_timeline", "GET"): ANY_SIGNED_IN,
    # Writing a post: members of any department (the form offers only their own departments).
    ("scheduler:post_create", "GET"): both(*MEMBER_ROLES),
    ("scheduler:post_create", "POST"): both(*MEMBER_ROLES),
    # The composer's live check and first autosave: the form only accepts the person's own departments, so a
    # non-member gets feedback ("not saved") and nothing is written.
    ("scheduler:post_check_new", "POST"): ANY_SIGNED_IN,
    ("scheduler:post_autosave_new", "POST"): ANY_SIGNED_IN,
    # A submitted post: its department's members, approvers everywhere, viewers.
    ("scheduler:post_detail", "GET"): MEMBERS | COMMS | VIEWER,
    ("scheduler:post_deliveries", "GET"): MEMBERS | COMMS | VIEWER,
    # Analytics: a post's figures go with the post page; a short link is public (unknown code: 404 for all).
    ("analytics:post_figures", "GET"): MEMBERS | COMMS | VIEWER,
    ("short_link", "GET"): NOBODY,
    ("analytics:department_short_links", "GET"): ADMINS | COMMS,
    ("analytics:department_short_links", "POST"): ADMINS | COMMS,
    # A department's figures: its members, and the city-wide readers; the city's figures: those readers only.
    ("analytics:department_figures", "GET"): MEMBERS | COMMS | VIEWER,
    ("analytics:department_figures_csv", "GET"): MEMBERS | COMMS | VIEWER,
    ("analytics:city_figures", "GET"): COMMS | VIEWER,
    ("analytics:city_figures_csv", "GET"): COMMS | VIEWER,
    # Channel health of the person's own channels (every channel for managers and viewers; none for others).
    ("analytics:channel_health", "GET"): ANY_SIGNED_IN,
    # --- Outbound webhooks (webhooks/): the department's admins only (they send its post data out).
    ("webhooks:subscriptions", "GET"): ADMINS,
    ("webhooks:subscriptions", "POST"): ADMINS,  # an empty form is refused (400)
    ("webhooks:subscription", "GET"): ADMINS,
    ("webhooks:subscription", "POST"): ADMINS,
    ("webhooks:test", "POST"): ADMINS,  # sent to a closed local port: the log says so
    ("webhooks:rotate_secret", "POST"): ADMINS,
    ("webhooks:delete", "POST"): ADMINS,
    # --- Feeds to drafts (intake/): the department's admins (the drafts are written in their name).
    ("intake:feeds", "GET"): ADMINS,
    ("intake:feeds", "POST"): ADMINS,  # an empty form is refused (400)
    ("intake:feed", "GET"): ADMINS,
    ("intake:feed", "POST"): ADMINS,
    ("intake:fetch", "POST"): ADMINS,  # a closed local port: the feed's error is recorded
    ("intake:delete", "POST"): ADMINS,
    ("scheduler:post_versions", "GET"): MEMBERS | COMMS | VIEWER,
    ("scheduler:post_version_compare", "GET"): MEMBERS | COMMS | VIEWER,
    # A draft: only its department's members change it.
    ("scheduler:post_edit", "GET"): MEMBERS,
    ("scheduler:post_edit", "POST"): MEMBERS,
    ("scheduler:post_check", "POST"): MEMBERS,
    ("scheduler:post_autosave", "POST"): MEMBERS,
    ("scheduler:post_submit", "POST"): MEMBERS,
    # A submitted post written by the department's editor: its approvers and the communications manager.
    ("scheduler:post_approve", "POST"): APPROVERS | COMMS,
    ("scheduler:post_request_changes", "POST"): APPROVERS | COMMS,
    # An approved post: members and approvers of its department may cancel it.
    ("scheduler:post_cancel", "POST"): MEMBERS | COMMS,
    # --- Calendar (issue 5).
    ("scheduler:calendar_month", "GET"): ANY_SIGNED_IN,
    ("scheduler:calendar_week", "GET"): ANY_SIGNED_IN,
    ("scheduler:calendar_agenda", "GET"): ANY_SIGNED_IN,
    ("scheduler:calendar_reschedule", "POST"): MEMBERS,
    ("scheduler:calendar_feed_settings", "GET"): ANY_SIGNED_IN,
    ("scheduler:calendar_feed_settings", "POST"): ANY_SIGNED_IN,
    # The secret address is the key (no sign-in, like any calendar subscription); an unknown one is 404.
    ("scheduler:calendar_feed", "GET"): NOBODY,
    ("scheduler:blackout_list", "GET"): ANY_SIGNED_IN,
    ("scheduler:blackout_list", "POST"): both("department_admin") | COMMS,  # admins add their departments' blackouts
    ("scheduler:blackout_delete", "POST"): ADMINS | COMMS,
    # --- The public-records archive (issue 14): the records officer, for every department, and nobody else.
    ("archive:index", "GET"): RECORDS,
    ("archive:entry_detail", "GET"): RECORDS,
    ("archive:media_file", "GET"): RECORDS,
    ("archive:export_list", "GET"): RECORDS,
    ("archive:export_list", "POST"): RECORDS,  # an empty form exports everything (302 to its progress page)
    ("archive:export_detail", "GET"): RECORDS,
    ("archive:export_download", "GET"): RECORDS,
    ("archive:retention", "GET"): RECORDS,
    ("archive:retention", "POST"): RECORDS,  # an empty form is refused (400)
    ("archive:legal_holds", "GET"): RECORDS,
    ("archive:legal_holds", "POST"): RECORDS,
    ("archive:legal_hold_release", "POST"): RECORDS,
    ("archive:dispositions", "GET"): RECORDS,
    ("archive:disposition_detail", "GET"): RECORDS,
    ("archive:disposition_approve", "POST"): RECORDS,
    ("archive:disposition_cancel", "POST"): RECORDS,
    # Retracting a published post is the decision of its department's approvers and the communications
    # managers; the records officer only sees the outcome in the archive.
    ("archive:post_retract", "GET"): APPROVERS | COMMS,
    ("archive:post_retract", "POST"): APPROVERS | COMMS,  # an empty form is refused (400)
    # The public transparency page is off unless the city turns it on (404 for everyone here;
    # tests/archive/test_retract.py turns it on).
    ("archive:transparency", "GET"): NOBODY,
    ("archive:transparency_rss", "GET"): NOBODY,
    # --- Inbox (issue 15): a department's members work its inbox; communications managers work every one.
    ("inbox:city", "GET"): both(*MEMBER_ROLES) | COMMS,  # the URL takes no department: each sees their own
    ("inbox:department", "GET"): MEMBERS | COMMS,
    ("inbox:settings", "GET"): ADMINS | COMMS,
    ("inbox:settings", "POST"): ADMINS | COMMS,  # an empty form is refused (400)
    ("inbox:channel_toggle", "POST"): ADMINS | COMMS,
    ("inbox:saved_reply_add", "POST"): MEMBERS | COMMS,
    ("inbox:saved_reply_delete", "POST"): MEMBERS | COMMS,
    ("inbox:item", "GET"): MEMBERS | COMMS,
    ("inbox:item_reply", "POST"): MEMBERS | COMMS,
    ("inbox:item_note", "POST"): MEMBERS | COMMS,
    ("inbox:item_assign", "POST"): MEMBERS | COMMS,
    ("inbox:item_status", "POST"): MEMBERS | COMMS,
    ("inbox:item_moderate", "POST"): MEMBERS | COMMS,
    ("inbox:moderation_undo", "POST"): MEMBERS | COMMS,
    # The city's policy clauses: every inbox worker reads them, communications managers write them.
    ("inbox:policy", "GET"): both(*MEMBER_ROLES) | COMMS,
    ("inbox:policy", "POST"): COMMS,
    ("inbox:policy_clause_retire", "POST"): COMMS,
    # What residents said under a post goes with the post page.
    ("inbox:post_conversation", "GET"): MEMBERS | COMMS | VIEWER,
    # --- Posting slots and the queue (postqueue, issue 19): the queue page lists the person's own
    # departments (an empty page for everyone else); members queue, reorder and make posts repeat; only a
    # department's admins manage its slots (its other members: 403, strangers: 404).
    ("postqueue:queue", "GET"): ANY_SIGNED_IN,
    ("postqueue:move", "POST"): MEMBERS,  # the only entry cannot move: a message and a redirect (302)
    ("postqueue:add", "POST"): MEMBERS,  # no slot yet: a message and a redirect (302)
    ("postqueue:evergreen", "POST"): MEMBERS,  # an empty form: a message and a redirect (302)
    ("postqueue:slots", "GET"): ADMINS,
    ("postqueue:slots", "POST"): ADMINS,  # an empty form is refused (400)
    ("postqueue:slot_delete", "POST"): ADMINS,
    # --- The first-run checklist (firstrun): the IT admin and the communications managers.
    ("firstrun:checklist", "GET"): COMMS | IT,
}

# Which object of the scope each URL works on, when it takes a post.
POST_KIND = {
    "scheduler:post_edit": "draft",
    "scheduler:post_check": "draft",
    "scheduler:post_autosave": "draft",
    "scheduler:post_submit": "draft",
    "scheduler:calendar_reschedule": "draft",
    "scheduler:post_cancel": "approved",
    "archive:post_retract": "published",
}

# --- The world ------------------------------------------------------------------------------------


@dataclass
class Scope:
    department: Any
    posts: dict[str, Any]
    channel: Any
    membership: Any
    step: Any
    blackout: Any
    post_hold: Any
    objects: dict[str, Any]


class World:
    def __init__(self) -> None:
        self.city = City()
        c = self.city
        self.users = {
            "editor": c.alice,
            "approver": c.bob,
            "department_admin": c.pat,
            "communications_manager": c.max,
            "viewer": c.vera,
            "it_admin": c.ivan,
            "records_officer": self._records_officer(),
        }
        librarian = member("lena", c.library, Role.APPROVER)

        self.clause = PolicyClause.objects.create(number="1", title="Threats", text="No threats.")
        self.scopes = {
            "own": self._scope(c.parks, c.parks_channel, author=c.alice, approver=c.bob, other_member=c.quinn),
            "other": self._scope(
                c.library, c.library_channel, author=c.carol, approver=librarian, other_member=librarian
            ),
        }
        self.crisis = CrisisHold.objects.create(reason="Matrix hold", started_by=c.dana)
        self.alert = emergency_publish(
            user=c.olga, channels=[c.parks_channel], versions=[LanguageVersion("en", "Matrix emergency")]
        )

    @staticmethod
    def _records_officer() -> Any:
        from departments.models import CityRole, CityRoleName
        from tests.factories import UserFactory

        rita = UserFactory(username="rita")
        CityRole.objects.create(user=rita, role=CityRoleName.RECORDS_OFFICER)
        return rita

    def _archive(self, scope: Scope, author: Any) -> None:
        """The scope's archive objects: an entry with a media file, an export, a legal hold, a proposed
        disposition (cheap rows written through the archive's own functions, not a publication)."""
        from django.core.files.base import ContentFile

        from archive.chain import NewEntry, entry_append
        from archive.models import ArchiveBlob, Disposition, LegalHold, RecordsExport, RetentionSchedule
        from archive.storage import archive_storage, blob_name

        department = scope.department
        sha = uuid.uuid4().hex * 2
        archive_storage().save(blob_name(sha), ContentFile(b"\x89PNG\r\n\x1a\n"))
        blob = ArchiveBlob.objects.create(sha256=sha, storage_name=blob_name(sha), mime_type="image/png", size_bytes=8)
        entry = entry_append(
            NewEntry(
                kind="publication",
                source_key=f"matrix:{department.slug}",
                occurred_at=timezone.now(),
                facts={"remote_id": "1"},
                content={"text": f"{department.slug} published", "media": [{"sha256": sha, "mime_type": "image/png"}]},
                blobs=(blob,),
                department_id=department.pk,
                department_name=department.name,
                channel_id=scope.channel.pk,
                channel_name=scope.channel.display_name,
            )
        )
        export = RecordsExport.objects.create(requested_by=author, status="done", file_name=f"exports/{sha}.zip")
        archive_storage().save(export.file_name, ContentFile(b"PK\x05\x06" + b"\x00" * 18))
        schedule, _created = RetentionSchedule.objects.get_or_create(name="Matrix", citation="GS 1")
        disposition = Disposition.objects.create(proposed_at=timezone.now())
        disposition.items.create(entry=entry, schedule=schedule, eligible_on=timezone.now().date())
        scope.objects |= {
            "entry": entry,
            "blob": blob,
            "export": export,
            "legal_hold": LegalHold.objects.create(case_reference="Matrix", department=department, created_by=author),
            "disposition": disposition,
        }

    def _published(self, scope: Scope) -> Any:
        """A post of the scope published to its Sandbox channel (made when a URL needs it)."""
        from tests.scheduler import make_due, tick

        if "published" not in scope.posts:
            post = approved_post(
                author=scope.posts["draft"].author,
                approver=scope.objects["approver"],
                channels=[scope.channel],
                text=f"{scope.department.slug} out",
            )
            make_due(post)
            # The world's city-wide crisis hold would keep it back: lifted for this one publication.
            CrisisHold.objects.filter(pk=self.crisis.pk).update(ended_at=timezone.now())
            tick()
            CrisisHold.objects.filter(pk=self.crisis.pk).update(ended_at=None)
            post.refresh_from_db()
            assert post.status == "published"
            scope.posts["published"] = post
        return scope.posts["published"]

    def _scope(self, department: Any, channel: Any, *, author: Any, approver: Any, other_member: Any) -> Scope:
        from composer.models import CsvImport, PostTemplate
        from departments.models import Membership
        from medialibrary.models import MediaAsset

        posts = {
            "draft": draft_post(author=author, channels=[channel], text=f"{department.slug} draft"),
            "submitted": submitted_post(author=author, channels=[channel], text=f"{department.slug} waiting"),
            "approved": approved_post(
                author=author, approver=approver, channels=[channel], text=f"{department.slug} ok"
            ),
        }
        now = timezone.now()
        asset = MediaAsset.objects.create(
            department=department,
            kind="image",
            file_name=f"library/{department.slug}/{uuid.uuid4().hex}.png",
            mime_type="image/png",
            size_bytes=10,
            sha256="0" * 64,
            alt_text="A pool",
        )
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        default_storage.save(asset.file_name, ContentFile(b"\x89PNG\r\n\x1a\n"))
        inbox_item = InboxItem.objects.create(
            channel=channel,
            department=department,
            remote_id=f"{department.slug}-comment",
            author_handle="resident",
            text="When does the pool open?",
            created_at=now,
        )
        objects = {
            "inbox_item": inbox_item,
            "moderation": ModerationAction.objects.create(
                item=inbox_item,
                action="hide",
                clause=PolicyClause.objects.get(number="1"),
                clause_number="1",
                clause_text="Threats",
                note="Matrix",
                actor=author,
                snapshot={"text": inbox_item.text},
                outcome="done",
            ),
            "saved_reply": SavedReply.objects.create(department=department, title="Thanks", text="Thank you!"),
            "asset": asset,
            "template": PostTemplate.objects.create(department=department, name="Weekly", text="Pools open {day}"),
            "series": self._series(department, channel, author, submit=False),
            "submitted_series": self._series(department, channel, author, submit=True),
            "feed_channel": ChannelFactory(
                department=department, platform="feed", display_name=f"{department.slug} feed"
            ),
            "import": CsvImport.objects.create(uploaded_by=author, file_name="posts.csv", content="text\nHello\n"),
            "feed": FeedSubscription.objects.create(
                department=department,
                name="Website events",
                kind="ical",
                url="http://127.0.0.1:9/events.ics",
                template="{title}",
                author=self.city.pat if department == self.city.parks else author,
            ),
            # A closed port on this machine: a test event is refused at once, nothing leaves the machine.
            "webhook": WebhookSubscription.objects.create(
                department=department,
                name="CMS",
                url="http://127.0.0.1:9/hook",
                event_types=["post.published"],
                secret_encrypted=encrypt_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ),
            "approver": approver,
            "queue_entry": QueueEntry.objects.create(post=posts["approved"], department=department),
            "slot": PostingSlot.objects.create(
                department=department, channel=channel, weekday=1, local_time=dt.time(10)
            ),
        }
        return Scope(
            department=department,
            posts=posts,
            channel=channel,
            membership=Membership.objects.get(user=other_member, department=department),
            # The default policy, written out (so that a step exists to delete and move).
            step=ApprovalStep.objects.create(
                department=department, name="Review", department_approvers=True, communications_managers=True
            ),
            blackout=BlackoutPeriod.objects.create(
                department=department,
                starts_at=now + dt.timedelta(days=30),
                ends_at=now + dt.timedelta(days=31),
                reason="Quiet",
            ),
            post_hold=PostHold.objects.create(post=posts["approved"], reason="Kept", created_by=self.city.dana),
            objects=objects,
        )

    @staticmethod
    def _series(department: Any, channel: Any, author: Any, *, submit: bool) -> Any:
        """A weekly series of two posts: drafts, or submitted and approved as a whole."""
        from composer.models import RecurringSeries
        from composer.series import series_create

        series = series_create(
            user=author,
            department=department,
            text="Council meets at 6 p.m.",
            link="",
            channels=[channel],
            frequency="weekly",
            interval=1,
            start_date=(timezone.now() + dt.timedelta(days=7)).date(),
            local_time=dt.time(18, 0),
            until=None,
            count=2,
            submit=submit,
        )
        if submit:
            RecurringSeries.objects.filter(pk=series.pk).update(approval_mode="series")
        return series

    def kwargs(self, url_name: str, route_kwargs: Iterable[str], scope_name: str) -> dict[str, Any]:
        scope = self.scopes[scope_name]
        if "archive" in url_name and "entry" not in scope.objects:
            self._archive(scope, self.users["records_officer"])
        values: dict[str, Callable[[], Any]] = {
            "post_id": lambda: (
                (
                    self._published(scope)
                    if POST_KIND.get(url_name) == "published"
                    else scope.posts[POST_KIND.get(url_name, "submitted")]
                ).pk
            ),
            "sequence": lambda: scope.objects["entry"].sequence,
            "sha256": lambda: scope.objects["blob"].sha256,
            "export_key": lambda: scope.objects["export"].key,
            "legal_hold_id": lambda: scope.objects["legal_hold"].pk,
            "disposition_id": lambda: scope.objects["disposition"].pk,
            "department_id": lambda: scope.department.pk,
            "department_slug": lambda: scope.department.slug,
            "channel_id": lambda: (
                (scope.objects["feed_channel"] if url_name == "connections:reconnect" else scope.channel).pk
            ),
            "platform": lambda: "feed" if url_name == "connections:platform" else "x",
            "pick_id": lambda: "expired-pick",
            "membership_id": lambda: scope.membership.pk,
            "step_id": lambda: scope.step.pk,
            "blackout_id": lambda: scope.blackout.pk,
            "hold_id": lambda: scope.post_hold.pk if url_name == "governance:post_hold_release" else self.crisis.pk,
            "alert_id": lambda: self.alert.pk,
            "city_role_id": lambda: self.city.olga.city_role.pk,
            "asset_id": lambda: scope.objects["asset"].pk,
            "template_id": lambda: scope.objects["template"].pk,
            "series_id": lambda: (
                scope.objects["submitted_series" if url_name == "composer:series_approve" else "series"].pk
            ),
            "import_id": lambda: scope.objects["import"].pk,
            "key": lambda: uuid.uuid4(),
            "secret": lambda: "no-such-secret",
            "code": lambda: "no-such-code",
            "name": lambda: scope.objects["asset"].file_name,
            "token_id": lambda: 999_999_999,
            "table": lambda: "channels",
            "subscription_id": lambda: scope.objects["webhook"].pk,
            "feed_id": lambda: scope.objects["feed"].pk,
            "item_id": lambda: scope.objects["inbox_item"].pk,
            "action_id": lambda: scope.objects["moderation"].pk,
            "saved_reply_id": lambda: scope.objects["saved_reply"].pk,
            "clause_id": lambda: self.clause.pk,
            "entry_id": lambda: scope.objects["queue_entry"].pk,
            "slot_id": lambda: scope.objects["slot"].pk,
        }
        return {name: values[name]() for name in route_kwargs}


# --- The routes -----------------------------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterable[tuple[str, str, URLPattern]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = (
                f"{namespace}:{pattern.namespace}"
                if namespace and pattern.namespace
                else (pattern.namespace or namespace)
            )
            yield from _walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield route, f"{namespace}:{pattern.name}" if namespace else pattern.name, pattern


def app_routes() -> dict[str, tuple[str, list[str]]]:
    """Returns {url name: (route, kwarg names)} for every URL the matrix covers."""
    routes = {}
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(EXCLUDED_PREFIXES) and not route.startswith(INCLUDED_PREFIXES):
            continue
        routes[name] = (route, list(pattern.pattern.converters))
    return routes


ROUTES = app_routes()


def test_every_url_has_a_row():
    names_with_rows = {name for name, _method in EXPECTED}
    missing = sorted(set(ROUTES) - names_with_rows)
    stale = sorted(names_with_rows - set(ROUTES))
    assert missing == [], f"URLs without a row in the permission matrix: {missing}"
    assert stale == [], f"Rows for URLs that no longer exist: {stale}"


# --- Running a row --------------------------------------------------------------------------------


def _allowed(response: Any, role: str) -> bool:
    if response.status_code in (403, 404):
        return False
    if response.status_code == 405:
        raise AssertionError("method not allowed: the row names the wrong method")
    if role == "anonymous" and response.status_code == 302:
        return not response["Location"].startswith(reverse("account_login"))
    return True


def _request(world: World, url: str, method: str, role: str) -> Any:
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    # Each request in a savepoint, rolled back: an allowed action must not change the next request's world.
    with transaction.atomic():
        response = client.get(url) if method == "GET" else client.post(url, {})
        transaction.set_rollback(True)
    return response


def actual_allows(world: World, name: str, method: str) -> Cells:
    _route, kwarg_names = ROUTES[name]
    allowed = set()
    for scope in SCOPES:
        url = reverse(name, kwargs=world.kwargs(name, kwarg_names, scope))
        for role in ROLES:
            if _allowed(_request(world, url, method, role), role):
                allowed.add((role, scope))
    return frozenset(allowed)


def _describe(cells_: Cells) -> list[str]:
    return sorted(f"{role}/{scope}" for role, scope in cells_)


@pytest.mark.parametrize(("name", "method"), sorted(EXPECTED), ids=[f"{n}-{m}" for n, m in sorted(EXPECTED)])
def test_permission_matrix(db: None, name: str, method: str) -> None:
    if name not in ROUTES:
        pytest.fail(f"{name} is in the matrix but not a URL any more")
    world = World()
    actual = actual_allows(world, name, method)
    expected = EXPECTED[(name, method)]
    if os.environ.get("PERMISSION_MATRIX_DISCOVER"):
        _route, kwarg_names = ROUTES[name]
        for scope in SCOPES:
            url = reverse(name, kwargs=world.kwargs(name, kwarg_names, scope))
            for role in ROLES:
                response = _request(world, url, method, role)
                from django.contrib.messages import get_messages

                errors = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
                print(f"DETAIL {name} {method} {role}/{scope}: {response.status_code} {errors[:1]}")  # noqa: T201
        return
    unexpected_allows = actual - expected
    unexpected_denies = expected - actual
    assert not unexpected_allows, f"{name} {method} lets in: {_describe(unexpected_allows)}"
    assert not unexpected_denies, f"{name} {method} keeps out: {_describe(unexpected_denies)}"
