"""Two-step verification: approvers, department admins and staff set it up before anything else; editors
may; TOTP secrets never reach the database in clear."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.db import connection
from django.urls import reverse

from accounts.adapters import ENCRYPTED_PREFIX, CivicMFAAdapter
from civicpost.crypto import decrypt_text
from departments.models import Role
from tests.accounts.conftest import give_totp, new_browser, sign_in, totp_code
from tests.factories import PASSWORD, UserFactory, member

pytestmark = pytest.mark.django_db

MFA_REQUIRED_URL = "/accounts/security/two-step-required/"


def signed_in(user):  # noqa: ANN001, ANN201
    browser = new_browser()
    browser.force_login(user)
    return browser


# --- Secrets at rest ------------------------------------------------------------------------------------


def test_the_totp_secret_is_stored_encrypted_and_still_checks_codes(personas):
    secret = give_totp(personas.bob)

    stored = Authenticator.objects.get(user=personas.bob, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored
    assert stored.startswith(ENCRYPTED_PREFIX)
    assert decrypt_text(stored.removeprefix(ENCRYPTED_PREFIX)) == secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator")
        assert secret not in repr(cursor.fetchall())

    from allauth.mfa.totp.internal.auth import TOTP

    totp = TOTP(Authenticator.objects.get(user=personas.bob, type=Authenticator.Type.TOTP))
    assert totp.validate_code(totp_code(secret))
    assert not totp.validate_code("000000" if totp_code(secret) != "000000" else "111111")


def test_the_recovery_code_seed_is_encrypted_too(personas):
    give_totp(personas.bob)
    codes = RecoveryCodes.activate(personas.bob)
    seed = codes.instance.data["seed"]
    assert seed.startswith(ENCRYPTED_PREFIX)
    assert RecoveryCodes(Authenticator.objects.get(pk=codes.instance.pk)).validate_code(codes.get_unused_codes()[0])


def test_a_secret_stored_before_encryption_was_switched_on_is_still_read():
    adapter = CivicMFAAdapter()
    assert adapter.decrypt("JBSWY3DPEHPK3PXP") == "JBSWY3DPEHPK3PXP"
    assert adapter.decrypt(adapter.encrypt("JBSWY3DPEHPK3PXP")) == "JBSWY3DPEHPK3PXP"


# --- Who is sent to set it up ---------------------------------------------------------------------------


def test_an_approver_without_mfa_is_sent_to_set_it_up_before_anything_else(personas, require_mfa):
    browser = signed_in(personas.bob)
    for url in ("/", "/calendar/", "/approvals/", "/channels/", reverse("scheduler:post_create")):
        response = browser.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(MFA_REQUIRED_URL), url
    # A form post is refused the same way, and nothing it asked for happens.
    response = browser.post(reverse("scheduler:post_create"), {"text": "Pool closed"})
    assert response.status_code == 302
    assert response["Location"] == MFA_REQUIRED_URL


def test_the_set_up_page_says_why_and_offers_an_app_or_a_security_key(personas, require_mfa):
    response = signed_in(personas.bob).get(MFA_REQUIRED_URL + "?next=/calendar/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Set up two-step verification" in body
    assert reverse("mfa_activate_totp") in body
    assert reverse("mfa_add_webauthn") in body


@pytest.mark.parametrize("role", [Role.APPROVER, Role.ADMIN])
def test_approvers_and_department_admins_must_use_mfa(personas, role, require_mfa):
    user = member(f"someone-{role}", personas.library, role)
    assert signed_in(user).get("/")["Location"].startswith(MFA_REQUIRED_URL)


def test_staff_and_superusers_must_use_mfa_even_without_a_department(require_mfa):
    staff = UserFactory(username="it-staff", is_staff=True)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    for user in (staff, root):
        assert signed_in(user).get("/admin/")["Location"].startswith(MFA_REQUIRED_URL)


def test_an_editor_is_not_forced(personas, require_mfa):
    assert signed_in(personas.alice).get("/").status_code == 200
    assert signed_in(personas.carol).get("/calendar/").status_code == 200


def test_an_approver_with_an_authenticator_app_or_a_security_key_goes_on(personas, require_mfa):
    give_totp(personas.bob)
    assert signed_in(personas.bob).get("/").status_code == 200
    Authenticator.objects.create(user=personas.dana, type=Authenticator.Type.WEBAUTHN, data={"name": "YubiKey"})
    assert signed_in(personas.dana).get("/").status_code == 200


def test_recovery_codes_alone_are_not_a_second_step(personas, require_mfa):
    Authenticator.objects.create(user=personas.bob, type=Authenticator.Type.RECOVERY_CODES, data={})
    assert signed_in(personas.bob).get("/")["Location"].startswith(MFA_REQUIRED_URL)


def test_set_up_pages_sign_out_and_health_stay_reachable(personas, require_mfa):
    browser = signed_in(personas.bob)
    # allauth asks for the password again before activating: that page is reachable too.
    activate = browser.get(reverse("mfa_activate_totp"))
    assert activate.status_code == 302
    assert activate["Location"].startswith(reverse("account_reauthenticate"))
    assert browser.get(activate["Location"]).status_code == 200
    assert browser.get(reverse("mfa_index")).status_code == 200
    assert browser.get(reverse("accounts:security")).status_code == 200
    assert browser.get("/health/").status_code in (200, 503)
    assert browser.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in browser.session


def test_an_htmx_request_is_told_to_load_the_set_up_page(personas, require_mfa):
    response = signed_in(personas.bob).get("/calendar/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == MFA_REQUIRED_URL


def test_the_requirement_can_be_switched_off_for_a_local_demo(personas, settings):
    settings.CIVICPOST_REQUIRE_MFA = False
    assert signed_in(personas.bob).get("/").status_code == 200


# --- The whole way through the pages ---------------------------------------------------------------------


def test_an_approver_signs_in_sets_up_an_authenticator_app_and_then_works(personas, require_mfa):
    browser = new_browser()
    assert sign_in(browser, personas.bob).status_code == 302

    sent = browser.get("/approvals/")
    assert sent["Location"] == MFA_REQUIRED_URL + "?next=%2Fapprovals%2F"
    # allauth asks for the password once more, then shows the QR code and the secret.
    reauth = browser.get(reverse("mfa_activate_totp"))
    assert browser.post(reauth["Location"], {"password": PASSWORD})["Location"] == reverse("mfa_activate_totp")
    page = browser.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert 'src="data:image/svg+xml;base64,' in page.content.decode()

    activated = browser.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=personas.bob, type=Authenticator.Type.TOTP).exists()
    assert browser.get("/approvals/").status_code == 200
    # The set-up page now just sends them on.
    assert browser.get(MFA_REQUIRED_URL + "?next=/approvals/")["Location"] == "/approvals/"


def test_with_totp_a_password_alone_does_not_sign_in(personas, require_mfa):
    secret = give_totp(personas.bob)
    browser = new_browser()
    response = sign_in(browser, personas.bob)
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in browser.session
    assert browser.get("/").status_code == 302

    wrong = browser.post(reverse("mfa_authenticate"), {"code": "123456" if totp_code(secret) != "123456" else "654321"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in browser.session

    response = browser.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(personas.bob.pk)
    assert browser.get("/").status_code == 200


def test_the_security_key_page_offers_webauthn_registration(personas, require_mfa):
    browser = new_browser()
    sign_in(browser, personas.bob)
    reauth = browser.get(reverse("mfa_add_webauthn"))
    browser.post(reauth["Location"], {"password": PASSWORD})
    page = browser.get(reverse("mfa_add_webauthn"))
    assert page.status_code == 200
    body = page.content.decode()
    # fido2 builds the registration options; allauth's scripts are files, started from a JSON data block.
    options = page.context["js_data"]["creation_options"]["publicKey"]
    assert options["rp"]["id"] == "testserver"
    assert options["user"]["name"] == personas.bob.email
    assert "creation_options" in body
    assert "/static/mfa/js/webauthn.js" in body
    assert 'data-allauth-onload="allauth.webauthn.forms.addForm"' in body


def test_an_approver_registers_a_security_key_and_signs_in_with_it(personas, require_mfa):
    import json

    from tests.accounts.soft_key import SoftKey

    key = SoftKey()
    browser = new_browser()
    sign_in(browser, personas.bob)
    reauth = browser.get(reverse("mfa_add_webauthn"))
    browser.post(reauth["Location"], {"password": PASSWORD})
    page = browser.get(reverse("mfa_add_webauthn"))
    credential = key.register(page.context["js_data"]["creation_options"])
    added = browser.post(reverse("mfa_add_webauthn"), {"name": "YubiKey", "credential": json.dumps(credential)})
    assert added.status_code == 302, added.content
    assert Authenticator.objects.filter(user=personas.bob, type=Authenticator.Type.WEBAUTHN).count() == 1
    assert browser.get("/approvals/").status_code == 200

    # Next day: the password, then the key.
    later = new_browser()
    assert sign_in(later, personas.bob)["Location"] == reverse("mfa_authenticate")
    stage = later.get(reverse("mfa_authenticate"))
    options = stage.context["js_data"]["request_options"]
    impostor = SoftKey()
    impostor.credential_id = key.credential_id  # same id, different private key
    refused = later.post(reverse("mfa_authenticate"), {"credential": json.dumps(impostor.authenticate(options))})
    assert refused.status_code == 200
    assert "_auth_user_id" not in later.session

    stage = later.get(reverse("mfa_authenticate"))
    options = stage.context["js_data"]["request_options"]
    signed = later.post(reverse("mfa_authenticate"), {"credential": json.dumps(key.authenticate(options))})
    assert signed.status_code == 302
    assert later.session["_auth_user_id"] == str(personas.bob.pk)


@pytest.mark.parametrize(
    ("role", "emergency", "forced"),
    [
        ("communications_manager", False, True),
        ("it_admin", False, True),
        ("viewer", True, True),
        ("viewer", False, False),
    ],
)
def test_city_wide_roles_that_act_everywhere_must_use_mfa(role, emergency, forced, require_mfa):
    import departments.models

    city_role_model = getattr(departments.models, "CityRole", None)
    if city_role_model is None:
        pytest.skip("departments.CityRole is not in this checkout yet")
    user = UserFactory(username=f"city-{role}-{emergency}")
    city_role_model.objects.create(user=user, role=role, can_post_emergency=emergency)
    response = signed_in(user).get("/")
    assert (response.status_code == 302 and response["Location"].startswith(MFA_REQUIRED_URL)) is forced


def test_a_person_named_in_an_approval_step_without_any_approver_role_must_use_mfa(personas, require_mfa):
    """Carol edits for the Library; a Parks step names her, so she approves Parks posts: a stolen password
    must not be enough for that either."""
    from accounts.mfa import user_requires_mfa
    from departments.models import ApprovalStep

    assert signed_in(personas.carol).get("/").status_code == 200
    nobody = UserFactory(username="outside")  # no department, no city-wide role
    step = ApprovalStep.objects.create(department=personas.parks, name="Library check", department_approvers=False)
    step.users.add(personas.carol, nobody)
    for user in (personas.carol, nobody):
        assert user_requires_mfa(user=user.__class__.objects.get(pk=user.pk))
        assert signed_in(user).get("/")["Location"].startswith(MFA_REQUIRED_URL)
    step.users.remove(nobody)
    assert signed_in(nobody).get("/").status_code == 200


def test_an_api_call_from_a_session_without_mfa_is_a_problem_document_not_a_redirect(personas, require_mfa, client):
    """The app's own pages call /api/v1/ with the session: a person who must set up MFA first gets a 403
    problem (application/problem+json) naming the set-up page, which a script can act on; the API's
    documentation page, a page like any other, still redirects."""
    client.force_login(personas.bob)  # an approver: MFA required, none set up
    for method, path in (("get", "/api/v1/posts/"), ("post", "/api/v1/posts/"), ("get", "/api/v1/calendar/")):
        response = getattr(client, method)(path)
        assert response.status_code == 403, path
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "urn:civicpost:problem:mfa-required" and body["status"] == 403
        assert body["mfa_setup_url"].endswith(reverse("accounts:mfa_required"))
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("accounts:mfa_required"))
    give_totp(personas.bob)
    assert client.get("/api/v1/posts/").status_code == 200
