"""Loads a demo city for `make run`: departments, one user per role, Sandbox channels and a few posts.

Running it again changes nothing but the demo passwords (reset to the printed one). It refuses to run
unless DJANGO_DEBUG is true: demo accounts with a published password never belong in production."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from archive.services import archive_capture
from demo.history import DAYS as HISTORY_DAYS
from demo.history import history_seed
from departments.models import CityRole, CityRoleName, Department, Membership, Role
from inbox.models import InboxSettings, PolicyClause
from inbox.services import inbox_settings_save, policy_clause_create
from scheduler.adapters.sandbox.adapter import sandbox_store
from scheduler.models import Channel, Delivery, DeliveryStatus, Post, PostStatus
from scheduler.publishing import delivery_publish, dispatch_tick
from scheduler.services import post_approve, post_create, post_request_changes, post_submit

# The demo city's social media policy (the numbered clauses moderation cites). Content-neutral on purpose.
POLICY_CLAUSES = (
    ("1", "Threats and harassment", "Comments that threaten or harass a person are hidden or removed."),
    ("2", "Obscene or sexual content", "Obscene or sexually explicit comments and images are hidden or removed."),
    ("3", "Spam and advertising", "Repeated identical comments and commercial advertising are hidden or removed."),
    ("4", "Personal information", "Comments that publish a person's private contact or identity details are removed."),
    ("5", "Illegal activity", "Comments that promote or incite clearly illegal acts are hidden or removed."),
)
DEMO_PASSWORD = "civicpost-demo"  # noqa: S105 - published on purpose; the command refuses to run without DEBUG  # nosec B105
CITY_TIME_ZONE = "America/Chicago"


@dataclass(frozen=True)
class DemoDepartment:
    slug: str
    name: str
    channels: tuple[str, ...]
    is_communications_team: bool = False


@dataclass(frozen=True)
class DemoUser:
    email: str
    first_name: str
    last_name: str
    department: str
    role: str

    @property
    def username(self) -> str:
        return self.email.split("@", 1)[0]

    @property
    def role_label(self) -> str:
        return f"{Role(self.role).label}, {DEPARTMENT_NAMES[self.department]}"


DEPARTMENTS = (
    DemoDepartment("parks", "Parks and Recreation", ("Parks on Sandbox", "Parks Events on Sandbox")),
    DemoDepartment("public-works", "Public Works", ("Public Works on Sandbox",)),
    DemoDepartment("library", "Public Library", ("Library on Sandbox",)),
    DemoDepartment("police", "Police", ("Police on Sandbox",)),
    DemoDepartment("communications", "Communications", ("City Hall on Sandbox",), is_communications_team=True),
)
DEPARTMENT_NAMES = {d.slug: d.name for d in DEPARTMENTS}

USERS = (
    DemoUser("parks-editor@city.example", "Alice", "Alvarez", "parks", Role.EDITOR),
    DemoUser("parks-approver@city.example", "Bob", "Brooks", "parks", Role.APPROVER),
    DemoUser("parks-admin@city.example", "Priya", "Patel", "parks", Role.ADMIN),
    DemoUser("works-editor@city.example", "Wes", "Walker", "public-works", Role.EDITOR),
    DemoUser("library-editor@city.example", "Carol", "Chen", "library", Role.EDITOR),
    DemoUser("police-editor@city.example", "Omar", "Ortiz", "police", Role.EDITOR),
    DemoUser("comms-manager@city.example", "Dana", "Diaz", "communications", Role.APPROVER),
)


@dataclass(frozen=True)
class DemoCityUser:
    """Someone with a city-wide role (departments.CityRole) and no department."""

    email: str
    first_name: str
    last_name: str
    role: str
    can_post_emergency: bool = False

    @property
    def username(self) -> str:
        return self.email.split("@", 1)[0]

    @property
    def role_label(self) -> str:
        label = str(CityRoleName(self.role).label) if self.role else "No city-wide role"
        return f"{label}{', may publish emergency posts' if self.can_post_emergency else ''}"


CITY_USERS = (
    DemoCityUser("city-manager@city.example", "Victor", "Vance", CityRoleName.VIEWER),
    DemoCityUser("it-admin@city.example", "Ivy", "Ito", CityRoleName.IT_ADMIN),
    DemoCityUser("clerk@city.example", "Clara", "Clarke", CityRoleName.RECORDS_OFFICER),
    DemoCityUser("emergency-manager@city.example", "Olga", "Okafor", "", can_post_emergency=True),
)


def local_time(*, days: int, hour: int, minute: int = 0) -> dt.datetime:
    """Returns `hour:minute` in the city's zone, `days` days from today, as an aware datetime."""
    zone = zoneinfo.ZoneInfo(CITY_TIME_ZONE)
    day = timezone.now().astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


PUBLISH_NOW_DELAY = dt.timedelta(seconds=2)


def _publish_now(delivery_id: int) -> None:
    delivery_publish(delivery_id=delivery_id)


class Command(BaseCommand):
    help = (
        "Load a demo city (four departments, a communications team, one user per role, a viewer, an IT admin "
        "and an emergency manager, Sandbox channels and sample posts). Safe to run again. Only runs with "
        "DJANGO_DEBUG=true unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even though DEBUG is off (never on a real installation)."
        )
        parser.add_argument(
            "--publish-in",
            type=float,
            default=2.0,
            metavar="MINUTES",
            help="When the approved welcome post goes out, in minutes from now (default 2).",
        )
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password for every demo account.")

    def handle(self, *args: object, force: bool, publish_in: float, password: str, **options: object) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a published password, so it only runs with DJANGO_DEBUG=true. "
                "Use --force only on a throw-away installation."
            )
        if not settings.CIVICPOST_ENCRYPTION_KEYS:
            raise CommandError(
                "CIVICPOST_ENCRYPTION_KEYS is empty; channels cannot be created. `make run` writes one into .env."
            )
        # The sample posts' review notifications would only bury the sign-ins below in the console.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
            departments = self._departments()
            users = self._users(departments, password)
            channels = self._channels(departments)
            created = self._posts(departments, users, channels, publish_in=dt.timedelta(minutes=publish_in))
            history = history_seed(
                departments=departments,
                users=users,
                channels={spec.slug: [channels[name] for name in spec.channels] for spec in DEPARTMENTS},
                zone=zoneinfo.ZoneInfo(CITY_TIME_ZONE),
                now=timezone.now(),
            )
            self._inbox(departments, users)
        if history:
            self.stdout.write(f"Demo history: {history} published deliveries over {HISTORY_DAYS} days, with figures.")
        self._deleted_on_the_platform(departments, users, channels)
        archive_capture()
        self._report(password, created)

    def _departments(self) -> dict[str, Department]:
        departments = {}
        for spec in DEPARTMENTS:
            department, _ = Department.objects.update_or_create(
                slug=spec.slug,
                defaults={
                    "name": spec.name,
                    "time_zone": CITY_TIME_ZONE,
                    "is_communications_team": spec.is_communications_team,
                },
            )
            departments[spec.slug] = department
        return departments

    def _users(self, departments: dict[str, Department], password: str) -> dict[str, User]:
        user_model = get_user_model()
        users = {}
        for spec in USERS:
            user, _ = user_model.objects.get_or_create(
                username=spec.username,
                defaults={"email": spec.email, "first_name": spec.first_name, "last_name": spec.last_name},
            )
            user.set_password(password)
            user.is_active = True
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=spec.email, defaults={"verified": True, "primary": True}
            )
            Membership.objects.update_or_create(
                user=user, department=departments[spec.department], defaults={"role": spec.role}
            )
            users[spec.username] = user
        for city_spec in CITY_USERS:
            user, _ = user_model.objects.get_or_create(
                username=city_spec.username,
                defaults={
                    "email": city_spec.email,
                    "first_name": city_spec.first_name,
                    "last_name": city_spec.last_name,
                },
            )
            user.set_password(password)
            user.is_active = True
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=city_spec.email, defaults={"verified": True, "primary": True}
            )
            CityRole.objects.update_or_create(
                user=user, defaults={"role": city_spec.role, "can_post_emergency": city_spec.can_post_emergency}
            )
            users[city_spec.username] = user
        # Fresh objects: the permission helpers cache memberships on the user instance.
        return {name: user_model.objects.get(pk=user.pk) for name, user in users.items()}

    def _channels(self, departments: dict[str, Department]) -> dict[str, Channel]:
        channels = {}
        for spec in DEPARTMENTS:
            for display_name in spec.channels:
                channel, _ = Channel.objects.get_or_create(
                    department=departments[spec.slug],
                    display_name=display_name,
                    defaults={"platform": "sandbox", "account_handle": f"@{spec.slug}", "credentials": {}},
                )
                channels[display_name] = channel
        return channels

    def _posts(
        self,
        departments: dict[str, Department],
        users: dict[str, User],
        channels: dict[str, Channel],
        *,
        publish_in: dt.timedelta,
    ) -> list[Post]:
        created: list[Post] = []

        def sample(
            department: str,
            author: str,
            text: str,
            channel_names: list[str],
            due_at: dt.datetime,
            link: str = "",
            **extra: Any,
        ) -> Post | None:
            if Post.objects.filter(department=departments[department], text=text).exists():
                return None
            post = post_create(
                author=users[author],
                department=departments[department],
                text=text,
                link=link,
                channels=[channels[name] for name in channel_names],
                due_at=due_at,
                **extra,
            )
            created.append(post)
            return post

        welcome = sample(
            "parks",
            "parks-editor",
            "The new Riverside Park playground is open! Come and play: swings, a splash pad and shade for "
            "grown-ups. (CivicPost demo: this post was approved and publishes itself a few minutes after "
            "`make run` starts.)",
            ["Parks on Sandbox", "Parks Events on Sandbox"],
            timezone.now() + publish_in,
            link="https://city.example/parks/riverside",
        )
        if welcome:
            post_submit(post=welcome, user=users["parks-editor"])
            post_approve(post=welcome, user=users["parks-approver"], comment="Looks good. Thanks!")

        night_out = sample(
            "police",
            "police-editor",
            "Join your neighbors for National Night Out on Tuesday from 6 to 9 p.m. at Central Park. "
            "Meet the officers who serve your neighborhood.",
            ["Police on Sandbox"],
            local_time(days=2, hour=9),
        )
        if night_out:
            post_submit(post=night_out, user=users["police-editor"])
            post_approve(post=night_out, user=users["comms-manager"])

        reading = sample(
            "library",
            "library-editor",
            "Summer reading starts Saturday at every branch. Sign up at the front desk and read your way to "
            "prizes all summer long.",
            ["Library on Sandbox"],
            local_time(days=3, hour=10),
            link="https://city.example/library/summer-reading",
        )
        if reading:
            post_submit(post=reading, user=users["library-editor"])

        leaves = sample(
            "public-works",
            "works-editor",
            "Leaf collection starts next week. Rake leaves to the curb, not into the street.",
            ["Public Works on Sandbox"],
            local_time(days=4, hour=8),
        )
        if leaves:
            post_submit(post=leaves, user=users["works-editor"])
            post_request_changes(
                post=leaves,
                user=users["comms-manager"],
                comment="Please add which neighborhoods are collected on which days.",
            )

        # A thread of posts with a first comment (issue 17): approved together, each part a reply to the one before.
        snow = sample(
            "public-works",
            "works-editor",
            "Snow is on the way. Here is how the city clears the streets (1/3)",
            ["Public Works on Sandbox"],
            local_time(days=2, hour=7),
            thread_parts=[
                "Main roads and bus routes are plowed first, around the clock. (2/3)",
                "Side streets follow within 24 hours after the snow stops. Please park off the street. (3/3)",
            ],
            first_comment="The live plow map: https://city.example/snow",
        )
        if snow:
            post_submit(post=snow, user=users["works-editor"])
            post_approve(post=snow, user=users["comms-manager"])

        sample(
            "parks",
            "parks-editor",
            "Splash pads close for the season on Sunday. Thanks for a great summer!",
            ["Parks on Sandbox"],
            local_time(days=5, hour=9),
        )
        return created

    def _deleted_on_the_platform(
        self, departments: dict[str, Department], users: dict[str, User], channels: dict[str, Channel]
    ) -> None:
        """A Parks post published now and then deleted on the Sandbox platform (as someone with the account's
        password could do on a real platform). The analytics collector notices it at its first reading, and
        the archive's next capture records it as deleted: the clerk sees both in the archive."""
        text = "Lifeguards on duty at Lincoln Pool from noon today. (CivicPost demo: deleted on the Sandbox.)"
        if Post.objects.filter(department=departments["parks"], text=text).exists():
            return
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            post = post_create(
                author=users["parks-editor"],
                department=departments["parks"],
                text=text,
                channels=[channels["Parks on Sandbox"]],
                due_at=timezone.now() + PUBLISH_NOW_DELAY,
            )
            post_submit(post=post, user=users["parks-editor"])
            post_approve(post=post, user=users["parks-approver"])
            # A post is always approved for a time in the future; it goes out as soon as that time has come.
            time.sleep(max(0.0, (post.due_at - timezone.now()).total_seconds()) + 0.1)
            # Published at once, through the dispatcher and the worker's own path.
            dispatch_tick(enqueue=_publish_now, loop_name="seed_demo")
        for delivery in Delivery.objects.filter(post=post, status=DeliveryStatus.PUBLISHED):
            sandbox_store().delete(channel_id=delivery.channel_id, remote_id=delivery.remote_id)

    def _inbox(self, departments: dict[str, Department], users: dict[str, User]) -> None:
        """The city's social media policy clauses and the Parks inbox's urgency keywords (the Sandbox's residents
        answer the published demo posts; the inbox reads them every few minutes)."""
        manager = users["comms-manager"]
        for number, title, text in POLICY_CLAUSES:
            if not PolicyClause.objects.filter(number=number, active=True).exists():
                policy_clause_create(user=manager, number=number, title=title, text=text)
        parks = departments["parks"]
        if not InboxSettings.objects.filter(department=parks).exists():
            inbox_settings_save(
                department=parks,
                user=manager,
                replies_need_approval=False,
                response_target_hours=24,
                urgency_keywords=["fire", "flooding", "gas leak"],
                watcher_ids=[users["parks-approver"].pk],
            )

    def _report(self, password: str, created: list[Post]) -> None:
        if created:
            summary = ", ".join(
                f"#{post.pk} {PostStatus(Post.objects.get(pk=post.pk).status).label.lower()}" for post in created
            )
            self.stdout.write(f"Demo posts created: {summary}.")
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(f"Demo sign-ins (password for all: {password})"))
        width = max(len(user.email) for user in (*USERS, *CITY_USERS))
        for user in (*USERS, *CITY_USERS):
            self.stdout.write(f"  {user.email.ljust(width)}  {user.first_name} {user.last_name}, {user.role_label}")
        self.stdout.write("")
