"""A department's settings (issue 4): the languages it writes in, where language versions are published,
its plain-language target, its time zone and how recurring series are approved. Its admins and the
communications managers change them; every change is audited; a language still in use is not removed."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from civicpost.exceptions import ApplicationError
from departments import rules
from departments.models import Department, LanguagePublishing, Role, SeriesApproval
from departments.services import department_settings_update
from scheduler import services
from tests.factories import ChannelFactory, member

SPANISH_VERSION = {
    "es": {"text": "Las piscinas abren el sábado.", "channel_text": {}, "media_alt": {}, "reviewed": True}
}


def settings_for(department: Department, **changes):  # noqa: ANN201
    """The department's current settings as keyword arguments of department_settings_update, changed."""
    values = {
        "languages": [code for code in department.languages if code != "en"],
        "main_language": department.main_language,
        "language_publishing": department.language_publishing,
        "plain_language_grade": department.plain_language_grade,
        "time_zone": department.time_zone,
        "series_approval": department.series_approval,
    }
    values.update(changes)
    return values


def form_data(department: Department, **changes) -> dict:
    """What the settings page posts for the department's current settings, changed."""
    data = settings_for(department, **changes)
    data["plain_language_grade"] = str(data["plain_language_grade"])
    return data


def bilingual(department: Department) -> Department:
    department.languages = ["en", "es"]
    department.save()
    return department


def spanish_post(city, *, language: str = "en", languages: dict | None = None):  # noqa: ANN001, ANN201
    return services.post_create(
        author=city.alice,
        department=city.parks,
        text="Pools open Saturday." if language == "en" else "Las piscinas abren el sábado.",
        channels=[city.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=2),
        language=language,
        languages=SPANISH_VERSION if languages is None else languages,
    )


# --- The service ----------------------------------------------------------------------------------


def test_an_admin_saves_every_setting_and_the_audit_trail_says_what_changed(city):
    department_settings_update(
        actor=city.pat,
        department=city.parks,
        **settings_for(
            city.parks,
            languages=["vi", "es"],
            language_publishing=LanguagePublishing.LANGUAGE_CHANNELS,
            plain_language_grade=6,
            time_zone="America/Denver",
            series_approval=SeriesApproval.SERIES,
        ),
    )
    city.parks.refresh_from_db()
    assert city.parks.languages == ["en", "vi", "es"]
    assert city.parks.language_publishing == LanguagePublishing.LANGUAGE_CHANNELS
    assert city.parks.plain_language_grade == 6
    assert city.parks.time_zone == "America/Denver"
    assert city.parks.series_approval == SeriesApproval.SERIES
    event = AuditEvent.objects.get(action=AuditAction.DEPARTMENT_SETTINGS_CHANGED)
    assert (event.actor, event.department_id, event.target_id) == (city.pat, city.parks.pk, str(city.parks.pk))
    assert event.changes == {
        "languages": {"before": ["en"], "after": ["en", "vi", "es"]},
        "language_publishing": {"before": "same_channel", "after": "language_channels"},
        "plain_language_grade": {"before": 8, "after": 6},
        "time_zone": {"before": "America/Chicago", "after": "America/Denver"},
        "series_approval": {"before": "occurrence", "after": "series"},
    }


def test_saving_unchanged_settings_records_nothing(city):
    department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks))
    assert not AuditEvent.objects.filter(action=AuditAction.DEPARTMENT_SETTINGS_CHANGED).exists()


def test_english_is_always_a_language_and_the_main_language_comes_first(city):
    department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks, languages=[]))
    city.parks.refresh_from_db()
    assert city.parks.languages == ["en"]
    department_settings_update(
        actor=city.pat, department=city.parks, **settings_for(city.parks, languages=["es"], main_language="es")
    )
    city.parks.refresh_from_db()
    assert city.parks.languages == ["es", "en"]
    assert city.parks.main_language == "es"


def test_an_unknown_language_is_refused_with_its_code(city):
    with pytest.raises(ApplicationError) as refused:
        department_settings_update(
            actor=city.pat, department=city.parks, **settings_for(city.parks, languages=["es", "klingon"])
        )
    assert refused.value.message == (
        "CivicPost does not know the language code “klingon”. Choose languages from the list."
    )
    assert refused.value.extra == {"field": "languages"}
    city.parks.refresh_from_db()
    assert city.parks.languages == ["en"]


def test_the_main_language_must_be_one_of_the_departments_languages(city):
    with pytest.raises(ApplicationError, match="The main language must be English or one of the languages you ticked"):
        department_settings_update(
            actor=city.pat, department=city.parks, **settings_for(city.parks, languages=[], main_language="es")
        )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"plain_language_grade": 0}, "plain_language_grade", "The reading grade must be a whole number from 1 to 16."),
        (
            {"plain_language_grade": 17},
            "plain_language_grade",
            "The reading grade must be a whole number from 1 to 16.",
        ),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Mars/Olympus is not a known time zone"),
        ({"language_publishing": "everywhere"}, "language_publishing", "Choose where language versions are published."),
        ({"series_approval": "never"}, "series_approval", "Choose how recurring series are approved."),
    ],
)
def test_bad_values_are_refused_and_name_their_setting(city, change, field, message):
    with pytest.raises(ApplicationError) as refused:
        department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks, **change))
    assert message in refused.value.message
    assert refused.value.extra == {"field": field}
    assert Department.objects.get(pk=city.parks.pk).time_zone == "America/Chicago"


def test_removing_a_language_that_posts_not_yet_out_use_is_refused_and_says_how_many(city):
    bilingual(city.parks)
    with_version = spanish_post(city)  # approved: scheduled, not out yet
    services.post_submit(post=with_version, user=city.alice)
    services.post_approve(post=with_version, user=city.bob)
    written_in_spanish = spanish_post(city, language="es", languages={})
    cancelled = spanish_post(city)
    services.post_cancel(post=cancelled, user=city.alice)
    with pytest.raises(ApplicationError) as refused:
        department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks, languages=[]))
    assert refused.value.message == (
        "2 posts that have not gone out yet are written in Spanish or have a Spanish version. Remove Spanish from "
        "them, or wait until they are published, then remove it here."
    )
    assert refused.value.extra == {"field": "languages"}
    assert Department.objects.get(pk=city.parks.pk).languages == ["en", "es"]

    services.post_cancel(post=with_version, user=city.alice)
    with pytest.raises(ApplicationError, match="^1 post that has not gone out yet is written in Spanish"):
        department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks, languages=[]))
    services.post_cancel(post=written_in_spanish, user=city.alice)
    department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks, languages=[]))
    assert Department.objects.get(pk=city.parks.pk).languages == ["en"]


def test_removing_a_language_a_channel_is_set_to_is_refused_and_names_the_channel(city):
    bilingual(city.parks)
    ChannelFactory(department=city.parks, display_name="Parques en Sandbox", options={"language": "es"})
    with pytest.raises(ApplicationError) as refused:
        department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks, languages=[]))
    assert refused.value.message == (
        "These channels are set to Spanish: Parques en Sandbox. Set them to another language first."
    )


def test_a_language_of_another_department_does_not_count_as_in_use(city):
    bilingual(city.parks)
    bilingual(city.library)
    ChannelFactory(department=city.library, display_name="Biblioteca", options={"language": "es"})
    department_settings_update(actor=city.pat, department=city.parks, **settings_for(city.parks, languages=[]))
    assert Department.objects.get(pk=city.parks.pk).languages == ["en"]


def test_only_the_departments_admins_and_the_communications_managers_change_its_settings(city):
    library_admin = member("lena", city.library, Role.ADMIN)
    for person in (city.pat, city.max, city.dana):
        assert rules.can_manage_department_settings(person, city.parks.pk)
    for person in (city.alice, city.bob, library_admin, city.ivan, city.vera):
        assert not rules.can_manage_department_settings(person, city.parks.pk)
        with pytest.raises(ApplicationError, match="Only admins of Parks and Recreation or a communications manager"):
            department_settings_update(
                actor=person, department=city.parks, **settings_for(city.parks, plain_language_grade=5)
            )
    assert Department.objects.get(pk=city.parks.pk).plain_language_grade == 8
    department_settings_update(
        actor=city.max, department=city.parks, **settings_for(city.parks, plain_language_grade=5)
    )
    department_settings_update(actor=city.max, department=city.library, **settings_for(city.library, time_zone="UTC"))
    department_settings_update(
        actor=city.pat, department=city.parks, **settings_for(city.parks, plain_language_grade=7)
    )
    assert Department.objects.get(pk=city.parks.pk).plain_language_grade == 7
    assert Department.objects.get(pk=city.library.pk).time_zone == "UTC"


# --- The page -------------------------------------------------------------------------------------


class FormValues(HTMLParser):
    """What a browser would send back from the page's form: {field name: [values]} of the ticked boxes,
    the chosen radio buttons and options and the text in each input."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") not in ("hidden", "submit"):
            if attributes.get("type") in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.values.setdefault(attributes["name"] or "", []).append(attributes.get("value") or "")
        elif tag == "select":
            self._select = attributes["name"] or ""
        elif tag == "option" and "selected" in attributes:
            self.values.setdefault(self._select, []).append(attributes.get("value") or "")


def settings_url(department: Department) -> str:
    return reverse("departments:settings", args=[department.pk])


def test_the_page_shows_the_settings_and_saving_them_comes_back_with_a_message(city, client):
    bilingual(city.parks)
    ChannelFactory(department=city.parks, display_name="Parques en Sandbox", options={"language": "es"})
    client.force_login(city.pat)
    page = client.get(settings_url(city.parks)).content.decode()
    assert FormValues(page).values == {
        "languages": ["es"],
        "main_language": ["en"],
        "language_publishing": ["same_channel"],
        "plain_language_grade": ["8"],
        "time_zone": ["America/Chicago"],
        "series_approval": ["occurrence"],
    }
    assert "Parques en Sandbox" in page and "Spanish" in page

    response = client.post(
        settings_url(city.parks),
        form_data(city.parks, languages=["es", "so"], plain_language_grade=7, time_zone="America/New_York"),
        follow=True,
    )
    assert response.redirect_chain == [(settings_url(city.parks), 302)]
    assert "The settings of Parks and Recreation were saved." in response.content.decode()
    city.parks.refresh_from_db()
    assert (city.parks.languages, city.parks.plain_language_grade, city.parks.time_zone) == (
        ["en", "es", "so"],
        7,
        "America/New_York",
    )


def test_a_form_error_keeps_everything_typed(city, client):
    client.force_login(city.pat)
    response = client.post(
        settings_url(city.parks),
        form_data(
            city.parks,
            languages=["es", "vi"],
            plain_language_grade="eight",
            time_zone="America/Phoenix",
            language_publishing=LanguagePublishing.LANGUAGE_CHANNELS,
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give the grade as a whole number, such as 8." in page
    assert FormValues(page).values == {
        "languages": ["es", "vi"],
        "main_language": ["en"],
        "language_publishing": ["language_channels"],
        "plain_language_grade": ["eight"],
        "time_zone": ["America/Phoenix"],
        "series_approval": ["occurrence"],
    }
    assert Department.objects.get(pk=city.parks.pk).time_zone == "America/Chicago"


def test_a_refusal_of_the_service_is_shown_on_its_setting_and_keeps_everything_typed(city, client):
    bilingual(city.parks)
    spanish_post(city)
    client.force_login(city.pat)
    response = client.post(settings_url(city.parks), form_data(city.parks, languages=[], plain_language_grade=5))
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["languages"] == [
        "1 post that has not gone out yet is written in Spanish or has a Spanish version. Remove Spanish from it, "
        "or wait until it is published, then remove it here."
    ]
    typed = FormValues(response.content.decode()).values
    assert typed["plain_language_grade"] == ["5"]
    assert "languages" not in typed  # Spanish stays unticked, as it was sent
    assert Department.objects.get(pk=city.parks.pk).languages == ["en", "es"]


def test_an_unknown_language_posted_to_the_page_gets_a_clear_message(city, client):
    client.force_login(city.pat)
    response = client.post(settings_url(city.parks), form_data(city.parks, languages=["es", "xx"]))
    assert response.status_code == 400
    assert "CivicPost does not know the language code “xx”." in response.content.decode()


@pytest.mark.parametrize(("username", "status"), [("alice", 403), ("bob", 403), ("ivan", 403), ("lena", 404)])
def test_editors_approvers_the_it_admin_and_other_departments_admins_are_kept_out(city, client, username, status):
    member("lena", city.library, Role.ADMIN)
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    assert client.get(settings_url(city.parks)).status_code == status
    response = client.post(settings_url(city.parks), form_data(city.parks, time_zone="UTC"))
    assert response.status_code == status
    assert Department.objects.get(pk=city.parks.pk).time_zone == "America/Chicago"


def test_signed_out_visitors_are_sent_to_sign_in(city, client):
    response = client.get(settings_url(city.parks))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("username", ["pat", "max"])
def test_the_departments_admin_and_a_communications_manager_open_and_save_it(city, client, username):
    person = getattr(city, username)
    client.force_login(person)
    assert client.get(settings_url(city.parks)).status_code == 200
    response = client.post(settings_url(city.parks), form_data(city.parks, time_zone="America/Denver"))
    assert response.status_code == 302
    assert Department.objects.get(pk=city.parks.pk).time_zone == "America/Denver"
    assert AuditEvent.objects.get(action=AuditAction.DEPARTMENT_SETTINGS_CHANGED).actor == person


def test_the_people_and_policies_page_links_the_settings_of_the_departments_one_may_change(city, client):
    client.force_login(city.pat)
    page = client.get(reverse("departments:list")).content.decode()
    assert settings_url(city.parks) in page
    assert settings_url(city.library) not in page
    client.force_login(city.ivan)
    page = client.get(reverse("departments:list")).content.decode()
    assert "/settings/" not in page
