"""The interface in Spanish: the browser's language as the default, a per-person choice on the account page
that wins over it (and survives signing in again), `<html lang>` on every page, dates in Spanish order and
words, and e-mails in each recipient's own language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import translation

from civicpost import timelabels
from people.models import PersonalSettings
from people.selectors import addresses_by_language, user_languages
from people.services import user_language_set
from tests.conftest import Personas
from tests.scheduler import submitted_post

pytestmark = pytest.mark.django_db

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-US,es;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def html_lang(response) -> str:  # noqa: ANN001
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang> on the page"
    return match.group(1)


def h1(response) -> str:  # noqa: ANN001
    match = re.search(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S)
    assert match
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.mark.parametrize(
    ("url_name", "spanish_heading"),
    [
        ("scheduler:dashboard", "Panel"),
        ("scheduler:approval_queue", "Cola de aprobaciones"),
        ("accounts:security", "Cuenta y seguridad"),
        ("scheduler:post_create", "Nueva publicación"),
    ],
)
def test_a_spanish_browser_gets_the_pages_in_spanish(personas: Personas, client, url_name, spanish_heading) -> None:
    client.force_login(personas.bob)
    response = client.get(reverse(url_name), **SPANISH)
    assert response.status_code == 200
    assert html_lang(response) == "es"
    assert response["Content-Language"] == "es"
    assert h1(response) == spanish_heading
    body = response.content.decode()
    assert "Saltar al contenido principal" in body and "Skip to main content" not in body


def test_an_english_browser_gets_the_pages_in_english(personas: Personas, client) -> None:
    client.force_login(personas.bob)
    response = client.get(reverse("scheduler:dashboard"), **ENGLISH)
    assert html_lang(response) == "en"
    assert h1(response) == "Dashboard"


def test_the_sign_in_and_error_pages_follow_the_browser_too(db, client) -> None:
    login = client.get(reverse("account_login"), **SPANISH)
    assert html_lang(login) == "es"
    assert "Iniciar sesión en CivicPost" in login.content.decode()
    missing = client.get("/no-such-page/", **SPANISH)
    assert missing.status_code == 404
    assert html_lang(missing) == "es"
    assert "Página no encontrada" in missing.content.decode()


def test_the_language_chosen_on_the_account_page_wins_over_the_browser(personas: Personas, client) -> None:
    client.force_login(personas.alice)
    page = client.get(reverse("accounts:security"), **ENGLISH).content.decode()
    assert 'name="language" value="es"' in page and 'lang="es">Español</label>' in page

    response = client.post(reverse("accounts:language"), {"language": "es"}, **ENGLISH)
    assert response.status_code == 302
    assert PersonalSettings.objects.get(user=personas.alice).language == "es"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Idioma guardado."]
    assert response.cookies["django_language"].value == "es"

    page = client.get(reverse("scheduler:dashboard"), **ENGLISH)
    assert html_lang(page) == "es" and h1(page) == "Panel"


def test_the_choice_is_kept_when_the_person_signs_in_again(personas: Personas, client) -> None:
    user_language_set(user=personas.alice, language="es")
    client.force_login(personas.alice)
    client.cookies.clear()  # another browser: no language cookie, only the saved choice
    client.force_login(personas.alice)
    assert h1(client.get(reverse("scheduler:dashboard"), **ENGLISH)) == "Panel"


def test_following_the_browser_again_drops_the_choice(personas: Personas, client) -> None:
    user_language_set(user=personas.alice, language="es")
    client.force_login(personas.alice)
    response = client.post(reverse("accounts:language"), {"language": ""}, **ENGLISH)
    assert PersonalSettings.objects.get(user=personas.alice).language == ""
    assert response.cookies["django_language"].value == ""  # deleted
    assert h1(client.get(reverse("scheduler:dashboard"), **ENGLISH)) == "Dashboard"
    assert h1(client.get(reverse("scheduler:dashboard"), **SPANISH)) == "Panel"


def test_a_language_not_offered_is_refused_with_a_message(personas: Personas, client) -> None:
    client.force_login(personas.alice)
    response = client.post(reverse("accounts:language"), {"language": "fr"}, **ENGLISH)
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Choose one of the languages in the list."]
    assert not PersonalSettings.objects.filter(user=personas.alice).exists()


def test_choosing_a_language_needs_a_signed_in_person_and_a_post(personas: Personas, client) -> None:
    assert client.post(reverse("accounts:language"), {"language": "es"}).status_code == 302  # to sign-in
    assert not PersonalSettings.objects.exists()
    client.force_login(personas.alice)
    assert client.get(reverse("accounts:language")).status_code == 405


def test_dates_and_times_are_written_the_spanish_way() -> None:
    moment = dt.datetime(2026, 12, 5, 13, 30, tzinfo=dt.UTC)
    with translation.override("es"):
        assert timelabels.date_label(moment) == "sáb, 5 dic 2026"
        assert timelabels.clock_label(moment) == "1:30 p. m."
        assert timelabels.long_date_label(moment.date()) == "sábado, 5 de diciembre de 2026"
        assert timelabels.month_label(2026, 12) == "diciembre de 2026"
        assert timelabels.weekday_name(0) == "lunes"
        assert timelabels.format_in_zone(moment, "America/Chicago") == "sáb, 5 dic 2026, 7:30 a. m. CST (UTC−06:00)"
    with translation.override("en"):
        assert timelabels.format_in_zone(moment, "America/Chicago") == "Sat, Dec 5, 2026, 7:30 AM CST (UTC−06:00)"
        assert timelabels.month_label(2026, 12) == "December 2026"


def test_the_month_calendar_is_titled_and_headed_in_spanish(personas: Personas, client) -> None:
    client.force_login(personas.alice)
    page = client.get(reverse("scheduler:calendar_month"), {"month": "2026-12"}, **SPANISH).content.decode()
    assert "diciembre de 2026" in page
    assert "domingo" in page and "Sunday" not in page


def test_each_email_goes_out_in_its_recipients_language(personas: Personas, django_capture_on_commit_callbacks):
    user_language_set(user=personas.bob, language="es")  # Dana keeps the default, English
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        submitted_post(author=personas.alice, channels=[personas.parks_channel])
    by_person = {message.to[0]: message for message in mail.outbox}
    spanish, english = by_person[personas.bob.email], by_person[personas.dana.email]
    assert spanish.subject == "[CivicPost] Espera su aprobación: publicación de Parks and Recreation"
    assert "Hola" in spanish.body and "Hello" not in spanish.body
    assert english.subject == "[CivicPost] Waiting for your approval: Parks and Recreation post"
    assert "Hello" in english.body


def test_language_of_many_people_is_read_at_once(personas: Personas, django_assert_num_queries) -> None:
    user_language_set(user=personas.bob, language="es")
    with django_assert_num_queries(1):
        languages = user_languages(user_ids=[personas.alice.pk, personas.bob.pk])
    assert languages == {personas.alice.pk: "en-us", personas.bob.pk: "es"}
    with django_assert_num_queries(1):
        groups = addresses_by_language(emails=[personas.alice.email, personas.bob.email, "nobody@city.example"])
    assert groups == {"en-us": [personas.alice.email, "nobody@city.example"], "es": [personas.bob.email]}
