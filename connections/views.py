"""Connecting a department's channels. Thin views: selector (permission), form, one flow/service call.

The OAuth `state` is a random value kept in the session with what the callback needs (platform,
department, channel being reconnected, PKCE verifier, Mastodon instance); the callback only continues
when the state it receives is one we issued, for that platform, less than 15 minutes ago."""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicpost.crypto import decrypt_text, encrypt_text
from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from civicpost.languages import channel_language, language_name
from civicpost.reauth import require_recent_auth
from civicpost.text import normalize_form_data
from connections import services
from connections.forms import (
    ChannelLanguageForm,
    ChooseForm,
    PagePickForm,
    connectable_platform_choices,
)
from connections.selectors import (
    channel_get_for_admin,
    channel_get_for_member,
    department_get_for_admin,
    departments_user_admins,
)
from departments import rules
from departments.models import Department
from departments.selectors import user_is_department_admin
from scheduler.adapters.base import AccountPick, ChannelAccount, ConnectedAccount, ConnectError, ConnectFlow
from scheduler.adapters.oauth import new_state
from scheduler.adapters.registry import UnknownPlatform, get_connect_flow
from scheduler.models import CLAIMABLE_DELIVERY_STATUSES, Channel, ChannelStatus

PENDING_SESSION_KEY = "civicpost_connect_pending"
META_SESSION_KEY = "civicpost_connect_meta"
PENDING_TTL_SECONDS = 15 * 60
MAX_PENDING = 5


# --- Session bookkeeping for the OAuth round trip --------------------------------------------------------


def _fresh(entries: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    fresh = {key: value for key, value in entries.items() if now - value.get("created", 0) < PENDING_TTL_SECONDS}
    # Keep only the newest few: a person does not run more sign-ins than that at once.
    newest = sorted(fresh.items(), key=lambda item: item[1]["created"], reverse=True)[:MAX_PENDING]
    return dict(newest)


def _remember(request: AuthenticatedHttpRequest, key: str, session_key: str, data: dict[str, Any]) -> None:
    entries = _fresh(request.session.get(session_key, {}))
    entries[key] = {**data, "created": time.time()}
    request.session[session_key] = _fresh(entries)


def _take_pending(request: AuthenticatedHttpRequest, *, state: str, platform: str) -> dict[str, Any] | None:
    """Removes and returns the pending sign-in with this state, or None (unknown, expired, wrong platform)."""
    entries = _fresh(request.session.get(PENDING_SESSION_KEY, {}))
    match = None
    for key in list(entries):
        # Compare every entry in constant time; never short-cut on the first character.
        if state and secrets.compare_digest(key.encode(), state.encode()):
            match = entries.pop(key)
    request.session[PENDING_SESSION_KEY] = entries
    if match is None or match.get("platform") != platform:
        return None
    return match


def _meta_entry(request: AuthenticatedHttpRequest, pick_id: str) -> dict[str, Any]:
    entry = _fresh(request.session.get(META_SESSION_KEY, {})).get(pick_id)
    if entry is None:
        raise Http404("This sign-in has expired.")
    return entry


def _forget_meta(request: AuthenticatedHttpRequest, pick_id: str) -> None:
    entries = _fresh(request.session.get(META_SESSION_KEY, {}))
    entries.pop(pick_id, None)
    request.session[META_SESSION_KEY] = entries


# --- Helpers ---------------------------------------------------------------------------------------------


def _platform_label(platform: str) -> str:
    return dict(connectable_platform_choices()).get(platform, platform)


def _flow(platform: str) -> ConnectFlow:
    """Returns the platform's connect flow (scheduler/adapters/<platform>/connect.py), or answers 404."""
    if platform not in dict(connectable_platform_choices()):
        raise Http404("No connection flow for this platform.")
    try:
        return get_connect_flow(platform)
    except UnknownPlatform as error:
        raise Http404("No connection flow for this platform.") from error


def redirect_uri(platform: str) -> str:
    """Returns the callback URL registered with the platform: SITE_URL + the callback path."""
    return f"{settings.SITE_URL}{reverse('connections:callback', kwargs={'platform': platform})}"


def _step_url(*, department: Department, platform: str, channel: Channel | None) -> str:
    if channel is not None:
        return reverse("connections:reconnect", kwargs={"channel_id": channel.pk})
    return reverse("connections:platform", kwargs={"department_id": department.pk, "platform": platform})


def channel_status_context(channel: Channel) -> dict[str, Any]:
    """Returns what the status box shows: connected / expires in N days / needs reconnect."""
    expires_in_days = None
    expired = False
    if channel.token_expires_at is not None:
        remaining = channel.token_expires_at - timezone.now()
        expired = remaining.total_seconds() <= 0
        expires_in_days = max(0, remaining.days)
    return {
        "channel": channel,
        "expires_in_days": expires_in_days,
        "token_expired": expired,
        "is_connected": channel.status == ChannelStatus.CONNECTED and not expired,
    }


def _connected(request: AuthenticatedHttpRequest, channel: Channel, *, reconnected: bool) -> HttpResponse:
    if reconnected:
        messages.success(
            request,
            _("%(channel)s is connected again. Posts that were waiting will go out.")
            % {"channel": channel.display_name},
        )
    else:
        messages.success(request, _("%(channel)s is connected.") % {"channel": channel.display_name})
    return redirect("connections:channel", channel_id=channel.pk)


# --- Pages -----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def connect_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Step 1: which department, which platform."""
    departments = departments_user_admins(user=request.user)
    if not departments:
        raise PermissionDenied("Only department admins can connect channels.")
    form = ChooseForm(
        request.POST if request.method == "POST" else None,
        departments=departments,
        initial={"department": departments[0]},
    )
    if request.method == "POST" and form.is_valid():
        return redirect(
            "connections:platform",
            department_id=form.cleaned_data["department"].pk,
            platform=form.cleaned_data["platform"],
        )
    return render(request, "connections/connect_choose.html", {"form": form, "departments": departments})


def _administered_department_with_flow(
    request: AuthenticatedHttpRequest, department_id: int, platform: str
) -> tuple[Department, str]:
    department = department_get_for_admin(user=request.user, department_id=department_id)
    _flow(platform)
    return department, platform


def _administered_channel(request: AuthenticatedHttpRequest, channel_id: int) -> Channel:
    return channel_get_for_admin(user=request.user, channel_id=channel_id)


@login_required
@require_http_methods(["GET", "POST"])
@require_recent_auth(load=_administered_department_with_flow)
def connect_platform(
    request: AuthenticatedHttpRequest, department_and_platform: tuple[Department, str]
) -> HttpResponse:
    """Step 2, new channel: the platform's own form or sign-in."""
    department, platform = department_and_platform
    return _platform_step(request, department=department, platform=platform, channel=None)


@login_required
@require_http_methods(["GET", "POST"])
@require_recent_auth(load=_administered_channel)
def channel_reconnect(request: AuthenticatedHttpRequest, channel: Channel) -> HttpResponse:
    """Step 2 again for an existing channel: same row, same scheduled posts."""
    return _platform_step(request, department=channel.department, platform=channel.platform, channel=channel)


def _platform_step(
    request: AuthenticatedHttpRequest, *, department: Department, platform: str, channel: Channel | None
) -> HttpResponse:
    flow = _flow(platform)
    account = None
    if channel is not None:
        # What the form may show of the channel being reconnected: never its credentials.
        account = ChannelAccount(
            channel_id=channel.pk,
            display_name=channel.display_name,
            handle=channel.account_handle,
            options=dict(channel.options),
        )
    initial = flow.initial(department_name=department.name, channel=account)
    data = request.POST if request.method == "POST" else None
    if data is not None and flow.normalize_form_text:
        data = normalize_form_data(data)
    form = flow.form_class()(data, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if flow.kind == "oauth":
                return _start_oauth(request, department=department, flow=flow, channel=channel, data=form.cleaned_data)
            connected = flow.connect(form.cleaned_data)
            saved = services.channel_connect(
                user=request.user, department=department, account=connected, channel=channel
            )
            if connected.show_once_secret:
                return _show_secret_once(request, saved, connected, reconnected=channel is not None)
            return _connected(request, saved, reconnected=channel is not None)
        except ConnectError as error:
            field = flow.error_field
            form.add_error(field if field in form.fields else None, error.message)
        except ApplicationError as error:
            form.add_error(None, error.message)
    return render(
        request,
        "connections/connect_form.html",
        {
            "form": form,
            "department": department,
            "platform": platform,
            "platform_label": _platform_label(platform),
            "channel": channel,
            "intro": flow.intro(label=_platform_label(platform), reconnecting=channel is not None),
            "is_oauth": flow.kind == "oauth",
            "redirect_uri": redirect_uri(platform) if flow.kind == "oauth" else "",
        },
    )


def _show_secret_once(
    request: AuthenticatedHttpRequest, channel: Channel, connected: ConnectedAccount, *, reconnected: bool
) -> HttpResponse:
    response = render(
        request,
        connected.show_once_template,
        {"channel": channel, "secret": connected.show_once_secret, "reconnected": reconnected},
    )
    # The secret is on this page only: never cached, never shown again.
    response["Cache-Control"] = "no-store"
    return response


def _start_oauth(
    request: AuthenticatedHttpRequest,
    *,
    department: Department,
    flow: ConnectFlow,
    channel: Channel | None,
    data: dict[str, Any],
) -> HttpResponse:
    state = new_state()
    start = flow.start(data, state=state, redirect_uri=redirect_uri(flow.platform), apps=services.instance_apps)
    _remember(
        request,
        state,
        PENDING_SESSION_KEY,
        {
            "platform": flow.platform,
            "department_id": department.pk,
            "channel_id": channel.pk if channel else None,
            **start.pending,
        },
    )
    return redirect(start.authorize_url)


@never_cache
@login_required
@require_GET
def oauth_callback(request: AuthenticatedHttpRequest, platform: str) -> HttpResponse:
    """Where the platform sends the admin back, with ?code=...&state=... (or ?error=...)."""
    flow = _flow(platform)
    pending = _take_pending(request, state=request.GET.get("state", ""), platform=platform)
    if pending is None:
        return render(
            request,
            "connections/callback_problem.html",
            {
                "message": _(
                    "This sign-in was not started from this browser, or it took longer than 15 minutes. "
                    "Nothing was connected. Please start again."
                )
            },
            status=400,
        )
    # Permission is checked again: the role may have changed while the person was away.
    department = department_get_for_admin(user=request.user, department_id=pending["department_id"])
    channel = None
    if pending.get("channel_id"):
        channel = channel_get_for_admin(user=request.user, channel_id=pending["channel_id"])
    back = _step_url(department=department, platform=platform, channel=channel)
    code = request.GET.get("code", "")
    if request.GET.get("error") or not code:
        messages.warning(
            request,
            _("The sign-in on %(platform)s was cancelled; nothing was connected.")
            % {"platform": _platform_label(platform)},
        )
        return redirect(back)
    try:
        finished = flow.finish(
            code=code, pending=pending, redirect_uri=redirect_uri(platform), apps=services.instance_apps
        )
        if isinstance(finished, AccountPick):
            pick_id = new_state()
            _remember(
                request,
                pick_id,
                META_SESSION_KEY,
                {
                    "platform": platform,
                    "department_id": department.pk,
                    "channel_id": channel.pk if channel else None,
                    # The token only lists the accounts to pick from; it is kept encrypted, for minutes.
                    "token": encrypt_text(finished.access_token),
                },
            )
            return redirect("connections:pick", pick_id=pick_id)
        saved = services.channel_connect(user=request.user, department=department, account=finished, channel=channel)
    except (ConnectError, ApplicationError) as error:
        messages.error(request, error.message)
        return redirect(back)
    return _connected(request, saved, reconnected=channel is not None)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def meta_pick(request: AuthenticatedHttpRequest, pick_id: str) -> HttpResponse:
    """After a sign-in that ends in an AccountPick (Facebook Login): the admin picks the account (the
    Page, or its Instagram account) for this channel."""
    entry = _meta_entry(request, pick_id)
    department = department_get_for_admin(user=request.user, department_id=entry["department_id"])
    channel = (
        channel_get_for_admin(user=request.user, channel_id=entry["channel_id"]) if entry.get("channel_id") else None
    )
    platform = entry["platform"]
    flow = _flow(platform)
    user_token = decrypt_text(entry["token"])
    back = _step_url(department=department, platform=platform, channel=channel)
    try:
        choices = flow.choices(access_token=user_token)
    except ConnectError as error:
        messages.error(request, error.message)
        return redirect(back)
    form = PagePickForm(request.POST if request.method == "POST" else None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            account = flow.picked(access_token=user_token, choice_id=form.cleaned_data["page"])
            saved = services.channel_connect(user=request.user, department=department, account=account, channel=channel)
        except (ConnectError, ApplicationError) as error:
            form.add_error(None, error.message)
        else:
            _forget_meta(request, pick_id)
            return _connected(request, saved, reconnected=channel is not None)
    return render(
        request,
        "connections/pick_page.html",
        {
            "form": form,
            "unusable": [choice for choice in choices if not choice.usable],
            "department": department,
            "platform": platform,
            "platform_label": _platform_label(platform),
            "channel": channel,
            "back": back,
        },
    )


@login_required
@require_GET
def channel_detail(request: AuthenticatedHttpRequest, channel_id: int) -> HttpResponse:
    """The channel page: status, expiry, language, and (for the department's admins) the actions."""
    channel = channel_get_for_member(user=request.user, channel_id=channel_id)
    language_form = ChannelLanguageForm(department=channel.department, initial={"language": channel_language(channel)})
    return render(request, "connections/channel_detail.html", _channel_detail_context(request, channel, language_form))


def _channel_detail_context(
    request: AuthenticatedHttpRequest, channel: Channel, language_form: ChannelLanguageForm
) -> dict:
    context = channel_status_context(channel)
    context["can_manage"] = user_is_department_admin(user=request.user, department_id=channel.department_id)
    context["waiting_count"] = channel.deliveries.filter(status__in=CLAIMABLE_DELIVERY_STATUSES).count()
    context["language_name"] = language_name(channel_language(channel)) if channel_language(channel) else ""
    context["language_form"] = language_form
    context["can_manage_department_settings"] = rules.can_manage_department_settings(
        request.user, channel.department_id
    )
    return context


@login_required
@require_POST
def channel_language_save(request: AuthenticatedHttpRequest, channel_id: int) -> HttpResponse:
    """Sets the channel's language; a refused choice shows the channel page again with the message."""
    channel = channel_get_for_admin(user=request.user, channel_id=channel_id)
    form = ChannelLanguageForm(request.POST, department=channel.department)
    if form.is_valid():
        try:
            channel = services.channel_set_language(
                user=request.user, channel=channel, language=form.cleaned_data["language"]
            )
        except ApplicationError as error:
            form.add_error("language", error.message)
        else:
            messages.success(request, _("The language of %(channel)s was saved.") % {"channel": channel.display_name})
            return redirect("connections:channel", channel_id=channel.pk)
    context = _channel_detail_context(request, channel, form)
    return render(request, "connections/channel_detail.html", context, status=400)


@login_required
@require_POST
def channel_test(request: AuthenticatedHttpRequest, channel_id: int) -> HttpResponse:
    """Test connection: asks the platform; answers the status box alone to htmx, else redirects."""
    channel = channel_get_for_admin(user=request.user, channel_id=channel_id)
    try:
        channel, check = services.channel_test_connection(user=request.user, channel=channel)
    except ApplicationError as error:
        raise PermissionDenied(error.message) from error
    if getattr(request, "htmx", False):
        context = channel_status_context(channel)
        context.update(can_manage=True, check=check)
        return render(request, "connections/_channel_status.html", context)
    if check.ok:
        messages.success(request, check.message or _("The connection works."))
    else:
        messages.error(request, check.message or _("The connection does not work."))
    return redirect("connections:channel", channel_id=channel.pk)


@login_required
@require_POST
@require_recent_auth(load=_administered_channel)
def channel_disconnect(request: AuthenticatedHttpRequest, channel: Channel) -> HttpResponse:
    try:
        channel = services.channel_disconnect(user=request.user, channel=channel)
    except ApplicationError as error:
        raise PermissionDenied(error.message) from error
    messages.success(
        request,
        _("%(channel)s is disconnected and its sign-in was deleted. Posts for it wait until it is reconnected.")
        % {"channel": channel.display_name},
    )
    return redirect("connections:channel", channel_id=channel.pk)
