"""A department's feed pages, for its admins: the list (and a new feed), one feed with the items taken and
its last error, "fetch now", removing it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from intake.forms import FeedForm
from intake.models import FeedSubscription
from intake.selectors import (
    department_channels,
    department_get_for_feeds,
    feed_get_for_admin,
    feed_items,
    feeds_for_department,
)
from intake.services import feed_fetch, feed_subscription_create, feed_subscription_delete, feed_subscription_update


@login_required
@require_http_methods(["GET", "POST"])
def feed_list(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_feeds(user=request.user, department_id=department_id)
    channels = department_channels(department=department)
    form = FeedForm(request.POST or None, channels=channels)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("is_active")
        try:
            feed = feed_subscription_create(user=request.user, department=department, **data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Feed added. Its items become drafts within a few minutes."))
            return redirect("intake:feed", feed_id=feed.pk)
    context = {"department": department, "feeds": feeds_for_department(department=department), "form": form}
    return render(request, "intake/feed_list.html", context, status=400 if request.method == "POST" else 200)


def _detail(request: HttpRequest, feed: FeedSubscription, form: FeedForm, status: int = 200) -> HttpResponse:
    context = {"feed": feed, "department": feed.department, "form": form, "items": feed_items(subscription=feed)}
    return render(request, "intake/feed_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def feed_detail(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = feed_get_for_admin(user=request.user, feed_id=feed_id)
    channels = department_channels(department=feed.department)
    if request.method == "GET":
        initial = {
            "name": feed.name,
            "kind": feed.kind,
            "url": feed.url,
            "channels": list(feed.channels.all()),
            "template": feed.template,
            "reminder_lead_minutes": feed.reminder_lead_minutes,
            "reminder_template": feed.reminder_template,
            "is_active": feed.is_active,
        }
        return _detail(request, feed, FeedForm(initial=initial, channels=channels))
    form = FeedForm(request.POST, channels=channels)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("kind")  # the kind of a feed does not change: its items' ids depend on it
        try:
            feed_subscription_update(user=request.user, subscription=feed, **data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Feed saved."))
            return redirect("intake:feed", feed_id=feed.pk)
    return _detail(request, feed, form, status=400)


@login_required
@require_POST
def feed_fetch_now(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = feed_get_for_admin(user=request.user, feed_id=feed_id)
    report = feed_fetch(subscription_id=feed.pk)
    if report is None:
        messages.error(request, _("This feed is switched off."))
    elif report.error:
        messages.error(request, _("The feed could not be read: %(error)s") % {"error": report.error})
    else:
        messages.success(
            request,
            _("Feed read: %(new)d new drafts, %(changed)d drafts updated.")
            % {"new": len(report.created), "changed": len(report.updated)},
        )
    return redirect("intake:feed", feed_id=feed.pk)


@login_required
@require_POST
def feed_delete(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = feed_get_for_admin(user=request.user, feed_id=feed_id)
    department_id = feed.department_id
    feed_subscription_delete(user=request.user, subscription=feed)
    messages.success(request, _("Feed removed. The drafts it wrote stay."))
    return redirect("intake:feeds", department_id=department_id)
