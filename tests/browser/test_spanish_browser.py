"""The interface in Spanish in a real browser: a browser set to Spanish gets every main page in Spanish,
with `lang="es"` on the page, and each page passes an axe scan for WCAG 2.1 A and AA."""

from __future__ import annotations

import pytest

from people.models import PersonalSettings
from tests.conftest import Personas
from tests.factories import PASSWORD
from tests.scheduler import submitted_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (address, the Spanish page heading) of the main pages, as Bob (Parks approver) sees them.
PAGES = [
    ("/", "Panel"),
    ("/calendar/", None),
    ("/calendar/?view=week", None),
    ("/calendar/?view=agenda", None),
    ("/posts/new/", "Nueva publicación"),
    ("/approvals/", "Cola de aprobaciones"),
    ("/channels/", "Canales"),
    ("/media-library/", "Biblioteca de medios"),
    ("/composer/templates/", "Plantillas"),
    ("/composer/import/", "Importar publicaciones desde CSV"),
    ("/calendar/blackouts/", "Períodos de bloqueo"),
    ("/accounts/security/", "Cuenta y seguridad"),
    ("/feeds/", "Fuentes de noticias"),
]


def test_a_spanish_browser_walks_the_main_pages_in_spanish_and_each_passes_axe(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    post = submitted_post(author=personas.alice, channels=[personas.parks_channel])
    # A browser whose language is Spanish (its Accept-Language says so), at desktop width.
    context = browser_page.context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url

    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión en CivicPost")
    axe.check(page, "iniciar-sesion")
    page.locator("input[name=login]").fill(personas.bob.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión", exact=True).click()
    page.wait_for_url(f"{base}/")

    # The grouped navigation works from the keyboard: Enter opens a group's menu, Escape closes it.
    nav = page.get_by_role("navigation", name="Principal")
    plan = nav.get_by_role("button", name="Planificación", exact=True)
    plan.focus()
    page.keyboard.press("Enter")
    expect(plan).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Nueva publicación", exact=True)).to_be_visible()
    axe.check(page, "menu-abierto")
    page.keyboard.press("Escape")
    expect(plan).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Nueva publicación", exact=True)).to_be_hidden()

    for path, heading in [*PAGES, (f"/posts/{post.pk}/", None)]:
        page.goto(f"{base}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("link", name="Saltar al contenido principal")).to_have_count(1)
        axe.check(page, path.strip("/").replace("/", "-").replace("?view=", "-") or "panel")

    # The choice on the account page: English from now on, whatever the browser says.
    page.goto(f"{base}/accounts/security/")
    page.get_by_text("English", exact=True).click()
    page.get_by_role("button", name="Guardar idioma").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Account & security")
    assert PersonalSettings.objects.get(user=personas.bob).language == "en"
    axe.check(page, "account-in-english")

    context.close()
    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)
