"""Members from a CSV file (issue 19): every row checked with its line number before anything is written, the
good rows added through membership_add (audited) in one transaction, the same people allowed as for one member."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from civicpost.exceptions import ApplicationError
from departments.member_import import MAX_ROWS, member_csv_preview, memberships_import
from departments.models import Membership, Role
from tests.factories import UserFactory


def _upload(text: str | bytes, name: str = "people.csv") -> SimpleUploadedFile:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def newcomers(city):  # noqa: ANN001, ANN201
    return [UserFactory(username="nina"), UserFactory(username="omar"), UserFactory(username="rosa")]


def test_a_valid_file_is_previewed_then_added_with_an_audit_event_per_row(city, newcomers, django_assert_num_queries):
    data = b"email,role\nnina@city.example,editor\nOMAR@city.example,Approver\n\nrosa@city.example,admin\n"
    with django_assert_num_queries(2):  # the accounts and the memberships, however many rows
        preview = member_csv_preview(actor=city.pat, department=city.parks, data=data)
    assert [(r.line, r.email, r.role, r.problem) for r in preview.rows] == [
        (2, "nina@city.example", Role.EDITOR, ""),
        (3, "OMAR@city.example", Role.APPROVER, ""),
        (5, "rosa@city.example", Role.ADMIN, ""),
    ]
    assert not Membership.objects.filter(user__in=newcomers).exists()  # the preview writes nothing

    result = memberships_import(actor=city.pat, department=city.parks, data=data)
    assert [r.email for r in result.added] == ["nina@city.example", "OMAR@city.example", "rosa@city.example"]
    assert result.skipped == []
    roles = dict(
        Membership.objects.filter(department=city.parks, user__in=newcomers).values_list("user__username", "role")
    )
    assert roles == {"nina": Role.EDITOR, "omar": Role.APPROVER, "rosa": Role.ADMIN}
    events = AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED, actor=city.pat)
    assert sorted(e.changes["user"] for e in events) == ["nina@city.example", "omar@city.example", "rosa@city.example"]


def test_each_kind_of_bad_row_is_named_with_its_line_and_only_good_rows_are_added(city, newcomers):
    data = (
        b"email,role\n"
        b"not-an-address,editor\n"
        b"nina@city.example,boss\n"
        b"omar@city.example,editor\n"
        b"Omar@City.example,approver\n"
        b"alice@city.example,editor\n"
        b"nobody@city.example,editor\n"
        b"pat@city.example,editor\n"
        b"rosa@city.example\n"
    )
    preview = member_csv_preview(actor=city.pat, department=city.parks, data=data)
    problems = {row.line: row.problem for row in preview.rows}
    assert problems == {
        2: "“not-an-address” is not an e-mail address.",
        3: "“boss” is not a role. Use editor, approver or admin.",
        4: "",
        5: "Omar@City.example is already on line 4 of the file.",
        6: "alice@city.example is already a member of Parks and Recreation.",
        7: "No active account has the address nobody@city.example.",
        8: "You cannot add yourself.",
        9: "Expected 2 columns (email, role), found 1.",
    }
    result = memberships_import(actor=city.pat, department=city.parks, data=data)
    assert [r.email for r in result.added] == ["omar@city.example"]
    assert [r.line for r in result.skipped] == [2, 3, 5, 6, 7, 8, 9]
    assert list(Membership.objects.filter(user__in=newcomers).values_list("user__username", flat=True)) == ["omar"]


def test_a_byte_order_mark_and_windows_line_ends_are_read(city, newcomers):
    data = "\ufeffEmail , Role\r\nnina@city.example,editor\r\n".encode()
    preview = member_csv_preview(actor=city.pat, department=city.parks, data=data)
    assert [(r.email, r.role, r.problem) for r in preview.rows] == [("nina@city.example", Role.EDITOR, "")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"nina@city.example,editor\n", "The first line must be the header “email,role”."),
        (b"", "The first line must be the header “email,role”."),
        (b"email,role\n", "The file has a header but no rows."),
        ("email,role\nniña@city.example,editor\n".encode("latin-1"), "The file is not UTF-8 text."),
        (b"email,role\n" + b"x@city.example,editor\n" * (MAX_ROWS + 1), "more than 500 rows"),
        (b"email,role\n" + b"x" * (1024 * 1024), "larger than 1 MB"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(city, data, message):
    with pytest.raises(ApplicationError, match=message):
        member_csv_preview(actor=city.pat, department=city.parks, data=data)


def test_a_row_refused_at_confirmation_is_skipped_and_the_others_are_added(city, newcomers):
    data = b"email,role\nnina@city.example,editor\nomar@city.example,editor\n"
    Membership.objects.create(user=newcomers[1], department=city.parks, role=Role.EDITOR)  # in between
    result = memberships_import(actor=city.pat, department=city.parks, data=data)
    assert [r.email for r in result.added] == ["nina@city.example"]
    assert [r.problem for r in result.skipped] == ["omar@city.example is already a member of Parks and Recreation."]


def test_someone_who_may_not_manage_members_adds_nobody(city, newcomers):
    data = b"email,role\nnina@city.example,editor\n"
    result = memberships_import(actor=city.bob, department=city.parks, data=data)
    assert result.added == []
    assert "Only admins of Parks and Recreation" in result.skipped[0].problem
    assert not Membership.objects.filter(user=newcomers[0]).exists()


# --- The pages ------------------------------------------------------------------------------------


def test_the_admin_uploads_checks_and_confirms_on_the_pages(client, city, newcomers):
    client.force_login(city.pat)
    members_page = client.get(reverse("departments:members", args=[city.parks.pk]))
    url = reverse("departments:member_import", args=[city.parks.pk])
    assert url in members_page.content.decode()
    assert client.get(url).status_code == 200

    csv_text = "\ufeffemail,role\nnina@city.example,editor\nbad,editor\nomar@city.example,approver\n"
    preview = client.post(url, {"file": _upload(csv_text)})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "people.csv: 3 rows, 2 ready to add to Parks and Recreation, 1 with problems." in page
    assert "“bad” is not an e-mail address." in page
    assert not Membership.objects.filter(user__in=newcomers).exists()

    rows = preview.context["confirm_form"].initial["rows"]
    assert rows == "email,role\nnina@city.example,editor\nomar@city.example,approver\n"
    done = client.post(reverse("departments:member_import_confirm", args=[city.parks.pk]), {"rows": rows})
    assert done.status_code == 200
    assert "2 added to Parks and Recreation, 0 skipped." in done.content.decode()
    assert set(Membership.objects.filter(user__in=newcomers).values_list("user__username", flat=True)) == {
        "nina",
        "omar",
    }


def test_a_bad_file_shows_the_upload_form_again_with_the_problem(client, city):
    client.force_login(city.pat)
    url = reverse("departments:member_import", args=[city.parks.pk])
    response = client.post(url, {"file": _upload(b"email;role\nnina@city.example;editor\n")})
    assert response.status_code == 400
    assert "The first line must be the header “email,role”." in response.content.decode()
    assert response.context["form"].errors["file"]
    too_large = client.post(url, {"file": _upload(b"email,role\n" + b"x" * (1024 * 1024 + 10))})
    assert too_large.status_code == 400
    assert "larger than 1 MB" in too_large.content.decode()
    nothing = client.post(url, {})
    assert nothing.status_code == 400
    assert "Choose the CSV file to check." in nothing.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 403), ("bob", 403), ("carol", 404), ("dana", 403), ("vera", 404), ("ivan", 200), ("pat", 200)],
)
def test_only_the_departments_admins_and_the_it_admin_import_members(client, city, newcomers, who, status):
    client.force_login(getattr(city, who))
    data = "email,role\nnina@city.example,editor\n"
    page = client.post(reverse("departments:member_import", args=[city.parks.pk]), {"file": _upload(data)})
    assert page.status_code == status
    confirm = client.post(reverse("departments:member_import_confirm", args=[city.parks.pk]), {"rows": data})
    assert confirm.status_code == status
    assert Membership.objects.filter(user=newcomers[0], department=city.parks).exists() == (status == 200)


def test_another_departments_admin_cannot_import_into_parks(client, city, newcomers):
    from tests.factories import member

    lena = member("lena", city.library, Role.ADMIN)
    client.force_login(lena)
    data = "email,role\nnina@city.example,editor\n"
    assert client.get(reverse("departments:member_import", args=[city.parks.pk])).status_code == 404
    confirm = client.post(reverse("departments:member_import_confirm", args=[city.parks.pk]), {"rows": data})
    assert confirm.status_code == 404
    assert not Membership.objects.filter(user=newcomers[0]).exists()


def test_an_empty_or_broken_confirmation_shows_the_upload_form_and_adds_nobody(client, city, newcomers):
    client.force_login(city.pat)
    url = reverse("departments:member_import_confirm", args=[city.parks.pk])
    empty = client.post(url, {})
    assert empty.status_code == 400
    assert "Nothing to add. Choose the CSV file and check it again." in empty.content.decode()
    broken = client.post(url, {"rows": "nina@city.example,editor\n"})
    assert broken.status_code == 400
    assert "The first line must be the header “email,role”." in broken.content.decode()
    assert not Membership.objects.filter(user__in=newcomers).exists()


def test_confirming_asks_for_the_password_again_after_five_minutes(city, settings, newcomers):
    import time
    from urllib.parse import urlencode

    import time_machine

    from tests.accounts.conftest import new_browser, sign_in

    settings.CIVICPOST_REQUIRE_REAUTH = True
    url = reverse("departments:member_import_confirm", args=[city.parks.pk])
    browser = new_browser()
    sign_in(browser, city.pat)
    rows = "email,role\nnina@city.example,editor\n"
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        response = browser.post(url, {"rows": rows})
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_reauthenticate')}?{urlencode({'next': url})}"
    assert not Membership.objects.filter(user=newcomers[0]).exists()
    assert browser.post(url, {"rows": rows}).status_code == 200  # a fresh sign-in is enough
    assert Membership.objects.filter(user=newcomers[0], department=city.parks).exists()
