"""Bad input on every form and filter (issue 11, item 14): no server error, and a refused form says why and
keeps what was typed.

The forms are found, not listed: every URL of the URL conf (the permission matrix's routes, built with the
ids of the matrix's world) is opened as a person who may use it; every form of every page is read from the
HTML (its fields, their kinds and current values) and sent back to the URL it posts to, or for a GET form
(filters) to the page it filters, with the fields of one kind replaced by values of a fixed corpus: huge and
negative ids, far-past, far-future and non-existent (DST) times, control characters, lone surrogates,
100,000-character strings and values of the wrong type. A new form or filter is covered without editing
this file. Each request runs in a savepoint that is rolled back, so one never changes the world of the next.

The corpus is sampled per kind of field (each field meets every value of its kind once, plus a few rounds
where every field gets the same wrong-type value) instead of the full cross product, to stay well under
90 seconds on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import lxml.html
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, get_resolver, resolve, reverse

from tests.test_permission_matrix import EXPECTED, ROUTES, World, _walk

HUGE = "99999999999999999999999"
FAR_FUTURE = "9999-12-31"

ROUTES_CONVERTERS = {name: pattern.pattern.converters for _route, name, pattern in _walk(get_resolver().url_patterns)}

# Values by kind of field. Each round replaces the fields of one kind and keeps the others as the page
# rendered them, so that a cross-field check (a date with a valid time) is reached.
ID_VALUES = [HUGE, "-" + HUGE, "-1", "1.5", "abc"]
# (date, time): far future, far past, before the Unix era, a time that does not exist in America/Chicago
# (clocks jump forward), one that happens twice (clocks go back), impossible values.
DATETIME_VALUES = [
    (FAR_FUTURE, "23:59"),
    ("0001-01-01", "00:00"),
    ("2027-03-14", "02:30"),
    ("2027-11-07", "01:30"),
    ("2027-02-30", "25:61"),
]
TEXT_VALUES = [
    "Parks\x0band\x00Rec\x1b[31m\x85",  # C0 and C1 control characters (U+000B: Word's Shift+Enter)
    "lone \ud800 surrogate",
    "x" * 100_000,
    HUGE,
]
# Every field at once, whatever its kind: the wrong type everywhere.
EVERY_FIELD_VALUES = [HUGE, FAR_FUTURE, "\udfff"]

# Who opens each page: the first role of this list that the permission matrix allows on the "own" scope.
ROLE_PREFERENCE = ("department_admin", "communications_manager", "it_admin", "editor", "approver", "viewer")
# Routes that nobody of the matrix's roles may use, and who may: the authorised official (emergency posts).
SPECIAL_USERS = {"governance:emergency_create": "olga"}
SKIPPED_INPUT_TYPES = {"submit", "button", "reset", "file", "image"}
SKIPPED_FIELDS = {"csrfmiddlewaretoken"}


@dataclass
class Form:
    """A form found on a page: where it goes, its fields' kinds and what the page filled in."""

    method: str
    target: str  # the url name it sends to
    baseline: list[tuple[str, str]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)


def _kind(element: Any, name: str) -> str:
    tag = element.tag
    kind = (element.get("type") or "text").lower() if tag == "input" else tag
    if kind == "date":
        return "date"
    if kind == "time":
        return "time"
    if tag == "select" or kind in ("checkbox", "radio"):
        values = [o.get("value", "") for o in element.iter("option")] if tag == "select" else [element.get("value")]
        if any((v or "").isdigit() for v in values):
            return "id"
    if name.endswith(("_id", "department", "departments", "channel", "channels", "media", "author")):
        return "id"
    return "text"


def _target(url: str) -> str | None:
    try:
        return resolve(urlsplit(url).path).view_name
    except Resolver404:
        return None


def _script_targets(element: Any) -> list[str]:
    """The app URLs that a script or htmx sends this element's form to (`hx-post`, `data-*-url`)."""
    targets = []
    for node in element.iter():
        for attribute, value in node.attrib.items():
            if attribute == "hx-post" or (attribute.startswith("data-") and attribute.endswith("-url")):
                target = _target(value)
                if target and target not in targets:
                    targets.append(target)
    return targets


def _read_fields(element: Any, form: Form) -> None:
    for control in element.iter("input", "select", "textarea"):
        name = control.get("name")
        if not name or name in SKIPPED_FIELDS:
            continue
        input_type = (control.get("type") or "text").lower()
        if control.tag == "input" and input_type in SKIPPED_INPUT_TYPES:
            continue
        form.kinds.setdefault(name, _kind(control, name))
        if control.tag == "select":
            options = list(control.iter("option"))
            chosen = [o for o in options if o.get("selected") is not None] or options[:1]
            form.baseline += [(name, o.get("value", o.text or "")) for o in chosen]
        elif control.tag == "textarea":
            form.baseline.append((name, control.text or ""))
        elif input_type in ("checkbox", "radio"):
            if control.get("checked") is not None:
                form.baseline.append((name, control.get("value", "on")))
        else:
            form.baseline.append((name, control.get("value", "")))


def parse_forms(html: str, page_name: str) -> list[Form]:
    """Returns the forms of a page, once per app URL they are sent to: their `action`, or the URL that htmx
    or a script sends them to (`hx-post` or `data-*-url` inside the form; for a form with an empty action on
    a page that takes no POST, such as the calendar's move dialog, those of the whole page)."""
    try:
        document = lxml.html.document_fromstring(html)
    except Exception:  # noqa: BLE001 - not an HTML page (CSV, iCal, JSON)
        return []
    page_targets = _script_targets(document)
    forms = []
    for element in document.iter("form"):
        action = element.get("action") or ""
        method = (element.get("method") or "get").upper()
        targets = [_target(action)] if action else [page_name]
        targets += _script_targets(element)
        if method == "POST" and not action and (page_name, "POST") not in EXPECTED:
            targets += page_targets
        for target in dict.fromkeys(t for t in targets if t):
            form = Form(method=method, target=target)
            _read_fields(element, form)
            forms.append(form)
    # Links with a query (?old=1&new=2, ?page=2, ?template=3) are filters too.
    for link in document.iter("a"):
        url = urlsplit(link.get("href") or "")
        target = _target(url.path) if url.query and not url.netloc else None
        if target:
            form = Form(method="GET", target=target, baseline=parse_qsl(url.query, keep_blank_values=True))
            for name, value in form.baseline:
                form.kinds.setdefault(name, "id" if value.isdigit() else _kind(link, name))
            forms.append(form)
    return forms


def rounds(form: Form) -> list[tuple[str, list[tuple[str, str]]]]:
    """Returns (description, data) for each request to send with this form."""
    names = list(form.kinds)
    baseline = {name: [v for n, v in form.baseline if n == name] for name in names}

    def data(replace: dict[str, str]) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = []
        for name in names:
            if name in replace:
                items.append((name, replace[name]))
            else:
                items += [(name, value) for value in baseline[name]]
        return items

    def of_kind(*kinds: str) -> list[str]:
        return [name for name in names if form.kinds[name] in kinds]

    result = []
    if of_kind("id"):
        result += [(f"ids={v!r}", data(dict.fromkeys(of_kind("id"), v))) for v in ID_VALUES]
    if of_kind("date", "time"):
        for date, clock in DATETIME_VALUES:
            replace = dict.fromkeys(of_kind("date"), date) | dict.fromkeys(of_kind("time"), clock)
            result.append((f"datetime={date} {clock}", data(replace)))
    if of_kind("text"):
        result += [(f"text={v[:30]!r}", data(dict.fromkeys(of_kind("text"), v))) for v in TEXT_VALUES]
    result += [(f"every field={v!r}", data(dict.fromkeys(names, v))) for v in EVERY_FIELD_VALUES]
    return result


def _body(response: Any) -> tuple[bytes, str]:
    """Returns the body (a streamed one read to the end, as a browser would) and the error that broke it."""
    if not response.streaming:
        return response.content, ""
    try:
        return b"".join(response.streaming_content), ""
    except Exception as error:  # noqa: BLE001 - reported as a failure of the page
        return b"", f"{type(error).__name__}: {error}"[:300]


def encode(items: list[tuple[str, str]]) -> str:
    # surrogatepass: a lone surrogate goes out as the (invalid UTF-8) bytes a broken client would send.
    return urlencode(items, encoding="utf-8", errors="surrogatepass")


class Driver:
    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}
        self.failures: list[str] = []
        self.refusals_checked = 0
        self.requests = 0
        self.world_seconds = 0.0
        self.forms_driven: list[str] = []  # "METHOD url-name (fields)" of every form sent with the corpus

    def client_for(self, name: str, method: str) -> Client | None:
        if name in SPECIAL_USERS:
            role = SPECIAL_USERS[name]
            user = getattr(self.world.city, role)
        else:
            allowed = EXPECTED.get((name, method), frozenset())
            role = next((r for r in ROLE_PREFERENCE if (r, "own") in allowed), "")
            if not role:
                role = next((r for r in ROLE_PREFERENCE if (r, "other") in allowed), "")
            if not role:
                return None
            user = self.world.users[role]
        if role not in self.clients:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            self.clients[role] = client
        return self.clients[role]

    def url(self, name: str) -> str:
        _route, kwarg_names = ROUTES[name]
        return reverse(name, kwargs=self.world.kwargs(name, kwarg_names, "own"))

    def send(self, client: Client, method: str, url: str, items: list[tuple[str, str]], label: str) -> Any:
        self.requests += 1
        with transaction.atomic():
            if method == "GET":
                response = client.get(f"{url}?{encode(items)}" if items else url)
            else:
                response = client.post(url, encode(items), content_type="application/x-www-form-urlencoded")
            body, streaming_error = _body(response)
            transaction.set_rollback(True)
        response.body = body
        if streaming_error:
            self.failures.append(f"{method} {url} [{label}] -> broke while streaming: {streaming_error}")
        if response.status_code >= 500:
            error = ""
            if getattr(response, "exc_info", None):
                error = "".join(traceback.format_exception_only(*response.exc_info[:2])).strip()[:300]
            self.failures.append(f"{method} {url} [{label}] -> {response.status_code} {error}")
        return response

    def check_refusal(self, response: Any, form: Form, label: str, url: str) -> None:
        """A far-future date refused on a page that shows the form again: a message, and the date kept."""
        if not label.startswith(f"datetime={FAR_FUTURE}") or response.status_code not in (200, 400):
            return
        if "text/html" not in response.get("Content-Type", ""):
            return
        html = response.body.decode("utf-8", "replace")
        dates = [name for name, kind in form.kinds.items() if kind == "date" and f'name="{name}"' in html]
        if not dates:
            return
        self.refusals_checked += 1
        if "usa-error-message" not in html and "usa-alert--error" not in html:
            self.failures.append(f"POST {url} [{label}]: refused without a message")
        if f'value="{FAR_FUTURE}"' not in html:
            self.failures.append(f"POST {url} [{label}]: the typed date is not kept")


def drive_every_form() -> Driver:
    started = time.monotonic()
    world = World()
    driver = Driver(world)
    driver.world_seconds = time.monotonic() - started
    forms_by_target: dict[str, list[Form]] = defaultdict(list)
    # 1. Every page, as someone who may open it; the forms it shows.
    for name in sorted(ROUTES):
        client = driver.client_for(name, "GET")
        if client is None:
            client = driver.client_for(name, "POST")
        if client is None or (name, "GET") not in EXPECTED and name not in SPECIAL_USERS:
            continue
        url = driver.url(name)
        response = driver.send(client, "GET", url, [], "page")
        if response.status_code != 200:
            continue
        forms = parse_forms(response.body.decode("utf-8", "replace"), name)
        for form in forms:
            forms_by_target[form.target].append(form)
    # 2. Filters (GET forms and links with a query) sent to their page, with the corpus.
    for name in sorted(forms_by_target):
        client = driver.client_for(name, "GET")
        if client is None or (name, "GET") not in EXPECTED:
            continue
        url = driver.url(name)
        driven: list[set[str]] = []
        # The largest first; a form whose fields are all in one already sent (a link to a page with some of
        # its filters) adds nothing.
        for form in sorted(forms_by_target[name], key=lambda f: -len(f.kinds)):
            signature = tuple(sorted(form.kinds))
            if form.method != "GET" or not signature or any(set(signature) <= d for d in driven):
                continue
            driven.append(set(signature))
            driver.forms_driven.append(f"GET {name} {list(signature)}")
            for label, items in rounds(form):
                driver.send(client, "GET", url, items, label)
    # 3. Every id in a URL path, too large for the database: a 404, like any id that names nothing.
    for name in sorted(ROUTES):
        _route, kwarg_names = ROUTES[name]
        converters = ROUTES_CONVERTERS[name]
        huge = {k: HUGE for k in kwarg_names if type(converters[k]).__name__ == "IntConverter"}
        if not huge:
            continue
        kwargs = driver.world.kwargs(name, kwarg_names, "own") | {k: int(v) for k, v in huge.items()}
        url = reverse(name, kwargs=kwargs)
        for method in ("GET", "POST"):
            client = driver.client_for(name, method)
            if client is not None and (name, method) in EXPECTED:
                driver.send(client, method, url, [], "id in the path")
    # 4. Every URL that takes a POST, with every form seen that sends to it (or an empty one).
    for name in sorted(ROUTES):
        if (name, "POST") not in EXPECTED:
            continue
        client = driver.client_for(name, "POST")
        if client is None:
            continue
        url = driver.url(name)
        seen = set()
        candidates = [f for f in forms_by_target.get(name, []) if f.method == "POST"] or [
            Form(method="POST", target=name, kinds={"next": "text", "comment": "text", "reason": "text"})
        ]
        for form in candidates:
            signature = tuple(sorted(form.kinds))
            if signature in seen:
                continue
            seen.add(signature)
            driver.forms_driven.append(f"POST {name} {sorted(form.kinds)}")
            for label, items in rounds(form):
                response = driver.send(client, "POST", url, items, label)
                driver.check_refusal(response, form, label, url)
    return driver


def _run() -> None:
    started = time.monotonic()
    driver = drive_every_form()
    elapsed = time.monotonic() - started
    print(  # noqa: T201 - the figures of the run
        f"bad input: {len(driver.forms_driven)} forms, {driver.requests} requests, "
        f"{driver.refusals_checked} refused forms checked, {elapsed:.1f} s "
        f"({driver.world_seconds:.1f} s building the world)",
        *driver.forms_driven,
        sep="\n",
    )
    assert driver.requests > 500, "the URL conf yielded too few forms: the crawl is broken"
    assert driver.refusals_checked > 0
    if driver.failures:
        pytest.fail(f"{len(driver.failures)} failures:\n" + "\n".join(driver.failures), pytrace=False)


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.postgres
def test_every_form_and_filter_survives_bad_input_on_postgresql(db: None) -> None:
    _run()


def test_every_form_and_filter_survives_bad_input(db: None) -> None:
    if _on_postgres():
        pytest.skip("runs as test_every_form_and_filter_survives_bad_input_on_postgresql")
    _run()


def test_corpus_reaches_every_kind_of_field() -> None:
    html = """<form method="post" action="">
      <select name="department"><option value="">-</option><option value="3" selected>Parks</option></select>
      <input type="checkbox" name="channels" value="7" checked>
      <input type="date" name="publish_date" value="2030-01-02">
      <input type="time" name="publish_time" value="10:00"><textarea name="text">Hi</textarea>
      <input type="submit" name="go"></form>"""
    (form,) = parse_forms(html, "scheduler:post_create")
    assert form.kinds == {
        "department": "id",
        "channels": "id",
        "publish_date": "date",
        "publish_time": "time",
        "text": "text",
    }
    sent = dict(rounds(form))
    assert ("department", HUGE) in sent[f"ids={HUGE!r}"]
    assert ("publish_time", "10:00") in sent[f"ids={HUGE!r}"]  # the other kinds keep their values
    assert ("publish_date", FAR_FUTURE) in sent[f"datetime={FAR_FUTURE} 23:59"]
    assert dt.date.fromisoformat(FAR_FUTURE).year == 9999


# --- One test per defect (issue 11, items 9 to 12) ---------------------------------------------------


def test_a_huge_channel_id_is_refused_with_a_message_and_the_text_is_kept(personas: Any) -> None:
    client = Client()
    client.force_login(personas.alice)
    response = client.post(
        reverse("scheduler:post_create"),
        {
            "department": personas.parks.pk,
            "text": "Pools open at noon",
            "channels": [HUGE],
            "publish_date": "2030-06-01",
            "publish_time": "10:00",
        },
    )
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "Choose channels from the list." in html
    assert "Pools open at noon" in html


def test_a_huge_department_id_is_an_unknown_choice(personas: Any) -> None:
    from civicpost.forms import ModelChoiceField, ModelMultipleChoiceField
    from departments.models import Department

    single = ModelChoiceField(queryset=Department.objects.all())
    several = ModelMultipleChoiceField(queryset=Department.objects.all())
    for value in (HUGE, "-" + HUGE, "0", "1.5"):
        with pytest.raises(ValidationError) as refused:
            single.clean(value)
        assert refused.value.code == "invalid_choice"
        with pytest.raises(ValidationError) as refused:
            several.clean([str(personas.parks.pk), value])
        assert refused.value.code == "invalid_pk_value"
    assert single.clean(str(personas.parks.pk)) == personas.parks


def test_a_far_future_date_is_refused_with_a_message_and_kept(personas: Any) -> None:
    client = Client()
    client.force_login(personas.alice)
    response = client.post(
        reverse("scheduler:post_create"),
        {
            "department": personas.parks.pk,
            "text": "Pools open at noon",
            "channels": [personas.parks_channel.pk],
            "publish_date": FAR_FUTURE,
            "publish_time": "23:59",
        },
    )
    html = response.content.decode()
    assert response.status_code in (200, 400)
    assert "Enter a date between 2000-01-01 and 2100-12-31." in html
    assert f'value="{FAR_FUTURE}"' in html


@pytest.mark.parametrize("day", [FAR_FUTURE, "1999-12-31", "2101-01-01"])
def test_dates_outside_2000_to_2100_are_refused(day: str) -> None:
    from civicpost.forms import DateField

    with pytest.raises(ValidationError) as refused:
        DateField().clean(day)
    assert refused.value.error_list[0].code == "date_out_of_range"
    assert DateField().clean("2100-12-31") == dt.date(2100, 12, 31)


def test_the_audit_export_with_a_far_future_date_is_not_a_server_error(db: None) -> None:
    from tests.governance.city import City

    city = City()
    client = Client(raise_request_exception=False)
    client.force_login(city.ivan)
    for name in ("audit:trail", "audit:export"):
        response = client.get(reverse(name), {"date_from": FAR_FUTURE, "date_to": FAR_FUTURE, "department": HUGE})
        assert response.status_code < 500
        _body(response)  # the CSV is streamed: read it to the end


@pytest.mark.parametrize("target", ["foo", "scheduler:dashboard", "https://evil.example/", "//evil.example/x", ""])
def test_calendar_move_never_follows_next_as_a_view_name_or_to_another_site(personas: Any, target: str) -> None:
    from tests.scheduler import draft_post

    post = draft_post(author=personas.alice, channels=[personas.parks_channel])
    client = Client()
    client.force_login(personas.alice)
    response = client.post(
        reverse("scheduler:calendar_reschedule", args=[post.pk]), {"date": "", "time": "", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduler:calendar_month")


def test_calendar_move_goes_back_to_a_path_of_this_site(personas: Any) -> None:
    from tests.scheduler import draft_post

    post = draft_post(author=personas.alice, channels=[personas.parks_channel])
    client = Client()
    client.force_login(personas.alice)
    back = "/calendar/week/?week=2030-01-07&filtered=1"
    response = client.post(reverse("scheduler:calendar_reschedule", args=[post.pk]), {"date": "", "next": back})
    assert response["Location"] == back


def test_the_two_step_page_never_follows_next_as_a_view_name(personas: Any, monkeypatch: Any) -> None:
    import accounts.views

    monkeypatch.setattr(accounts.views, "user_has_mfa", lambda **kwargs: True)
    client = Client()
    client.force_login(personas.alice)
    response = client.get(reverse("accounts:mfa_required"), {"next": "foo"})
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduler:dashboard")


def test_a_bad_calendar_link_is_not_saved_as_the_preference(personas: Any) -> None:
    from scheduler.models import CalendarPreference

    client = Client()
    client.force_login(personas.alice)
    response = client.get(reverse("scheduler:calendar_month"), {"department": HUGE, "channel": "-" + HUGE})
    assert response.status_code == 200
    assert CalendarPreference.objects.get(user=personas.alice).filters == {}
    # The next visit is not sent to the bad link.
    response = client.get(reverse("scheduler:calendar_month"))
    assert response.status_code in (200, 302)
    assert HUGE not in response.get("Location", "")


def test_a_stored_preference_that_no_longer_validates_is_dropped(personas: Any) -> None:
    from scheduler.models import CalendarPreference

    CalendarPreference.objects.create(user=personas.alice, filters={"department": [HUGE], "status": ["no-such"]})
    client = Client()
    client.force_login(personas.alice)
    response = client.get(reverse("scheduler:calendar_month"))
    assert response.status_code == 200
    assert not CalendarPreference.objects.filter(user=personas.alice).exists()


def test_filters_are_saved_only_once_the_page_was_built(personas: Any, monkeypatch: Any) -> None:
    import scheduler.calendar_views
    from scheduler.models import CalendarPreference

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the calendar query failed")

    monkeypatch.setattr(scheduler.calendar_views, "calendar_month", broken)
    client = Client(raise_request_exception=False)
    client.force_login(personas.alice)
    response = client.get(reverse("scheduler:calendar_month"), {"department": personas.parks.pk})
    assert response.status_code == 500
    assert not CalendarPreference.objects.filter(user=personas.alice).exists()


def test_filter_words_with_control_characters_name_nothing() -> None:
    """A NUL byte in ?platform= (or status, language) breaks a PostgreSQL query: such a word is dropped."""
    from scheduler.calendar import CalendarFilters

    values = {"platform": ["sand\x00box", "sandbox"], "language": ["e\x0bn"]}
    filters = CalendarFilters.from_lists(lambda key: values.get(key, []))
    assert filters.platforms == ("sandbox",)
    assert filters.languages == ()


def test_a_series_approval_comment_with_a_nul_byte_is_cleaned_not_a_server_error(db: None) -> None:
    """The comment goes through the review form, which drops control characters (item 13) before PostgreSQL
    could refuse the NUL byte: the series is approved and nothing stored holds the NUL."""
    from django.contrib.messages import get_messages

    from scheduler.models import PostReview

    world = World()
    series = world.scopes["own"].objects["submitted_series"]
    client = Client()
    client.force_login(world.city.bob)
    response = client.post(reverse("composer:series_approve", args=[series.pk]), {"comment": "ok\x00"})
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == ["2 posts of the series are approved and scheduled."]
    comments = list(PostReview.objects.values_list("comment", flat=True))
    assert "ok" in comments
    assert not any("\x00" in comment for comment in comments)
