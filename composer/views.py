"""Pages for templates with placeholders, recurring series and CSV import. Thin: a selector, a form,
one service call, a message, a redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from composer.csv_import import MAX_ROWS, csv_example_for_user, csv_import_queue, csv_import_store, csv_preview
from composer.forms import CsvUploadForm, PostTemplateForm, SeriesForm, TemplateUseForm
from composer.models import CsvImport, ImportStatus
from composer.post_templates import post_from_template, post_template_delete, post_template_save
from composer.selectors import (
    import_get_for_user,
    series_for_user,
    series_get_for_user,
    template_get_for_user,
    templates_for_user,
)
from composer.series import occurrence_blackouts, occurrences, series_approve, series_create, series_submit
from departments.selectors import user_can_approve_for, user_can_edit_for
from scheduler.approvals import posts_user_can_approve_now
from scheduler.forms import ReviewForm
from scheduler.models import Post, PostStatus

# --- Templates -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def template_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PostTemplateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            template = post_template_save(
                user=request.user,
                department=form.cleaned_data["department"],
                name=form.cleaned_data["name"],
                text=form.cleaned_data["text"],
                link=form.cleaned_data["link"],
                channels=form.cleaned_data["channels"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The template “%(name)s” was saved.") % {"name": template.name})
            return redirect("composer:template_list")
    templates = list(templates_for_user(user=request.user))
    return render(request, "composer/template_list.html", {"form": form, "templates": templates})


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: AuthenticatedHttpRequest, template_id: int) -> HttpResponse:
    template = template_get_for_user(user=request.user, template_id=template_id)
    form = PostTemplateForm(request.POST or None, user=request.user, template=template)
    if request.method == "POST" and form.is_valid():
        try:
            post_template_save(
                user=request.user,
                department=template.department,
                name=form.cleaned_data["name"],
                text=form.cleaned_data["text"],
                link=form.cleaned_data["link"],
                channels=form.cleaned_data["channels"],
                template=template,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The template was saved."))
            return redirect("composer:template_list")
    return render(request, "composer/template_edit.html", {"form": form, "template": template})


@login_required
@require_POST
def template_delete(request: AuthenticatedHttpRequest, template_id: int) -> HttpResponse:
    template = template_get_for_user(user=request.user, template_id=template_id)
    post_template_delete(user=request.user, template=template)
    messages.success(request, _("The template was deleted. Posts made from it stay as they are."))
    return redirect("composer:template_list")


@login_required
@require_http_methods(["GET", "POST"])
def template_use(request: AuthenticatedHttpRequest, template_id: int) -> HttpResponse:
    template = template_get_for_user(user=request.user, template_id=template_id)
    form = TemplateUseForm(request.POST or None, user=request.user, template=template)
    if request.method == "POST" and form.is_valid() and form.cleaned_data.get("due_at"):
        try:
            post = post_from_template(
                user=request.user,
                template=template,
                values=form.values(),
                channels=form.cleaned_data["channels"],
                due_at=form.cleaned_data["due_at"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("A draft was made from the template. Check it, then save or submit it."))
            return redirect("scheduler:post_edit", post_id=post.pk)
    return render(request, "composer/template_use.html", {"form": form, "template": template})


# --- Recurring series ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def series_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SeriesForm(request.POST or None, user=request.user)
    planned = []
    planned_blackouts: list[str] = []
    if request.method == "POST" and form.is_valid():
        department = form.cleaned_data["department"]
        arguments = {
            "frequency": form.cleaned_data["frequency"],
            "interval": form.cleaned_data["interval"],
            "until": form.cleaned_data["until"],
            "count": form.cleaned_data["count"],
        }
        if "preview" in request.POST:
            try:
                planned = occurrences(
                    start_date=form.cleaned_data["start_date"],
                    local_time=form.cleaned_data["local_time"],
                    zone=department.zone,
                    **arguments,
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            planned_blackouts = occurrence_blackouts(department=department, due_ats=[o.due_at for o in planned])
        else:
            try:
                series = series_create(
                    user=request.user,
                    department=department,
                    text=form.cleaned_data["text"],
                    link=form.cleaned_data["link"],
                    channels=form.cleaned_data["channels"],
                    start_date=form.cleaned_data["start_date"],
                    local_time=form.cleaned_data["local_time"],
                    submit="submit" in request.POST,
                    **arguments,
                )
            except ApplicationError as error:
                for problem in error.problems:
                    form.add_error(None, problem)
            else:
                messages.success(
                    request,
                    _("The series was made: %(count)s posts.") % {"count": series.occurrences.count()},
                )
                due_ats = [link.post.due_at for link in series.occurrences.select_related("post")]
                inside = sum(1 for words in occurrence_blackouts(department=department, due_ats=due_ats) if words)
                if inside:
                    messages.warning(
                        request,
                        ngettext(
                            "%(count)s post is inside a blackout (marked below): it stays a draft until it moves, "
                            "or an approver gives a reason.",
                            "%(count)s posts are inside a blackout (marked below): they stay drafts until they "
                            "move, or an approver gives a reason.",
                            inside,
                        )
                        % {"count": inside},
                    )
                return redirect("composer:series_detail", series_id=series.pk)
    department = form.cleaned_data.get("department") if form.is_bound and hasattr(form, "cleaned_data") else None
    context = {
        "form": form,
        "planned": planned,
        "planned_rows": list(zip(planned, planned_blackouts, strict=True)),
        "zone": department.zone if department else None,
        "series_list": list(series_for_user(user=request.user)[:20]),
    }
    return render(request, "composer/series_new.html", context)


@login_required
@require_GET
def series_detail(request: AuthenticatedHttpRequest, series_id: int) -> HttpResponse:
    series = series_get_for_user(user=request.user, series_id=series_id)
    links = list(series.occurrences.select_related("post").order_by("sequence"))
    is_member = user_can_edit_for(user=request.user, department_id=series.department_id)
    waiting = [link.post for link in links if link.post.status == PostStatus.SUBMITTED]
    # Only to someone the approval policy's current step waits for (not the author, not a second vote).
    may_approve = (
        series.approval_mode == "series"
        and bool(waiting)
        and user_can_approve_for(user=request.user, department_id=series.department_id)
        and bool(posts_user_can_approve_now(user=request.user, posts=waiting))
    )
    blackouts = occurrence_blackouts(department=series.department, due_ats=[link.post.due_at for link in links])
    context = {
        "series": series,
        "links": links,
        "link_rows": list(zip(links, blackouts, strict=True)),
        "any_in_blackout": any(blackouts),
        "can_submit": is_member and any(link.post.status == PostStatus.DRAFT for link in links),
        "can_approve_series": may_approve,
    }
    return render(request, "composer/series_detail.html", context)


@login_required
@require_POST
def series_submit_view(request: AuthenticatedHttpRequest, series_id: int) -> HttpResponse:
    series = series_get_for_user(user=request.user, series_id=series_id)
    if not user_can_edit_for(user=request.user, department_id=series.department_id):
        raise PermissionDenied("Only the department's members submit its series.")  # a deny is a 403
    try:
        count = series_submit(series=series, user=request.user)
    except ApplicationError as error:
        for problem in error.problems:
            messages.error(request, problem)
    else:
        messages.success(request, _("%(count)s posts were sent for approval.") % {"count": count})
    return redirect("composer:series_detail", series_id=series.pk)


@login_required
@require_POST
def series_approve_view(request: AuthenticatedHttpRequest, series_id: int) -> HttpResponse:
    series = series_get_for_user(user=request.user, series_id=series_id)
    if not user_can_approve_for(user=request.user, department_id=series.department_id):
        raise PermissionDenied("Only the department's approvers approve its series.")  # a deny is a 403
    form = ReviewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))  # ErrorList yields the messages as text
        return redirect("composer:series_detail", series_id=series.pk)
    try:
        count = series_approve(
            series=series,
            user=request.user,
            comment=form.cleaned_data["comment"],
            blackout_override_reason=form.cleaned_data["blackout_override_reason"],
        )
    except ApplicationError as error:
        for problem in error.problems:
            messages.error(request, problem)
    else:
        if count:
            messages.success(request, _("%(count)s posts of the series are approved and scheduled.") % {"count": count})
        else:
            messages.success(request, _("Your approval was recorded. The series now waits for the next step."))
    return redirect("composer:series_detail", series_id=series.pk)


# --- CSV import ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            stored = csv_import_store(user=request.user, file_name=upload.name or "", data=upload.read())
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            return redirect("composer:import_preview", import_id=stored.pk)
    return render(request, "composer/import_upload.html", {"form": form, "max_rows": MAX_ROWS})


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: AuthenticatedHttpRequest, import_id: int) -> HttpResponse:
    """The file's check (nothing saved); POST imports its good rows; then the result, as it comes."""
    upload = import_get_for_user(user=request.user, import_id=import_id)
    if request.method == "POST":
        try:
            csv_import_queue(user=request.user, upload=upload)
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect("composer:import_preview", import_id=upload.pk)
    if upload.status != ImportStatus.CHECKED:
        return _import_result(request, upload)
    preview = csv_preview(user=request.user, text=upload.content)
    return render(request, "composer/import_preview.html", {"upload": upload, "preview": preview})


def _import_result(request: AuthenticatedHttpRequest, upload: CsvImport) -> HttpResponse:
    post_ids = upload.result.get("post_ids", [])
    posts = list(Post.objects.filter(pk__in=post_ids[:200]).select_related("department").order_by("due_at", "id"))
    context = {"upload": upload, "posts": posts, "more": max(0, len(post_ids) - len(posts))}
    template = "composer/_import_status.html" if request.htmx else "composer/import_done.html"
    return render(request, template, context)


@login_required
@require_GET
def import_example(request: AuthenticatedHttpRequest) -> HttpResponse:
    """An example file made from the person's own channels and the coming days: it imports unchanged."""
    response = HttpResponse(csv_example_for_user(user=request.user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="civicpost-import-example.csv"'
    return response
