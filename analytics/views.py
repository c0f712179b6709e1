"""Analytics pages: the post page's figures (an htmx fragment) and the short-link redirect."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from analytics.selectors import post_figures_for_user, short_link_target
from analytics.services import short_link_count_click
from analytics.shortlinks import short_links_enabled, short_links_set
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
