"""The management commands around the app: seed_demo (make run's demo city) and rotate_keys."""

import datetime as dt
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from demo.management.commands.seed_demo import DEMO_PASSWORD, USERS
from departments.models import Department, Membership, Role
from scheduler.models import Channel, Delivery, DeliveryStatus, Post, PostStatus, SandboxPost
from tests.factories import ChannelFactory, DepartmentFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_credentials(channel: Channel) -> str:
    """Returns the credentials column exactly as the database stores it."""
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Channel._meta.db_table)
        cursor.execute(f"SELECT credentials FROM {table} WHERE id = %s", [channel.pk])  # noqa: S608
        return cursor.fetchone()[0]


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


# --- rotate_keys ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotate_keys_re_encrypts_every_channel_under_the_newest_key(settings: pytest.FixtureRequest) -> None:
    settings.CIVICPOST_ENCRYPTION_KEYS = [OLD_KEY]
    department = DepartmentFactory()
    channels = [
        ChannelFactory(department=department, credentials={"token": f"secret-{n}", "refresh": "r"}) for n in range(3)
    ]
    before = {channel.pk: raw_credentials(channel) for channel in channels}
    assert all(Fernet(OLD_KEY.encode()).decrypt(token.encode()) for token in before.values())

    settings.CIVICPOST_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()
    call_command("rotate_keys", stdout=out)

    assert "Re-encrypted 3 stored secret(s)" in out.getvalue()
    for channel in channels:
        raw = raw_credentials(channel)
        assert raw != before[channel.pk]
        assert b"secret-" in Fernet(NEW_KEY.encode()).decrypt(raw.encode())
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY.encode()).decrypt(raw.encode())
    # The old key can now be dropped: everything still reads.
    settings.CIVICPOST_ENCRYPTION_KEYS = [NEW_KEY]
    assert Channel.objects.get(pk=channels[1].pk).credentials == {"token": "secret-1", "refresh": "r"}


@pytest.mark.django_db
def test_rotate_keys_twice_is_harmless(settings: pytest.FixtureRequest) -> None:
    settings.CIVICPOST_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    channel = ChannelFactory(credentials={"token": "abc"})
    call_command("rotate_keys", stdout=StringIO())
    call_command("rotate_keys", stdout=StringIO())
    settings.CIVICPOST_ENCRYPTION_KEYS = [NEW_KEY]
    assert Channel.objects.get(pk=channel.pk).credentials == {"token": "abc"}


# --- seed_demo ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_without_debug(settings: pytest.FixtureRequest) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        seed()
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_seed_demo_loads_a_city_with_one_user_per_role(settings: pytest.FixtureRequest) -> None:
    settings.DEBUG = True
    output = seed()

    assert not mail.outbox  # the sample posts' review notifications are not sent
    names = set(Department.objects.values_list("name", flat=True))
    assert {"Parks and Recreation", "Public Works", "Public Library", "Police", "Communications"} == names
    assert Department.objects.get(slug="parks").time_zone == "America/Chicago"
    assert list(Department.objects.filter(is_communications_team=True).values_list("slug", flat=True)) == [
        "communications"
    ]
    assert {Role.EDITOR, Role.APPROVER, Role.ADMIN} == set(Membership.objects.values_list("role", flat=True))
    comms = Membership.objects.get(user__email="comms-manager@city.example")
    assert comms.can_approve_everywhere

    for spec in USERS:
        user = get_user_model().objects.get(email=spec.email)
        assert user.check_password(DEMO_PASSWORD)
        assert EmailAddress.objects.filter(user=user, email=spec.email, verified=True, primary=True).exists()
        assert spec.email in output
    assert DEMO_PASSWORD in output

    for department in Department.objects.all():
        assert 1 <= department.channels.filter(platform="sandbox").count() <= 2

    statuses = set(Post.objects.values_list("status", flat=True))
    assert {PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.APPROVED, PostStatus.CHANGES_REQUESTED} <= statuses
    soon = timezone.now() + dt.timedelta(minutes=5)
    due_soon = Delivery.objects.filter(status=DeliveryStatus.SCHEDULED, due_at__lte=soon)
    assert due_soon.count() == 2  # the welcome post, on both Parks channels


@pytest.mark.django_db
def test_seed_demo_twice_creates_nothing_new(settings: pytest.FixtureRequest) -> None:
    settings.DEBUG = True
    seed()
    counts = [model.objects.count() for model in (Department, Membership, Channel, Post, Delivery, EmailAddress)]
    seed()
    assert counts == [
        model.objects.count() for model in (Department, Membership, Channel, Post, Delivery, EmailAddress)
    ]


@pytest.mark.django_db
def test_seed_demo_records_history_with_figures_so_pages_and_the_composer_have_something_to_show(
    settings: pytest.FixtureRequest,
) -> None:
    from analytics.models import FollowerSnapshot, MetricSnapshot, ShortLink
    from analytics.selectors import best_times_for_department

    settings.DEBUG = True
    output = seed()
    parks = Department.objects.get(slug="parks")
    published = Delivery.objects.filter(status=DeliveryStatus.PUBLISHED, post__department=parks)
    assert published.count() > 60
    assert "Demo history:" in output
    # Snapshots at every age reached, on the sandbox timeline (so the collector finds the posts later).
    assert MetricSnapshot.objects.filter(delivery__in=published, age="30d").count() > 20
    assert FollowerSnapshot.objects.filter(channel__department=parks).count() >= 90
    assert ShortLink.objects.filter(delivery__in=published, clicks__gt=0).exists()
    assert all(d.remote_id.isdigit() for d in published)
    best = best_times_for_department(department=parks)
    assert best.source == "department" and best.suggested is not None


@pytest.mark.django_db
def test_seed_demo_force_runs_without_debug(settings: pytest.FixtureRequest) -> None:
    settings.DEBUG = False
    seed(force=True)
    assert Department.objects.count() == 5


@pytest.mark.django_db
def test_demo_editor_can_sign_in_with_the_printed_password(settings: pytest.FixtureRequest, client) -> None:  # noqa: ANN001
    settings.DEBUG = True
    seed()
    response = client.post(reverse("account_login"), {"login": "parks-editor@city.example", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id")


@pytest.mark.django_db
def test_demo_welcome_post_is_published_once_by_the_publisher(settings: pytest.FixtureRequest) -> None:
    settings.DEBUG = True
    seed()
    due_soon = timezone.now() + dt.timedelta(minutes=5)
    welcome = Delivery.objects.filter(status=DeliveryStatus.SCHEDULED, due_at__lte=due_soon).first().post_id
    # The dispatcher compares with the database clock, so move the due time rather than the clock.
    Delivery.objects.filter(post_id=welcome).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    on_the_sandbox_before = SandboxPost.objects.count()  # the demo's published history is on the Sandbox too

    call_command("publish_due", stdout=StringIO())
    call_command("publish_due", stdout=StringIO())

    assert set(Delivery.objects.filter(post_id=welcome).values_list("status", flat=True)) == {DeliveryStatus.PUBLISHED}
    assert SandboxPost.objects.count() == on_the_sandbox_before + 2
    assert Post.objects.get(pk=welcome).status == PostStatus.PUBLISHED


# --- run_embedded (make run) ----------------------------------------------------------------------


def test_make_run_publishes_in_process_without_redis(settings: pytest.FixtureRequest) -> None:
    from scheduler.management.commands.run_embedded import Command

    settings.REDIS_URL = ""
    commands = Command().commands(addrport="127.0.0.1:8000", interval=5, noreload=False)
    assert commands["web"][-2:] == ["runserver", "127.0.0.1:8000"]
    assert commands["publisher"][2:6] == ["publish_due", "--loop", "--interval", "5"]


def test_make_run_starts_a_celery_worker_with_beat_when_redis_is_configured(settings: pytest.FixtureRequest) -> None:
    from scheduler.management.commands.run_embedded import Command

    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    commands = Command().commands(addrport="127.0.0.1:8001", interval=5, noreload=True)
    assert commands["web"][-3:] == ["runserver", "127.0.0.1:8001", "--noreload"]
    assert commands["publisher"][1:7] == ["-m", "celery", "-A", "civicpost", "worker", "--beat"]


def test_make_run_on_another_port_serves_there(settings: pytest.FixtureRequest) -> None:
    """`make run PORT=8001` hands that address to run_embedded, which then derives the site address."""
    import shutil
    import subprocess  # nosec B404

    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    out = subprocess.run(  # noqa: S603  # nosec B603
        [make, "-n", "run", "PORT=8001", "HOST=127.0.0.1"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "run_embedded 127.0.0.1:8001" in out


def test_make_run_links_point_at_the_port_being_served(
    settings: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web and publisher processes of `make run PORT=8001` get CIVICPOST_SITE_URL=http://127.0.0.1:8001, so
    "View the post" links in emails and alerts lead to the server that is running."""
    from scheduler.management.commands import run_embedded

    settings.REDIS_URL = ""
    monkeypatch.delenv("CIVICPOST_SITE_URL", raising=False)
    started: list[dict[str, str]] = []

    class StoppedProcess:
        returncode = 0

        def __init__(self, command: list[str], *, env: dict[str, str], preexec_fn: object) -> None:
            started.append(env)

        def poll(self) -> int:
            return 0

        def wait(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(run_embedded.subprocess, "Popen", StoppedProcess)
    monkeypatch.setattr(run_embedded.signal, "signal", lambda *args: None)
    monkeypatch.setattr(run_embedded, "_accepts_connections", lambda host, port: False)
    with pytest.raises(SystemExit):
        call_command("run_embedded", "127.0.0.1:8001", stdout=StringIO(), stderr=StringIO())

    assert [env["CIVICPOST_SITE_URL"] for env in started] == ["http://127.0.0.1:8001"] * 2


def test_make_run_keeps_a_site_address_the_person_set() -> None:
    from scheduler.management.commands.run_embedded import child_environment

    env = child_environment(addrport="127.0.0.1:8001", environ={"CIVICPOST_SITE_URL": "https://posts.city.example"})
    assert env["CIVICPOST_SITE_URL"] == "https://posts.city.example"


@pytest.mark.parametrize(
    ("addrport", "site_url"),
    [
        ("0.0.0.0:8002", "http://127.0.0.1:8002"),
        ("[::]:8003", "http://[::1]:8003"),
        ("localhost:8004", "http://localhost:8004"),
        ("8005", "http://127.0.0.1:8005"),
    ],
)
def test_make_run_site_address_is_one_a_browser_on_this_machine_can_open(addrport: str, site_url: str) -> None:
    from scheduler.management.commands.run_embedded import child_environment

    assert child_environment(addrport=addrport, environ={})["CIVICPOST_SITE_URL"] == site_url
