"""Single sign-on through OpenID Connect, against a fake provider on loopback (tests/accounts/fake_oidc.py):
only staff accounts that already exist sign in (matched by a verified address), nobody gets an account
by signing in; SAML is configured from the environment the same way."""

from __future__ import annotations

import json

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.sso import SSOConfigError, oidc_apps, saml_apps, sso_providers
from tests.accounts.conftest import give_totp, new_browser, totp_code
from tests.accounts.fake_oidc import FakeOIDCProvider, follow_authorize, path_and_query
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

User = get_user_model()
LOGIN_URL = "/accounts/oidc/cityidp/login/"


@pytest.fixture
def idp(httpserver, settings):  # noqa: ANN001, ANN201
    provider = FakeOIDCProvider(httpserver)
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"APPS": [provider.settings_app(email_domains=["city.example"])], "OAUTH_PKCE_ENABLED": True}
    }
    return provider


def sso_sign_in(browser, idp, *, email: str, verified: bool = True, sub: str = "entra-oid-1"):  # noqa: ANN001, ANN201
    """Clicks "Sign in with City sign-in", signs in at the provider, and comes back. Returns the response
    of our callback."""
    idp.next_user = {"sub": sub, "email": email, "email_verified": verified, "name": "Bob Brooks"}
    start = browser.post(LOGIN_URL)
    assert start.status_code == 302, start.content
    assert start["Location"].startswith(f"{idp.issuer}/authorize?")
    callback = follow_authorize(start["Location"])
    assert callback.startswith("http://testserver/accounts/oidc/cityidp/login/callback/")
    return browser.get(path_and_query(callback))


# --- Signing in ---------------------------------------------------------------------------------------------


def test_an_existing_staff_member_signs_in_through_the_city_provider(personas, idp):
    browser = new_browser()
    response = sso_sign_in(browser, idp, email=personas.bob.email)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert browser.session["_auth_user_id"] == str(personas.bob.pk)
    assert browser.get("/").status_code == 200
    # The provider checked our client secret and PKCE verifier; we asked for the usual OpenID scopes.
    (token_request,) = idp.token_requests
    assert token_request["code_verifier"]
    assert idp.authorize_requests[0]["code_challenge_method"] == "S256"
    assert set(idp.authorize_requests[0]["scope"].split()) == {"openid", "profile", "email"}
    # The account is now linked; the provider's tokens are not kept.
    assert SocialAccount.objects.get(user=personas.bob).uid == "entra-oid-1"
    assert not SocialToken.objects.exists()
    # Matched by an address the city typed: recorded as verified, and the password is left alone.
    personas.bob.refresh_from_db()
    assert personas.bob.has_usable_password()


def test_the_next_sign_in_finds_the_linked_account_even_after_an_address_change(personas, idp):
    sso_sign_in(new_browser(), idp, email=personas.bob.email, sub="oid-bob")
    browser = new_browser()
    sso_sign_in(browser, idp, email="robert.brooks@city.example", sub="oid-bob")
    assert browser.session["_auth_user_id"] == str(personas.bob.pk)


def test_an_unknown_address_is_refused_and_no_account_is_created(personas, idp):
    users_before = User.objects.count()
    browser = new_browser()
    response = sso_sign_in(browser, idp, email="stranger@city.example")

    assert response.status_code == 403
    assert "No CivicPost account uses the e-mail address" in response.content.decode()
    assert "_auth_user_id" not in browser.session
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()


def test_an_address_outside_the_city_domains_is_refused(personas, idp):
    outsider = UserFactory(username="contractor", email="contractor@vendor.example")
    browser = new_browser()
    response = sso_sign_in(browser, idp, email=outsider.email)
    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_an_unverified_address_does_not_match_an_account(personas, idp, settings):
    # Without city domains, only the provider's own email_verified counts.
    app = idp.settings_app()
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [app]}}
    browser = new_browser()
    response = sso_sign_in(browser, idp, email=personas.bob.email, verified=False)
    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_a_deactivated_account_cannot_sign_in_through_sso(personas, idp):
    personas.bob.is_active = False
    personas.bob.save()
    browser = new_browser()
    response = sso_sign_in(browser, idp, email=personas.bob.email)
    assert "_auth_user_id" not in browser.session
    assert response.status_code == 403
    assert "switched off" in response.content.decode()


def test_an_id_token_for_another_application_is_refused(personas, idp):
    idp.audience_override = "someone-elses-client"
    browser = new_browser()
    response = sso_sign_in(browser, idp, email=personas.bob.email)
    assert "_auth_user_id" not in browser.session
    # allauth's "Third-Party Login Failure" page.
    assert response.status_code == 401


def test_a_forged_callback_without_the_sessions_state_is_refused(personas, idp):
    idp.next_user = {"sub": "x", "email": personas.bob.email, "email_verified": True}
    attacker = new_browser()
    start = attacker.post(LOGIN_URL)
    callback = follow_authorize(start["Location"])
    victim = new_browser()
    victim.get(path_and_query(callback))
    assert "_auth_user_id" not in victim.session


def test_mfa_still_applies_after_sso_for_an_account_that_has_it(personas, idp, require_mfa):
    secret = give_totp(personas.bob)
    browser = new_browser()
    response = sso_sign_in(browser, idp, email=personas.bob.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in browser.session
    browser.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert browser.session["_auth_user_id"] == str(personas.bob.pk)


def test_an_sso_session_of_an_approver_follows_the_providers_mfa_policy(personas, idp, require_mfa, settings):
    browser = new_browser()
    sso_sign_in(browser, idp, email=personas.bob.email)
    assert browser.get("/").status_code == 200
    settings.CIVICPOST_MFA_TRUST_SSO = False
    assert browser.get("/")["Location"].startswith("/accounts/security/two-step-required/")


# --- The sign-in page -------------------------------------------------------------------------------------


def test_the_sign_in_page_shows_a_button_per_configured_provider(idp):
    body = new_browser().get("/accounts/login/").content.decode()
    assert "Sign in with City sign-in" in body
    assert f'action="{LOGIN_URL}' in body


def test_without_configuration_there_is_no_sso_button(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    body = new_browser().get("/accounts/login/").content.decode()
    assert "Sign in with" not in body
    assert "city account" not in body


# --- Configuration from the environment ---------------------------------------------------------------------


def test_entra_and_google_shortcuts_build_tenant_and_domain_bound_providers():
    apps = oidc_apps(
        entra=("7f3c0a4e-1111-2222-3333-444455556666", "entra-client", "entra-secret"),
        google=("google-client", "google-secret", "City.Example"),
        email_domains=["city.example"],
    )
    entra, google = apps
    assert entra["provider_id"] == "entra"
    assert (
        entra["settings"]["server_url"] == "https://login.microsoftonline.com/7f3c0a4e-1111-2222-3333-444455556666/v2.0"
    )
    assert entra["settings"]["verified_email"] == ["city.example"]
    assert google["settings"]["server_url"] == "https://accounts.google.com"
    assert google["settings"]["auth_params"] == {"hd": "city.example"}
    assert google["settings"]["email_domains"] == ["city.example"]
    assert all(app["settings"]["oauth_pkce_enabled"] for app in apps)


def test_providers_can_be_given_as_json():
    providers = sso_providers(
        oidc_json=json.dumps(
            [
                {
                    "id": "okta",
                    "name": "City Okta",
                    "client_id": "abc",
                    "secret": "s3cret",
                    "server_url": "https://city.okta.com/",
                    "email_domains": "city.example, @police.city.example",
                }
            ]
        )
    )
    (app,) = providers["openid_connect"]["APPS"]
    assert app["name"] == "City Okta"
    assert app["settings"]["server_url"] == "https://city.okta.com"
    assert app["settings"]["email_domains"] == ["city.example", "police.city.example"]


def test_nothing_configured_means_no_provider():
    assert sso_providers() == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"oidc_json": "[{"}, "not valid JSON"),
        ({"oidc_json": '[{"id": "x"}]'}, "lacks client_id, secret, server_url"),
        ({"entra": ("tenant", "", "")}, "CIVICPOST_ENTRA_CLIENT_ID"),
        ({"google": ("id", "secret", "")}, "CIVICPOST_GOOGLE_WORKSPACE_DOMAIN"),
        ({"entra": ("common", "id", "secret")}, "multi-tenant"),
        ({"saml_json": '[{"id": "city"}]'}, "idp.entity_id"),
        ({"saml_json": '[{"id": "city", "idp": {"entity_id": "e"}}]'}, "metadata_url"),
    ],
)
def test_malformed_configuration_fails_at_start_with_the_fix(kwargs, message):
    with pytest.raises(SSOConfigError, match=message):
        sso_providers(**kwargs)


# --- SAML ---------------------------------------------------------------------------------------------------


def self_signed_certificate() -> str:
    """The IdP's signing certificate (base64 DER, as IdP metadata gives it)."""
    import base64
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adfs.city.example")])
    now = dt.datetime.now(tz=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


@pytest.fixture
def saml_idp(settings):  # noqa: ANN001, ANN201
    pytest.importorskip("onelogin.saml2.auth", reason="python3-saml is optional")
    apps = saml_apps(
        providers_json=json.dumps(
            [
                {
                    "id": "city-adfs",
                    "name": "City ADFS",
                    "idp": {
                        "entity_id": "https://adfs.city.example/adfs/services/trust",
                        "sso_url": "https://adfs.city.example/adfs/ls/",
                        "x509cert": self_signed_certificate(),
                    },
                    "email_domains": ["city.example"],
                }
            ]
        )
    )
    settings.SOCIALACCOUNT_PROVIDERS = {"saml": {"APPS": apps}}
    return apps[0]


def test_saml_requires_signed_assertions_unless_told_otherwise(saml_idp):
    assert saml_idp["settings"]["advanced"]["want_assertion_signed"] is True
    assert saml_idp["client_id"] == "city-adfs"


def test_a_saml_provider_publishes_its_metadata_and_sends_the_user_to_the_idp(saml_idp, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "civicpost.city.example"]
    host = {"HTTP_HOST": "civicpost.city.example"}
    browser = new_browser()
    metadata = browser.get("/accounts/saml/city-adfs/metadata/", **host)
    assert metadata.status_code == 200
    assert b"AssertionConsumerService" in metadata.content
    assert b"http://civicpost.city.example/accounts/saml/city-adfs/acs/" in metadata.content

    assert "Sign in with City ADFS" in browser.get("/accounts/login/", **host).content.decode()
    start = browser.post("/accounts/saml/city-adfs/login/", **host)
    assert start.status_code == 302
    assert start["Location"].startswith("https://adfs.city.example/adfs/ls/?SAMLRequest=")


def test_an_editor_added_later_signs_in_too(personas, idp):
    newcomer = member("newcomer", personas.parks)
    browser = new_browser()
    sso_sign_in(browser, idp, email=newcomer.email, sub="oid-new")
    assert browser.session["_auth_user_id"] == str(newcomer.pk)


def test_sso_secrets_cannot_be_typed_into_the_admin():
    from allauth.socialaccount.models import SocialAccount, SocialApp
    from django.contrib import admin

    assert not admin.site.is_registered(SocialApp)
    assert not admin.site.is_registered(SocialToken)
    # Which staff member is linked to which provider account stays visible.
    assert admin.site.is_registered(SocialAccount)


# --- A SAML sign-in end to end ---------------------------------------------------------------------------------


@pytest.fixture
def fake_saml(settings):  # noqa: ANN001, ANN201
    pytest.importorskip("onelogin.saml2.auth", reason="python3-saml is optional")
    from tests.accounts.fake_saml import FakeSAMLIdP

    idp = FakeSAMLIdP()
    settings.SOCIALACCOUNT_PROVIDERS = {"saml": {"APPS": saml_apps(providers_json=json.dumps([idp.provider_config()]))}}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "civicpost.city.example"]
    return idp


def saml_sign_in(browser, idp, *, email: str, subject: str, **response_kwargs):  # noqa: ANN001, ANN201
    host = {"HTTP_HOST": "civicpost.city.example"}
    start = browser.post("/accounts/saml/city-adfs/login/", **host)
    request = idp.read_request(start["Location"])
    assert request["acs"] == "http://civicpost.city.example/accounts/saml/city-adfs/acs/"
    posted = browser.post(
        "/accounts/saml/city-adfs/acs/",
        {
            "SAMLResponse": idp.response(request=request, email=email, subject=subject, **response_kwargs),
            "RelayState": request["relay_state"],
        },
        **host,
    )
    assert posted["Location"] == "/accounts/saml/city-adfs/acs/finish/"
    return browser.get(posted["Location"], **host)


def test_an_existing_staff_member_signs_in_through_saml(personas, fake_saml):
    browser = new_browser()
    response = saml_sign_in(browser, fake_saml, email=personas.bob.email, subject="adfs-guid-bob")
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(personas.bob.pk)
    assert SocialAccount.objects.get(user=personas.bob, provider=fake_saml_entity()).uid == "adfs-guid-bob"


def fake_saml_entity() -> str:
    from tests.accounts.fake_saml import ENTITY_ID

    return ENTITY_ID


def test_an_unsigned_saml_assertion_is_refused(personas, fake_saml):
    browser = new_browser()
    response = saml_sign_in(browser, fake_saml, email=personas.bob.email, subject="adfs-guid-bob", sign=False)
    assert "_auth_user_id" not in browser.session
    assert response.status_code == 401


def test_a_saml_assertion_for_an_unknown_address_is_refused(personas, fake_saml):
    browser = new_browser()
    response = saml_sign_in(browser, fake_saml, email="stranger@city.example", subject="adfs-guid-x")
    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_a_saml_assertion_changed_after_signing_is_refused(personas, fake_saml):
    carol = personas.carol
    browser = new_browser()
    response = saml_sign_in(
        browser, fake_saml, email=carol.email, subject="adfs-guid-c", swap_email_to=personas.dana.email
    )
    assert response.status_code == 401
    assert "_auth_user_id" not in browser.session
