"""Every checkbox and radio button on every page is drawn by USWDS alone: the input carries
usa-checkbox__input / usa-radio__input (which hides the browser's own control) and has its USWDS label.
A form that forgets to set the class on its widget used to show both controls side by side.

The pages come from the URL conf, so a new page is covered without editing this test."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from composer.models import PostTemplate
from departments.services import approval_step_add
from governance.emergency import LanguageVersion, emergency_publish
from governance.services import crisis_hold_start
from scheduler.adapters.registry import connectable_platforms, get_connect_flow
from tests.scheduler import approved_post

FORM_PLATFORMS = tuple(name for name in connectable_platforms() if get_connect_flow(name).kind == "form")
SKIPPED_NAMESPACES = {"admin"}  # Django's own admin draws its own controls


class ChoiceControls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str]] = []
        self.labels: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "input" and values.get("type") in ("checkbox", "radio"):
            self.inputs.append(values)
        elif tag == "label" and values.get("for"):
            self.labels[values["for"]] = values.get("class", "")


def problems_on(html: str) -> list[str]:
    parser = ChoiceControls()
    parser.feed(html)
    found = []
    for control in parser.inputs:
        kind = control["type"]
        wanted = "usa-radio" if kind == "radio" else "usa-checkbox"
        name = f"{kind} {control.get('name')}={control.get('value')}"
        if f"{wanted}__input" not in control.get("class", "").split():
            found.append(f"{name} has no {wanted}__input class (the browser's own control shows too)")
        label = parser.labels.get(control.get("id", ""))
        if label is None:
            found.append(f"{name} has no label")
        elif f"{wanted}__label" not in label.split():
            found.append(f"{name}'s label has no {wanted}__label class")
    return found


def page_patterns() -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []

    def walk(patterns: list, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace not in SKIPPED_NAMESPACES:
                    walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name:
                found.append((f"{namespace}:{pattern.name}" if namespace else pattern.name, pattern))

    walk(get_resolver().url_patterns, None)
    return found


@pytest.fixture
def pages(city) -> list[str]:  # noqa: ANN001
    """Every page's address, its ids filled with objects that exist (those that cannot be filled are left out)."""
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    crisis = crisis_hold_start(user=city.dana, reason="Storm")
    step = approval_step_add(user=city.pat, department=city.parks, name="Parks review", department_approvers=True)
    alert = emergency_publish(
        user=city.olga, channels=[city.parks_channel], versions=[LanguageVersion("en", "Boil water.")]
    )
    template = PostTemplate.objects.create(
        department=city.parks, name="Pool", text="Pools open.", created_by=city.alice
    )
    ids = {
        "department_id": city.parks.pk,
        "post_id": post.pk,
        "channel_id": city.parks_channel.pk,
        "hold_id": crisis.pk,
        "alert_id": alert.pk,
        "step_id": step.pk,
        "template_id": template.pk,
        "membership_id": city.alice.memberships.first().pk,
    }
    urls = []
    for name, pattern in page_patterns():
        wanted = set(pattern.pattern.converters)
        if wanted == {"department_id", "platform"}:
            urls += [reverse(name, kwargs={"department_id": city.parks.pk, "platform": p}) for p in FORM_PLATFORMS]
            continue
        if not wanted <= set(ids):
            continue
        try:
            urls.append(reverse(name, kwargs={key: ids[key] for key in wanted}))
        except Exception:  # noqa: BLE001, S112  # a regex pattern with groups of its own
            continue
    return urls


def test_every_checkbox_and_radio_on_every_page_is_a_uswds_control_with_its_label(city, pages):  # noqa: ANN001
    assert len(pages) > 40
    seen: dict[str, int] = {}
    problems: list[str] = []
    for user in (city.alice, city.bob, city.pat, city.dana, city.olga, city.ivan, city.max):
        client = Client()
        client.force_login(user)
        for url in pages:
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            html = response.content.decode()
            seen[url] = html.count('type="checkbox"') + html.count('type="radio"')
            problems += [f"{url} as {user.username}: {problem}" for problem in problems_on(html)]
    assert problems == [], "\n".join(problems)
    # The pages the defect was seen on were really drawn, with their controls.
    for url in (
        reverse("governance:emergency_create"),
        reverse("governance:crisis"),
        reverse("governance:crisis_end", args=[ids_of(pages, "crisis")]),
        reverse("connections:start"),
        reverse("connections:platform", args=[city.parks.pk, "webhook"]),
        reverse("departments:policy", args=[city.parks.pk]),
    ):
        assert seen.get(url, 0) > 0, url


def ids_of(pages: list[str], word: str) -> int:
    return next(int(url.split("/")[3]) for url in pages if f"/{word}/" in url and url.endswith("/end/"))


def test_a_checkbox_group_without_a_class_on_its_widget_still_gets_the_uswds_class():
    from django import forms
    from django.template import Context, Template

    class Form(forms.Form):
        colours = forms.MultipleChoiceField(choices=[("r", "Red")], widget=forms.CheckboxSelectMultiple)
        size = forms.ChoiceField(choices=[("s", "Small")], widget=forms.RadioSelect)

    html = Template(
        '{% include "includes/field.html" with field=form.colours %}'
        '{% include "includes/field.html" with field=form.size %}'
    ).render(Context({"form": Form()}))

    assert problems_on(html) == []


def test_the_switch_off_table_leaves_the_post_text_room(city):  # noqa: ANN001
    """Each held post's choice is a narrow USWDS select with short words; the long explanations stay in the
    choice above the table, so the post's text is not squeezed into a sliver."""
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    client = Client()
    client.force_login(city.dana)

    html = client.get(reverse("governance:crisis_end", args=[hold.pk])).content.decode()

    assert 'class="usa-table usa-table--borderless usa-table--stacked civic-table civic-held-posts"' in html
    select = html[html.index(f'name="post_{post.pk}"') - 200 :]
    select = select[: select.index("</select>")]
    assert 'class="usa-select"' in select
    options = [part.split(">", 1)[1].split("<", 1)[0] for part in select.split("<option")[1:]]
    assert options == ["As chosen above", "Release", "Reschedule", "Keep held"]
