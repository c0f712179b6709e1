"""Pages of the shared calendar (issue 5): month, week and agenda; the reschedule endpoint used by drag
and drop and by the keyboard "Move" form; the per-person iCal feed; blackout periods.

Filters are GET parameters, so an address can be shared; each person's last filters are saved and come
back when they open the calendar with no filters in the address (the page redirects to the address with
them, so what is shown is always what the address says). `filtered=1` means "these are all my filters",
so clearing every filter is remembered too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.fields import MAX_DATE, MIN_DATE, parse_date, safe_next_path
from civicpost.http import AuthenticatedHttpRequest
from civicpost.timelabels import date_label, time_label
from departments.selectors import (
    department_ids_for_user,
    department_ids_user_approves,
    user_approves_everywhere,
    viewer_zone,
)
from scheduler.blackouts import (
    BlackoutRefused,
    blackout_departments_for,
    blackout_get_for_manager,
    blackout_label,
    blackouts_upcoming,
)
from scheduler.calendar.agenda import MAX_AGENDA_DAYS, calendar_agenda
from scheduler.calendar.drafts import calendar_drafts
from scheduler.calendar.filters import CalendarFilters, filter_chips
from scheduler.calendar.ical import feed_token_active, feed_user_for_secret, ical_feed
from scheduler.calendar.month import calendar_month
from scheduler.calendar.week import calendar_week
from scheduler.calendar_forms import BlackoutForm, RescheduleForm
from scheduler.calendar_services import (
    blackout_create,
    blackout_delete,
    calendar_feed_token_create,
    calendar_feed_token_revoke,
    calendar_preference_load,
    calendar_preference_save,
    post_reschedule,
)
from scheduler.models import PostStatus
from scheduler.rules import user_can_manage_blackouts
from scheduler.selectors import post_get_for_editing

AGENDA_DEFAULT_DAYS = 14


def _parse_date(value: str | None) -> dt.date | None:
    return parse_date(value)


def _parse_month(value: str | None) -> tuple[int, int] | None:
    try:
        year, month = (int(part) for part in (value or "").split("-", 1))
    except ValueError:
        return None
    return (year, month) if 1 <= month <= 12 and MIN_DATE.year <= year <= MAX_DATE.year else None


def _filters_or_redirect(request: AuthenticatedHttpRequest) -> CalendarFilters | HttpResponse:
    """Returns the filters the address asks for, or a redirect to the saved ones. Nothing is saved here:
    `_remember` saves the filters once the page was built with them, so a link that fails is never kept."""
    saved = calendar_preference_load(user=request.user)
    if not CalendarFilters.present_in(request.GET):
        if saved is not None and saved.as_dict():
            query = request.GET.copy()
            for key, value in saved.query_items():
                query.appendlist(key, value)
            return redirect(f"{request.path}?{query.urlencode()}")
        return saved or CalendarFilters()
    return CalendarFilters.from_query(request.GET)


def _remember(request: AuthenticatedHttpRequest, filters: CalendarFilters) -> None:
    """Saves the filters as the person's preference, once the page was built with them. Only what
    CalendarFilters kept is saved (malformed values are dropped on the way in), never the raw address."""
    if CalendarFilters.present_in(request.GET):
        calendar_preference_save(user=request.user, filters=filters)


def _url(name: str, filters: CalendarFilters, **params: Any) -> str:
    items = [(key, str(value)) for key, value in params.items()] + filters.query_items()
    return f"{reverse(name)}?{urlencode(items)}"


def _render(
    request: AuthenticatedHttpRequest,
    *,
    view: str,
    data: Any,
    filters: CalendarFilters,
    nav: dict[str, str],
    day: dt.date,
    links: dict[str, str],
) -> HttpResponse:
    """Renders the page, or only its calendar region for htmx (the page refreshes it after a move)."""
    can_post = bool(department_ids_for_user(user=request.user))
    chips = [
        {"label": chip.label, "url": f"{request.path}?{urlencode([*nav.items(), *chip.without.query_items()])}"}
        for chip in filter_chips(filters, data.options)
    ]
    context = {
        **links,
        "view": view,
        "cal": data,
        "filters": filters,
        "nav": nav,
        "month_url": _url("scheduler:calendar_month", filters, month=f"{day:%Y-%m}"),
        "week_url": _url("scheduler:calendar_week", filters, week=day.isoformat()),
        "agenda_url": _url("scheduler:calendar_agenda", filters, start=day.isoformat(), days=AGENDA_DEFAULT_DAYS),
        "clear_url": f"{request.path}?{urlencode([*nav.items(), ('filtered', '1')])}",
        "filter_query": urlencode(filters.query_items()),
        "can_override": department_ids_user_approves(user=request.user) != set(),
        "next_path": request.get_full_path(),
        "can_post": can_post,
        # Drafts to drag onto a day (one query); only for members, who are the ones who may move them.
        "drafts": calendar_drafts(user=request.user, start=data.start, end=data.end, zone=data.zone, now=timezone.now())
        if can_post
        else None,
        "filter_chips": chips,
        "new_post_url": reverse("scheduler:post_create"),
    }
    if view == "month" and "month" not in request.GET:
        # The calendar opened without a choice of month (the menu link): on a phone the agenda reads
        # better, and static/js/calendar-phone.js goes there unless the person chose the month view.
        context["phone_agenda_url"] = context["agenda_url"]
    template = f"scheduler/_calendar_{view}_region.html" if request.htmx else f"scheduler/calendar_{view}.html"
    return render(request, template, context)


@login_required
@require_GET
def calendar_month_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = _filters_or_redirect(request)
    if isinstance(filters, HttpResponse):
        return filters
    today = timezone.now().astimezone(viewer_zone(user=request.user)).date()
    year, month = _parse_month(request.GET.get("month")) or (today.year, today.month)
    data = calendar_month(user=request.user, year=year, month=month, filters=filters)
    _remember(request, filters)
    nav = {"month": f"{year:04d}-{month:02d}"}
    links = {
        "previous_url": _url("scheduler:calendar_month", filters, month=f"{data.previous:%Y-%m}"),
        "next_url": _url("scheduler:calendar_month", filters, month=f"{data.next:%Y-%m}"),
        "today_url": _url("scheduler:calendar_month", filters, month=f"{today:%Y-%m}"),
    }
    day = today if (today.year, today.month) == (year, month) else data.first_day
    return _render(request, view="month", data=data, filters=filters, nav=nav, day=day, links=links)


@login_required
@require_GET
def calendar_week_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = _filters_or_redirect(request)
    if isinstance(filters, HttpResponse):
        return filters
    today = timezone.now().astimezone(viewer_zone(user=request.user)).date()
    day = _parse_date(request.GET.get("week")) or today
    data = calendar_week(user=request.user, day=day, filters=filters)
    _remember(request, filters)
    links = {
        "previous_url": _url("scheduler:calendar_week", filters, week=data.previous.isoformat()),
        "next_url": _url("scheduler:calendar_week", filters, week=data.next.isoformat()),
        "today_url": _url("scheduler:calendar_week", filters, week=today.isoformat()),
    }
    nav = {"week": data.first_day.isoformat()}
    return _render(request, view="week", data=data, filters=filters, nav=nav, day=data.first_day, links=links)


@login_required
@require_GET
def calendar_agenda_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = _filters_or_redirect(request)
    if isinstance(filters, HttpResponse):
        return filters
    today = timezone.now().astimezone(viewer_zone(user=request.user)).date()
    first = _parse_date(request.GET.get("start")) or today
    try:
        days = min(max(int(request.GET.get("days", AGENDA_DEFAULT_DAYS)), 1), MAX_AGENDA_DAYS)
    except ValueError:
        days = AGENDA_DEFAULT_DAYS
    data = calendar_agenda(user=request.user, first_day=first, days=days, filters=filters)
    _remember(request, filters)
    links = {
        "previous_url": _url("scheduler:calendar_agenda", filters, start=data.previous.isoformat(), days=days),
        "next_url": _url("scheduler:calendar_agenda", filters, start=data.next.isoformat(), days=days),
        "today_url": _url("scheduler:calendar_agenda", filters, start=today.isoformat(), days=days),
    }
    nav = {"start": first.isoformat(), "days": str(days)}
    return _render(request, view="agenda", data=data, filters=filters, nav=nav, day=first, links=links)


# --- Reschedule -----------------------------------------------------------------------------------


def _wants_json(request: AuthenticatedHttpRequest) -> bool:
    return bool(request.htmx) or "application/json" in request.headers.get("Accept", "")


def _back(request: AuthenticatedHttpRequest) -> HttpResponse:
    target = safe_next_path(request, request.POST.get("next")) or reverse("scheduler:calendar_month")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def calendar_reschedule(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    """Moves a post (drag and drop, or the Move form). Answers JSON to the calendar's script
    ({ok, message, needs_override, status, status_label}) and redirects with a message otherwise."""
    post = post_get_for_editing(user=request.user, post_id=post_id)
    zone = viewer_zone(user=request.user)
    form = RescheduleForm(request.POST, zone=zone)
    if not form.is_valid():
        return _reschedule_answer(request, ok=False, message=form.first_error(), status=400)
    was_approved = post.status == PostStatus.APPROVED
    try:
        post = post_reschedule(
            post=post,
            user=request.user,
            due_at=form.cleaned_data["due_at"],
            override_reason=form.cleaned_data["override_reason"],
        )
    except BlackoutRefused as error:
        return _reschedule_answer(
            request, ok=False, message=error.message, status=409, needs_override=bool(error.extra.get("needs_override"))
        )
    except ApplicationError as error:
        return _reschedule_answer(request, ok=False, message=error.message, status=400)
    local = post.due_at.astimezone(zone)
    when = f"{date_label(local)}, {time_label(local)}"
    if was_approved and post.status == PostStatus.SUBMITTED:
        message = _("Moved to %(when)s. It must be approved again before it goes out: now waiting for approval.") % {
            "when": when
        }
    elif was_approved:
        message = _("Moved to %(when)s. It stays approved and scheduled.") % {"when": when}
    else:
        message = _("Moved to %(when)s.") % {"when": when}
    return _reschedule_answer(request, ok=True, message=message, post_status=post.status)


def _reschedule_answer(
    request: AuthenticatedHttpRequest,
    *,
    ok: bool,
    message: str,
    status: int = 200,
    needs_override: bool = False,
    post_status: str = "",
) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"ok": ok, "message": message, "needs_override": needs_override, "status": post_status}, status=status
        )
    (messages.success if ok else messages.error)(request, message)
    return _back(request)


# --- iCal feed ------------------------------------------------------------------------------------


@require_GET
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """The person's calendar as iCal for Outlook or Google Calendar. No sign-in: the secret address is the
    key; revoked or unknown addresses answer 404."""
    user = feed_user_for_secret(secret=secret)
    response = HttpResponse(ical_feed(user=user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="civicpost.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def calendar_feed_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Create (or replace) and revoke the person's secret feed address. The address is shown once."""
    secret_url = ""  # nosec B105  # empty until a feed address is created
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            count = calendar_feed_token_revoke(user=request.user)
            if count:
                messages.success(request, _("Your calendar feed address was turned off. It no longer works."))
            return redirect("scheduler:calendar_feed_settings")
        secret = calendar_feed_token_create(user=request.user)
        secret_url = request.build_absolute_uri(reverse("scheduler:calendar_feed", args=[secret]))
    return render(
        request,
        "scheduler/calendar_feed.html",
        {"token": feed_token_active(user=request.user), "secret_url": secret_url},
    )


# --- Blackouts ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def blackout_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Current and coming blackouts for everyone; a form for those who may add them."""
    zone = viewer_zone(user=request.user)
    departments = blackout_departments_for(user=request.user)
    city_wide = user_approves_everywhere(user=request.user)
    may_add = city_wide or bool(departments)
    form = BlackoutForm(request.POST or None, departments=departments, city_wide=city_wide, zone=zone)
    if request.method == "POST":
        if not may_add:
            # A deny is a 403 (tests/test_permission_matrix.py).
            raise PermissionDenied(_("Only department admins and the communications team can add blackouts."))
        if form.is_valid():
            try:
                blackout = blackout_create(user=request.user, **form.service_arguments())
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Blackout added: %(label)s.") % {"label": blackout_label(blackout, zone)})
                held = len(blackout.held_post_ids)
                if held:
                    messages.warning(
                        request,
                        ngettext(
                            "%(count)s approved post was scheduled inside it: it went back for approval.",
                            "%(count)s approved posts were scheduled inside it: they went back for approval.",
                            held,
                        )
                        % {"count": held}
                        + " "
                        + _("An approver may approve them with a reason for publishing in the blackout, or move them."),
                    )
                return redirect("scheduler:blackout_list")
    rows = [
        {
            "blackout": b,
            "label": blackout_label(b, zone),
            "can_delete": user_can_manage_blackouts(user=request.user, department_id=b.department_id),
        }
        for b in blackouts_upcoming()
    ]
    return render(
        request,
        "scheduler/calendar_blackouts.html",
        {"rows": rows, "form": form if may_add else None, "zone": zone},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def blackout_delete_view(request: AuthenticatedHttpRequest, blackout_id: int) -> HttpResponseBase:
    blackout = blackout_get_for_manager(user=request.user, blackout_id=blackout_id)
    try:
        blackout_delete(user=request.user, blackout=blackout)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The blackout was removed."))
    return redirect("scheduler:blackout_list")
