"""Pages of governance: crisis holds (communications managers and IT admins), emergency posts (authorised
officials) and their review (communications managers). Anyone else gets 404. Switching a crisis hold on or
off, releasing a held post and publishing an emergency post ask for the password again
(civicpost.reauth.require_recent_auth)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import slug_re
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from civicpost.reauth import require_recent_auth
from departments.selectors import viewer_zone
from governance import rules
from governance.emergency import LanguageVersion, emergency_publish, emergency_review
from governance.forms import CrisisEndForm, CrisisStartForm, EmergencyForm, EmergencyReviewForm, PostHoldReleaseForm
from governance.models import EmergencyTemplate
from governance.selectors import (
    crisis_hold_get_for_manager,
    crisis_holds_recent,
    emergency_alert_get,
    emergency_alert_get_for_review,
    emergency_alerts_for_user,
    emergency_templates,
    post_hold_get_for_manager,
    post_holds_open,
)
from governance.services import crisis_hold_end, crisis_hold_start, post_hold_release
from scheduler import rules as post_rules
from scheduler.blackouts import BlackoutRefused
from scheduler.models import CrisisHold, PostHold
from scheduler.selectors import active_crisis_holds, posts_held_by_crisis


def _require(allowed: bool) -> None:
    if not allowed:
        raise Http404("No such page.")


def _require_crisis_manager(request: AuthenticatedHttpRequest) -> None:
    _require(rules.can_start_crisis_hold(request.user))


def _require_emergency_official(request: AuthenticatedHttpRequest) -> None:
    _require(rules.can_post_emergency(request.user))


def _managed_crisis_hold(request: AuthenticatedHttpRequest, hold_id: int) -> CrisisHold:
    return crisis_hold_get_for_manager(user=request.user, hold_id=hold_id)


def _managed_post_hold(request: AuthenticatedHttpRequest, hold_id: int) -> PostHold:
    return post_hold_get_for_manager(user=request.user, hold_id=hold_id)


# --- Crisis holds ---------------------------------------------------------------------------------


@login_required
@require_GET
def crisis(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_crisis_manager(request)
    return _render_crisis(request, CrisisStartForm())


def _render_crisis(
    request: AuthenticatedHttpRequest,
    form: CrisisStartForm,
    status: int = 200,
    refused_release: tuple[int, PostHoldReleaseForm] | None = None,
) -> HttpResponse:
    """The crisis page; `refused_release` (hold id, form as sent) shows that hold's release form again
    with its errors and everything typed."""
    rows = []
    for hold in post_holds_open():
        if refused_release is not None and refused_release[0] == hold.pk:
            rows.append((hold, refused_release[1]))
        else:
            rows.append((hold, _release_form(request, hold)))
    active = active_crisis_holds()
    return render(
        request,
        "governance/crisis.html",
        {
            # Each hold in effect with the posts it is holding back now (decided on when it is switched off).
            "active": [(hold, list(posts_held_by_crisis(hold))) for hold in active],
            "recent": crisis_holds_recent(),
            "post_hold_rows": rows,
            "form": form,
            "refused_release_form": refused_release[1] if refused_release else None,
        },
        status=status,
    )


def _release_form(request: AuthenticatedHttpRequest, hold: PostHold, data: object = None) -> PostHoldReleaseForm:
    return PostHoldReleaseForm(
        data,
        zone=viewer_zone(user=request.user),
        auto_id=f"id_hold{hold.pk}_%s",  # one form per held post on the page: ids of their own
        may_override_blackout=post_rules.can_override_blackout(request.user, hold.post.department_id),
    )


@login_required
@require_POST
@require_recent_auth(check=_require_crisis_manager)
def crisis_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CrisisStartForm(request.POST)
    if form.is_valid():
        try:
            crisis_hold_start(
                user=request.user, reason=form.cleaned_data["reason"], departments=form.cleaned_data["departments"]
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.warning(request, _("The crisis hold is on. Nothing in its scope goes out until it ends."))
            return redirect("governance:crisis")
    return _render_crisis(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
@require_recent_auth(load=_managed_crisis_hold, allow_get=True)
def crisis_end(request: AuthenticatedHttpRequest, hold: CrisisHold) -> HttpResponse:
    """Reading what the hold keeps needs no password; switching it off does."""
    if not hold.is_active:
        messages.info(request, _("This crisis hold has already been switched off."))
        return redirect("governance:crisis")
    posts = list(posts_held_by_crisis(hold))
    may_override = any(
        post_rules.can_override_blackout(request.user, d) for d in {post.department_id for post in posts}
    )
    form = CrisisEndForm(
        request.POST or None, posts=posts, zone=viewer_zone(user=request.user), may_override_blackout=may_override
    )
    if request.method == "POST" and form.is_valid():
        try:
            report = crisis_hold_end(
                hold=hold,
                user=request.user,
                choice=form.cleaned_data["choice"],
                per_post=form.per_post(),
                reschedule_to=form.cleaned_data.get("new_due_at"),
                blackout_override_reason=form.override_reason,
            )
        except BlackoutRefused as error:
            form.add_blackout_refusal(error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _(
                    "The crisis hold is off. Released: %(released)s; moved to a new time: %(rescheduled)s; "
                    "kept on hold: %(kept)s."
                )
                % {
                    "released": len(report.released),
                    "rescheduled": len(report.rescheduled),
                    "kept": len(report.kept),
                },
            )
            return redirect("governance:crisis")
    status = 400 if request.method == "POST" else 200
    return render(request, "governance/crisis_end.html", {"hold": hold, "form": form, "posts": posts}, status=status)


@login_required
@require_POST
@require_recent_auth(load=_managed_post_hold)  # releasing a held post can send it at once
def post_hold_release_view(request: AuthenticatedHttpRequest, hold: PostHold) -> HttpResponse:
    form = _release_form(request, hold, data=request.POST)
    if form.is_valid():
        try:
            post_hold_release(
                hold=hold,
                user=request.user,
                choice=form.cleaned_data["choice"],
                due_at=form.cleaned_data.get("new_due_at"),
                blackout_override_reason=form.override_reason,
            )
        except BlackoutRefused as error:
            form.add_blackout_refusal(error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The post was released."))
            return redirect("governance:crisis")
    # The page again, this hold's form as it was sent: the reason for the refusal beside what was typed.
    return _render_crisis(request, CrisisStartForm(), status=400, refused_release=(hold.pk, form))


# --- Emergency posts ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@require_recent_auth(check=_require_emergency_official)
def emergency_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    slug = request.POST.get("template") or request.GET.get("template") or ""
    # Only a slug is looked up: other characters (a NUL byte breaks a PostgreSQL query) name no template.
    template = EmergencyTemplate.objects.filter(slug=slug, is_active=True).first() if slug_re.fullmatch(slug) else None
    zone = viewer_zone(user=request.user)
    form = EmergencyForm(request.POST or None, template=template, zone=zone)
    if request.method == "POST" and form.is_valid():
        try:
            alert = emergency_publish(
                user=request.user,
                channels=form.cleaned_data["channels"],
                versions=[LanguageVersion(code, text) for code, text in form.versions("text")],
                link=form.cleaned_data["link"],
                template=template,
                follow_up_versions=[LanguageVersion(code, text) for code, text in form.versions("follow_up")],
                follow_up_at=form.cleaned_data.get("new_due_at"),
            )
        except ApplicationError as error:
            for message in error.problems:
                form.add_error(None, message)
        else:
            messages.success(request, _("The emergency post is going out now on every chosen channel."))
            return redirect("governance:emergency_detail", alert_id=alert.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "governance/emergency_form.html",
        {"form": form, "templates": emergency_templates(), "template": template},
        status=status,
    )


@login_required
@require_GET
def emergency_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    alerts = emergency_alerts_for_user(user=request.user)
    unreviewed = [a for a in alerts if not hasattr(a, "review")]
    return render(
        request,
        "governance/emergency_list.html",
        {
            "alerts": list(alerts)[:100],
            "unreviewed": unreviewed,
            "can_review": rules.can_review_emergency(request.user),
        },
    )


@login_required
@require_GET
def emergency_detail(request: AuthenticatedHttpRequest, alert_id: int) -> HttpResponse:
    alert = emergency_alert_get(user=request.user, alert_id=alert_id)
    return _render_detail(request, alert, EmergencyReviewForm())


def _render_detail(
    request: AuthenticatedHttpRequest, alert: object, form: EmergencyReviewForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "governance/emergency_detail.html",
        {
            "alert": alert,
            "review": getattr(alert, "review", None),
            "form": form,
            "can_review": rules.can_review_emergency(request.user),
        },
        status=status,
    )


@login_required
@require_POST
def emergency_review_view(request: AuthenticatedHttpRequest, alert_id: int) -> HttpResponse:
    alert = emergency_alert_get_for_review(user=request.user, alert_id=alert_id)
    form = EmergencyReviewForm(request.POST)
    if form.is_valid():
        try:
            emergency_review(alert=alert, user=request.user, notes=form.cleaned_data["notes"])
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your review was recorded."))
            return redirect("governance:emergency_list")
    return _render_detail(request, alert, form, status=400)
