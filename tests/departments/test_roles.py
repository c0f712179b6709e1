"""Roles: what the viewer, the IT admin and the communications manager (by city role) may see and do, and
how members and city-wide roles are changed (audited, never by oneself)."""

import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from civicpost.exceptions import ApplicationError
from connections import rules as channel_rules
from departments import rules
from departments.models import CityRole, CityRoleName, Membership, Role
from departments.selectors import department_ids_user_approves, user_approves_everywhere
from departments.services import (
    city_role_remove,
    city_role_set,
    membership_add,
    membership_change_role,
    membership_remove,
)
from governance import rules as governance_rules
from scheduler import rules as post_rules
from scheduler import selectors, services
from scheduler.models import PostStatus
from tests.accounts.conftest import new_browser, sign_in
from tests.factories import UserFactory
from tests.scheduler import approved_post, draft_post, submitted_post


@pytest.fixture
def posts(city):  # noqa: ANN001, ANN201
    return {
        "draft": draft_post(author=city.alice, channels=[city.parks_channel], text="Parks draft"),
        "submitted": submitted_post(author=city.alice, channels=[city.parks_channel], text="Parks waiting"),
        "approved": approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Parks ok"),
        "library_submitted": submitted_post(author=city.carol, channels=[city.library_channel], text="Library wait"),
    }


def visible(user) -> set[str]:  # noqa: ANN001
    return set(selectors.posts_visible_to(user=user).values_list("text", flat=True))


def test_a_viewer_reads_every_department_but_drafts_and_does_nothing(city, posts, client):
    assert visible(city.vera) == {"Parks waiting", "Parks ok", "Library wait"}
    for post in posts.values():
        assert post_rules.can_view_post(city.vera, post) is (post.status != PostStatus.DRAFT)
        for may in (
            post_rules.can_edit_post,
            post_rules.can_submit_post,
            post_rules.can_approve_post,
            post_rules.can_cancel_post,
        ):
            assert may(city.vera, post) is False
    assert list(selectors.posts_awaiting_approval(user=city.vera)) == []
    with pytest.raises(ApplicationError):
        services.post_approve(post=posts["submitted"], user=city.vera)
    client.force_login(city.vera)
    page = client.get(reverse("scheduler:post_detail", args=[posts["submitted"].pk]))
    assert page.status_code == 200
    assert "Review this post" not in page.content.decode()
    assert client.get(reverse("scheduler:post_detail", args=[posts["draft"].pk])).status_code == 404
    assert client.post(reverse("scheduler:post_approve", args=[posts["submitted"].pk])).status_code == 404
    assert client.post(reverse("scheduler:post_cancel", args=[posts["approved"].pk])).status_code == 404


def test_an_it_admin_manages_people_and_security_but_sees_no_more_content_than_anyone(city, posts):
    assert visible(city.ivan) == {"Parks ok"}  # only what every signed-in person sees
    assert not user_approves_everywhere(user=city.ivan)
    assert department_ids_user_approves(user=city.ivan) == set()
    assert rules.can_manage_members(city.ivan, city.parks.pk) and rules.can_manage_members(city.ivan, city.library.pk)
    assert rules.can_manage_city_roles(city.ivan)
    assert rules.can_view_audit(city.ivan) and rules.can_view_audit(city.ivan, city.parks.pk)
    assert governance_rules.can_start_crisis_hold(city.ivan)
    assert not post_rules.can_approve_post(city.ivan, posts["submitted"])
    assert not rules.can_manage_approval_policy(city.ivan, city.parks.pk)
    assert not channel_rules.can_connect_channel(city.ivan, city.parks.pk)


def test_a_communications_manager_by_city_role_sees_and_approves_everything(city, posts):
    assert user_approves_everywhere(user=city.max)
    assert visible(city.max) == {p.text for p in posts.values()}
    assert set(selectors.posts_awaiting_approval(user=city.max)) == {posts["submitted"], posts["library_submitted"]}
    assert governance_rules.can_start_crisis_hold(city.max) and governance_rules.can_review_emergency(city.max)
    assert not rules.can_manage_city_roles(city.max)


def test_department_admins_see_their_own_audit_trail_only(city):
    assert rules.can_view_audit(city.pat, city.parks.pk)
    assert not rules.can_view_audit(city.pat, city.library.pk)
    assert not rules.can_view_audit(city.pat)
    assert not rules.can_view_audit(city.dana, city.parks.pk)
    assert not rules.can_view_audit(city.bob, city.parks.pk)


def test_the_emergency_permission_is_per_person(city):
    assert governance_rules.can_post_emergency(city.olga)
    for person in (city.alice, city.bob, city.pat, city.dana, city.max, city.ivan, city.vera):
        assert not governance_rules.can_post_emergency(person)


def test_an_inactive_account_may_do_nothing(city, posts):
    city.max.is_active = False
    city.max.save()
    assert not user_approves_everywhere(user=city.max)
    assert not governance_rules.can_start_crisis_hold(city.max)
    assert not post_rules.can_view_post(city.max, posts["approved"])


def test_department_admins_manage_their_members_and_every_change_is_audited(city):
    newcomer = UserFactory(username="nina")
    membership = membership_add(actor=city.pat, department=city.parks, email="NINA@city.example", role=Role.EDITOR)
    membership = membership_change_role(actor=city.pat, membership=membership, role=Role.APPROVER)
    assert Membership.objects.get(user=newcomer).role == Role.APPROVER
    membership_remove(actor=city.pat, membership=membership)
    assert not Membership.objects.filter(user=newcomer).exists()
    changes = [
        e.changes["role"]
        for e in AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED, target_id=str(newcomer.pk)).order_by("id")
    ]
    assert changes == [
        {"before": None, "after": "editor"},
        {"before": "editor", "after": "approver"},
        {"before": "approver", "after": None},
    ]


def test_nobody_else_changes_members_and_nobody_changes_their_own_role(city):
    bob_membership = Membership.objects.get(user=city.bob, department=city.parks)
    for person in (city.alice, city.bob, city.dana, city.vera):
        with pytest.raises(ApplicationError):
            membership_change_role(actor=person, membership=bob_membership, role=Role.ADMIN)
    pat_membership = Membership.objects.get(user=city.pat, department=city.parks)
    with pytest.raises(ApplicationError, match="your own role"):
        membership_change_role(actor=city.pat, membership=pat_membership, role=Role.EDITOR)
    # The IT admin manages every department's members.
    membership_change_role(actor=city.ivan, membership=bob_membership, role=Role.ADMIN)
    with pytest.raises(ApplicationError, match="already a member"):
        membership_add(actor=city.pat, department=city.parks, email="alice@city.example", role=Role.EDITOR)
    with pytest.raises(ApplicationError, match="No active account"):
        membership_add(actor=city.pat, department=city.parks, email="nobody@city.example", role=Role.EDITOR)


def test_only_the_it_admin_sets_city_wide_roles_never_their_own(city):
    city_role = city_role_set(actor=city.ivan, email="bob@city.example", role="", can_post_emergency=True)
    assert governance_rules.can_post_emergency(city.bob.__class__.objects.get(pk=city.bob.pk))
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED, target_id=str(city.bob.pk))
    assert event.changes == {
        "user": "bob@city.example",
        "scope": "city",
        "role": {"before": None, "after": "emergency"},
    }
    for person in (city.pat, city.max, city.dana):
        with pytest.raises(ApplicationError):
            city_role_set(actor=person, email="alice@city.example", role=CityRoleName.VIEWER, can_post_emergency=False)
    with pytest.raises(ApplicationError, match="your own"):
        city_role_set(
            actor=city.ivan,
            email="ivan@city.example",
            role=CityRoleName.COMMUNICATIONS_MANAGER,
            can_post_emergency=True,
        )
    city_role_remove(actor=city.ivan, city_role=city_role)
    assert not CityRole.objects.filter(user=city.bob).exists()


def test_changing_a_role_on_the_members_page_asks_for_the_password_again(city, settings):
    settings.CIVICPOST_REQUIRE_REAUTH = True
    membership = Membership.objects.get(user=city.bob, department=city.parks)
    url = reverse("departments:member_role", args=[city.parks.pk, membership.pk])
    browser = new_browser()
    sign_in(browser, city.pat)
    assert browser.get(reverse("departments:members", args=[city.parks.pk])).status_code == 200
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        response = browser.post(url, {"role": Role.ADMIN})
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_reauthenticate')}?{urlencode({'next': url})}"
    membership.refresh_from_db()
    assert membership.role == Role.APPROVER
    response = browser.post(url, {"role": Role.ADMIN})  # a fresh sign-in is enough
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_the_policy_page_adds_a_step(city, client):
    client.force_login(city.pat)
    url = reverse("departments:policy", args=[city.parks.pk])
    assert "the default applies" in client.get(url).content.decode()
    response = client.post(
        reverse("departments:policy_step_add", args=[city.parks.pk]),
        {"name": "Legal", "mode": "all", "user_emails": "carol@city.example, dana@city.example"},
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Legal" in page and "Carol" in page
    bad = client.post(reverse("departments:policy_step_add", args=[city.parks.pk]), {"name": "Nobody", "mode": "any"})
    assert bad.status_code == 400 and "Say who approves this step" in bad.content.decode()


def test_the_demo_city_has_a_viewer_an_it_admin_and_an_emergency_manager(db, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    roles = {r.user.email: (r.role, r.can_post_emergency) for r in CityRole.objects.select_related("user")}
    assert roles == {
        "city-manager@city.example": (CityRoleName.VIEWER, False),
        "it-admin@city.example": (CityRoleName.IT_ADMIN, False),
        "emergency-manager@city.example": ("", True),
        "clerk@city.example": (CityRoleName.RECORDS_OFFICER, False),
    }


# --- Nobody gives a role to themselves (issue 11, item 1) ------------------------------------------


def test_the_it_admin_cannot_make_themselves_an_approver_and_approve(city, posts):
    for role in Role.values:
        with pytest.raises(ApplicationError, match="cannot add yourself"):
            membership_add(actor=city.ivan, department=city.parks, email="IVAN@city.example", role=role)
    assert not Membership.objects.filter(user=city.ivan).exists()
    ivan = city.ivan.__class__.objects.get(pk=city.ivan.pk)
    assert not post_rules.can_approve_post(ivan, posts["submitted"])
    assert not post_rules.can_view_post(ivan, posts["draft"])
    # Through the page too: refused with the reason, nothing written.
    browser = new_browser()
    browser.force_login(city.ivan)
    response = browser.post(
        reverse("departments:member_add", args=[city.parks.pk]),
        {"email": "ivan@city.example", "role": Role.APPROVER},
        follow=True,
    )
    assert "You cannot add yourself to Parks and Recreation." in response.content.decode()
    assert not Membership.objects.filter(user=city.ivan).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED, target_id=str(city.ivan.pk)).exists()


def test_the_it_admin_gives_content_roles_to_others_only(city):
    newcomer = UserFactory(username="nina")
    membership = membership_add(actor=city.ivan, department=city.parks, email="nina@city.example", role=Role.APPROVER)
    assert membership.user == newcomer and membership.role == Role.APPROVER
    # An IT admin who is a member somewhere cannot raise or lower their own role there either.
    own = Membership.objects.create(user=city.ivan, department=city.library, role=Role.EDITOR)
    with pytest.raises(ApplicationError, match="your own role"):
        membership_change_role(actor=city.ivan, membership=own, role=Role.ADMIN)
    with pytest.raises(ApplicationError, match="remove yourself"):
        membership_remove(actor=city.ivan, membership=own)


def test_a_department_admin_cannot_add_themselves_either(city):
    Membership.objects.filter(user=city.pat, department=city.parks).delete()
    Membership.objects.create(user=city.pat, department=city.library, role=Role.ADMIN)
    with pytest.raises(ApplicationError, match="cannot add yourself"):
        membership_add(actor=city.pat, department=city.library, email="pat@city.example", role=Role.ADMIN)


def test_the_django_admin_shows_roles_but_never_changes_them(city, client):
    """A staff account would otherwise write itself a membership directly, past these rules and the audit."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get(reverse("admin:departments_membership_changelist")).status_code == 200
    assert client.get(reverse("admin:departments_membership_add")).status_code == 403
    assert client.get(reverse("admin:departments_cityrole_add")).status_code == 403
    membership = Membership.objects.get(user=city.bob, department=city.parks)
    response = client.post(
        reverse("admin:departments_membership_change", args=[membership.pk]),
        {"user": root.pk, "department": city.parks.pk, "role": Role.ADMIN},
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert (membership.user, membership.role) == (city.bob, Role.APPROVER)
    assert not Membership.objects.filter(user=root).exists()
    # Nor does it name anyone in an approval step (a named person approves for the department).
    assert client.get(reverse("admin:departments_approvalstep_add")).status_code == 403
