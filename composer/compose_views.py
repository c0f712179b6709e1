"""The composer's pages and partials: compose and edit (with media added in place), the live check
(lengths, previews, hints), autosave, and the version history with its comparison.

Nothing typed is lost: adding, removing or moving media re-renders the whole form from what was posted;
a refused save shows everything again; the browser keeps a copy (static/js/composer.js) for a session that
expired; autosave keeps drafts on the server every few seconds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics.selectors import best_times_for_department
from civicpost.exceptions import ApplicationError
from civicpost.fields import parse_date
from civicpost.http import AuthenticatedHttpRequest
from civicpost.session_keys import SAVED_DRAFT_SESSION_KEY
from civicpost.timelabels import clock_label
from composer.compose_forms import PostForm
from composer.feedback import composer_feedback
from composer.versions import version_comparison
from departments.models import Department
from departments.selectors import department_ids_for_user, viewer_zone_for_request
from medialibrary.models import MediaAsset
from medialibrary.services import ALT_TEXT_REQUIRED, TITLE_REQUIRED, MediaAlreadyInLibrary, media_upload
from scheduler.blackouts import BlackoutRefused, blackouts_message, post_blackouts
from scheduler.models import EDITABLE_STATUSES, Post, PostStatus, PostVersion
from scheduler.selectors import post_get_for_editing, post_get_for_user
from scheduler.services import post_create, post_save, post_update
from scheduler.threads import MAX_THREAD_PARTS

SUBMITTABLE_STATUSES = (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED)
AUTOSAVE_STATUSES = (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED)
AUTOSAVED_DRAFTS_SESSION_KEY = "composer_autosaved_drafts"
MEDIA_ACTIONS = ("upload", "attach", "remove", "up", "down", "restore")


def _problem_field(form: PostForm, message: str) -> str | None:
    """Returns the name of the field a refused save's problem is about (so the error summary links to
    it and the message stands beside it), or None for a problem of the whole post."""
    if message == _(ALT_TEXT_REQUIRED):
        missing = [
            f"alt_{asset.pk}"
            for asset in form.media_assets
            if not asset.is_video and not (form.cleaned_data.get(f"alt_{asset.pk}") or "").strip()
        ]
        return missing[0] if missing else None
    if message == _(TITLE_REQUIRED):
        untitled = [
            f"alt_{asset.pk}"
            for asset in form.media_assets
            if asset.is_document and not (form.cleaned_data.get(f"alt_{asset.pk}") or "").strip()
        ]
        return untitled[0] if untitled else None
    part = re.search(r", part (\d+) of \d+: ", message)
    if part:
        return f"thread_part_{part[1]}"
    if message.startswith(_("The first comment")) or "first comment" in message:
        return "first_comment"
    fields = {
        _("Write the text of the post."): "text",
        _("Choose at least one channel."): "channels",
        _("The publish time has passed; choose a time in the future."): "publish_time",
    }
    return fields.get(message)


def _add_problems(form: PostForm, problems: list[str]) -> None:
    for message in problems:
        name = _problem_field(form, message)
        form.add_error(name if name in form.fields else None, message)


def _urls(post: Post | None) -> dict[str, str]:
    if post is None:
        return {
            "action": reverse("scheduler:post_create"),
            "check": reverse("scheduler:post_check_new"),
            "autosave": reverse("scheduler:post_autosave_new"),
        }
    return {
        "action": reverse("scheduler:post_edit", args=[post.pk]),
        "check": reverse("scheduler:post_check", args=[post.pk]),
        "autosave": reverse("scheduler:post_autosave", args=[post.pk]),
    }


def render_composer(
    request: AuthenticatedHttpRequest,
    form: PostForm,
    post: Post | None,
    *,
    notice: str = "",
    focus: str = "",
    status: int = 200,
) -> HttpResponse:
    """Renders the compose page with the live feedback already filled in (it also works without script)."""
    data = form.data if form.is_bound else _as_data(form.initial)
    check = PostForm(data, user=request.user, post=post, lenient=True, media_ids=[a.pk for a in form.media_assets])
    check.is_valid()
    context = {
        "form": form,
        "post": post,
        "feedback": composer_feedback(check),
        "urls": _urls(post),
        "notice": notice,
        "focus": focus,
        "autosave_enabled": post is None or post.status in AUTOSAVE_STATUSES,
        # Best hours to post, per department offered (usually one), from analytics (a layer below).
        "best_times": [
            (department, best_times_for_department(department=department))
            for department in form.department_choices_with_zones[:3]
        ],
    }
    return render(request, "composer/post_form.html", context, status=status)


def _as_data(initial: Mapping[str, Any]) -> QueryDict:
    """Returns a form's initial values as posted data, to check an unchanged post the same way."""
    data = QueryDict(mutable=True)
    for key, value in initial.items():
        if value is None or value is False:
            continue
        if isinstance(value, list | tuple):
            data.setlist(key, [str(item) for item in value])
        elif value is True:
            data[key] = "on"
        elif isinstance(value, dt.time):
            data[key] = value.strftime("%H:%M")
        elif isinstance(value, dt.date):
            data[key] = value.isoformat()
        else:
            data[key] = str(value)
    return data


def _apply_thread_action(data: QueryDict, action: str) -> tuple[str, str]:
    """Adds a part at the end of the thread ("add") or removes part n ("remove:<n>", the parts after it move
    up) in the posted `data`. Returns (notice, id of the field to focus)."""
    try:
        count = min(max(int(data.get("thread_count") or 1), 1), MAX_THREAD_PARTS)
    except ValueError:
        count = 1
    verb, _sep, argument = action.partition(":")
    if verb == "add" and count < MAX_THREAD_PARTS:
        count += 1
        data["thread_count"] = str(count)
        data[f"thread_part_{count}"] = ""
        return _("Part %(part)d added.") % {"part": count}, f"id_thread_part_{count}"
    if verb == "remove" and argument.isdigit() and 2 <= int(argument) <= count:
        removed = int(argument)
        for number in range(removed, count):
            data[f"thread_part_{number}"] = data.get(f"thread_part_{number + 1}", "")
        data.pop(f"thread_part_{count}", None)
        data["thread_count"] = str(count - 1)
        if removed < count:
            focus = f"id_thread_part_{removed}"
        else:
            focus = f"id_thread_part_{removed - 1}" if removed > 2 else "id_text"
        return _("Part %(part)d removed.") % {"part": removed}, focus
    return "", ""


def _chosen_department(request: AuthenticatedHttpRequest, data: QueryDict, post: Post | None) -> Department | None:
    if post is not None:
        return post.department
    form = PostForm(data, user=request.user, lenient=True)
    return form.department


def _apply_media_action(
    request: AuthenticatedHttpRequest, data: QueryDict, post: Post | None, action: str
) -> tuple[list[int], str, str, str]:
    """Applies one media button (upload, attach from the library, remove, move up or down) to what was
    posted. Returns (media ids in order, notice, id of the field to focus, upload error)."""
    ids = [int(v) for v in data.getlist("media") if v.isdigit()]
    verb, _sep, argument = action.partition(":")
    department = _chosen_department(request, data, post)
    if verb == "upload" or request.FILES.get("upload"):
        upload = request.FILES.get("upload")
        if upload is None:
            return ids, _("Choose a file to upload first."), "id_upload", ""
        if department is None:
            return ids, "", "id_upload", _("Choose the department first: the file goes into its media library.")
        try:
            asset = media_upload(
                user=request.user,
                department=department,
                upload=upload,
                alt_text=data.get("upload_alt", ""),
                captions=request.FILES.get("upload_captions"),
                transcript=data.get("upload_transcript", ""),
                captions_burned_in=data.get("upload_captions_burned_in") == "on",
            )
        except MediaAlreadyInLibrary as same:
            # The same file again (often one uploaded here and never used): attach the library's copy, with
            # its alt text, rather than pile up copies without alt text.
            asset = same.asset
            typed_alt = data.get("upload_alt", "").strip()
            if asset.pk not in ids:
                ids.append(asset.pk)
            data[f"alt_{asset.pk}"] = data.get(f"alt_{asset.pk}", "").strip() or typed_alt or asset.alt_text
            data["upload_alt"] = ""
            data["upload_transcript"] = ""
            notice = _(
                "This file is already in the media library as “%(file)s”, so that one is attached, with its alt "
                "text. No second copy was stored."
            ) % {"file": asset.original_name or asset.file_name}
            if not data[f"alt_{asset.pk}"]:
                notice += " " + _("Write its alt text below.")
            return ids, notice, f"id_alt_{asset.pk}", ""
        except ApplicationError as error:
            return ids, "", "id_upload", error.message
        ids.append(asset.pk)
        data[f"alt_{asset.pk}"] = asset.alt_text
        data["upload_alt"] = ""
        data["upload_transcript"] = ""
        notice = _("%(file)s was added.") % {"file": asset.original_name or _("The file")}
        if not asset.alt_text:
            notice += " " + _("Write its alt text below.")
        return ids, notice, f"id_alt_{asset.pk}", ""
    if verb == "restore":
        return ids, _("What you typed earlier is back in the form. Save it to keep it."), "id_text", ""
    if verb == "attach":
        pick = data.get("library_pick", "")
        picked = (
            MediaAsset.objects.filter(pk=int(pick), department=department).first()
            if pick.isdigit() and department
            else None
        )
        if picked is None:
            return ids, _("Choose a file from the media library first."), "id_library_pick", ""
        if picked.pk not in ids:
            ids.append(picked.pk)
            data.setdefault(f"alt_{picked.pk}", picked.alt_text)
        return ids, _("%(file)s was added.") % {"file": picked.original_name}, f"id_alt_{picked.pk}", ""
    if argument.isdigit() and int(argument) in ids:
        pk = int(argument)
        index = ids.index(pk)
        if verb == "remove":
            ids.remove(pk)
            return ids, _("The file was removed from this post (it stays in the media library)."), "media-heading", ""
        if verb == "up" and index > 0:
            ids[index - 1], ids[index] = ids[index], ids[index - 1]
        elif verb == "down" and index < len(ids) - 1:
            ids[index + 1], ids[index] = ids[index], ids[index + 1]
        position = ids.index(pk) + 1
        return (
            ids,
            _("Moved to position %(position)s of %(count)s.") % {"position": position, "count": len(ids)},
            (f"id_alt_{pk}"),
            "",
        )
    return ids, "", "", ""


def _remember_autosaved_draft(request: AuthenticatedHttpRequest, draft_key: str, post: Post) -> None:
    """Notes which draft an autosave of a new post made, for the page's draft key (its last 20)."""
    if not draft_key:
        return
    drafts = dict(request.session.get(AUTOSAVED_DRAFTS_SESSION_KEY, {}))
    drafts[draft_key] = post.pk
    request.session[AUTOSAVED_DRAFTS_SESSION_KEY] = dict(list(drafts.items())[-20:])


def _autosaved_draft(request: AuthenticatedHttpRequest, data: QueryDict) -> Post | None:
    """Returns the draft an earlier autosave of this same new-post page made, if it may still be edited:
    a save that overtakes the page's switch to that draft (or a second autosave) must not make another."""
    post_id = request.session.get(AUTOSAVED_DRAFTS_SESSION_KEY, {}).get(data.get("draft_key", ""))
    if not post_id:
        return None
    try:
        post = post_get_for_editing(user=request.user, post_id=post_id)
    except Http404:
        return None
    return post if post.status in AUTOSAVE_STATUSES else None


def _initial_from_address(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    """A new post started from a calendar day (`?date=2026-12-10`): that date is filled in. A date that is not
    one is ignored (the address may be old or typed)."""
    day = parse_date(request.GET.get("date"))
    return {"publish_date": day} if day is not None else {}


def compose(request: AuthenticatedHttpRequest, post: Post | None) -> HttpResponse:
    """The compose and edit page: GET shows the form; POST adds media or saves (and submits)."""
    if request.method != "POST":
        initial = _initial_from_address(request) if post is None else {}
        form = (
            PostForm(user=request.user, post=post, initial=initial)
            if initial
            else PostForm(user=request.user, post=post)
        )
        return render_composer(request, form, post)
    if post is None:
        post = _autosaved_draft(request, request.POST)
    data = request.POST.copy()
    action = data.get("media_action", "")
    upload_error = ""
    media_ids: list[int] | None = None
    notice = focus = ""
    if action.partition(":")[0] in MEDIA_ACTIONS or request.FILES.get("upload"):
        media_ids, notice, focus, upload_error = _apply_media_action(request, data, post, action)
    thread_action = data.get("thread_action", "")
    if thread_action:
        notice, focus = _apply_thread_action(data, thread_action)
    if action or upload_error or thread_action:
        # Only media changed (or an upload failed): show everything again, judge nothing yet, save nothing.
        form = PostForm(data, user=request.user, post=post, media_ids=media_ids, lenient=True)
        if upload_error:
            form.is_valid()
            form.add_error("upload", upload_error)
        return render_composer(request, form, post, notice=notice, focus=focus)

    form = PostForm(data, user=request.user, post=post, media_ids=media_ids)
    if form.is_valid():
        submit = "submit" in data and (post is None or post.status in SUBMITTABLE_STATUSES)
        was_approved = post is not None and post.status == PostStatus.APPROVED
        override_reason = form.cleaned_data.get("blackout_override_reason", "")
        try:
            # Save and submit together, or not at all: a refused submission leaves no stray draft.
            post = post_save(
                user=request.user,
                post=post,
                submit=submit,
                blackout_override_reason=override_reason,
                **form.service_arguments(),
            )
        except BlackoutRefused as error:
            # Said at the time fields; the override field is on the page for those who may use it.
            problems = error.problems
            form.add_error("publish_time", problems[0])
            _add_problems(form, problems[1:])
        except ApplicationError as error:
            # Everything was rolled back (a new post too): show the form again with every value kept.
            _add_problems(form, error.problems)
        else:
            request.session[SAVED_DRAFT_SESSION_KEY] = form.cleaned_data.get("draft_key", "")
            # A draft may be saved inside a blackout (drafts are not scheduled); say so now, not at submit.
            blackouts = post_blackouts(post) if post.status in AUTOSAVE_STATUSES else []
            if blackouts:
                messages.warning(
                    request,
                    _(
                        "Its time is inside a blackout: %(blackouts)s. It is saved as a draft, but it cannot be sent "
                        "for approval unless an approver gives a reason, or you choose another time."
                    )
                    % {"blackouts": blackouts_message(blackouts=blackouts, post=post)},
                )
            if was_approved:
                messages.warning(
                    request, _("Your changes were saved. The post must be approved again before it goes out.")
                )
            elif submit and form.post is None:
                messages.success(request, _("Your post was sent for approval."))
            elif submit:
                messages.success(request, _("Your changes were saved and the post was sent for approval."))
            elif form.post is None:
                messages.success(request, _("Your draft was saved."))
            else:
                messages.success(request, _("Your changes were saved."))
            return redirect("scheduler:post_detail", post_id=post.pk)
    return render_composer(request, form, form.post, notice=notice, focus=focus)


# --- Live check and autosave ------------------------------------------------------------------------


def _post_or_none(request: AuthenticatedHttpRequest, post_id: int | None) -> Post | None:
    return post_get_for_editing(user=request.user, post_id=post_id) if post_id is not None else None


@login_required
@require_POST
def post_check(request: AuthenticatedHttpRequest, post_id: int | None = None) -> HttpResponse:
    """The live feedback partial: length per channel (and language), problems, hints, previews."""
    post = _post_or_none(request, post_id)
    form = PostForm(request.POST, user=request.user, post=post, lenient=True)
    form.is_valid()
    return render(request, "composer/_composer_feedback.html", {"feedback": composer_feedback(form), "form": form})


def _autosave_reply(
    request: AuthenticatedHttpRequest, message: str, *, state: str, post: Post | None = None
) -> HttpResponse:
    response = render(request, "composer/_autosave_status.html", {"message": message, "state": state})
    if post is not None:
        response["X-Civic-Post-Id"] = str(post.pk)
        response["X-Civic-Edit-Url"] = reverse("scheduler:post_edit", args=[post.pk])
        response["X-Civic-Autosave-Url"] = reverse("scheduler:post_autosave", args=[post.pk])
        response["X-Civic-Check-Url"] = reverse("scheduler:post_check", args=[post.pk])
    return response


def _saved_message(post: Post) -> str:
    local = timezone.now().astimezone(post.department.zone)
    return _("Draft saved automatically at %(time)s.") % {"time": clock_label(local)}


@login_required
@require_POST
def post_autosave(request: AuthenticatedHttpRequest, post_id: int | None = None) -> HttpResponse:
    """Saves a draft without leaving the page. The first autosave of a new post creates the draft and
    answers with its addresses (X-Civic-Edit-Url ...), so the page keeps editing that draft."""
    post = _post_or_none(request, post_id)
    made_earlier = post is None and _autosaved_draft(request, request.POST)
    if made_earlier:
        post = made_earlier
    if post is not None and post.status not in AUTOSAVE_STATUSES:
        return _autosave_reply(
            request,
            _("This post is not a draft, so it is not saved automatically. Use the button to save your changes."),
            state="off",
        )
    form = PostForm(request.POST, user=request.user, post=post, lenient=True)
    kept = _("What you typed is kept in this browser.")
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        return _autosave_reply(request, _("Not saved yet: %(problem)s") % {"problem": first} + " " + kept, state="wait")
    arguments = form.service_arguments()
    try:
        if post is None:
            if arguments["due_at"] is None:
                return _autosave_reply(
                    request,
                    _("Not saved yet: choose the date and time to save a draft automatically.") + " " + kept,
                    state="wait",
                )
            if not arguments["text"].strip():
                return _autosave_reply(
                    request, _("A draft is saved automatically once it has some text."), state="wait"
                )
            post = post_create(author=request.user, autosaved=True, **arguments)
            _remember_autosaved_draft(request, form.cleaned_data.get("draft_key", ""), post)
            return _autosave_reply(request, _saved_message(post), state="saved", post=post)
        if arguments["due_at"] is None:
            arguments["due_at"] = post.due_at
        post = post_update(post=post, user=request.user, autosaved=True, **arguments)
        if made_earlier:
            return _autosave_reply(request, _saved_message(post), state="saved", post=post)
    except ApplicationError as error:
        return _autosave_reply(
            request, _("Not saved: %(problem)s") % {"problem": error.message} + " " + kept, state="wait"
        )
    return _autosave_reply(request, _saved_message(post), state="saved")


# --- Version history --------------------------------------------------------------------------------


@login_required
@require_GET
def post_versions(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    versions = list(post.versions.select_related("saved_by").order_by("-number"))
    approved_ids = set(post.approvals.exclude(version=None).values_list("version_id", flat=True))
    return render(
        request,
        "composer/post_versions.html",
        {"post": post, "versions": versions, "approved_ids": approved_ids},
    )


def _version_number(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


@login_required
@require_GET
def post_version_compare(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    versions = {v.number: v for v in post.versions.select_related("saved_by")}
    if not versions:
        messages.info(request, _("This post has no saved versions yet."))
        return redirect("scheduler:post_detail", post_id=post.pk)
    latest = max(versions)
    new_number = _version_number(request.GET.get("new"), latest)
    old_number = _version_number(request.GET.get("old"), max(1, new_number - 1))
    old: PostVersion | None = versions.get(old_number)
    new: PostVersion | None = versions.get(new_number)
    if old is None or new is None:
        messages.error(request, _("There is no such version of this post."))
        return redirect("scheduler:post_versions", post_id=post.pk)
    context: dict[str, Any] = {
        "post": post,
        "old": old,
        "new": new,
        "numbers": sorted(versions, reverse=True),
        "rows": version_comparison(old, new, zone=viewer_zone_for_request(request)),
    }
    return render(request, "composer/post_version_compare.html", context)


def post_edit_redirect_if_locked(request: AuthenticatedHttpRequest, post: Post) -> HttpResponse | None:
    if post.status not in EDITABLE_STATUSES:
        messages.error(
            request,
            _("A post that is %(status)s can no longer be edited.") % {"status": post.get_status_display().lower()},
        )
        return redirect("scheduler:post_detail", post_id=post.pk)
    return None


# --- Compose and edit -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def post_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not department_ids_for_user(user=request.user):
        # A deny is a 403 (tests/test_permission_matrix.py); the menu offers "New post" to members only.
        raise PermissionDenied(_("You are not a member of any department yet. Ask an administrator to add you."))
    return compose(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_editing(user=request.user, post_id=post_id)
    return post_edit_redirect_if_locked(request, post) or compose(request, post)
