"""Analytics pages: the post page's figures (an htmx fragment), the department and city figures with their
CSV exports, channel health, and the short-link redirect."""

from __future__ import annotations

import csv
import re
import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from analytics.charts import bar_chart
from analytics.figures import CSV_TABLES, Report, report_build, report_csv_rows
from analytics.forms import PeriodForm, period_from_form
from analytics.health import channel_health_for_user
from analytics.selectors import (
    city_figures_check,
    department_get_for_figures,
    post_figures_for_user,
    short_link_target,
)
from analytics.services import short_link_count_click
from analytics.shortlinks import short_links_enabled, short_links_set
from civicpost.zones import default_zone
from departments.models import Department
from departments.selectors import department_get_for_settings

# Known bots, crawlers and link-preview fetchers (platforms fetch every link to build its card, which is not
# a resident's click). A documented pattern instead of a dependency: the generic words cover most crawlers
# (see the maintained list at github.com/monperrus/crawler-user-agents); the named ones are the link
# previewers of the platforms CivicPost posts to. An empty user agent is a script, not a browser.
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|scan|monitor|checker|headless|lighthouse|python-|curl/|wget|"
    r"httpclient|okhttp|go-http|java/|libwww|facebookexternalhit|meta-externalagent|twitterbot|"
    r"cardyb|mastodon|pleroma|akkoma|misskey|whatsapp",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or bool(BOT_USER_AGENT.search(user_agent))


@require_GET
@never_cache
def short_link_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Sends the visitor on to the link's target and counts the click: one indexed SELECT and, for a person
    (not a bot), one UPDATE. Stores nothing about the visitor."""
    target = short_link_target(code=code)
    if target is None:
        raise Http404("No such link.")
    if not is_bot(request.headers.get("User-Agent", "")):
        short_link_count_click(code=code)
    response = HttpResponseRedirect(target)
    response["Referrer-Policy"] = "no-referrer-when-downgrade"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def department_short_links(request: HttpRequest, department_id: int) -> HttpResponse:
    """A department's short-link switch (the department's admins and communications managers, as for its
    other settings)."""
    department = department_get_for_settings(user=request.user, department_id=department_id)
    if request.method == "POST":
        enabled = request.POST.get("enabled") == "on"
        short_links_set(department_id=department.pk, enabled=enabled, actor=request.user)
        if enabled:
            messages.success(request, _("Links in posts published from now on go through short links."))
        else:
            messages.success(request, _("Links in posts published from now on are sent as written."))
        return redirect("analytics:department_short_links", department_id=department.pk)
    context = {"department": department, "enabled": short_links_enabled(department_id=department.pk)}
    return render(request, "analytics/department_short_links.html", context)


@login_required
@require_GET
def post_figures(request: HttpRequest, post_id: int) -> HttpResponse:
    """Each channel's figures over time for one post (loaded into the post page)."""
    figures = post_figures_for_user(user=request.user, post_id=post_id)
    return render(request, "analytics/_post_figures.html", {"figures": figures})


# --- Department and city figures ------------------------------------------------------------------


def _charts(report: Report) -> list:  # noqa: ANN401 - a list of BarChart
    per_follower = _("Engagement per 1,000 followers")
    factors = {factor.key: factor for factor in report.factors}
    charts = [
        bar_chart(
            chart_id="chart-channels",
            title=_("Engagement per 1,000 followers, by channel"),
            description=_("Average engagement of a post per 1,000 followers of its channel; n is the number of posts."),
            value_heading=per_follower,
            rows=[(f.label, f.rate, f.rate_n) for f in report.channels],
            minimum=report.minimum,
        )
    ]
    for key, title in (
        ("weekday", _("Engagement per 1,000 followers, by day of the week")),
        ("hour", _("Engagement per 1,000 followers, by hour published")),
    ):
        factor = factors.get(key)
        if factor is not None and factor.groups:
            charts.append(
                bar_chart(
                    chart_id=f"chart-{key}",
                    title=title,
                    description=_("Posts under the minimum sample are drawn pale: too few to tell."),
                    value_heading=per_follower,
                    rows=[(g.label, g.figures.rate, g.figures.rate_n) for g in factor.groups],
                    minimum=report.minimum,
                )
            )
    return charts


def _period(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> tuple[PeriodForm, dict]:
    form = PeriodForm(request.GET or None)
    first, last, start, end = period_from_form(form, zone=zone)
    query = f"start={first:%Y-%m-%d}&end={last:%Y-%m-%d}"
    return form, {"first": first, "last": last, "start": start, "end": end, "query": query}


def _csv_response(rows: list[list], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        # A cell starting with = + - @ would run as a formula in a spreadsheet: prefix it with a quote.
        writer.writerow(
            [f"'{cell}" if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") else cell for cell in row]
        )
    return response


@login_required
@require_GET
def department_figures(request: HttpRequest, department_id: int) -> HttpResponse:
    """A department's figures over a period: per platform and channel, top posts, what worked."""
    department = department_get_for_figures(user=request.user, department_id=department_id)
    form, period = _period(request, department.zone)
    report = report_build(
        department_ids=[department.pk], start=period["start"], end=period["end"], zone=department.zone
    )
    context = {"department": department, "form": form, "period": period, "report": report, "charts": _charts(report)}
    return render(request, "analytics/figures.html", context)


@login_required
@require_GET
def department_figures_csv(request: HttpRequest, department_id: int, table: str) -> HttpResponse:
    department = department_get_for_figures(user=request.user, department_id=department_id)
    if table not in CSV_TABLES or table == "departments":
        raise Http404("No such table.")
    _form, period = _period(request, department.zone)
    report = report_build(
        department_ids=[department.pk], start=period["start"], end=period["end"], zone=department.zone
    )
    filename = f"{department.slug}-{table}-{period['first']:%Y-%m-%d}-{period['last']:%Y-%m-%d}.csv"
    return _csv_response(report_csv_rows(report, table), filename)


@login_required
@require_GET
def city_figures(request: HttpRequest) -> HttpResponse:
    """The whole city's figures (communications managers and viewers), with a row per department."""
    city_figures_check(user=request.user)
    zone = default_zone()
    form, period = _period(request, zone)
    report = report_build(department_ids=None, start=period["start"], end=period["end"], zone=zone, by_department=True)
    context = {
        "department": None,
        "form": form,
        "period": period,
        "report": report,
        "charts": _charts(report),
        "departments": Department.objects.order_by("name"),
    }
    return render(request, "analytics/figures.html", context)


@login_required
@require_GET
def city_figures_csv(request: HttpRequest, table: str) -> HttpResponse:
    city_figures_check(user=request.user)
    if table not in CSV_TABLES:
        raise Http404("No such table.")
    zone = default_zone()
    _form, period = _period(request, zone)
    report = report_build(department_ids=None, start=period["start"], end=period["end"], zone=zone, by_department=True)
    return _csv_response(
        report_csv_rows(report, table), f"city-{table}-{period['first']:%Y-%m-%d}-{period['last']:%Y-%m-%d}.csv"
    )


@login_required
@require_GET
def channel_health(request: HttpRequest) -> HttpResponse:
    """What needs attention on the user's channels (a fragment for the channels page, a page on its own)."""
    findings = channel_health_for_user(user=request.user)
    template = (
        "analytics/_channel_health.html" if request.headers.get("HX-Request") else "analytics/channel_health.html"
    )
    return render(request, template, {"findings": findings})
